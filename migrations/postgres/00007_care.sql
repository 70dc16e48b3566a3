-- +goose Up
-- The care loop (DESIGN.md section 8): satisfaction surveys after delivered
-- orders, follow-up tasks for CRM staff, complaints with their deadlines.

-- One survey per delivered repair order (the unique key makes the
-- invitation job safe to run twice and on several instances). Scores are
-- NULL until the owner answers, then all five are set.
CREATE TABLE surveys (
    id              uuid PRIMARY KEY,
    repair_order_id uuid NOT NULL UNIQUE REFERENCES repair_orders (id),
    owner_id        uuid NOT NULL REFERENCES owners (id),
    store_id        uuid NOT NULL REFERENCES stores (id),
    vehicle_id      uuid NOT NULL REFERENCES vehicles (id),
    advisor_id      uuid NOT NULL REFERENCES staffs (id),
    offered_at      timestamptz NOT NULL,
    answer_by       timestamptz NOT NULL,
    overall         integer CHECK (overall BETWEEN 1 AND 5),
    advisor_score   integer CHECK (advisor_score BETWEEN 1 AND 5),
    quality         integer CHECK (quality BETWEEN 1 AND 5),
    timeliness      integer CHECK (timeliness BETWEEN 1 AND 5),
    cleanliness     integer CHECK (cleanliness BETWEEN 1 AND 5),
    comment         text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    submitted_at    timestamptz,
    editable_until  timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (answer_by > offered_at),
    CHECK ((submitted_at IS NULL AND overall IS NULL AND advisor_score IS NULL AND quality IS NULL
            AND timeliness IS NULL AND cleanliness IS NULL AND editable_until IS NULL)
        OR (submitted_at IS NOT NULL AND overall IS NOT NULL AND advisor_score IS NOT NULL AND quality IS NOT NULL
            AND timeliness IS NOT NULL AND cleanliness IS NOT NULL AND editable_until IS NOT NULL))
);
CREATE INDEX surveys_owner_idx ON surveys (owner_id, id);
CREATE INDEX surveys_store_offered_idx ON surveys (store_id, offered_at);

-- Complaints (投诉) with their three deadlines from filing, each with its
-- state: OPEN until the step happens or the deadline passes, MET when the
-- step happened in time, MISSED otherwise.
CREATE TABLE complaints (
    id                uuid PRIMARY KEY,
    owner_id          uuid NOT NULL REFERENCES owners (id),
    store_id          uuid NOT NULL REFERENCES stores (id),
    category          text NOT NULL CHECK (category IN ('PRODUCT_QUALITY', 'AFTER_SALES', 'SALES', 'PRICE', 'OTHER')),
    description       text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    repair_order_id   uuid REFERENCES repair_orders (id),
    vehicle_id        uuid REFERENCES vehicles (id),
    photos            text NOT NULL DEFAULT '[]',
    status            text NOT NULL CHECK (status IN ('SUBMITTED', 'ACKNOWLEDGED', 'PROPOSED', 'RESOLVED', 'REOPENED', 'CLOSED')),
    filed_by          uuid REFERENCES staffs (id),
    proposal          text NOT NULL DEFAULT '',
    resolution        text NOT NULL DEFAULT '',
    response_due_at   timestamptz NOT NULL,
    responded_at      timestamptz,
    response_state    text NOT NULL CHECK (response_state IN ('OPEN', 'MET', 'MISSED')),
    proposal_due_at   timestamptz NOT NULL,
    proposed_at       timestamptz,
    proposal_state    text NOT NULL CHECK (proposal_state IN ('OPEN', 'MET', 'MISSED')),
    resolution_due_at timestamptz NOT NULL,
    resolved_at       timestamptz,
    resolution_state  text NOT NULL CHECK (resolution_state IN ('OPEN', 'MET', 'MISSED')),
    reopen_count      integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK (response_due_at > created_at AND proposal_due_at > created_at AND resolution_due_at > created_at)
);
CREATE INDEX complaints_owner_idx ON complaints (owner_id, id);
CREATE INDEX complaints_store_idx ON complaints (store_id, id);
CREATE INDEX complaints_store_status_idx ON complaints (store_id, status, id);
CREATE INDEX complaints_store_created_idx ON complaints (store_id, created_at);
-- What the deadline job looks at: open deadlines by due time.
CREATE INDEX complaints_response_open_idx ON complaints (response_due_at) WHERE response_state = 'OPEN';
CREATE INDEX complaints_proposal_open_idx ON complaints (proposal_due_at) WHERE proposal_state = 'OPEN';
CREATE INDEX complaints_resolution_open_idx ON complaints (resolution_due_at) WHERE resolution_state = 'OPEN';

-- A complaint's timeline.
CREATE TABLE complaint_events (
    id           uuid PRIMARY KEY,
    complaint_id uuid NOT NULL REFERENCES complaints (id),
    kind         text NOT NULL CHECK (kind IN ('FILED', 'ACKNOWLEDGED', 'PROPOSED', 'RESOLVED', 'ACCEPTED', 'REOPENED')),
    actor_kind   text NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF', 'SYSTEM')),
    actor_id     uuid,
    note         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, id);

-- Follow-up calls for CRM staff. One task per kind and subject (the order
-- for SERVICE_3DC, the vehicle for NEW_CAR_3D/7D, the survey for
-- LOW_SURVEY), so the creating job is safe to run twice and concurrently.
CREATE TABLE follow_up_tasks (
    id              uuid PRIMARY KEY,
    store_id        uuid NOT NULL REFERENCES stores (id),
    kind            text NOT NULL CHECK (kind IN ('SERVICE_3DC', 'NEW_CAR_3D', 'NEW_CAR_7D', 'LOW_SURVEY')),
    subject_id      uuid NOT NULL,
    owner_id        uuid NOT NULL REFERENCES owners (id),
    vehicle_id      uuid REFERENCES vehicles (id),
    repair_order_id uuid REFERENCES repair_orders (id),
    survey_id       uuid REFERENCES surveys (id),
    complaint_id    uuid REFERENCES complaints (id),
    assignee_id     uuid REFERENCES staffs (id),
    status          text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    outcome         text CHECK (outcome IN ('REACHED', 'NOT_REACHED', 'ISSUE_FOUND')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    note            text NOT NULL DEFAULT '',
    due_at          timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       uuid REFERENCES staffs (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (kind, subject_id),
    CHECK ((status = 'OPEN') = (closed_at IS NULL))
);
-- Staff lists by due time: a store's, the open (and overdue) ones, one's own.
CREATE INDEX follow_up_tasks_store_due_idx ON follow_up_tasks (store_id, due_at, id);
CREATE INDEX follow_up_tasks_open_due_idx ON follow_up_tasks (store_id, due_at, id) WHERE status = 'OPEN';
CREATE INDEX follow_up_tasks_assignee_due_idx ON follow_up_tasks (assignee_id, due_at, id);

-- What the scheduled jobs read: orders delivered lately, cars bought lately.
CREATE INDEX repair_orders_delivered_at_idx ON repair_orders (delivered_at) WHERE status = 'DELIVERED';
CREATE INDEX vehicles_purchase_date_idx ON vehicles (purchase_date) WHERE selling_store_id IS NOT NULL;

-- +goose Down
SELECT 1;

-- +goose Up
-- The care loop (DESIGN.md section 8): satisfaction surveys after delivered
-- orders, follow-up tasks for CRM staff, complaints with their deadlines.

-- One survey per delivered repair order (the unique key makes the
-- invitation job safe to run twice and on several instances). Scores are
-- NULL until the owner answers, then all five are set.
CREATE TABLE surveys (
    id              TEXT NOT NULL PRIMARY KEY,
    repair_order_id TEXT NOT NULL UNIQUE REFERENCES repair_orders (id),
    owner_id        TEXT NOT NULL REFERENCES owners (id),
    store_id        TEXT NOT NULL REFERENCES stores (id),
    vehicle_id      TEXT NOT NULL REFERENCES vehicles (id),
    advisor_id      TEXT NOT NULL REFERENCES staffs (id),
    offered_at      DATETIME NOT NULL,
    answer_by       DATETIME NOT NULL,
    overall         INTEGER CHECK (overall BETWEEN 1 AND 5),
    advisor_score   INTEGER CHECK (advisor_score BETWEEN 1 AND 5),
    quality         INTEGER CHECK (quality BETWEEN 1 AND 5),
    timeliness      INTEGER CHECK (timeliness BETWEEN 1 AND 5),
    cleanliness     INTEGER CHECK (cleanliness BETWEEN 1 AND 5),
    comment         TEXT NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    submitted_at    DATETIME,
    editable_until  DATETIME,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
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
    id                TEXT NOT NULL PRIMARY KEY,
    owner_id          TEXT NOT NULL REFERENCES owners (id),
    store_id          TEXT NOT NULL REFERENCES stores (id),
    category          TEXT NOT NULL CHECK (category IN ('PRODUCT_QUALITY', 'AFTER_SALES', 'SALES', 'PRICE', 'OTHER')),
    description       TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    repair_order_id   TEXT REFERENCES repair_orders (id),
    vehicle_id        TEXT REFERENCES vehicles (id),
    photos            TEXT NOT NULL DEFAULT '[]',
    status            TEXT NOT NULL CHECK (status IN ('SUBMITTED', 'ACKNOWLEDGED', 'PROPOSED', 'RESOLVED', 'REOPENED', 'CLOSED')),
    filed_by          TEXT REFERENCES staffs (id),
    proposal          TEXT NOT NULL DEFAULT '',
    resolution        TEXT NOT NULL DEFAULT '',
    response_due_at   DATETIME NOT NULL,
    responded_at      DATETIME,
    response_state    TEXT NOT NULL CHECK (response_state IN ('OPEN', 'MET', 'MISSED')),
    proposal_due_at   DATETIME NOT NULL,
    proposed_at       DATETIME,
    proposal_state    TEXT NOT NULL CHECK (proposal_state IN ('OPEN', 'MET', 'MISSED')),
    resolution_due_at DATETIME NOT NULL,
    resolved_at       DATETIME,
    resolution_state  TEXT NOT NULL CHECK (resolution_state IN ('OPEN', 'MET', 'MISSED')),
    reopen_count      INTEGER NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
    closed_at         DATETIME,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL,
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
    id           TEXT NOT NULL PRIMARY KEY,
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    kind         TEXT NOT NULL CHECK (kind IN ('FILED', 'ACKNOWLEDGED', 'PROPOSED', 'RESOLVED', 'ACCEPTED', 'REOPENED')),
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF', 'SYSTEM')),
    actor_id     TEXT,
    note         TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, id);

-- Follow-up calls for CRM staff. One task per kind and subject (the order
-- for SERVICE_3DC, the vehicle for NEW_CAR_3D/7D, the survey for
-- LOW_SURVEY), so the creating job is safe to run twice and concurrently.
CREATE TABLE follow_up_tasks (
    id              TEXT NOT NULL PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    kind            TEXT NOT NULL CHECK (kind IN ('SERVICE_3DC', 'NEW_CAR_3D', 'NEW_CAR_7D', 'LOW_SURVEY')),
    subject_id      TEXT NOT NULL,
    owner_id        TEXT NOT NULL REFERENCES owners (id),
    vehicle_id      TEXT REFERENCES vehicles (id),
    repair_order_id TEXT REFERENCES repair_orders (id),
    survey_id       TEXT REFERENCES surveys (id),
    complaint_id    TEXT REFERENCES complaints (id),
    assignee_id     TEXT REFERENCES staffs (id),
    status          TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    outcome         TEXT CHECK (outcome IN ('REACHED', 'NOT_REACHED', 'ISSUE_FOUND')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    note            TEXT NOT NULL DEFAULT '',
    due_at          DATETIME NOT NULL,
    closed_at       DATETIME,
    closed_by       TEXT REFERENCES staffs (id),
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
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

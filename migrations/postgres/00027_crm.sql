-- +goose Up
-- The aftersales programme's picture of each owner, computed nightly by the
-- segments job (docs/crm.md): the segment by the business the owner
-- brought within the window, and the churn risk with its reasons. One row
-- per owner, replaced whole by each run. store_id is the store the owner
-- belongs to for the reports: the home store, else the store of the last
-- visit, else the store that sold the newest car.
CREATE TABLE owner_segments (
    owner_id            uuid PRIMARY KEY REFERENCES owners(id) ON DELETE CASCADE,
    store_id            uuid REFERENCES stores(id),
    segment             text NOT NULL CHECK (segment IN ('LOW_LOYALTY', 'TO_DEVELOP', 'VALUE_FOR_MONEY', 'QUALITY_FIRST',
                                                         'APPEARANCE', 'RELATIONSHIP', 'SAFETY', 'HIGH_LOYALTY')),
    insurance_visits    integer NOT NULL CHECK (insurance_visits >= 0),
    maintenance_visits  integer NOT NULL CHECK (maintenance_visits >= 0),
    mechanical_visits   integer NOT NULL CHECK (mechanical_visits >= 0),
    window_months       integer NOT NULL CHECK (window_months BETWEEN 1 AND 120),
    -- NULL for an owner without a car: nothing to come back for.
    churn_risk          text CHECK (churn_risk IN ('LOW', 'MEDIUM', 'HIGH')),
    churn_reasons       text NOT NULL DEFAULT '',
    last_visit_at       timestamptz,
    usual_interval_days integer,
    due_by              timestamptz,
    computed_at         timestamptz NOT NULL
);
-- segmentReport: counts per store by segment and by risk.
CREATE INDEX owner_segments_store_idx ON owner_segments (store_id, segment, churn_risk);

-- Audiences: saved filters over the owners (docs/crm.md). store_id NULL is
-- an audience of the whole group (GROUP_ADMIN's). filter is the JSON of
-- crm.Filter.
CREATE TABLE audiences (
    id          uuid PRIMARY KEY,
    store_id    uuid REFERENCES stores(id),
    name        text NOT NULL CHECK (name <> ''),
    filter      text NOT NULL,
    created_by  uuid NOT NULL REFERENCES staffs(id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- audiences(storeId): a store's, newest first.
CREATE INDEX audiences_store_idx ON audiences (store_id, id);

-- Campaigns: a store invites an audience to an event or to book a service
-- (docs/crm.md). The dispatch job moves SCHEDULED through SENDING to SENT;
-- CANCELLED only from SCHEDULED.
CREATE TABLE campaigns (
    id           uuid PRIMARY KEY,
    store_id     uuid NOT NULL REFERENCES stores(id),
    audience_id  uuid NOT NULL REFERENCES audiences(id),
    name         text NOT NULL CHECK (name <> ''),
    kind         text NOT NULL CHECK (kind IN ('EVENT', 'BOOKING')),
    event_id     uuid REFERENCES events(id),
    service_kind text,
    title        text NOT NULL,
    body         text NOT NULL,
    send_at      timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('SCHEDULED', 'SENDING', 'SENT', 'CANCELLED')),
    invited      integer NOT NULL DEFAULT 0,
    created_by   uuid NOT NULL REFERENCES staffs(id),
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CHECK ((kind = 'EVENT') = (event_id IS NOT NULL))
);
-- The dispatch job's due campaigns; a store's list.
CREATE INDEX campaigns_due_idx ON campaigns (status, send_at);
CREATE INDEX campaigns_store_idx ON campaigns (store_id, id);

-- One invitation per owner and campaign: what makes a campaign never reach
-- an owner twice, whatever the instances and retries.
CREATE TABLE campaign_invitations (
    id           uuid PRIMARY KEY,
    campaign_id  uuid NOT NULL REFERENCES campaigns(id),
    owner_id     uuid NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
    store_id     uuid NOT NULL REFERENCES stores(id),
    segment      text NOT NULL,
    response     text CHECK (response IN ('NOT_REACHED', 'COMING', 'NOT_SURE', 'NOT_COMING')),
    note         text NOT NULL DEFAULT '',
    responded_by uuid REFERENCES staffs(id),
    responded_at timestamptz,
    created_at   timestamptz NOT NULL,
    UNIQUE (campaign_id, owner_id)
);
CREATE INDEX campaign_invitations_owner_idx ON campaign_invitations (owner_id);

-- +goose Down
DROP TABLE campaign_invitations;
DROP TABLE campaigns;
DROP TABLE audiences;
DROP TABLE owner_segments;

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

-- +goose Down
DROP TABLE audiences;
DROP TABLE owner_segments;

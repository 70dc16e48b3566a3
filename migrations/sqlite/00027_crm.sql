-- +goose Up
-- Each owner's segment and churn risk: see the PostgreSQL migration.
CREATE TABLE owner_segments (
    owner_id            TEXT NOT NULL PRIMARY KEY REFERENCES owners(id) ON DELETE CASCADE,
    store_id            TEXT REFERENCES stores(id),
    segment             TEXT NOT NULL CHECK (segment IN ('LOW_LOYALTY', 'TO_DEVELOP', 'VALUE_FOR_MONEY', 'QUALITY_FIRST',
                                                         'APPEARANCE', 'RELATIONSHIP', 'SAFETY', 'HIGH_LOYALTY')),
    insurance_visits    INTEGER NOT NULL CHECK (insurance_visits >= 0),
    maintenance_visits  INTEGER NOT NULL CHECK (maintenance_visits >= 0),
    mechanical_visits   INTEGER NOT NULL CHECK (mechanical_visits >= 0),
    window_months       INTEGER NOT NULL CHECK (window_months BETWEEN 1 AND 120),
    churn_risk          TEXT CHECK (churn_risk IN ('LOW', 'MEDIUM', 'HIGH')),
    churn_reasons       TEXT NOT NULL DEFAULT '',
    last_visit_at       DATETIME,
    usual_interval_days INTEGER,
    due_by              DATETIME,
    computed_at         DATETIME NOT NULL
);
CREATE INDEX owner_segments_store_idx ON owner_segments (store_id, segment, churn_risk);

-- Audiences: see the PostgreSQL migration.
CREATE TABLE audiences (
    id          TEXT NOT NULL PRIMARY KEY,
    store_id    TEXT REFERENCES stores(id),
    name        TEXT NOT NULL CHECK (name <> ''),
    filter      TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES staffs(id),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX audiences_store_idx ON audiences (store_id, id);

-- Campaigns and their invitations: see the PostgreSQL migration.
CREATE TABLE campaigns (
    id           TEXT NOT NULL PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    audience_id  TEXT NOT NULL REFERENCES audiences(id),
    name         TEXT NOT NULL CHECK (name <> ''),
    kind         TEXT NOT NULL CHECK (kind IN ('EVENT', 'BOOKING')),
    event_id     TEXT REFERENCES events(id),
    service_kind TEXT,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    send_at      DATETIME NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('SCHEDULED', 'SENDING', 'SENT', 'CANCELLED')),
    invited      INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL REFERENCES staffs(id),
    sent_at      DATETIME,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    CHECK ((kind = 'EVENT') = (event_id IS NOT NULL))
);
CREATE INDEX campaigns_due_idx ON campaigns (status, send_at);
CREATE INDEX campaigns_store_idx ON campaigns (store_id, id);
CREATE TABLE campaign_invitations (
    id           TEXT NOT NULL PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    owner_id     TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    segment      TEXT NOT NULL,
    response     TEXT CHECK (response IN ('NOT_REACHED', 'COMING', 'NOT_SURE', 'NOT_COMING')),
    note         TEXT NOT NULL DEFAULT '',
    responded_by TEXT REFERENCES staffs(id),
    responded_at DATETIME,
    created_at   DATETIME NOT NULL,
    UNIQUE (campaign_id, owner_id)
);
CREATE INDEX campaign_invitations_owner_idx ON campaign_invitations (owner_id);

-- +goose Down
DROP TABLE campaign_invitations;
DROP TABLE campaigns;
DROP TABLE audiences;
DROP TABLE owner_segments;

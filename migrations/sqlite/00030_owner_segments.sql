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

-- +goose Down
DROP TABLE audiences;
DROP TABLE owner_segments;

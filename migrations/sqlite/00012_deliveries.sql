-- +goose Up
-- The outbox: one row per message to an owner per channel (see
-- docs/decisions/0004-outbox-on-river.md). A row is written in the
-- transaction of what it tells about, with the job that delivers it; the
-- job's table is River's own (migrated after these files, see migrations.Up).
-- owner_id is empty for a login code to a phone that is no owner's yet.
CREATE TABLE deliveries (
    id                  TEXT NOT NULL PRIMARY KEY,
    owner_id            TEXT REFERENCES owners (id),
    notification_id     TEXT REFERENCES notifications (id),
    kind                TEXT NOT NULL CHECK (kind <> ''),
    channel             TEXT NOT NULL CHECK (channel <> ''),
    recipient           TEXT NOT NULL CHECK (recipient <> ''),
    template            TEXT NOT NULL DEFAULT '',
    payload             TEXT NOT NULL DEFAULT '{}',
    dedupe_key          TEXT NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    status              TEXT NOT NULL CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'DEAD')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     DATETIME NOT NULL,
    provider_message_id TEXT NOT NULL DEFAULT '',
    last_error          TEXT NOT NULL DEFAULT '',
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);
CREATE INDEX deliveries_owner_idx ON deliveries (owner_id, created_at) WHERE owner_id IS NOT NULL;
CREATE INDEX deliveries_notification_idx ON deliveries (notification_id) WHERE notification_id IS NOT NULL;
CREATE INDEX deliveries_open_idx ON deliveries (status, next_attempt_at) WHERE status IN ('PENDING', 'SENDING');

-- +goose Down
DROP TABLE deliveries;

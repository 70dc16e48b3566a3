-- +goose Up
-- A delivery may be of no use after a time (a login code's SMS once the code
-- has expired): not_after. A worker that claims it later ends it EXPIRED
-- without sending. SQLite cannot change a CHECK: the table is rebuilt.
CREATE TABLE deliveries_new (
    id                  TEXT NOT NULL PRIMARY KEY,
    owner_id            TEXT REFERENCES owners (id),
    notification_id     TEXT REFERENCES notifications (id),
    kind                TEXT NOT NULL CHECK (kind <> ''),
    channel             TEXT NOT NULL CHECK (channel <> ''),
    recipient           TEXT NOT NULL CHECK (recipient <> ''),
    template            TEXT NOT NULL DEFAULT '',
    payload             TEXT NOT NULL DEFAULT '{}',
    dedupe_key          TEXT NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    status              TEXT NOT NULL CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'DEAD', 'EXPIRED')),
    attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     DATETIME NOT NULL,
    not_after           DATETIME,
    provider_message_id TEXT NOT NULL DEFAULT '',
    last_error          TEXT NOT NULL DEFAULT '',
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);
INSERT INTO deliveries_new (id, owner_id, notification_id, kind, channel, recipient, template, payload, dedupe_key,
    status, attempts, next_attempt_at, provider_message_id, last_error, created_at, updated_at)
SELECT id, owner_id, notification_id, kind, channel, recipient, template, payload, dedupe_key,
    status, attempts, next_attempt_at, provider_message_id, last_error, created_at, updated_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_owner_idx ON deliveries (owner_id, created_at) WHERE owner_id IS NOT NULL;
CREATE INDEX deliveries_notification_idx ON deliveries (notification_id) WHERE notification_id IS NOT NULL;
CREATE INDEX deliveries_open_idx ON deliveries (status, next_attempt_at) WHERE status IN ('PENDING', 'SENDING');

-- An owner's app installations that receive push (see models/push): one row
-- per device token, which belongs to one owner at a time (registering it
-- again moves it). provider is APNS (iOS) or JPUSH (Android in mainland
-- China).
CREATE TABLE devices (
    id            TEXT NOT NULL PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES owners (id),
    platform      TEXT NOT NULL CHECK (platform IN ('IOS', 'ANDROID')),
    provider      TEXT NOT NULL CHECK (provider IN ('APNS', 'JPUSH')),
    token         TEXT NOT NULL UNIQUE CHECK (token <> ''),
    registered_at DATETIME NOT NULL,
    last_seen_at  DATETIME NOT NULL
);
CREATE INDEX devices_owner_idx ON devices (owner_id, registered_at);

-- +goose Down
SELECT 1;

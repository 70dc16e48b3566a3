-- +goose Up
-- The outbox: one row per message to an owner per channel (see
-- docs/decisions/0004-outbox-on-river.md). A row is written in the
-- transaction of what it tells about, with the job that delivers it; the
-- job's table is River's own (migrated after these files, see migrations.Up).
-- owner_id is empty for a login code to a phone that is no owner's yet.
CREATE TABLE deliveries (
    id                  uuid PRIMARY KEY,
    owner_id            uuid REFERENCES owners (id),
    notification_id     uuid REFERENCES notifications (id),
    kind                text NOT NULL CHECK (kind <> ''),
    channel             text NOT NULL CHECK (channel <> ''),
    recipient           text NOT NULL CHECK (recipient <> ''),
    template            text NOT NULL DEFAULT '',
    payload             text NOT NULL DEFAULT '{}',
    dedupe_key          text NOT NULL UNIQUE CHECK (dedupe_key <> ''),
    status              text NOT NULL CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'DEAD')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL,
    provider_message_id text NOT NULL DEFAULT '',
    last_error          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX deliveries_owner_idx ON deliveries (owner_id, created_at) WHERE owner_id IS NOT NULL;
CREATE INDEX deliveries_notification_idx ON deliveries (notification_id) WHERE notification_id IS NOT NULL;
CREATE INDEX deliveries_open_idx ON deliveries (status, next_attempt_at) WHERE status IN ('PENDING', 'SENDING');

-- +goose Down
DROP TABLE deliveries;

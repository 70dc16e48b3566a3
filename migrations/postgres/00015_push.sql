-- +goose Up
-- A delivery may be of no use after a time (a login code's SMS once the code
-- has expired): not_after. A worker that claims it later ends it EXPIRED
-- without sending.
ALTER TABLE deliveries ADD COLUMN not_after timestamptz;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'DEAD', 'EXPIRED'));

-- An owner's app installations that receive push (see models/push): one row
-- per device token, which belongs to one owner at a time (registering it
-- again moves it). provider is APNS (iOS) or JPUSH (Android in mainland
-- China).
CREATE TABLE devices (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL REFERENCES owners (id),
    platform      text NOT NULL CHECK (platform IN ('IOS', 'ANDROID')),
    provider      text NOT NULL CHECK (provider IN ('APNS', 'JPUSH')),
    token         text NOT NULL UNIQUE CHECK (token <> ''),
    registered_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);
CREATE INDEX devices_owner_idx ON devices (owner_id, registered_at);

-- +goose Down
SELECT 1;

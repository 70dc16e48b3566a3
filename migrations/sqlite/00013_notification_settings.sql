-- +goose Up
-- The channels an owner allows for each kind of message beyond the inbox
-- (see models/inbox/settings.go). No row: every channel. channels is a
-- comma-separated list (SMS,WECHAT,PUSH), empty for the inbox only, which
-- a transactional kind may never be.
CREATE TABLE notification_settings (
    owner_id   TEXT NOT NULL REFERENCES owners (id),
    kind       TEXT NOT NULL CHECK (kind <> ''),
    channels   TEXT NOT NULL DEFAULT '',
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (owner_id, kind)
);

-- +goose Down
DROP TABLE notification_settings;

-- +goose Up
-- WeChat's access token of a mini-program (see models/wechat and
-- docs/notifications.md): one row per app id, shared by every instance.
-- The instance that holds the lease (lease_until in the future) fetches a
-- new token; the others read the stored one.
CREATE TABLE wechat_tokens (
    app_id       TEXT NOT NULL PRIMARY KEY CHECK (app_id <> ''),
    access_token TEXT NOT NULL DEFAULT '',
    expires_at   DATETIME NOT NULL,
    lease_until  DATETIME,
    updated_at   DATETIME NOT NULL
);

-- An owner's one-time permissions for a subscription message template:
-- each template accepted in the mini-program adds one, each message sent
-- takes one (see models/wechat).
CREATE TABLE wechat_subscriptions (
    owner_id    TEXT NOT NULL REFERENCES owners (id),
    template_id TEXT NOT NULL CHECK (template_id <> ''),
    remaining   INTEGER NOT NULL CHECK (remaining >= 0),
    updated_at  DATETIME NOT NULL,
    PRIMARY KEY (owner_id, template_id)
);

-- +goose Down
SELECT 1;

-- +goose Up
-- WeChat's access token of a mini-program (see models/wechat and
-- docs/notifications.md): one row per app id, shared by every instance.
-- The instance that holds the lease (lease_until in the future) fetches a
-- new token; the others read the stored one.
CREATE TABLE wechat_tokens (
    app_id       text PRIMARY KEY CHECK (app_id <> ''),
    access_token text NOT NULL DEFAULT '',
    expires_at   timestamptz NOT NULL,
    lease_until  timestamptz,
    updated_at   timestamptz NOT NULL
);

-- An owner's one-time permissions for a subscription message template:
-- each template accepted in the mini-program adds one, each message sent
-- takes one (see models/wechat).
CREATE TABLE wechat_subscriptions (
    owner_id    uuid NOT NULL REFERENCES owners (id),
    template_id text NOT NULL CHECK (template_id <> ''),
    remaining   integer NOT NULL CHECK (remaining >= 0),
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (owner_id, template_id)
);

-- +goose Down
SELECT 1;

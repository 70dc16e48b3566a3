-- +goose Up
-- Coupon campaigns and what invited owners did: see the PostgreSQL
-- migration and docs/crm.md. SQLite cannot change a CHECK, so campaigns is
-- rebuilt, and campaign_invitations (the one table referring to it) with
-- it: each new table is filled before the old ones go, the invitations'
-- new table referring to the new campaigns, whose rename carries the
-- reference along.
CREATE TABLE campaigns_new (
    id                 TEXT NOT NULL PRIMARY KEY,
    store_id           TEXT NOT NULL REFERENCES stores(id),
    audience_id        TEXT NOT NULL REFERENCES audiences(id),
    name               TEXT NOT NULL CHECK (name <> ''),
    kind               TEXT NOT NULL CHECK (kind IN ('EVENT', 'BOOKING', 'COUPON')),
    event_id           TEXT REFERENCES events(id),
    service_kind       TEXT,
    coupon_template_id TEXT REFERENCES coupon_templates(id),
    title              TEXT NOT NULL,
    body               TEXT NOT NULL,
    send_at            DATETIME NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('SCHEDULED', 'SENDING', 'SENT', 'CANCELLED')),
    invited            INTEGER NOT NULL DEFAULT 0,
    created_by         TEXT NOT NULL REFERENCES staffs(id),
    sent_at            DATETIME,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    CHECK ((kind = 'EVENT') = (event_id IS NOT NULL)),
    CHECK ((kind = 'COUPON') = (coupon_template_id IS NOT NULL))
);
INSERT INTO campaigns_new (id, store_id, audience_id, name, kind, event_id, service_kind, title, body, send_at, status,
    invited, created_by, sent_at, created_at, updated_at)
SELECT id, store_id, audience_id, name, kind, event_id, service_kind, title, body, send_at, status,
    invited, created_by, sent_at, created_at, updated_at FROM campaigns;
CREATE TABLE campaign_invitations_new (
    id              TEXT NOT NULL PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns_new(id),
    owner_id        TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    segment         TEXT NOT NULL,
    response        TEXT CHECK (response IN ('NOT_REACHED', 'COMING', 'NOT_SURE', 'NOT_COMING')),
    note            TEXT NOT NULL DEFAULT '',
    responded_by    TEXT REFERENCES staffs(id),
    responded_at    DATETIME,
    notification_id TEXT,
    coupon_id       TEXT,
    created_at      DATETIME NOT NULL,
    UNIQUE (campaign_id, owner_id)
);
INSERT INTO campaign_invitations_new (id, campaign_id, owner_id, store_id, segment, response, note, responded_by, responded_at, created_at)
SELECT id, campaign_id, owner_id, store_id, segment, response, note, responded_by, responded_at, created_at FROM campaign_invitations;
DROP TABLE campaign_invitations;
DROP TABLE campaigns;
ALTER TABLE campaigns_new RENAME TO campaigns;
ALTER TABLE campaign_invitations_new RENAME TO campaign_invitations;
CREATE INDEX campaigns_due_idx ON campaigns (status, send_at);
CREATE INDEX campaigns_store_idx ON campaigns (store_id, id);
CREATE INDEX campaign_invitations_owner_idx ON campaign_invitations (owner_id);

-- +goose Down
-- The rebuilt tables stay; their new columns are empty for old rows.
SELECT 1;

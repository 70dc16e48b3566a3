-- +goose Up
-- Coupons on event fees and event rewards: see the PostgreSQL migration and
-- docs/coupons.md. SQLite cannot change a CHECK, so coupons is rebuilt (no
-- table refers to it).
CREATE TABLE coupons_new (
    id            TEXT NOT NULL PRIMARY KEY,
    template_id   TEXT NOT NULL REFERENCES coupon_templates (id),
    owner_id      TEXT NOT NULL REFERENCES owners (id),
    store_id      TEXT REFERENCES stores (id),
    status        TEXT NOT NULL CHECK (status IN ('AVAILABLE', 'RESERVED', 'USED', 'EXPIRED', 'REVOKED')),
    source        TEXT NOT NULL CHECK (source IN ('STAFF', 'CAMPAIGN', 'REFERRAL', 'EVENT_REWARD')),
    valid_from    DATETIME NOT NULL,
    valid_until   DATETIME NOT NULL,
    issued_by     TEXT REFERENCES staffs (id),
    issued_at     DATETIME NOT NULL,
    used_at       DATETIME,
    used_ref_type TEXT NOT NULL DEFAULT '',
    used_ref_id   TEXT,
    discount_fen  INTEGER NOT NULL DEFAULT 0 CHECK (discount_fen >= 0),
    revoked_at    DATETIME,
    revoked_by    TEXT REFERENCES staffs (id),
    reminded_at   DATETIME,
    updated_at    DATETIME NOT NULL,
    CHECK (valid_from < valid_until),
    CHECK ((status = 'USED') = (used_at IS NOT NULL AND used_ref_id IS NOT NULL AND discount_fen > 0)),
    CHECK ((status = 'RESERVED') = (used_at IS NULL AND used_ref_id IS NOT NULL AND discount_fen > 0)),
    CHECK ((status = 'REVOKED') = (revoked_at IS NOT NULL))
);
INSERT INTO coupons_new (id, template_id, owner_id, store_id, status, source, valid_from, valid_until, issued_by, issued_at,
    used_at, used_ref_type, used_ref_id, discount_fen, revoked_at, revoked_by, reminded_at, updated_at)
SELECT id, template_id, owner_id, store_id, status, source, valid_from, valid_until, issued_by, issued_at,
    used_at, used_ref_type, used_ref_id, discount_fen, revoked_at, revoked_by, reminded_at, updated_at
FROM coupons;
DROP TABLE coupons;
ALTER TABLE coupons_new RENAME TO coupons;
CREATE INDEX coupons_owner_idx ON coupons (owner_id, id);
CREATE INDEX coupons_template_owner_idx ON coupons (template_id, owner_id);
CREATE INDEX coupons_available_idx ON coupons (valid_until) WHERE status = 'AVAILABLE';
CREATE UNIQUE INDEX coupons_used_ref_idx ON coupons (used_ref_id) WHERE status IN ('RESERVED', 'USED');
CREATE INDEX coupons_reserved_idx ON coupons (updated_at, id) WHERE status = 'RESERVED';

ALTER TABLE registrations ADD COLUMN coupon_id TEXT;
ALTER TABLE registrations ADD COLUMN coupon_fen INTEGER NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
ALTER TABLE registrations ADD COLUMN reward_coupon_id TEXT;
CREATE UNIQUE INDEX registrations_reward_coupon_idx ON registrations (reward_coupon_id) WHERE reward_coupon_id IS NOT NULL;

ALTER TABLE events ADD COLUMN reward_coupon_template_id TEXT REFERENCES coupon_templates (id);

-- +goose Down
SELECT 1;

-- +goose Up
-- Coupons: see the PostgreSQL migration and docs/coupons.md.
CREATE TABLE coupon_templates (
    id              TEXT NOT NULL PRIMARY KEY,
    store_id        TEXT REFERENCES stores (id),
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('FIXED_OFF', 'PERCENT_OFF', 'FREE_ITEM')),
    amount_fen      INTEGER NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    percent         INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 99),
    cap_fen         INTEGER NOT NULL DEFAULT 0 CHECK (cap_fen >= 0),
    item_name       TEXT NOT NULL DEFAULT '',
    item_code       TEXT NOT NULL DEFAULT '',
    min_spend_fen   INTEGER NOT NULL DEFAULT 0 CHECK (min_spend_fen >= 0),
    order_kinds     TEXT NOT NULL DEFAULT '',
    event_fees      INTEGER NOT NULL DEFAULT 0,
    valid_from      DATETIME,
    valid_until     DATETIME,
    valid_days      INTEGER NOT NULL DEFAULT 0 CHECK (valid_days >= 0),
    per_owner_limit INTEGER NOT NULL CHECK (per_owner_limit >= 1),
    created_by      TEXT NOT NULL REFERENCES staffs (id),
    created_at      DATETIME NOT NULL,
    CHECK (kind <> 'FIXED_OFF' OR amount_fen > 0),
    CHECK (kind <> 'PERCENT_OFF' OR (percent >= 1 AND cap_fen > 0)),
    CHECK (kind <> 'FREE_ITEM' OR (item_code <> '' AND cap_fen > 0)),
    CHECK (order_kinds <> '' OR event_fees <> 0),
    CHECK ((valid_days > 0) <> (valid_until IS NOT NULL)),
    CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from < valid_until)
);
CREATE INDEX coupon_templates_store_idx ON coupon_templates (store_id, id);

CREATE TABLE coupons (
    id            TEXT NOT NULL PRIMARY KEY,
    template_id   TEXT NOT NULL REFERENCES coupon_templates (id),
    owner_id      TEXT NOT NULL REFERENCES owners (id),
    store_id      TEXT REFERENCES stores (id),
    status        TEXT NOT NULL CHECK (status IN ('AVAILABLE', 'USED', 'EXPIRED', 'REVOKED')),
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
    CHECK ((status = 'REVOKED') = (revoked_at IS NOT NULL))
);
CREATE INDEX coupons_owner_idx ON coupons (owner_id, id);
CREATE INDEX coupons_template_owner_idx ON coupons (template_id, owner_id);
-- The expiry and reminder jobs find the available coupons by their end.
CREATE INDEX coupons_available_idx ON coupons (valid_until) WHERE status = 'AVAILABLE';
-- One coupon per use: an order or a registration takes at most one.
CREATE UNIQUE INDEX coupons_used_ref_idx ON coupons (used_ref_id) WHERE status = 'USED';

-- A settlement records the coupon's discount as a payment line of method
-- COUPON. SQLite cannot change a CHECK, so repair_order_payments is rebuilt
-- (no table refers to it).
CREATE TABLE repair_order_payments_new (
    id                TEXT NOT NULL PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES repair_orders (id),
    method            TEXT NOT NULL CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS', 'COUPON')),
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    points            INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    reference         TEXT NOT NULL DEFAULT '',
    ledger_entry_id   TEXT,
    created_by        TEXT REFERENCES staffs (id),
    online_payment_id TEXT REFERENCES payments (id),
    created_at        DATETIME NOT NULL,
    CHECK ((created_by IS NULL) = (online_payment_id IS NOT NULL)),
    CHECK (online_payment_id IS NULL OR method = 'WECHAT_PAY')
);
INSERT INTO repair_order_payments_new (id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, online_payment_id, created_at)
SELECT id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, online_payment_id, created_at
FROM repair_order_payments;
DROP TABLE repair_order_payments;
ALTER TABLE repair_order_payments_new RENAME TO repair_order_payments;
CREATE INDEX repair_order_payments_order_idx ON repair_order_payments (order_id);
CREATE UNIQUE INDEX repair_order_payments_online_idx ON repair_order_payments (online_payment_id)
    WHERE online_payment_id IS NOT NULL;

-- +goose Down
SELECT 1;

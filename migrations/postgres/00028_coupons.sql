-- +goose Up
-- Coupons (docs/coupons.md): templates a store (or the group) defines, and
-- the coupons issued from them to owners. A coupon is used at most once:
-- redemption is a conditional update from AVAILABLE in the settlement's or
-- the registration's transaction. The per-owner limit of a template is
-- counted under the owner's row lock when a coupon is issued.
CREATE TABLE coupon_templates (
    id              uuid PRIMARY KEY,
    store_id        uuid REFERENCES stores (id),
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('FIXED_OFF', 'PERCENT_OFF', 'FREE_ITEM')),
    amount_fen      bigint NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),
    percent         integer NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 99),
    cap_fen         bigint NOT NULL DEFAULT 0 CHECK (cap_fen >= 0),
    item_name       text NOT NULL DEFAULT '',
    item_code       text NOT NULL DEFAULT '',
    min_spend_fen   bigint NOT NULL DEFAULT 0 CHECK (min_spend_fen >= 0),
    order_kinds     text NOT NULL DEFAULT '',
    event_fees      boolean NOT NULL DEFAULT false,
    valid_from      timestamptz,
    valid_until     timestamptz,
    valid_days      integer NOT NULL DEFAULT 0 CHECK (valid_days >= 0),
    per_owner_limit integer NOT NULL CHECK (per_owner_limit >= 1),
    created_by      uuid NOT NULL REFERENCES staffs (id),
    created_at      timestamptz NOT NULL,
    CHECK (kind <> 'FIXED_OFF' OR amount_fen > 0),
    CHECK (kind <> 'PERCENT_OFF' OR (percent >= 1 AND cap_fen > 0)),
    CHECK (kind <> 'FREE_ITEM' OR (item_code <> '' AND cap_fen > 0)),
    CHECK (order_kinds <> '' OR event_fees),
    CHECK ((valid_days > 0) <> (valid_until IS NOT NULL)),
    CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from < valid_until)
);
CREATE INDEX coupon_templates_store_idx ON coupon_templates (store_id, id);

CREATE TABLE coupons (
    id            uuid PRIMARY KEY,
    template_id   uuid NOT NULL REFERENCES coupon_templates (id),
    owner_id      uuid NOT NULL REFERENCES owners (id),
    store_id      uuid REFERENCES stores (id),
    status        text NOT NULL CHECK (status IN ('AVAILABLE', 'USED', 'EXPIRED', 'REVOKED')),
    source        text NOT NULL CHECK (source IN ('STAFF', 'CAMPAIGN', 'REFERRAL', 'EVENT_REWARD')),
    valid_from    timestamptz NOT NULL,
    valid_until   timestamptz NOT NULL,
    issued_by     uuid REFERENCES staffs (id),
    issued_at     timestamptz NOT NULL,
    used_at       timestamptz,
    used_ref_type text NOT NULL DEFAULT '',
    used_ref_id   uuid,
    discount_fen  bigint NOT NULL DEFAULT 0 CHECK (discount_fen >= 0),
    revoked_at    timestamptz,
    revoked_by    uuid REFERENCES staffs (id),
    reminded_at   timestamptz,
    updated_at    timestamptz NOT NULL,
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
-- COUPON (its reference is the coupon's id), so the bill's payments still
-- add up to the payable amount.
ALTER TABLE repair_order_payments DROP CONSTRAINT repair_order_payments_method_check;
ALTER TABLE repair_order_payments ADD CONSTRAINT repair_order_payments_method_check
    CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS', 'COUPON'));

-- +goose Down
SELECT 1;

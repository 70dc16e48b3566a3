-- +goose Up
-- Coupons on event fees and event rewards (docs/coupons.md, "Event fees").
-- A coupon named at registration is RESERVED for it (used_ref_* and
-- discount_fen set, used_at not yet) until the fee is paid (USED) or the
-- registration is withdrawn (AVAILABLE again, or EXPIRED).
ALTER TABLE coupons DROP CONSTRAINT coupons_status_check;
ALTER TABLE coupons ADD CONSTRAINT coupons_status_check
    CHECK (status IN ('AVAILABLE', 'RESERVED', 'USED', 'EXPIRED', 'REVOKED'));
ALTER TABLE coupons ADD CONSTRAINT coupons_reserved_check
    CHECK ((status = 'RESERVED') = (used_at IS NULL AND used_ref_id IS NOT NULL AND discount_fen > 0));
-- One coupon per use, held or spent; the give-back finds it by its use.
DROP INDEX coupons_used_ref_idx;
CREATE UNIQUE INDEX coupons_used_ref_idx ON coupons (used_ref_id) WHERE status IN ('RESERVED', 'USED');
-- The coupons held for registrations, which the waitlist job reads.
CREATE INDEX coupons_reserved_idx ON coupons (updated_at, id) WHERE status = 'RESERVED';

-- The coupon a registration named and what it took off the fee; the
-- coupon its check-in earned (at most one per registration).
ALTER TABLE registrations ADD COLUMN coupon_id uuid;
ALTER TABLE registrations ADD COLUMN coupon_fen bigint NOT NULL DEFAULT 0 CHECK (coupon_fen >= 0);
ALTER TABLE registrations ADD COLUMN reward_coupon_id uuid;
CREATE UNIQUE INDEX registrations_reward_coupon_idx ON registrations (reward_coupon_id) WHERE reward_coupon_id IS NOT NULL;

-- The template an event's check-in rewards from (nil: none).
ALTER TABLE events ADD COLUMN reward_coupon_template_id uuid REFERENCES coupon_templates (id);

-- +goose Down
SELECT 1;

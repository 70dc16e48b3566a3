-- +goose Up
-- Coupon campaigns and what invited owners did (docs/crm.md, "Coupon
-- campaigns" and "What owners did"). A COUPON campaign names the coupon
-- template whose coupon each invitation carries (issued at dispatch, in the
-- invitation's transaction). Each invitation keeps the id of its inbox
-- notification (opened: read in the inbox; delivered: a SENT delivery of it)
-- and of the coupon it issued (redeemed: that coupon USED). Neither is a
-- foreign key: notifications and coupons belong to other capabilities and go
-- with an erased account, as the invitation does.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_kind_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_kind_check CHECK (kind IN ('EVENT', 'BOOKING', 'COUPON'));
ALTER TABLE campaigns ADD COLUMN coupon_template_id uuid REFERENCES coupon_templates(id);
ALTER TABLE campaigns ADD CONSTRAINT campaigns_coupon_check CHECK ((kind = 'COUPON') = (coupon_template_id IS NOT NULL));
ALTER TABLE campaign_invitations ADD COLUMN notification_id uuid;
ALTER TABLE campaign_invitations ADD COLUMN coupon_id uuid;

-- +goose Down
ALTER TABLE campaign_invitations DROP COLUMN coupon_id;
ALTER TABLE campaign_invitations DROP COLUMN notification_id;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_coupon_check;
ALTER TABLE campaigns DROP COLUMN coupon_template_id;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_kind_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_kind_check CHECK (kind IN ('EVENT', 'BOOKING'));

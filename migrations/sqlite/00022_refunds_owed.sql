-- +goose Up
-- A refund paid back by hand: what staff noted and who recorded it. The
-- refunds the provider gave up on (listed for staff) and the payments
-- waiting for them at a store.
ALTER TABLE payment_refunds ADD COLUMN manual_note TEXT;
ALTER TABLE payment_refunds ADD COLUMN manual_by TEXT REFERENCES staffs (id);
CREATE INDEX payment_refunds_owed_idx ON payment_refunds (payment_id) WHERE state IN ('CLOSED', 'ABNORMAL');
CREATE INDEX payments_refunding_idx ON payments (store_id, id) WHERE state = 'REFUNDING';

-- +goose Down
DROP INDEX payments_refunding_idx;
DROP INDEX payment_refunds_owed_idx;
ALTER TABLE payment_refunds DROP COLUMN manual_by;
ALTER TABLE payment_refunds DROP COLUMN manual_note;

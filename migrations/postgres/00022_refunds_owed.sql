-- +goose Up
-- A refund paid back by hand: what staff noted and who recorded it.
ALTER TABLE payment_refunds ADD COLUMN manual_note text;
ALTER TABLE payment_refunds ADD COLUMN manual_by uuid REFERENCES staffs (id);
-- The refunds the provider closed or found abnormal: money owed that staff
-- pay back by hand (their payments are listed for managers).
CREATE INDEX payment_refunds_owed_idx ON payment_refunds (payment_id) WHERE state IN ('CLOSED', 'ABNORMAL');
-- The payments being refunded at a store, newest first (the managers' list).
CREATE INDEX payments_refunding_idx ON payments (store_id, id) WHERE state = 'REFUNDING';

-- +goose Down
DROP INDEX payments_refunding_idx;
DROP INDEX payment_refunds_owed_idx;
ALTER TABLE payment_refunds DROP COLUMN manual_by;
ALTER TABLE payment_refunds DROP COLUMN manual_note;

-- +goose Up
-- A repair bill paid online: the settlement's WECHAT_PAY line is recorded by
-- the payment (online_payment_id), not by a staff member (created_by is
-- NULL then). One line per online payment: the payment settles an order
-- once. See docs/payments.md.
ALTER TABLE repair_order_payments ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE repair_order_payments ADD COLUMN online_payment_id uuid REFERENCES payments (id);
ALTER TABLE repair_order_payments ADD CONSTRAINT repair_order_payments_recorder_check
    CHECK ((created_by IS NULL) = (online_payment_id IS NOT NULL));
ALTER TABLE repair_order_payments ADD CONSTRAINT repair_order_payments_online_check
    CHECK (online_payment_id IS NULL OR method = 'WECHAT_PAY');
CREATE UNIQUE INDEX repair_order_payments_online_idx ON repair_order_payments (online_payment_id)
    WHERE online_payment_id IS NOT NULL;

-- +goose Down
DROP INDEX repair_order_payments_online_idx;
ALTER TABLE repair_order_payments DROP CONSTRAINT repair_order_payments_online_check;
ALTER TABLE repair_order_payments DROP CONSTRAINT repair_order_payments_recorder_check;
ALTER TABLE repair_order_payments DROP COLUMN online_payment_id;
ALTER TABLE repair_order_payments ALTER COLUMN created_by SET NOT NULL;

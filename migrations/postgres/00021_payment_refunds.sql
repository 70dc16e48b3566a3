-- +goose Up
-- A payment pays for one purpose: a top-up (store and amount), an event fee
-- (the registration whose seat it holds) or a repair bill (the order). The
-- thing paid for is reference_id; one payment at a time may be in flight or
-- paid for it (the purpose checks that under the thing's lock).
ALTER TABLE payments DROP CONSTRAINT payments_purpose_check;
ALTER TABLE payments ADD CONSTRAINT payments_purpose_check
    CHECK (purpose IN ('TOP_UP', 'EVENT_FEE', 'REPAIR_BILL'));
ALTER TABLE payments ADD COLUMN reference_id uuid;
ALTER TABLE payments ADD CONSTRAINT payments_reference_check
    CHECK ((purpose = 'TOP_UP') = (reference_id IS NULL));
-- How much of the payment went back to the payer (refunds that succeeded).
ALTER TABLE payments ADD COLUMN refunded_fen bigint NOT NULL DEFAULT 0
    CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen);
-- The payments of one registration or repair order.
CREATE INDEX payments_reference_idx ON payments (reference_id) WHERE reference_id IS NOT NULL;

-- Money going back to a payer through the provider's refund API, to the
-- payment it came from. A refund is recorded (PENDING) in the transaction
-- that decides it, with the payment set REFUNDING under its lock; it is then
-- sent under its out_refund_no (so sending twice refunds once) and follows
-- the provider: PROCESSING, then SUCCESS, CLOSED or ABNORMAL. A refund made
-- outside the API (by hand at the counter) is recorded SUCCESS with its
-- manual reference. See docs/payments.md.
CREATE TABLE payment_refunds (
    id               uuid PRIMARY KEY,
    payment_id       uuid NOT NULL REFERENCES payments (id),
    out_refund_no    text NOT NULL UNIQUE CHECK (out_refund_no <> ''),
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    cause            text NOT NULL CHECK (cause <> ''),
    reason           text NOT NULL CHECK (reason <> ''),
    state            text NOT NULL CHECK (state IN ('PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
    refund_id        text,
    requested_by     uuid REFERENCES staffs (id),
    manual_reference text,
    succeeded_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- A payment's refunds (the amount still refundable; the payment's page).
CREATE INDEX payment_refunds_payment_idx ON payment_refunds (payment_id);
-- The refunds still to send or to hear about (the refund job).
CREATE INDEX payment_refunds_open_idx ON payment_refunds (created_at) WHERE state IN ('PENDING', 'PROCESSING');

-- +goose Down
DROP TABLE payment_refunds;
DROP INDEX payments_reference_idx;
ALTER TABLE payments DROP COLUMN refunded_fen;
ALTER TABLE payments DROP CONSTRAINT payments_reference_check;
ALTER TABLE payments DROP COLUMN reference_id;
ALTER TABLE payments DROP CONSTRAINT payments_purpose_check;
ALTER TABLE payments ADD CONSTRAINT payments_purpose_check CHECK (purpose IN ('TOP_UP'));

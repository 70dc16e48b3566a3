-- +goose Up
-- The daily reconciliation of WeChat Pay's trade bill against our payments,
-- refunds and the ledger's top-ups (docs/payments.md, "Reconciliation"):
-- one run per bill date, replaced whole when the date is run again (its row
-- is the lock two concurrent runs queue on), and the mismatches it found.
CREATE TABLE payment_reconciliations (
    id               uuid PRIMARY KEY,
    bill_date        date NOT NULL UNIQUE,
    state            text NOT NULL CHECK (state IN ('NOT_READY', 'MATCHED', 'MISMATCHED')),
    bill_payments    bigint NOT NULL DEFAULT 0 CHECK (bill_payments >= 0),
    bill_payment_fen bigint NOT NULL DEFAULT 0,
    bill_refunds     bigint NOT NULL DEFAULT 0 CHECK (bill_refunds >= 0),
    bill_refund_fen  bigint NOT NULL DEFAULT 0,
    payments         bigint NOT NULL DEFAULT 0 CHECK (payments >= 0),
    payment_fen      bigint NOT NULL DEFAULT 0,
    refunds          bigint NOT NULL DEFAULT 0 CHECK (refunds >= 0),
    refund_fen       bigint NOT NULL DEFAULT 0,
    mismatches       bigint NOT NULL DEFAULT 0 CHECK (mismatches >= 0),
    ran_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- The runs still waiting for their bill (the job tries them again).
CREATE INDEX payment_reconciliations_not_ready_idx ON payment_reconciliations (bill_date) WHERE state = 'NOT_READY';

CREATE TABLE payment_reconciliation_mismatches (
    id                uuid PRIMARY KEY,
    reconciliation_id uuid NOT NULL REFERENCES payment_reconciliations (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind <> ''),
    -- The store of the payment concerned; NULL when the bill names a
    -- payment or refund we have no record of (only GROUP_ADMIN sees those).
    store_id          uuid REFERENCES stores (id),
    payment_id        uuid REFERENCES payments (id),
    refund_id         uuid REFERENCES payment_refunds (id),
    out_trade_no      text NOT NULL DEFAULT '',
    out_refund_no     text NOT NULL DEFAULT '',
    transaction_id    text NOT NULL DEFAULT '',
    bill_amount_fen   bigint,
    our_amount_fen    bigint,
    bill_state        text NOT NULL DEFAULT '',
    our_state         text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL
);
-- A run's mismatches, a page at a time: all of them, or a store's.
CREATE INDEX payment_reconciliation_mismatches_run_idx ON payment_reconciliation_mismatches (reconciliation_id, id);
CREATE INDEX payment_reconciliation_mismatches_store_idx ON payment_reconciliation_mismatches (reconciliation_id, store_id, id);

-- A day's payments by WeChat Pay's success time, and its refunds by when
-- they succeeded (what the day's bill is compared with).
CREATE INDEX payments_paid_idx ON payments (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX payment_refunds_succeeded_idx ON payment_refunds (succeeded_at) WHERE succeeded_at IS NOT NULL;

-- +goose Down
DROP INDEX payment_refunds_succeeded_idx;
DROP INDEX payments_paid_idx;
DROP TABLE payment_reconciliation_mismatches;
DROP TABLE payment_reconciliations;

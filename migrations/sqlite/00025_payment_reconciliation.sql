-- +goose Up
-- The daily reconciliation of WeChat Pay's trade bill: see the PostgreSQL
-- migration and docs/payments.md.
CREATE TABLE payment_reconciliations (
    id               TEXT NOT NULL PRIMARY KEY,
    bill_date        DATE NOT NULL UNIQUE,
    state            TEXT NOT NULL CHECK (state IN ('NOT_READY', 'MATCHED', 'MISMATCHED')),
    bill_payments    INTEGER NOT NULL DEFAULT 0 CHECK (bill_payments >= 0),
    bill_payment_fen INTEGER NOT NULL DEFAULT 0,
    bill_refunds     INTEGER NOT NULL DEFAULT 0 CHECK (bill_refunds >= 0),
    bill_refund_fen  INTEGER NOT NULL DEFAULT 0,
    payments         INTEGER NOT NULL DEFAULT 0 CHECK (payments >= 0),
    payment_fen      INTEGER NOT NULL DEFAULT 0,
    refunds          INTEGER NOT NULL DEFAULT 0 CHECK (refunds >= 0),
    refund_fen       INTEGER NOT NULL DEFAULT 0,
    mismatches       INTEGER NOT NULL DEFAULT 0 CHECK (mismatches >= 0),
    ran_at           DATETIME NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX payment_reconciliations_not_ready_idx ON payment_reconciliations (bill_date) WHERE state = 'NOT_READY';

CREATE TABLE payment_reconciliation_mismatches (
    id                TEXT NOT NULL PRIMARY KEY,
    reconciliation_id TEXT NOT NULL REFERENCES payment_reconciliations (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind <> ''),
    store_id          TEXT REFERENCES stores (id),
    payment_id        TEXT REFERENCES payments (id),
    refund_id         TEXT REFERENCES payment_refunds (id),
    out_trade_no      TEXT NOT NULL DEFAULT '',
    out_refund_no     TEXT NOT NULL DEFAULT '',
    transaction_id    TEXT NOT NULL DEFAULT '',
    bill_amount_fen   INTEGER,
    our_amount_fen    INTEGER,
    bill_state        TEXT NOT NULL DEFAULT '',
    our_state         TEXT NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL
);
CREATE INDEX payment_reconciliation_mismatches_run_idx ON payment_reconciliation_mismatches (reconciliation_id, id);
CREATE INDEX payment_reconciliation_mismatches_store_idx ON payment_reconciliation_mismatches (reconciliation_id, store_id, id);

CREATE INDEX payments_paid_idx ON payments (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX payment_refunds_succeeded_idx ON payment_refunds (succeeded_at) WHERE succeeded_at IS NOT NULL;

-- +goose Down
DROP INDEX payment_refunds_succeeded_idx;
DROP INDEX payments_paid_idx;
DROP TABLE payment_reconciliation_mismatches;
DROP TABLE payment_reconciliations;

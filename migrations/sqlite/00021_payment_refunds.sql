-- +goose Up
-- Payments for events and repair bills, and refunds: see the PostgreSQL
-- migration and docs/payments.md. SQLite cannot change a CHECK, so payments
-- is rebuilt (no table refers to it yet).
CREATE TABLE payments_new (
    id               TEXT NOT NULL PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES owners (id),
    store_id         TEXT NOT NULL REFERENCES stores (id),
    purpose          TEXT NOT NULL CHECK (purpose IN ('TOP_UP', 'EVENT_FEE', 'REPAIR_BILL')),
    reference_id     TEXT,
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    refunded_fen     INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    out_trade_no     TEXT NOT NULL UNIQUE CHECK (out_trade_no <> ''),
    trade_type       TEXT NOT NULL CHECK (trade_type IN ('JSAPI', 'APP')),
    payer_openid     TEXT,
    prepay_id        TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'PAID', 'CLOSED', 'REFUNDING', 'REFUNDED', 'FAILED')),
    transaction_id   TEXT,
    idempotency_key  TEXT NOT NULL CHECK (idempotency_key <> ''),
    expires_at       DATETIME NOT NULL,
    paid_at          DATETIME,
    closed_at        DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    UNIQUE (owner_id, idempotency_key),
    CHECK ((purpose = 'TOP_UP') = (reference_id IS NULL))
);
INSERT INTO payments_new (id, owner_id, store_id, purpose, amount_fen, out_trade_no, trade_type, payer_openid,
    prepay_id, state, transaction_id, idempotency_key, expires_at, paid_at, closed_at, created_at, updated_at)
SELECT id, owner_id, store_id, purpose, amount_fen, out_trade_no, trade_type, payer_openid,
    prepay_id, state, transaction_id, idempotency_key, expires_at, paid_at, closed_at, created_at, updated_at
FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_owner_idx ON payments (owner_id, id);
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE state = 'PENDING';
CREATE INDEX payments_reference_idx ON payments (reference_id) WHERE reference_id IS NOT NULL;

CREATE TABLE payment_refunds (
    id               TEXT NOT NULL PRIMARY KEY,
    payment_id       TEXT NOT NULL REFERENCES payments (id),
    out_refund_no    TEXT NOT NULL UNIQUE CHECK (out_refund_no <> ''),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
    cause            TEXT NOT NULL CHECK (cause <> ''),
    reason           TEXT NOT NULL CHECK (reason <> ''),
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL')),
    refund_id        TEXT,
    requested_by     TEXT REFERENCES staffs (id),
    manual_reference TEXT,
    succeeded_at     DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);
CREATE INDEX payment_refunds_payment_idx ON payment_refunds (payment_id);
CREATE INDEX payment_refunds_open_idx ON payment_refunds (created_at) WHERE state IN ('PENDING', 'PROCESSING');

-- +goose Down
DROP TABLE payment_refunds;

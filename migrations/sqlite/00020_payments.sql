-- +goose Up
-- Online payments (WeChat Pay): see the PostgreSQL migration and docs/payments.md.
CREATE TABLE payments (
    id               TEXT NOT NULL PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES owners (id),
    store_id         TEXT NOT NULL REFERENCES stores (id),
    purpose          TEXT NOT NULL CHECK (purpose IN ('TOP_UP')),
    amount_fen       INTEGER NOT NULL CHECK (amount_fen > 0),
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
    UNIQUE (owner_id, idempotency_key)
);
CREATE INDEX payments_owner_idx ON payments (owner_id, id);
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE state = 'PENDING';

-- +goose Down
DROP TABLE payments;

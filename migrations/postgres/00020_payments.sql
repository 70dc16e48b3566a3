-- +goose Up
-- Online payments (WeChat Pay): one row per payment an owner starts, for
-- one purpose. out_trade_no is what the provider knows it by; state moves
-- PENDING -> PAID or CLOSED (or FAILED) once, under the row's lock, and the
-- payment's effect (the ledger entries of a top-up) is applied in that same
-- transaction. See docs/payments.md.
CREATE TABLE payments (
    id               uuid PRIMARY KEY,
    owner_id         uuid NOT NULL REFERENCES owners (id),
    store_id         uuid NOT NULL REFERENCES stores (id),
    purpose          text NOT NULL CHECK (purpose IN ('TOP_UP')),
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    out_trade_no     text NOT NULL UNIQUE CHECK (out_trade_no <> ''),
    trade_type       text NOT NULL CHECK (trade_type IN ('JSAPI', 'APP')),
    payer_openid     text,
    prepay_id        text NOT NULL DEFAULT '',
    state            text NOT NULL CHECK (state IN ('PENDING', 'PAID', 'CLOSED', 'REFUNDING', 'REFUNDED', 'FAILED')),
    transaction_id   text,
    idempotency_key  text NOT NULL CHECK (idempotency_key <> ''),
    expires_at       timestamptz NOT NULL,
    paid_at          timestamptz,
    closed_at        timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (owner_id, idempotency_key)
);
-- The owner's payments, newest first (me.payments; ids are time-ordered).
CREATE INDEX payments_owner_idx ON payments (owner_id, id);
-- The payments still waiting for the provider's word (the query job).
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE state = 'PENDING';

-- +goose Down
DROP TABLE payments;

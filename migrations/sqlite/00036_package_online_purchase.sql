-- +goose Up
-- Service packages bought online (docs/packages.md): a payment of purpose
-- SERVICE_PACKAGE creates the owner's package when it is paid. The package
-- records its payment (one package per payment: owner_packages_payment_idx)
-- and has no seller. SQLite cannot change a CHECK or a NOT NULL, so payments
-- and owner_packages are rebuilt under their own names: other tables refer
-- to both, so the foreign keys are checked at the commit, when every row is
-- back.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE payments_copy AS SELECT * FROM payments;
DROP TABLE payments;
CREATE TABLE payments (
    id               TEXT NOT NULL PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES owners (id),
    store_id         TEXT NOT NULL REFERENCES stores (id),
    purpose          TEXT NOT NULL CHECK (purpose IN ('TOP_UP', 'EVENT_FEE', 'REPAIR_BILL', 'SERVICE_PACKAGE')),
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
INSERT INTO payments (id, owner_id, store_id, purpose, reference_id, amount_fen, refunded_fen, out_trade_no, trade_type,
    payer_openid, prepay_id, state, transaction_id, idempotency_key, expires_at, paid_at, closed_at, created_at, updated_at)
SELECT id, owner_id, store_id, purpose, reference_id, amount_fen, refunded_fen, out_trade_no, trade_type,
    payer_openid, prepay_id, state, transaction_id, idempotency_key, expires_at, paid_at, closed_at, created_at, updated_at
FROM payments_copy;
DROP TABLE payments_copy;
CREATE INDEX payments_owner_idx ON payments (owner_id, id);
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE state = 'PENDING';
CREATE INDEX payments_reference_idx ON payments (reference_id) WHERE reference_id IS NOT NULL;
CREATE INDEX payments_refunding_idx ON payments (store_id, id) WHERE state = 'REFUNDING';
CREATE INDEX payments_paid_idx ON payments (paid_at) WHERE paid_at IS NOT NULL;

CREATE TEMP TABLE owner_packages_copy AS SELECT * FROM owner_packages;
DROP TABLE owner_packages;
CREATE TABLE owner_packages (
    id                     TEXT NOT NULL PRIMARY KEY,
    package_id             TEXT NOT NULL REFERENCES service_packages (id),
    owner_id               TEXT NOT NULL REFERENCES owners (id),
    store_id               TEXT NOT NULL REFERENCES stores (id),
    order_kind             TEXT NOT NULL,
    uses_total             INTEGER NOT NULL CHECK (uses_total >= 1),
    uses_left              INTEGER NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses_total),
    price_fen              INTEGER NOT NULL CHECK (price_fen > 0),
    per_visit_cap_fen      INTEGER NOT NULL DEFAULT 0 CHECK (per_visit_cap_fen >= 0),
    valid_until            DATETIME NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('ACTIVE', 'USED_UP', 'REFUNDED')),
    pay_method             TEXT NOT NULL CHECK (pay_method IN ('WALLET', 'CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WECHAT_PAY_ONLINE')),
    pay_reference          TEXT NOT NULL DEFAULT '',
    ledger_entry_id        TEXT,
    payment_id             TEXT REFERENCES payments (id),
    sold_by                TEXT REFERENCES staffs (id),
    sold_at                DATETIME NOT NULL,
    refund_fen             INTEGER NOT NULL DEFAULT 0 CHECK (refund_fen >= 0),
    refunded_at            DATETIME,
    refunded_by            TEXT REFERENCES staffs (id),
    refund_ledger_entry_id TEXT,
    reminded_at            DATETIME,
    updated_at             DATETIME NOT NULL,
    CHECK ((status = 'USED_UP') = (uses_left = 0)),
    CHECK ((status = 'REFUNDED') = (refunded_at IS NOT NULL)),
    CHECK ((pay_method = 'WALLET') = (ledger_entry_id IS NOT NULL)),
    CHECK ((pay_method = 'WECHAT_PAY_ONLINE') = (payment_id IS NOT NULL)),
    CHECK ((sold_by IS NULL) = (payment_id IS NOT NULL)),
    CHECK (sold_at < valid_until)
);
INSERT INTO owner_packages (id, package_id, owner_id, store_id, order_kind, uses_total, uses_left, price_fen,
    per_visit_cap_fen, valid_until, status, pay_method, pay_reference, ledger_entry_id, sold_by, sold_at, refund_fen,
    refunded_at, refunded_by, refund_ledger_entry_id, reminded_at, updated_at)
SELECT id, package_id, owner_id, store_id, order_kind, uses_total, uses_left, price_fen,
    per_visit_cap_fen, valid_until, status, pay_method, pay_reference, ledger_entry_id, sold_by, sold_at, refund_fen,
    refunded_at, refunded_by, refund_ledger_entry_id, reminded_at, updated_at
FROM owner_packages_copy;
DROP TABLE owner_packages_copy;
CREATE INDEX owner_packages_owner_idx ON owner_packages (owner_id, id);
CREATE INDEX owner_packages_package_idx ON owner_packages (package_id);
-- The expiry reminder finds the active packages by their end.
CREATE INDEX owner_packages_active_idx ON owner_packages (valid_until) WHERE status = 'ACTIVE';
-- One package per payment, however often the payment's news arrives.
CREATE UNIQUE INDEX owner_packages_payment_idx ON owner_packages (payment_id) WHERE payment_id IS NOT NULL;

-- +goose Down
SELECT 1;

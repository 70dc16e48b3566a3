-- +goose Up
-- Service packages (docs/packages.md): products a store sells (N visits of
-- one repair order kind for a price, valid some days from purchase), the
-- packages owners bought, and each use consumed by a settlement. A use is
-- taken under the owner package's row lock in the settlement's transaction;
-- an order consumes at most one use (package_uses_order_idx).
CREATE TABLE service_packages (
    id                TEXT NOT NULL PRIMARY KEY,
    store_id          TEXT NOT NULL REFERENCES stores (id),
    name              TEXT NOT NULL,
    order_kind        TEXT NOT NULL CHECK (order_kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    uses              INTEGER NOT NULL CHECK (uses BETWEEN 1 AND 100),
    price_fen         INTEGER NOT NULL CHECK (price_fen > 0),
    valid_days        INTEGER NOT NULL CHECK (valid_days BETWEEN 1 AND 1095),
    per_visit_cap_fen INTEGER NOT NULL DEFAULT 0 CHECK (per_visit_cap_fen >= 0),
    retired_at        DATETIME,
    retired_by        TEXT REFERENCES staffs (id),
    created_by        TEXT NOT NULL REFERENCES staffs (id),
    created_at        DATETIME NOT NULL,
    CHECK ((retired_at IS NULL) = (retired_by IS NULL))
);
CREATE INDEX service_packages_store_idx ON service_packages (store_id, id);

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
    pay_method             TEXT NOT NULL CHECK (pay_method IN ('WALLET', 'CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY')),
    pay_reference          TEXT NOT NULL DEFAULT '',
    ledger_entry_id        TEXT,
    sold_by                TEXT NOT NULL REFERENCES staffs (id),
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
    CHECK (sold_at < valid_until)
);
CREATE INDEX owner_packages_owner_idx ON owner_packages (owner_id, id);
CREATE INDEX owner_packages_package_idx ON owner_packages (package_id);
-- The expiry reminder finds the active packages by their end.
CREATE INDEX owner_packages_active_idx ON owner_packages (valid_until) WHERE status = 'ACTIVE';

CREATE TABLE package_uses (
    id               TEXT NOT NULL PRIMARY KEY,
    owner_package_id TEXT NOT NULL REFERENCES owner_packages (id),
    order_id         TEXT NOT NULL REFERENCES repair_orders (id),
    covered_fen      INTEGER NOT NULL CHECK (covered_fen > 0),
    used_by          TEXT REFERENCES staffs (id),
    used_at          DATETIME NOT NULL
);
CREATE INDEX package_uses_package_idx ON package_uses (owner_package_id, id);
-- One use per order, whatever runs at once.
CREATE UNIQUE INDEX package_uses_order_idx ON package_uses (order_id);

-- A settlement records what the package covered as a payment line of
-- method PACKAGE. SQLite cannot change a CHECK, so repair_order_payments is
-- rebuilt (no table refers to it).
CREATE TABLE repair_order_payments_new (
    id                TEXT NOT NULL PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES repair_orders (id),
    method            TEXT NOT NULL CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS', 'COUPON', 'PACKAGE')),
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    points            INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    reference         TEXT NOT NULL DEFAULT '',
    ledger_entry_id   TEXT,
    created_by        TEXT REFERENCES staffs (id),
    online_payment_id TEXT REFERENCES payments (id),
    created_at        DATETIME NOT NULL,
    CHECK ((created_by IS NULL) = (online_payment_id IS NOT NULL)),
    CHECK (online_payment_id IS NULL OR method = 'WECHAT_PAY')
);
INSERT INTO repair_order_payments_new (id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, online_payment_id, created_at)
SELECT id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, online_payment_id, created_at
FROM repair_order_payments;
DROP TABLE repair_order_payments;
ALTER TABLE repair_order_payments_new RENAME TO repair_order_payments;
CREATE INDEX repair_order_payments_order_idx ON repair_order_payments (order_id);
CREATE UNIQUE INDEX repair_order_payments_online_idx ON repair_order_payments (online_payment_id)
    WHERE online_payment_id IS NOT NULL;

-- +goose Down
SELECT 1;

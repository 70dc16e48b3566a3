-- +goose Up
-- Service packages (docs/packages.md): products a store sells (N visits of
-- one repair order kind for a price, valid some days from purchase), the
-- packages owners bought, and each use consumed by a settlement. A use is
-- taken under the owner package's row lock in the settlement's transaction;
-- an order consumes at most one use (package_uses_order_idx).
CREATE TABLE service_packages (
    id                uuid PRIMARY KEY,
    store_id          uuid NOT NULL REFERENCES stores (id),
    name              text NOT NULL,
    order_kind        text NOT NULL CHECK (order_kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    uses              integer NOT NULL CHECK (uses BETWEEN 1 AND 100),
    price_fen         bigint NOT NULL CHECK (price_fen > 0),
    valid_days        integer NOT NULL CHECK (valid_days BETWEEN 1 AND 1095),
    per_visit_cap_fen bigint NOT NULL DEFAULT 0 CHECK (per_visit_cap_fen >= 0),
    retired_at        timestamptz,
    retired_by        uuid REFERENCES staffs (id),
    created_by        uuid NOT NULL REFERENCES staffs (id),
    created_at        timestamptz NOT NULL,
    CHECK ((retired_at IS NULL) = (retired_by IS NULL))
);
CREATE INDEX service_packages_store_idx ON service_packages (store_id, id);

CREATE TABLE owner_packages (
    id                     uuid PRIMARY KEY,
    package_id             uuid NOT NULL REFERENCES service_packages (id),
    owner_id               uuid NOT NULL REFERENCES owners (id),
    store_id               uuid NOT NULL REFERENCES stores (id),
    order_kind             text NOT NULL,
    uses_total             integer NOT NULL CHECK (uses_total >= 1),
    uses_left              integer NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses_total),
    price_fen              bigint NOT NULL CHECK (price_fen > 0),
    per_visit_cap_fen      bigint NOT NULL DEFAULT 0 CHECK (per_visit_cap_fen >= 0),
    valid_until            timestamptz NOT NULL,
    status                 text NOT NULL CHECK (status IN ('ACTIVE', 'USED_UP', 'REFUNDED')),
    pay_method             text NOT NULL CHECK (pay_method IN ('WALLET', 'CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY')),
    pay_reference          text NOT NULL DEFAULT '',
    ledger_entry_id        uuid,
    sold_by                uuid NOT NULL REFERENCES staffs (id),
    sold_at                timestamptz NOT NULL,
    refund_fen             bigint NOT NULL DEFAULT 0 CHECK (refund_fen >= 0),
    refunded_at            timestamptz,
    refunded_by            uuid REFERENCES staffs (id),
    refund_ledger_entry_id uuid,
    reminded_at            timestamptz,
    updated_at             timestamptz NOT NULL,
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
    id               uuid PRIMARY KEY,
    owner_package_id uuid NOT NULL REFERENCES owner_packages (id),
    order_id         uuid NOT NULL REFERENCES repair_orders (id),
    covered_fen      bigint NOT NULL CHECK (covered_fen > 0),
    used_by          uuid REFERENCES staffs (id),
    used_at          timestamptz NOT NULL
);
CREATE INDEX package_uses_package_idx ON package_uses (owner_package_id, id);
-- One use per order, whatever runs at once.
CREATE UNIQUE INDEX package_uses_order_idx ON package_uses (order_id);

-- A settlement records what the package covered as a payment line of
-- method PACKAGE (its reference is the owner package's id).
ALTER TABLE repair_order_payments DROP CONSTRAINT repair_order_payments_method_check;
ALTER TABLE repair_order_payments ADD CONSTRAINT repair_order_payments_method_check
    CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS', 'COUPON', 'PACKAGE'));

-- +goose Down
SELECT 1;

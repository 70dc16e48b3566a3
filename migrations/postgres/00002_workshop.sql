-- +goose Up
ALTER TABLE vehicles ADD COLUMN service_interval_months integer CHECK (service_interval_months BETWEEN 1 AND 60);
ALTER TABLE vehicles ADD COLUMN service_interval_km integer CHECK (service_interval_km BETWEEN 500 AND 100000);

CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES owners (id),
    kind       text NOT NULL CHECK (kind <> ''),
    title      text NOT NULL,
    body       text NOT NULL DEFAULT '',
    link       text NOT NULL DEFAULT '',
    dedupe_key text,
    read_at    timestamptz,
    created_at timestamptz NOT NULL,
    UNIQUE (owner_id, dedupe_key)
);
CREATE INDEX notifications_owner_idx ON notifications (owner_id, id);
CREATE INDEX notifications_unread_idx ON notifications (owner_id) WHERE read_at IS NULL;

CREATE TABLE repair_orders (
    id                     uuid PRIMARY KEY,
    number                 text NOT NULL UNIQUE,
    store_id               uuid NOT NULL REFERENCES stores (id),
    vehicle_id             uuid NOT NULL REFERENCES vehicles (id),
    owner_id               uuid NOT NULL REFERENCES owners (id),
    advisor_id             uuid NOT NULL REFERENCES staffs (id),
    technician_id          uuid REFERENCES staffs (id),
    bay                    text,
    kind                   text NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    concern                text NOT NULL DEFAULT '',
    mileage_in             integer NOT NULL CHECK (mileage_in >= 0),
    promised_at            timestamptz,
    status                 text NOT NULL CHECK (status IN ('CHECKED_IN', 'DIAGNOSING', 'IN_PROGRESS', 'WAITING_PARTS', 'AWAITING_APPROVAL', 'QUALITY_CHECK', 'WASHING', 'READY_FOR_PICKUP', 'DELIVERED', 'CANCELLED')),
    resume_status          text CHECK (resume_status IN ('CHECKED_IN', 'DIAGNOSING', 'IN_PROGRESS', 'WAITING_PARTS', 'QUALITY_CHECK', 'WASHING', 'READY_FOR_PICKUP')),
    status_changed_at      timestamptz NOT NULL,
    version                integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    appointment_id         uuid,
    first_free_maintenance boolean NOT NULL DEFAULT false,
    next_service_date      date,
    next_service_km        integer CHECK (next_service_km >= 0),
    cancel_reason          text,
    total_fen              bigint NOT NULL DEFAULT 0 CHECK (total_fen >= 0),
    warranty_fen           bigint NOT NULL DEFAULT 0 CHECK (warranty_fen >= 0),
    payable_fen            bigint NOT NULL DEFAULT 0 CHECK (payable_fen >= 0),
    settled_at             timestamptz,
    settled_by             uuid REFERENCES staffs (id),
    delivered_at           timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CHECK (payable_fen + warranty_fen = total_fen)
);
CREATE INDEX repair_orders_board_idx ON repair_orders (store_id, status);
CREATE INDEX repair_orders_delivered_idx ON repair_orders (store_id, delivered_at);
CREATE INDEX repair_orders_vehicle_idx ON repair_orders (vehicle_id, status, id);
CREATE INDEX repair_orders_owner_idx ON repair_orders (owner_id, id);
CREATE INDEX repair_orders_technician_idx ON repair_orders (technician_id, status);
-- One open order per vehicle: a car is in one workshop at a time.
CREATE UNIQUE INDEX repair_orders_one_open_idx ON repair_orders (vehicle_id) WHERE status NOT IN ('DELIVERED', 'CANCELLED');

CREATE TABLE repair_order_items (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES repair_orders (id),
    kind            text NOT NULL CHECK (kind IN ('LABOR', 'PART')),
    code            text NOT NULL DEFAULT '',
    description     text NOT NULL CHECK (description <> ''),
    quantity_milli  integer NOT NULL CHECK (quantity_milli > 0),
    unit_price_fen  bigint NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen      bigint NOT NULL CHECK (amount_fen >= 0),
    warranty        boolean NOT NULL DEFAULT false,
    approval        text NOT NULL CHECK (approval IN ('PRE_APPROVED', 'PENDING', 'APPROVED', 'DECLINED')),
    requested_at    timestamptz,
    seen_at         timestamptz,
    decided_at      timestamptz,
    work_started_at timestamptz,
    created_by      uuid NOT NULL REFERENCES staffs (id),
    created_at      timestamptz NOT NULL
);
CREATE INDEX repair_order_items_order_idx ON repair_order_items (order_id, id);

CREATE TABLE repair_order_events (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES repair_orders (id),
    from_status text,
    to_status   text NOT NULL,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF', 'SYSTEM')),
    actor_id    uuid,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE INDEX repair_order_events_order_idx ON repair_order_events (order_id, id);

CREATE TABLE repair_order_payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES repair_orders (id),
    method          text NOT NULL CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS')),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    points          bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    reference       text NOT NULL DEFAULT '',
    ledger_entry_id uuid,
    created_by      uuid NOT NULL REFERENCES staffs (id),
    created_at      timestamptz NOT NULL
);
CREATE INDEX repair_order_payments_order_idx ON repair_order_payments (order_id);

-- Per store and local day, the last order number handed out.
CREATE TABLE repair_order_sequences (
    store_id uuid NOT NULL REFERENCES stores (id),
    day      text NOT NULL,
    last_seq integer NOT NULL CHECK (last_seq >= 1),
    PRIMARY KEY (store_id, day)
);

-- One row per store; version moves with every change to the store's orders,
-- so a screen's If-None-Match costs one primary-key read.
CREATE TABLE store_boards (
    store_id   uuid PRIMARY KEY REFERENCES stores (id),
    version    bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL
);

CREATE TABLE screen_tokens (
    id           uuid PRIMARY KEY,
    store_id     uuid NOT NULL REFERENCES stores (id),
    name         text NOT NULL CHECK (name <> ''),
    created_by   uuid NOT NULL REFERENCES staffs (id),
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX screen_tokens_store_idx ON screen_tokens (store_id);

-- +goose Down
SELECT 1;

-- +goose Up
ALTER TABLE vehicles ADD COLUMN service_interval_months INTEGER CHECK (service_interval_months BETWEEN 1 AND 60);
ALTER TABLE vehicles ADD COLUMN service_interval_km INTEGER CHECK (service_interval_km BETWEEN 500 AND 100000);

CREATE TABLE notifications (
    id         TEXT NOT NULL PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES owners (id),
    kind       TEXT NOT NULL CHECK (kind <> ''),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT '',
    dedupe_key TEXT,
    read_at    DATETIME,
    created_at DATETIME NOT NULL,
    UNIQUE (owner_id, dedupe_key)
);
CREATE INDEX notifications_owner_idx ON notifications (owner_id, id);
CREATE INDEX notifications_unread_idx ON notifications (owner_id) WHERE read_at IS NULL;

CREATE TABLE repair_orders (
    id                     TEXT NOT NULL PRIMARY KEY,
    number                 TEXT NOT NULL UNIQUE,
    store_id               TEXT NOT NULL REFERENCES stores (id),
    vehicle_id             TEXT NOT NULL REFERENCES vehicles (id),
    owner_id               TEXT NOT NULL REFERENCES owners (id),
    advisor_id             TEXT NOT NULL REFERENCES staffs (id),
    technician_id          TEXT REFERENCES staffs (id),
    bay                    TEXT,
    kind                   TEXT NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    concern                TEXT NOT NULL DEFAULT '',
    mileage_in             INTEGER NOT NULL CHECK (mileage_in >= 0),
    promised_at            DATETIME,
    status                 TEXT NOT NULL CHECK (status IN ('CHECKED_IN', 'DIAGNOSING', 'IN_PROGRESS', 'WAITING_PARTS', 'AWAITING_APPROVAL', 'QUALITY_CHECK', 'WASHING', 'READY_FOR_PICKUP', 'DELIVERED', 'CANCELLED')),
    resume_status          TEXT CHECK (resume_status IN ('CHECKED_IN', 'DIAGNOSING', 'IN_PROGRESS', 'WAITING_PARTS', 'QUALITY_CHECK', 'WASHING', 'READY_FOR_PICKUP')),
    status_changed_at      DATETIME NOT NULL,
    version                INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    appointment_id         TEXT,
    first_free_maintenance INTEGER NOT NULL DEFAULT 0,
    next_service_date      DATE,
    next_service_km        INTEGER CHECK (next_service_km >= 0),
    cancel_reason          TEXT,
    total_fen              INTEGER NOT NULL DEFAULT 0 CHECK (total_fen >= 0),
    warranty_fen           INTEGER NOT NULL DEFAULT 0 CHECK (warranty_fen >= 0),
    payable_fen            INTEGER NOT NULL DEFAULT 0 CHECK (payable_fen >= 0),
    settled_at             DATETIME,
    settled_by             TEXT REFERENCES staffs (id),
    delivered_at           DATETIME,
    created_at             DATETIME NOT NULL,
    updated_at             DATETIME NOT NULL,
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
    id              TEXT NOT NULL PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES repair_orders (id),
    kind            TEXT NOT NULL CHECK (kind IN ('LABOR', 'PART')),
    code            TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL CHECK (description <> ''),
    quantity_milli  INTEGER NOT NULL CHECK (quantity_milli > 0),
    unit_price_fen  INTEGER NOT NULL CHECK (unit_price_fen >= 0),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen >= 0),
    warranty        INTEGER NOT NULL DEFAULT 0,
    approval        TEXT NOT NULL CHECK (approval IN ('PRE_APPROVED', 'PENDING', 'APPROVED', 'DECLINED')),
    requested_at    DATETIME,
    seen_at         DATETIME,
    decided_at      DATETIME,
    work_started_at DATETIME,
    created_by      TEXT NOT NULL REFERENCES staffs (id),
    created_at      DATETIME NOT NULL
);
CREATE INDEX repair_order_items_order_idx ON repair_order_items (order_id, id);

CREATE TABLE repair_order_events (
    id          TEXT NOT NULL PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES repair_orders (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF', 'SYSTEM')),
    actor_id    TEXT,
    note        TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL
);
CREATE INDEX repair_order_events_order_idx ON repair_order_events (order_id, id);

CREATE TABLE repair_order_payments (
    id              TEXT NOT NULL PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES repair_orders (id),
    method          TEXT NOT NULL CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS')),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    points          INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    reference       TEXT NOT NULL DEFAULT '',
    ledger_entry_id TEXT,
    created_by      TEXT NOT NULL REFERENCES staffs (id),
    created_at      DATETIME NOT NULL
);
CREATE INDEX repair_order_payments_order_idx ON repair_order_payments (order_id);

-- Per store and local day, the last order number handed out.
CREATE TABLE repair_order_sequences (
    store_id TEXT NOT NULL REFERENCES stores (id),
    day      TEXT NOT NULL,
    last_seq INTEGER NOT NULL CHECK (last_seq >= 1),
    PRIMARY KEY (store_id, day)
);

-- One row per store; version moves with every change to the store's orders,
-- so a screen's If-None-Match costs one primary-key read.
CREATE TABLE store_boards (
    store_id   TEXT NOT NULL PRIMARY KEY REFERENCES stores (id),
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL
);

CREATE TABLE screen_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores (id),
    name         TEXT NOT NULL CHECK (name <> ''),
    created_by   TEXT NOT NULL REFERENCES staffs (id),
    created_at   DATETIME NOT NULL,
    revoked_at   DATETIME
);
CREATE INDEX screen_tokens_store_idx ON screen_tokens (store_id);

-- +goose Down
SELECT 1;

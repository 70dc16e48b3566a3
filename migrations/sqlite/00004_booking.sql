-- +goose Up
-- Seats per slot for each kind of service at a store. Without a row a
-- store's default comes from its bays (see booking.DefaultSeats).
CREATE TABLE slot_capacities (
    store_id TEXT NOT NULL REFERENCES stores (id),
    kind     TEXT NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    seats    INTEGER NOT NULL CHECK (seats BETWEEN 0 AND 100),
    PRIMARY KEY (store_id, kind)
);

-- A date that differs from the week: closed (holiday), or other seats for
-- one kind (kind NULL with closed = true closes the whole day).
CREATE TABLE calendar_overrides (
    id       TEXT NOT NULL PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (id),
    day      DATE NOT NULL,
    kind     TEXT CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    closed   INTEGER NOT NULL DEFAULT 0,
    seats    INTEGER CHECK (seats BETWEEN 0 AND 100),
    note     TEXT NOT NULL DEFAULT '',
    CHECK (closed OR (kind IS NOT NULL AND seats IS NOT NULL))
);
CREATE UNIQUE INDEX calendar_overrides_day_idx ON calendar_overrides (store_id, day, COALESCE(kind, ''));

-- Seats taken per slot: the counter every booking moves with a conditional
-- upsert, so concurrent bookings for the last seat let exactly one win.
CREATE TABLE slot_bookings (
    store_id   TEXT NOT NULL REFERENCES stores (id),
    kind       TEXT NOT NULL,
    slot_start DATETIME NOT NULL,
    booked     INTEGER NOT NULL CHECK (booked >= 0),
    PRIMARY KEY (store_id, kind, slot_start)
);

CREATE TABLE appointments (
    id              TEXT NOT NULL PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    vehicle_id      TEXT NOT NULL REFERENCES vehicles (id),
    owner_id        TEXT NOT NULL REFERENCES owners (id),
    kind            TEXT NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    slot_start      DATETIME NOT NULL,
    slot_end        DATETIME NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('BOOKED', 'ARRIVED', 'NO_SHOW', 'CANCELLED')),
    source          TEXT NOT NULL CHECK (source IN ('APP', 'MINI_PROGRAM', 'PHONE', 'WALK_IN')),
    note            TEXT NOT NULL DEFAULT '',
    booked_by       TEXT REFERENCES staffs (id),
    repair_order_id TEXT REFERENCES repair_orders (id),
    cancelled_at    DATETIME,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    CHECK (slot_end > slot_start)
);
-- One active appointment per vehicle.
CREATE UNIQUE INDEX appointments_one_active_idx ON appointments (vehicle_id) WHERE status = 'BOOKED';
CREATE INDEX appointments_owner_idx ON appointments (owner_id, status, id);
CREATE INDEX appointments_store_day_idx ON appointments (store_id, slot_start);

-- +goose Down
SELECT 1;

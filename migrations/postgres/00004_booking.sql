-- +goose Up
-- Seats per slot for each kind of service at a store. Without a row a
-- store's default comes from its bays (see booking.DefaultSeats).
CREATE TABLE slot_capacities (
    store_id uuid NOT NULL REFERENCES stores (id),
    kind     text NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    seats    integer NOT NULL CHECK (seats BETWEEN 0 AND 100),
    PRIMARY KEY (store_id, kind)
);

-- A date that differs from the week: closed (holiday), or other seats for
-- one kind (kind NULL with closed = true closes the whole day).
CREATE TABLE calendar_overrides (
    id       uuid PRIMARY KEY,
    store_id uuid NOT NULL REFERENCES stores (id),
    day      date NOT NULL,
    kind     text CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    closed   boolean NOT NULL DEFAULT false,
    seats    integer CHECK (seats BETWEEN 0 AND 100),
    note     text NOT NULL DEFAULT '',
    CHECK (closed OR (kind IS NOT NULL AND seats IS NOT NULL))
);
CREATE UNIQUE INDEX calendar_overrides_day_idx ON calendar_overrides (store_id, day, COALESCE(kind, ''));

-- Seats taken per slot: the counter every booking moves with a conditional
-- upsert, so concurrent bookings for the last seat let exactly one win.
CREATE TABLE slot_bookings (
    store_id   uuid NOT NULL REFERENCES stores (id),
    kind       text NOT NULL,
    slot_start timestamptz NOT NULL,
    booked     integer NOT NULL CHECK (booked >= 0),
    PRIMARY KEY (store_id, kind, slot_start)
);

CREATE TABLE appointments (
    id              uuid PRIMARY KEY,
    store_id        uuid NOT NULL REFERENCES stores (id),
    vehicle_id      uuid NOT NULL REFERENCES vehicles (id),
    owner_id        uuid NOT NULL REFERENCES owners (id),
    kind            text NOT NULL CHECK (kind IN ('MAINTENANCE', 'REPAIR', 'WARRANTY', 'ACCIDENT', 'BODY_PAINT', 'DETAILING')),
    slot_start      timestamptz NOT NULL,
    slot_end        timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('BOOKED', 'ARRIVED', 'NO_SHOW', 'CANCELLED')),
    source          text NOT NULL CHECK (source IN ('APP', 'MINI_PROGRAM', 'PHONE', 'WALK_IN')),
    note            text NOT NULL DEFAULT '',
    booked_by       uuid REFERENCES staffs (id),
    repair_order_id uuid REFERENCES repair_orders (id),
    cancelled_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (slot_end > slot_start)
);
-- One active appointment per vehicle.
CREATE UNIQUE INDEX appointments_one_active_idx ON appointments (vehicle_id) WHERE status = 'BOOKED';
CREATE INDEX appointments_owner_idx ON appointments (owner_id, status, id);
CREATE INDEX appointments_store_day_idx ON appointments (store_id, slot_start);

-- +goose Down
SELECT 1;

-- +goose Up
-- Where each store is (WGS-84 degrees), so that a roadside request goes to
-- the nearest one. Both or neither.
ALTER TABLE stores ADD COLUMN latitude double precision CHECK (latitude BETWEEN -90 AND 90);
ALTER TABLE stores ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180);
ALTER TABLE stores ADD CONSTRAINT stores_coordinates_check CHECK ((latitude IS NULL) = (longitude IS NULL));

-- Roadside assistance (救援): an owner's call for help with one car, served
-- by one store's staff: REQUESTED -> ACCEPTED -> DISPATCHED -> CLOSED, or
-- CANCELLED on the way.
CREATE TABLE assistance_requests (
    id                  uuid PRIMARY KEY,
    owner_id            uuid NOT NULL REFERENCES owners (id),
    vehicle_id          uuid NOT NULL REFERENCES vehicles (id),
    store_id            uuid NOT NULL REFERENCES stores (id),
    store_chosen        boolean NOT NULL DEFAULT false,
    distance_m          integer CHECK (distance_m >= 0),
    status              text NOT NULL CHECK (status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    problem             text NOT NULL CHECK (problem IN ('BREAKDOWN', 'FLAT_TYRE', 'BATTERY', 'ACCIDENT', 'LOCKOUT', 'FUEL', 'OTHER')),
    description         text NOT NULL DEFAULT '',
    latitude            double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude           double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    address             text NOT NULL CHECK (address <> ''),
    callback_phone      text NOT NULL CHECK (callback_phone ~ '^\+861[0-9]{10}$'),
    accepted_by         uuid REFERENCES staffs (id),
    accepted_at         timestamptz,
    dispatcher_staff_id uuid REFERENCES staffs (id),
    dispatcher_name     text,
    dispatcher_phone    text,
    eta                 timestamptz,
    dispatched_at       timestamptz,
    outcome             text,
    cancel_reason       text,
    finished_at         timestamptz,
    version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CHECK (status = 'REQUESTED' OR status = 'CANCELLED' OR accepted_by IS NOT NULL),
    CHECK (status <> 'DISPATCHED' OR (eta IS NOT NULL AND dispatcher_name IS NOT NULL AND dispatcher_phone IS NOT NULL)),
    CHECK (status <> 'CLOSED' OR outcome IS NOT NULL),
    CHECK (status <> 'CANCELLED' OR cancel_reason IS NOT NULL),
    CHECK ((status IN ('CLOSED', 'CANCELLED')) = (finished_at IS NOT NULL))
);
-- One open request per vehicle.
CREATE UNIQUE INDEX assistance_requests_one_open_idx ON assistance_requests (vehicle_id)
    WHERE status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED');
-- An owner's requests, newest first.
CREATE INDEX assistance_requests_owner_idx ON assistance_requests (owner_id, id);
-- A store's open requests, oldest first.
CREATE INDEX assistance_requests_store_open_idx ON assistance_requests (store_id, id)
    WHERE status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED');

-- The timeline of a request: every status change, who made it and why.
CREATE TABLE assistance_events (
    id          uuid PRIMARY KEY,
    request_id  uuid NOT NULL REFERENCES assistance_requests (id),
    from_status text CHECK (from_status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    to_status   text NOT NULL CHECK (to_status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF')),
    actor_id    uuid NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE INDEX assistance_events_request_idx ON assistance_events (request_id, id);

-- +goose Down
SELECT 1;

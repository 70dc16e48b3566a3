-- +goose Up
-- Where each store is (WGS-84 degrees), so that a roadside request goes to
-- the nearest one. Both or neither.
ALTER TABLE stores ADD COLUMN latitude REAL CHECK (latitude BETWEEN -90 AND 90);
-- SQLite cannot add a table constraint: the longitude's column CHECK says
-- both or neither.
ALTER TABLE stores ADD COLUMN longitude REAL CHECK (longitude BETWEEN -180 AND 180 AND (latitude IS NULL) = (longitude IS NULL));

-- Roadside assistance (救援): an owner's call for help with one car, served
-- by one store's staff: REQUESTED -> ACCEPTED -> DISPATCHED -> CLOSED, or
-- CANCELLED on the way.
CREATE TABLE assistance_requests (
    id                  TEXT NOT NULL PRIMARY KEY,
    owner_id            TEXT NOT NULL REFERENCES owners (id),
    vehicle_id          TEXT NOT NULL REFERENCES vehicles (id),
    store_id            TEXT NOT NULL REFERENCES stores (id),
    store_chosen        INTEGER NOT NULL DEFAULT 0,
    distance_m          INTEGER CHECK (distance_m >= 0),
    status              TEXT NOT NULL CHECK (status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    problem             TEXT NOT NULL CHECK (problem IN ('BREAKDOWN', 'FLAT_TYRE', 'BATTERY', 'ACCIDENT', 'LOCKOUT', 'FUEL', 'OTHER')),
    description         TEXT NOT NULL DEFAULT '',
    latitude            REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude           REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    address             TEXT NOT NULL CHECK (address <> ''),
    callback_phone      TEXT NOT NULL CHECK (callback_phone GLOB '+861[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'),
    accepted_by         TEXT REFERENCES staffs (id),
    accepted_at         DATETIME,
    dispatcher_staff_id TEXT REFERENCES staffs (id),
    dispatcher_name     TEXT,
    dispatcher_phone    TEXT,
    eta                 DATETIME,
    dispatched_at       DATETIME,
    outcome             TEXT,
    cancel_reason       TEXT,
    finished_at         DATETIME,
    version             INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
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
    id          TEXT NOT NULL PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES assistance_requests (id),
    from_status TEXT CHECK (from_status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    to_status   TEXT NOT NULL CHECK (to_status IN ('REQUESTED', 'ACCEPTED', 'DISPATCHED', 'CLOSED', 'CANCELLED')),
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('OWNER', 'STAFF')),
    actor_id    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL
);
CREATE INDEX assistance_events_request_idx ON assistance_events (request_id, id);

-- +goose Down
SELECT 1;

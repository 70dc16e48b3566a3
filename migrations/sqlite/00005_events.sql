-- +goose Up
-- Car-care classes (CLASS, 爱车讲堂) and club trips (TRIP, 车友会) of DESIGN.md
-- section 7: one registration engine for both. seats_taken is the seats
-- held by CONFIRMED registrations: every registration takes its seats with
-- one conditional UPDATE, and the CHECK is the last line. The waitlist is
-- served in waitlisted_at order, then id.
CREATE TABLE events (
    id                     TEXT NOT NULL PRIMARY KEY,
    store_id               TEXT NOT NULL REFERENCES stores (id),
    kind                   TEXT NOT NULL CHECK (kind IN ('CLASS', 'TRIP')),
    status                 TEXT NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'CANCELLED')),
    title                  TEXT NOT NULL CHECK (title <> ''),
    description            TEXT NOT NULL DEFAULT '',
    location               TEXT NOT NULL DEFAULT '',
    itinerary              TEXT NOT NULL DEFAULT '[]',
    starts_at              DATETIME NOT NULL,
    ends_at                DATETIME NOT NULL,
    registration_opens_at  DATETIME NOT NULL,
    registration_closes_at DATETIME NOT NULL,
    cancellation_deadline  DATETIME NOT NULL,
    capacity               INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    seats_taken            INTEGER NOT NULL DEFAULT 0,
    fee_fen                INTEGER NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
    fee_points             INTEGER NOT NULL DEFAULT 0 CHECK (fee_points >= 0),
    min_tier               TEXT NOT NULL DEFAULT 'BASIC' CHECK (min_tier IN ('BASIC', 'SILVER', 'GOLD', 'PLATINUM')),
    vehicle_required       INTEGER NOT NULL DEFAULT 0,
    max_party_size         INTEGER NOT NULL DEFAULT 1 CHECK (max_party_size BETWEEN 1 AND 20),
    attendance_points      INTEGER NOT NULL DEFAULT 0 CHECK (attendance_points >= 0),
    version                INTEGER NOT NULL DEFAULT 1,
    created_by             TEXT REFERENCES staffs (id),
    published_at           DATETIME,
    cancelled_at           DATETIME,
    cancel_reason          TEXT NOT NULL DEFAULT '',
    reminded_at            DATETIME,
    created_at             DATETIME NOT NULL,
    updated_at             DATETIME NOT NULL,
    CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    CHECK (ends_at > starts_at),
    CHECK (registration_closes_at > registration_opens_at),
    CHECK (registration_closes_at <= starts_at),
    CHECK (cancellation_deadline <= starts_at),
    CHECK (kind = 'TRIP' OR (max_party_size = 1 AND NOT vehicle_required))
);
-- Owners browse published events upcoming first; staff list a store's.
CREATE INDEX events_listing_idx ON events (status, starts_at, id);
CREATE INDEX events_store_idx ON events (store_id, starts_at, id);

-- check_in_code is quoted: GORM's SQLite migrator reads a column whose name
-- starts with "check" as a CHECK clause and loses its NOT NULL.
CREATE TABLE registrations (
    id               TEXT NOT NULL PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id),
    owner_id         TEXT NOT NULL REFERENCES owners (id),
    vehicle_id       TEXT REFERENCES vehicles (id),
    party_size       INTEGER NOT NULL CHECK (party_size BETWEEN 1 AND 20),
    status           TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'WAITLISTED', 'CANCELLED')),
    pay_with         TEXT CHECK (pay_with IN ('WALLET', 'POINTS')),
    waitlisted_at    DATETIME,
    confirmed_at     DATETIME,
    cancelled_at     DATETIME,
    "check_in_code"  TEXT NOT NULL,
    cancel_reason    TEXT NOT NULL DEFAULT '',
    checked_in_at    DATETIME,
    checked_in_by    TEXT REFERENCES staffs (id),
    paid_fen         INTEGER NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    paid_points      INTEGER NOT NULL DEFAULT 0 CHECK (paid_points >= 0),
    refunded_fen     INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    refunded_points  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_points >= 0 AND refunded_points <= paid_points),
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    CHECK (status <> 'WAITLISTED' OR waitlisted_at IS NOT NULL),
    CHECK (checked_in_at IS NULL OR status <> 'WAITLISTED')
);
-- One active registration per owner and event, and a car joins a convoy once.
CREATE UNIQUE INDEX registrations_one_per_owner_idx ON registrations (event_id, owner_id) WHERE status <> 'CANCELLED';
CREATE UNIQUE INDEX registrations_one_per_vehicle_idx ON registrations (event_id, vehicle_id) WHERE status <> 'CANCELLED' AND vehicle_id IS NOT NULL;
CREATE UNIQUE INDEX registrations_code_idx ON registrations (check_in_code);
CREATE INDEX registrations_event_idx ON registrations (event_id, status, waitlisted_at, id);
CREATE INDEX registrations_owner_idx ON registrations (owner_id, id);

-- +goose Down
SELECT 1;

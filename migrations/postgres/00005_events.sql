-- +goose Up
-- Car-care classes (CLASS, 爱车讲堂) and club trips (TRIP, 车友会) of DESIGN.md
-- section 7: one registration engine for both. seats_taken is the seats
-- held by CONFIRMED registrations: every registration takes its seats with
-- one conditional UPDATE, and the CHECK is the last line. The waitlist is
-- served in waitlisted_at order, then id.
CREATE TABLE events (
    id                     uuid PRIMARY KEY,
    store_id               uuid NOT NULL REFERENCES stores (id),
    kind                   text NOT NULL CHECK (kind IN ('CLASS', 'TRIP')),
    status                 text NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'CANCELLED')),
    title                  text NOT NULL CHECK (title <> ''),
    description            text NOT NULL DEFAULT '',
    location               text NOT NULL DEFAULT '',
    itinerary              text NOT NULL DEFAULT '[]',
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    registration_opens_at  timestamptz NOT NULL,
    registration_closes_at timestamptz NOT NULL,
    cancellation_deadline  timestamptz NOT NULL,
    capacity               integer NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    seats_taken            integer NOT NULL DEFAULT 0,
    fee_fen                bigint NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
    fee_points             bigint NOT NULL DEFAULT 0 CHECK (fee_points >= 0),
    min_tier               text NOT NULL DEFAULT 'BASIC' CHECK (min_tier IN ('BASIC', 'SILVER', 'GOLD', 'PLATINUM')),
    vehicle_required       boolean NOT NULL DEFAULT false,
    max_party_size         integer NOT NULL DEFAULT 1 CHECK (max_party_size BETWEEN 1 AND 20),
    attendance_points      bigint NOT NULL DEFAULT 0 CHECK (attendance_points >= 0),
    version                integer NOT NULL DEFAULT 1,
    created_by             uuid REFERENCES staffs (id),
    published_at           timestamptz,
    cancelled_at           timestamptz,
    cancel_reason          text NOT NULL DEFAULT '',
    reminded_at            timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
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

CREATE TABLE registrations (
    id               uuid PRIMARY KEY,
    event_id         uuid NOT NULL REFERENCES events (id),
    owner_id         uuid NOT NULL REFERENCES owners (id),
    vehicle_id       uuid REFERENCES vehicles (id),
    party_size       integer NOT NULL CHECK (party_size BETWEEN 1 AND 20),
    status           text NOT NULL CHECK (status IN ('CONFIRMED', 'WAITLISTED', 'CANCELLED')),
    pay_with         text CHECK (pay_with IN ('WALLET', 'POINTS')),
    waitlisted_at    timestamptz,
    confirmed_at     timestamptz,
    cancelled_at     timestamptz,
    check_in_code    text NOT NULL,
    cancel_reason    text NOT NULL DEFAULT '',
    checked_in_at    timestamptz,
    checked_in_by    uuid REFERENCES staffs (id),
    paid_fen         bigint NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    paid_points      bigint NOT NULL DEFAULT 0 CHECK (paid_points >= 0),
    refunded_fen     bigint NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    refunded_points  bigint NOT NULL DEFAULT 0 CHECK (refunded_points >= 0 AND refunded_points <= paid_points),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
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

-- +goose Up
-- Event fees paid online with WeChat Pay: see the PostgreSQL migration and
-- docs/payments.md. SQLite cannot change a CHECK, so registrations is
-- rebuilt (no table refers to it).
CREATE TABLE registrations_new (
    id               TEXT NOT NULL PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id),
    owner_id         TEXT NOT NULL REFERENCES owners (id),
    vehicle_id       TEXT REFERENCES vehicles (id),
    party_size       INTEGER NOT NULL CHECK (party_size BETWEEN 1 AND 20),
    status           TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'AWAITING_PAYMENT', 'WAITLISTED', 'CANCELLED')),
    pay_with         TEXT CHECK (pay_with IN ('WALLET', 'POINTS', 'WECHAT_PAY')),
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
    hold_expires_at  DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    CHECK (status <> 'WAITLISTED' OR waitlisted_at IS NOT NULL),
    CHECK (checked_in_at IS NULL OR status <> 'WAITLISTED'),
    CHECK (status <> 'AWAITING_PAYMENT' OR hold_expires_at IS NOT NULL)
);
INSERT INTO registrations_new (id, event_id, owner_id, vehicle_id, party_size, status, pay_with, waitlisted_at,
    confirmed_at, cancelled_at, "check_in_code", cancel_reason, checked_in_at, checked_in_by, paid_fen, paid_points,
    refunded_fen, refunded_points, created_at, updated_at)
SELECT id, event_id, owner_id, vehicle_id, party_size, status, pay_with, waitlisted_at,
    confirmed_at, cancelled_at, "check_in_code", cancel_reason, checked_in_at, checked_in_by, paid_fen, paid_points,
    refunded_fen, refunded_points, created_at, updated_at
FROM registrations;
DROP TABLE registrations;
ALTER TABLE registrations_new RENAME TO registrations;
CREATE UNIQUE INDEX registrations_one_per_owner_idx ON registrations (event_id, owner_id) WHERE status <> 'CANCELLED';
CREATE UNIQUE INDEX registrations_one_per_vehicle_idx ON registrations (event_id, vehicle_id) WHERE status <> 'CANCELLED' AND vehicle_id IS NOT NULL;
CREATE UNIQUE INDEX registrations_code_idx ON registrations (check_in_code);
CREATE INDEX registrations_event_idx ON registrations (event_id, status, waitlisted_at, id);
CREATE INDEX registrations_owner_idx ON registrations (owner_id, id);
-- The hold-release job finds the holds past their end.
CREATE INDEX registrations_hold_idx ON registrations (hold_expires_at) WHERE status = 'AWAITING_PAYMENT';

-- +goose Down
SELECT 1;

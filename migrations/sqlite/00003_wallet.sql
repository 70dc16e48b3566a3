-- +goose Up
-- One membership account per owner, created with the owner by the database
-- itself, whichever code path creates the owner.
CREATE TABLE membership_accounts (
    owner_id    TEXT NOT NULL PRIMARY KEY REFERENCES owners (id),
    balance_fen INTEGER NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
    points      INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    tier        TEXT NOT NULL DEFAULT 'BASIC' CHECK (tier IN ('BASIC', 'SILVER', 'GOLD', 'PLATINUM')),
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

INSERT INTO membership_accounts (owner_id, created_at, updated_at)
SELECT id, created_at, created_at FROM owners;

-- +goose StatementBegin
CREATE TRIGGER owners_open_membership_account AFTER INSERT ON owners
BEGIN
    INSERT INTO membership_accounts (owner_id, created_at, updated_at)
    VALUES (NEW.id, NEW.created_at, NEW.created_at);
END;
-- +goose StatementEnd

-- Append-only: every movement of balance or points. Nothing updates or
-- deletes an entry (the triggers below refuse it).
CREATE TABLE ledger_entries (
    id              TEXT NOT NULL PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES membership_accounts (owner_id),
    kind            TEXT NOT NULL CHECK (kind IN ('TOP_UP', 'TOP_UP_BONUS', 'SPEND', 'REFUND', 'ADJUST', 'POINTS_EARN', 'POINTS_REDEEM', 'POINTS_EXPIRE')),
    amount_fen      INTEGER NOT NULL DEFAULT 0,
    points          INTEGER NOT NULL DEFAULT 0,
    balance_after   INTEGER NOT NULL CHECK (balance_after >= 0),
    points_after    INTEGER NOT NULL CHECK (points_after >= 0),
    spend_fen       INTEGER NOT NULL DEFAULT 0 CHECK (spend_fen >= 0),
    ref_type        TEXT CHECK (ref_type IN ('REPAIR_ORDER', 'REGISTRATION', 'TOP_UP', 'POINTS_LOT')),
    ref_id          TEXT,
    store_id        TEXT REFERENCES stores (id),
    staff_id        TEXT REFERENCES staffs (id),
    method          TEXT,
    reference       TEXT NOT NULL DEFAULT '',
    memo            TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL,
    created_at      DATETIME NOT NULL,
    UNIQUE (owner_id, idempotency_key)
);
CREATE INDEX ledger_entries_owner_idx ON ledger_entries (owner_id, id);
CREATE INDEX ledger_entries_ref_idx ON ledger_entries (ref_type, ref_id);
CREATE INDEX ledger_entries_spend_idx ON ledger_entries (owner_id, created_at) WHERE spend_fen > 0;

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
-- +goose StatementEnd

-- Points by when they were earned: spending takes the lots closest to
-- expiry first; expiry empties what is left of a lot 24 months on.
CREATE TABLE points_lots (
    id         TEXT NOT NULL PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES membership_accounts (owner_id),
    entry_id   TEXT NOT NULL REFERENCES ledger_entries (id),
    points     INTEGER NOT NULL CHECK (points > 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX points_lots_owner_idx ON points_lots (owner_id, expires_at) WHERE remaining > 0;
CREATE INDEX points_lots_expiry_idx ON points_lots (expires_at) WHERE remaining > 0;

-- Idempotency: one row per (caller, key), written in the same transaction
-- as the effect it records, so a retry either waits for that transaction or
-- finds its result.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL CHECK (key <> ''),
    operation    TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
SELECT 1;

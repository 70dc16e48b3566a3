-- +goose Up
-- One membership account per owner, created with the owner by the database
-- itself, whichever code path creates the owner.
CREATE TABLE membership_accounts (
    owner_id    uuid PRIMARY KEY REFERENCES owners (id),
    balance_fen bigint NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
    points      bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    tier        text NOT NULL DEFAULT 'BASIC' CHECK (tier IN ('BASIC', 'SILVER', 'GOLD', 'PLATINUM')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

INSERT INTO membership_accounts (owner_id, created_at, updated_at)
SELECT id, created_at, created_at FROM owners;

-- +goose StatementBegin
CREATE FUNCTION ownerhub_open_membership_account() RETURNS trigger AS $$
BEGIN
    INSERT INTO membership_accounts (owner_id, created_at, updated_at)
    VALUES (NEW.id, NEW.created_at, NEW.created_at);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER owners_open_membership_account AFTER INSERT ON owners
FOR EACH ROW EXECUTE FUNCTION ownerhub_open_membership_account();

-- Append-only: every movement of balance or points. Nothing updates or
-- deletes an entry (the triggers below refuse it).
CREATE TABLE ledger_entries (
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES membership_accounts (owner_id),
    kind            text NOT NULL CHECK (kind IN ('TOP_UP', 'TOP_UP_BONUS', 'SPEND', 'REFUND', 'ADJUST', 'POINTS_EARN', 'POINTS_REDEEM', 'POINTS_EXPIRE')),
    amount_fen      bigint NOT NULL DEFAULT 0,
    points          bigint NOT NULL DEFAULT 0,
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    points_after    bigint NOT NULL CHECK (points_after >= 0),
    spend_fen       bigint NOT NULL DEFAULT 0 CHECK (spend_fen >= 0),
    ref_type        text CHECK (ref_type IN ('REPAIR_ORDER', 'REGISTRATION', 'TOP_UP', 'POINTS_LOT')),
    ref_id          uuid,
    store_id        uuid REFERENCES stores (id),
    staff_id        uuid REFERENCES staffs (id),
    method          text,
    reference       text NOT NULL DEFAULT '',
    memo            text NOT NULL DEFAULT '',
    idempotency_key text NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (owner_id, idempotency_key)
);
CREATE INDEX ledger_entries_owner_idx ON ledger_entries (owner_id, id);
CREATE INDEX ledger_entries_ref_idx ON ledger_entries (ref_type, ref_id);
CREATE INDEX ledger_entries_spend_idx ON ledger_entries (owner_id, created_at) WHERE spend_fen > 0;

-- +goose StatementBegin
CREATE FUNCTION ownerhub_ledger_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ownerhub_ledger_is_append_only();

-- Points by when they were earned: spending takes the lots closest to
-- expiry first; expiry empties what is left of a lot 24 months on.
CREATE TABLE points_lots (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES membership_accounts (owner_id),
    entry_id   uuid NOT NULL REFERENCES ledger_entries (id),
    points     bigint NOT NULL CHECK (points > 0),
    remaining  bigint NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX points_lots_owner_idx ON points_lots (owner_id, expires_at) WHERE remaining > 0;
CREATE INDEX points_lots_expiry_idx ON points_lots (expires_at) WHERE remaining > 0;

-- Idempotency: one row per (caller, key), written in the same transaction
-- as the effect it records, so a retry either waits for that transaction or
-- finds its result.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    key          text NOT NULL CHECK (key <> ''),
    operation    text NOT NULL,
    request_hash text NOT NULL,
    response     text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
SELECT 1;

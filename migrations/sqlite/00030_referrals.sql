-- +goose Up
-- Referrals: see the PostgreSQL migration and docs/referrals.md.
CREATE TABLE referral_codes (
    owner_id   TEXT NOT NULL PRIMARY KEY REFERENCES owners (id),
    code       TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 4 AND 12),
    created_at DATETIME NOT NULL
);

CREATE TABLE referrals (
    id                 TEXT NOT NULL PRIMARY KEY,
    referrer_id        TEXT NOT NULL REFERENCES owners (id),
    referred_id        TEXT NOT NULL UNIQUE REFERENCES owners (id),
    code               TEXT NOT NULL,
    store_id           TEXT REFERENCES stores (id),
    via                TEXT NOT NULL CHECK (via IN ('SMS', 'WECHAT', 'VEHICLE_REGISTRATION')),
    device_id          TEXT NOT NULL DEFAULT '',
    friend_phone       TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('PENDING', 'REWARDED', 'REFUSED')),
    refusal            TEXT NOT NULL DEFAULT '' CHECK (refusal IN ('', 'SAME_PHONE', 'SAME_DEVICE', 'SAME_CAR')),
    qualified_by       TEXT NOT NULL DEFAULT '' CHECK (qualified_by IN ('', 'FIRST_PAID_VISIT', 'CAR_PURCHASE')),
    qualified_ref_id   TEXT,
    vin                TEXT NOT NULL DEFAULT '',
    reward_kind        TEXT NOT NULL DEFAULT '' CHECK (reward_kind IN ('', 'POINTS', 'COUPON')),
    referrer_points    INTEGER NOT NULL DEFAULT 0 CHECK (referrer_points >= 0),
    referred_points    INTEGER NOT NULL DEFAULT 0 CHECK (referred_points >= 0),
    referrer_coupon_id TEXT,
    referred_coupon_id TEXT,
    created_at         DATETIME NOT NULL,
    decided_at         DATETIME,
    updated_at         DATETIME NOT NULL,
    CHECK (referrer_id <> referred_id),
    CHECK ((status = 'REFUSED') = (refusal <> '')),
    CHECK ((status = 'PENDING') = (decided_at IS NULL)),
    CHECK ((status = 'REWARDED') = (reward_kind <> ''))
);
CREATE INDEX referrals_referrer_idx ON referrals (referrer_id, id);
CREATE INDEX referrals_store_idx ON referrals (store_id, id);
CREATE INDEX referrals_store_status_idx ON referrals (store_id, status, id);
CREATE INDEX referrals_device_idx ON referrals (referrer_id, device_id) WHERE device_id <> '';

CREATE TABLE referral_devices (
    owner_id   TEXT NOT NULL REFERENCES owners (id),
    device_id  TEXT NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (owner_id, device_id)
);

CREATE TABLE referral_erased_phones (
    phone_digest TEXT NOT NULL PRIMARY KEY,
    erased_at    DATETIME NOT NULL
);

-- +goose Down
SELECT 1;

-- +goose Up
-- Referrals (老带新, docs/referrals.md): each owner's referral code, the
-- referrals it brought (one per referred owner: the unique key is what
-- makes a reward happen once), the devices owners signed in on and the
-- digests of erased owners' phones (the abuse checks).
CREATE TABLE referral_codes (
    owner_id   uuid PRIMARY KEY REFERENCES owners (id),
    code       text NOT NULL UNIQUE CHECK (length(code) BETWEEN 4 AND 12),
    created_at timestamptz NOT NULL
);

CREATE TABLE referrals (
    id                 uuid PRIMARY KEY,
    referrer_id        uuid NOT NULL REFERENCES owners (id),
    referred_id        uuid NOT NULL UNIQUE REFERENCES owners (id),
    code               text NOT NULL,
    store_id           uuid REFERENCES stores (id),
    via                text NOT NULL CHECK (via IN ('SMS', 'WECHAT', 'VEHICLE_REGISTRATION')),
    device_id          text NOT NULL DEFAULT '',
    friend_phone       text NOT NULL DEFAULT '',
    status             text NOT NULL CHECK (status IN ('PENDING', 'REWARDED', 'REFUSED')),
    refusal            text NOT NULL DEFAULT '' CHECK (refusal IN ('', 'SAME_PHONE', 'SAME_DEVICE', 'SAME_CAR')),
    qualified_by       text NOT NULL DEFAULT '' CHECK (qualified_by IN ('', 'FIRST_PAID_VISIT', 'CAR_PURCHASE')),
    qualified_ref_id   uuid,
    vin                text NOT NULL DEFAULT '',
    reward_kind        text NOT NULL DEFAULT '' CHECK (reward_kind IN ('', 'POINTS', 'COUPON')),
    referrer_points    bigint NOT NULL DEFAULT 0 CHECK (referrer_points >= 0),
    referred_points    bigint NOT NULL DEFAULT 0 CHECK (referred_points >= 0),
    referrer_coupon_id uuid,
    referred_coupon_id uuid,
    created_at         timestamptz NOT NULL,
    decided_at         timestamptz,
    updated_at         timestamptz NOT NULL,
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
    owner_id   uuid NOT NULL REFERENCES owners (id),
    device_id  text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (owner_id, device_id)
);

CREATE TABLE referral_erased_phones (
    phone_digest text PRIMARY KEY,
    erased_at    timestamptz NOT NULL
);

-- +goose Down
SELECT 1;

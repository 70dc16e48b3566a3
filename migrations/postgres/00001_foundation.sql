-- +goose Up
CREATE TABLE stores (
    id           uuid PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code <> ''),
    name         text NOT NULL CHECK (name <> ''),
    city         text NOT NULL,
    address      text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    timezone     text NOT NULL DEFAULT 'Asia/Shanghai',
    service_bays integer NOT NULL DEFAULT 4 CHECK (service_bays >= 0),
    slot_minutes integer NOT NULL DEFAULT 60 CHECK (slot_minutes BETWEEN 15 AND 480),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE store_hours (
    store_id uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    weekday  integer NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens    text NOT NULL CHECK (opens ~ '^[0-2][0-9]:[0-5][0-9]$'),
    closes   text NOT NULL CHECK (closes ~ '^[0-2][0-9]:[0-5][0-9]$'),
    PRIMARY KEY (store_id, weekday),
    CHECK (opens < closes)
);

CREATE TABLE staffs (
    id            uuid PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username <> ''),
    name          text NOT NULL,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE staff_roles (
    staff_id uuid NOT NULL REFERENCES staffs (id) ON DELETE CASCADE,
    role     text NOT NULL CHECK (role IN ('ADVISOR', 'FOREMAN', 'TECHNICIAN', 'CRM', 'EVENTS', 'CASHIER', 'MANAGER', 'GROUP_ADMIN')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_stores (
    staff_id uuid NOT NULL REFERENCES staffs (id) ON DELETE CASCADE,
    store_id uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, store_id)
);
CREATE INDEX staff_stores_store_idx ON staff_stores (store_id);

CREATE TABLE owners (
    id                   uuid PRIMARY KEY,
    phone                text NOT NULL UNIQUE CHECK (phone ~ '^\+861[0-9]{10}$'),
    name                 text COLLATE "C" NOT NULL DEFAULT '',
    birthday             date,
    gender               text CHECK (gender IN ('MALE', 'FEMALE')),
    home_store_id        uuid REFERENCES stores (id),
    wechat_openid        text UNIQUE,
    wechat_unionid       text UNIQUE,
    marketing_consent    boolean NOT NULL DEFAULT false,
    marketing_consent_at timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX owners_name_idx ON owners (name);
CREATE INDEX owners_home_store_idx ON owners (home_store_id);

CREATE TABLE vehicles (
    id                uuid PRIMARY KEY,
    owner_id          uuid NOT NULL REFERENCES owners (id),
    vin               text NOT NULL UNIQUE CHECK (length(vin) = 17),
    plate             text UNIQUE CHECK (plate IS NULL OR char_length(plate) IN (7, 8)),
    brand             text NOT NULL,
    model             text NOT NULL,
    model_year        integer NOT NULL CHECK (model_year BETWEEN 1980 AND 2100),
    colour            text NOT NULL DEFAULT '',
    purchase_date     date,
    selling_store_id  uuid REFERENCES stores (id),
    warranty_end_date date,
    warranty_end_km   integer CHECK (warranty_end_km >= 0),
    insurance_expiry  date,
    inspection_due    date,
    mileage_km        integer NOT NULL DEFAULT 0 CHECK (mileage_km >= 0),
    mileage_read_at   timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX vehicles_owner_idx ON vehicles (owner_id, created_at);
CREATE INDEX vehicles_selling_store_idx ON vehicles (selling_store_id);

CREATE TABLE login_codes (
    id          uuid PRIMARY KEY,
    phone       text NOT NULL,
    code_hash   text NOT NULL,
    ip          text NOT NULL DEFAULT '',
    attempts    integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    created_at  timestamptz NOT NULL
);
CREATE INDEX login_codes_phone_idx ON login_codes (phone, created_at);
CREATE INDEX login_codes_ip_idx ON login_codes (ip, created_at);

CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('OWNER', 'STAFF')),
    subject_id   uuid NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_subject_idx ON refresh_tokens (subject_kind, subject_id);

CREATE TABLE auth_failures (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('OTP', 'PASSWORD')),
    subject    text NOT NULL,
    ip         text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX auth_failures_subject_idx ON auth_failures (kind, subject, created_at);
CREATE INDEX auth_failures_ip_idx ON auth_failures (kind, ip, created_at);

-- +goose Down
-- Migrations are forward-only.
SELECT 1;

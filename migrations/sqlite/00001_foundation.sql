-- +goose Up
CREATE TABLE stores (
    id           TEXT NOT NULL PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE CHECK (code <> ''),
    name         TEXT NOT NULL CHECK (name <> ''),
    city         TEXT NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    timezone     TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    service_bays INTEGER NOT NULL DEFAULT 4 CHECK (service_bays >= 0),
    slot_minutes INTEGER NOT NULL DEFAULT 60 CHECK (slot_minutes BETWEEN 15 AND 480),
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);

CREATE TABLE store_hours (
    store_id TEXT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    weekday  INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens    TEXT NOT NULL CHECK (opens GLOB '[0-2][0-9]:[0-5][0-9]'),
    closes   TEXT NOT NULL CHECK (closes GLOB '[0-2][0-9]:[0-5][0-9]'),
    PRIMARY KEY (store_id, weekday),
    CHECK (opens < closes)
);

CREATE TABLE staffs (
    id            TEXT NOT NULL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (username <> ''),
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

CREATE TABLE staff_roles (
    staff_id TEXT NOT NULL REFERENCES staffs (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('ADVISOR', 'FOREMAN', 'TECHNICIAN', 'CRM', 'EVENTS', 'CASHIER', 'MANAGER', 'GROUP_ADMIN')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_stores (
    staff_id TEXT NOT NULL REFERENCES staffs (id) ON DELETE CASCADE,
    store_id TEXT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, store_id)
);
CREATE INDEX staff_stores_store_idx ON staff_stores (store_id);

CREATE TABLE owners (
    id                   TEXT NOT NULL PRIMARY KEY,
    phone                TEXT NOT NULL UNIQUE CHECK (phone GLOB '+861[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'),
    name                 TEXT NOT NULL DEFAULT '',
    birthday             DATE,
    gender               TEXT CHECK (gender IN ('MALE', 'FEMALE')),
    home_store_id        TEXT REFERENCES stores (id),
    wechat_openid        TEXT UNIQUE,
    wechat_unionid       TEXT UNIQUE,
    marketing_consent    INTEGER NOT NULL DEFAULT 0,
    marketing_consent_at DATETIME,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX owners_name_idx ON owners (name);
CREATE INDEX owners_home_store_idx ON owners (home_store_id);

CREATE TABLE vehicles (
    id                TEXT NOT NULL PRIMARY KEY,
    owner_id          TEXT NOT NULL REFERENCES owners (id),
    vin               TEXT NOT NULL UNIQUE CHECK (length(vin) = 17),
    plate             TEXT UNIQUE CHECK (plate IS NULL OR length(plate) IN (7, 8)),
    brand             TEXT NOT NULL,
    model             TEXT NOT NULL,
    model_year        INTEGER NOT NULL CHECK (model_year BETWEEN 1980 AND 2100),
    colour            TEXT NOT NULL DEFAULT '',
    purchase_date     DATE,
    selling_store_id  TEXT REFERENCES stores (id),
    warranty_end_date DATE,
    warranty_end_km   INTEGER CHECK (warranty_end_km >= 0),
    insurance_expiry  DATE,
    inspection_due    DATE,
    mileage_km        INTEGER NOT NULL DEFAULT 0 CHECK (mileage_km >= 0),
    mileage_read_at   DATETIME,
    created_at        DATETIME NOT NULL,
    updated_at        DATETIME NOT NULL
);
CREATE INDEX vehicles_owner_idx ON vehicles (owner_id, created_at);
CREATE INDEX vehicles_selling_store_idx ON vehicles (selling_store_id);

CREATE TABLE login_codes (
    id          TEXT NOT NULL PRIMARY KEY,
    phone       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    expires_at  DATETIME NOT NULL,
    consumed_at DATETIME,
    created_at  DATETIME NOT NULL
);
CREATE INDEX login_codes_phone_idx ON login_codes (phone, created_at);
CREATE INDEX login_codes_ip_idx ON login_codes (ip, created_at);

CREATE TABLE refresh_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    family_id    TEXT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('OWNER', 'STAFF')),
    subject_id   TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    expires_at   DATETIME NOT NULL,
    rotated_at   DATETIME,
    revoked_at   DATETIME,
    created_at   DATETIME NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_subject_idx ON refresh_tokens (subject_kind, subject_id);

CREATE TABLE auth_failures (
    id         TEXT NOT NULL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('OTP', 'PASSWORD')),
    subject    TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX auth_failures_subject_idx ON auth_failures (kind, subject, created_at);
CREATE INDEX auth_failures_ip_idx ON auth_failures (kind, ip, created_at);

-- +goose Down
-- Migrations are forward-only.
SELECT 1;

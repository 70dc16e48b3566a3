-- +goose Up
-- One row per scheduled job and period: the claim that lets exactly one of
-- several instances run it, and the record of how it went. A RUNNING row
-- whose lease has passed (its instance died) or a FAILED row whose retry
-- time (lease_until) has passed may be claimed again.
CREATE TABLE job_runs (
    job          text NOT NULL CHECK (job <> ''),
    period_start timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    attempts     integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    instance     text NOT NULL DEFAULT '',
    lease_until  timestamptz NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    count        bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    error        text NOT NULL DEFAULT '',
    PRIMARY KEY (job, period_start),
    CHECK ((status = 'RUNNING') = (finished_at IS NULL))
);
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

-- Every change of an owner's consent to marketing messages, with its time:
-- the proof PIPL asks for. Kept (detached) when the owner deletes the account.
CREATE TABLE consent_events (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES owners (id),
    purpose    text NOT NULL CHECK (purpose IN ('MARKETING')),
    given      boolean NOT NULL,
    source     text NOT NULL CHECK (source IN ('OWNER', 'ACCOUNT_DELETED')),
    created_at timestamptz NOT NULL
);
CREATE INDEX consent_events_owner_idx ON consent_events (owner_id, id);

-- Owners who deleted their account: the row stays (ledger and repair
-- records point at it), anonymised; this marks it so its access tokens stop
-- working (one primary-key read per owner request).
CREATE TABLE deleted_owners (
    owner_id   uuid PRIMARY KEY REFERENCES owners (id),
    deleted_at timestamptz NOT NULL
);

-- +goose Down
SELECT 1;

-- +goose Up
-- The client networks each staff member signed in from with their password,
-- and when they last did. While that is recent (90 days), wrong passwords
-- for the username from elsewhere do not lock them out there; older rows
-- are pruned daily. See docs/sign-in.md.
CREATE TABLE staff_networks (
    staff_id        TEXT NOT NULL REFERENCES staffs (id) ON DELETE CASCADE,
    network         TEXT NOT NULL CHECK (network <> ''),
    last_sign_in_at DATETIME NOT NULL,
    PRIMARY KEY (staff_id, network)
);
CREATE INDEX staff_networks_last_sign_in_idx ON staff_networks (last_sign_in_at);

-- +goose Down
SELECT 1;

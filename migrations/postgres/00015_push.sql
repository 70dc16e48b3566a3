-- +goose Up
-- A delivery may be of no use after a time (a login code's SMS once the code
-- has expired): not_after. A worker that claims it later ends it EXPIRED
-- without sending.
ALTER TABLE deliveries ADD COLUMN not_after timestamptz;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'DEAD', 'EXPIRED'));

-- +goose Down
SELECT 1;

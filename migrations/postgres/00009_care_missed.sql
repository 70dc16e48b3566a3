-- +goose Up
-- A complaint's missed resolution deadline is remembered for good: reopening
-- starts a new resolution deadline (OPEN again), but the late resolution
-- before it still counts in the complaint report. Set when the resolution
-- deadline is marked MISSED or a resolution comes late; never cleared.
ALTER TABLE complaints ADD COLUMN resolution_missed boolean NOT NULL DEFAULT false;
UPDATE complaints SET resolution_missed = true WHERE resolution_state = 'MISSED';

-- +goose Down
SELECT 1;

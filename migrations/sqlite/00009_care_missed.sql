-- +goose Up
-- A complaint's missed resolution deadline is remembered for good: reopening
-- starts a new resolution deadline (OPEN again), but the late resolution
-- before it still counts in the complaint report. Set when the resolution
-- deadline is marked MISSED or a resolution comes late; never cleared.
ALTER TABLE complaints ADD COLUMN resolution_missed INTEGER NOT NULL DEFAULT 0 CHECK (resolution_missed IN (0, 1));
UPDATE complaints SET resolution_missed = 1 WHERE resolution_state = 'MISSED';

-- +goose Down
SELECT 1;

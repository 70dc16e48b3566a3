package jobs

import (
	"context"
	"time"
)

// Claim is claim, for the test of a long run's lease: only a River job
// rescued while its run lasts reaches it in the server, which a test
// cannot bring about in a second.
func (r *Runner) Claim(ctx context.Context, job string, period, now time.Time) (int, time.Time, error) {
	return r.claim(ctx, job, period, now)
}

// Next is the job's River schedule: when its next run is due after t.
func (j Job) Next(t time.Time) time.Time { return schedule{j}.Next(t) }

package jobs

import (
	"context"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Status is a job of the runner with its latest run (nil before the first).
type Status struct {
	Name    string
	Period  int64 // seconds
	LastRun *Run
}

// Statuses lists the runner's jobs, in order, each with its latest run
// (the run of its newest period: RUNNING, SUCCEEDED or FAILED with its
// error), for managers. One statement whatever the number of jobs.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not MANAGER or GROUP_ADMIN).
func (r *Runner) Statuses(ctx context.Context, actor *auth.Principal) ([]*Status, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(auth.RoleManager):
		return nil, models.ErrForbidden
	}
	names := r.Names()
	out := make([]*Status, len(r.Jobs))
	for i, j := range r.Jobs {
		out[i] = &Status{Name: j.Name, Period: int64(j.Period.Seconds())}
	}
	if len(names) == 0 {
		return out, nil
	}
	var runs []*Run
	err := r.DB.Conn(ctx).Raw(`SELECT r.* FROM job_runs r
		WHERE r.job IN ? AND r.period_start = (SELECT MAX(l.period_start) FROM job_runs l WHERE l.job = r.job)`, names).
		Scan(&runs).Error
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*Run, len(runs))
	for _, run := range runs {
		normalize(run)
		byName[run.Job] = run
	}
	for _, s := range out {
		s.LastRun = byName[s.Name]
	}
	return out, nil
}

// normalize puts a run's times in UTC (PostgreSQL answers in the session's
// zone).
func normalize(r *Run) {
	r.PeriodStart, r.LeaseUntil, r.StartedAt = r.PeriodStart.UTC(), r.LeaseUntil.UTC(), r.StartedAt.UTC()
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC()
		r.FinishedAt = &t
	}
}

package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Status is a job of the runner with its latest run (nil before the first).
type Status struct {
	Name    string
	Period  int64 // seconds
	LastRun *Run
}

// rolesStatuses may read the jobs' runs (Statuses); the GraphQL schema's
// @auth roles are generated from it (docs/architecture.md).
var rolesStatuses = []auth.Role{auth.RoleManager}

// Statuses lists the runner's jobs, in order, each with its latest run
// (the run of its newest period: RUNNING, SUCCEEDED or FAILED), for
// managers. A failed run's error is FailedMessage, not the failure itself:
// SQL, driver and panic text stay in the server log and the job_runs
// table. One statement whatever the number of jobs.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not MANAGER or GROUP_ADMIN).
func (r *Runner) Statuses(ctx context.Context, actor *auth.Principal) ([]*Status, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesStatuses...):
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
		if run.Status == Failed {
			run.Error = FailedMessage(ctx, run)
		}
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

// FailedMessage is what managers read of a failed run: that it failed, and
// how to find the failure in the server log ("job failed" with the job's
// name, period and attempt), in the caller's language.
func FailedMessage(ctx context.Context, run *Run) string {
	period := run.PeriodStart.UTC().Format(time.RFC3339)
	if models.Lang(ctx) == "en" {
		return fmt.Sprintf("the run failed; see the server log (job %s, period %s, attempt %d)", run.Job, period, run.Attempts)
	}
	return fmt.Sprintf("运行失败，详情见服务器日志（任务 %s，时段 %s，第 %d 次）", run.Job, period, run.Attempts)
}

// RolesStatuses is the list rolesStatuses, copied: a caller cannot change the rule.
func RolesStatuses() []auth.Role { return slices.Clone(rolesStatuses) }

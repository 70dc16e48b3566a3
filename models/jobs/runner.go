// Package jobs is the one mechanism for scheduled work (points expiry, tier
// recompute, reminders, housekeeping): each job runs once per period, on
// exactly one of however many instances are up, and every run is recorded
// in job_runs so managers see when each job last ran and what it did.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Job is one kind of scheduled work. Run does the work for the period that
// contains now and returns how many things it did (reminders sent, lots
// expired, ...). Run must be safe to repeat: a run that failed, or whose
// instance died, is run again.
type Job struct {
	Name string
	// Period is how often the job runs: time.Hour, 24*time.Hour, ...
	// Periods are aligned to midnight in Asia/Shanghai, so a daily job's
	// period is the group's calendar day.
	Period time.Duration
	Run    func(ctx context.Context, now time.Time) (int64, error)
	// Offset shifts the periods: a daily job with Offset 9h has periods
	// from 09:00 to 09:00 the next day, Shanghai time, so its first try of
	// the day is at 09:00. It does not keep the job from running at night:
	// a run that failed, or was missed (an outage, a deploy), is run
	// whenever its period still lasts, up to 08:59 the next morning. Use
	// NotBefore and NotAfter for that.
	Offset time.Duration
	// NotBefore and NotAfter, when either is set, are the window of the
	// day in Asia/Shanghai in which the job may start (durations since
	// midnight; NotBefore included, NotAfter excluded; NotAfter zero means
	// midnight). A run due outside the window is not claimed: it waits for
	// the window to open. A window may span midnight (NotBefore 22h,
	// NotAfter 6h). Jobs that message owners use 09:00-21:00.
	NotBefore, NotAfter time.Duration
}

// PeriodAt is the start of the job's period that contains t.
func (j Job) PeriodAt(t time.Time) time.Time {
	return PeriodStart(t.Add(-j.Offset), j.Period).Add(j.Offset)
}

// InWindow reports whether the job may start at t: always without a
// window, else when t's time of day in Asia/Shanghai is within
// [NotBefore, NotAfter).
func (j Job) InWindow(t time.Time) bool {
	if j.NotBefore == 0 && j.NotAfter == 0 {
		return true
	}
	end := j.NotAfter
	if end == 0 {
		end = 24 * time.Hour
	}
	s := t.In(models.ChinaTime)
	tod := time.Duration(s.Hour())*time.Hour + time.Duration(s.Minute())*time.Minute +
		time.Duration(s.Second())*time.Second + time.Duration(s.Nanosecond())
	if j.NotBefore <= end {
		return tod >= j.NotBefore && tod < end
	}
	return tod >= j.NotBefore || tod < end // spans midnight
}

// Run statuses.
const (
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
)

// Defaults of Runner's Lease and RetryAfter.
const (
	DefaultLease      = 15 * time.Minute
	DefaultRetryAfter = 5 * time.Minute
	// maxErrorLen bounds the error text kept with a failed run.
	maxErrorLen = 1000
)

// Run is one run of a job for one period (a row of job_runs).
type Run struct {
	Job         string    `gorm:"primaryKey"`
	PeriodStart time.Time `gorm:"primaryKey"`
	Status      string
	Attempts    int
	Instance    string
	// LeaseUntil: while RUNNING, when the claim lapses if its instance does
	// not finish (it died); once FAILED, when the run may be retried.
	LeaseUntil time.Time
	StartedAt  time.Time
	FinishedAt *time.Time
	Count      int64
	// Error is the failure as the job returned it (SQL, driver or panic
	// text, cut to 1000 bytes), for operators reading the table; it is
	// also in the server log. Statuses, which managers read, replaces it
	// with a fixed message (see FailedMessage).
	Error string
}

// TableName names the runs table.
func (Run) TableName() string { return "job_runs" }

// Runner runs the jobs that are due. Several instances may each run a
// Runner over the same database: a run is claimed by a conditional upsert
// of its (job, period_start) row, which exactly one instance wins.
type Runner struct {
	DB   *models.DB
	Jobs []Job
	// Clock is the runner's clock (nil: the real time). Tests move it; the
	// runner's ticks and leases still wait real time.
	Clock models.Clock
	Log   *slog.Logger
	// Instance names this process in job_runs; empty means host:pid:random.
	Instance string
	// Lease is how long a claim holds before another instance may take
	// the run over (DefaultLease when zero): longer than any run lasts.
	Lease time.Duration
	// RetryAfter is how long after a failure the run is tried again
	// (DefaultRetryAfter when zero).
	RetryAfter time.Duration
}

// anchor is a Shanghai midnight every period is counted from.
var anchor = time.Date(2000, 1, 1, 0, 0, 0, 0, models.ChinaTime)

// PeriodStart is the start of the period of length p that contains t:
// periods are counted from a Shanghai midnight, so hourly periods begin on
// the hour and daily ones at midnight in Shanghai (which has no daylight
// saving time).
func PeriodStart(t time.Time, p time.Duration) time.Time {
	if p <= 0 {
		p = time.Hour
	}
	n := t.Sub(anchor) / p
	start := anchor.Add(n * p)
	if start.After(t) { // before the anchor, division rounds toward zero
		start = start.Add(-p)
	}
	return start.UTC()
}

// logger is Log, or the default logger: a failure's detail is never lost.
func (r *Runner) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Runner) instance() string {
	if r.Instance == "" {
		host, _ := os.Hostname()
		r.Instance = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
	}
	return r.Instance
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// RunDue runs every job whose current period has no successful run yet and
// is not being run by another instance, one after the other. A job's
// failure (error or panic) is recorded on its run, logged, and does not stop
// the others; RunDue returns the failures joined.
func (r *Runner) RunDue(ctx context.Context) error {
	var errs []error
	for _, j := range r.Jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := r.runOne(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.Name, err))
		}
	}
	return errors.Join(errs...)
}

// runOne claims the job's current period and runs it if the claim was won
// (and the job's window is open).
func (r *Runner) runOne(ctx context.Context, j Job) error {
	now := r.Clock.Now(ctx)
	if !j.InWindow(now) {
		return nil
	}
	period := j.PeriodAt(now)
	attempt, ok, err := r.claim(ctx, j.Name, period, now)
	if err != nil || !ok {
		return err
	}
	stop := r.keepLease(ctx, j.Name, period, attempt)
	count, runErr := r.call(ctx, j, now)
	stop()
	status, msg := Succeeded, ""
	if runErr != nil {
		status, msg = Failed, runErr.Error()
		if len(msg) > maxErrorLen {
			msg = strings.ToValidUTF8(msg[:maxErrorLen], "") // not half a character
		}
		// The full error goes to the log (managers see only a fixed
		// message naming the job, period and attempt: FailedMessage).
		r.logger().Error("job failed", "job", j.Name, "period", period.UTC().Format(time.RFC3339), "attempt", attempt,
			"instance", r.instance(), "err", runErr)
	} else if r.Log != nil && count > 0 {
		r.Log.Info("job ran", "job", j.Name, "period", period.UTC().Format(time.RFC3339), "count", count)
	}
	if count < 0 {
		count = 0
	}
	done := r.Clock.Now(ctx)
	// Only the claim that is still ours is finished: if our lease lapsed
	// and another instance took the run over, its record stands.
	res := r.DB.Conn(context.WithoutCancel(ctx)).Model(&Run{}).
		Where("job = ? AND period_start = ? AND instance = ? AND attempts = ? AND status = ?", j.Name, period, r.instance(), attempt, Running).
		Updates(map[string]any{"status": status, "finished_at": done, "count": count, "error": msg,
			"lease_until": done.Add(orDefault(r.RetryAfter, DefaultRetryAfter))})
	if res.Error != nil {
		return res.Error
	}
	return runErr
}

// keepLease extends the claim while the job runs, every third of the
// lease, so that a run that takes long is not taken over as abandoned.
// The returned function stops it.
func (r *Runner) keepLease(ctx context.Context, job string, period time.Time, attempt int) func() {
	lease := orDefault(r.Lease, DefaultLease)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				err := r.DB.Conn(ctx).Model(&Run{}).
					Where("job = ? AND period_start = ? AND instance = ? AND attempts = ? AND status = ?", job, period, r.instance(), attempt, Running).
					Update("lease_until", r.Clock.Now(ctx).Add(lease)).Error
				if err != nil && r.Log != nil && ctx.Err() == nil {
					r.Log.Warn("job lease not extended", "job", job, "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// call runs the job, turning a panic into an error.
func (r *Runner) call(ctx context.Context, j Job, now time.Time) (n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.Run(ctx, now)
}

// claim takes the run of job for period: it inserts the RUNNING row, or
// takes over a row that FAILED (once its retry time has come) or whose
// RUNNING lease lapsed. One conditional upsert, so of several instances
// exactly one claims a run. Returns the attempt number.
func (r *Runner) claim(ctx context.Context, job string, period, now time.Time) (attempt int, ok bool, err error) {
	lease := now.Add(orDefault(r.Lease, DefaultLease))
	inst := r.instance()
	res := r.DB.Conn(ctx).Exec(`INSERT INTO job_runs (job, period_start, status, attempts, instance, lease_until, started_at, count, error)
		VALUES (?, ?, ?, 1, ?, ?, ?, 0, '')
		ON CONFLICT (job, period_start) DO UPDATE SET status = excluded.status, attempts = job_runs.attempts + 1,
			instance = excluded.instance, lease_until = excluded.lease_until, started_at = excluded.started_at,
			finished_at = NULL, count = 0, error = ''
		WHERE job_runs.status <> ? AND job_runs.lease_until < ?`,
		job, period, Running, inst, lease, now, Succeeded, now)
	if res.Error != nil {
		return 0, false, res.Error
	}
	if res.RowsAffected != 1 {
		return 0, false, nil
	}
	var run Run
	if err := r.DB.Conn(ctx).Where("job = ? AND period_start = ?", job, period).Take(&run).Error; err != nil {
		return 0, false, err
	}
	if run.Instance != inst || run.Status != Running {
		return 0, false, nil
	}
	return run.Attempts, true, nil
}

// Loop runs the due jobs now and then every tick until ctx ends.
func (r *Runner) Loop(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = time.Minute
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := r.RunDue(ctx); err != nil && r.Log != nil && ctx.Err() == nil {
			r.Log.Warn("scheduled jobs failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes the records of runs that started before olderThan; for a
// job of its own, so the table stays small.
func (r *Runner) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	res := r.DB.Conn(ctx).Where("started_at < ? AND status <> ?", olderThan.UTC(), Running).Delete(&Run{})
	return res.RowsAffected, res.Error
}

// Names lists the runner's job names, in order.
func (r *Runner) Names() []string {
	out := make([]string, len(r.Jobs))
	for i, j := range r.Jobs {
		out[i] = j.Name
	}
	return out
}

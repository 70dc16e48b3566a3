// Package jobs is the one mechanism for scheduled work (points expiry, tier
// recompute, reminders, housekeeping): each job runs once per period, on
// exactly one of however many instances are up, and every run is recorded
// in job_runs so managers see when each job last ran and what it did. The
// jobs run on River, the instance's job queue (see
// docs/decisions/0007-scheduled-jobs-on-river.md): River's leader enqueues
// each job's period, any instance's worker runs it, and the claim of its
// job_runs row keeps it to one run per period.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

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

// period is the job's period, an hour when unset.
func (j Job) period() time.Duration {
	if j.Period <= 0 {
		return time.Hour
	}
	return j.Period
}

// nextOpen is when the job's window next opens after t (t outside it):
// NotBefore on t's day in Asia/Shanghai, or on the next day.
func (j Job) nextOpen(t time.Time) time.Time {
	s := t.In(models.ChinaTime)
	open := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, models.ChinaTime).Add(j.NotBefore)
	if !open.After(t) {
		open = open.Add(24 * time.Hour)
	}
	return open.UTC()
}

// Run statuses.
const (
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
)

// Defaults of Runner's fields.
const (
	DefaultLease         = 15 * time.Minute
	DefaultRetryAfter    = time.Minute
	DefaultMaxRetryAfter = 30 * time.Minute
	DefaultRecheck       = 15 * time.Minute
	DefaultPollInterval  = 10 * time.Second
	// Queue is the scheduled jobs' River queue.
	Queue = "jobs"
	// queueWorkers is how many scheduled jobs an instance runs at once.
	queueWorkers = 4
	// maxAttempts is how many failures of one period's run River takes
	// before it gives the run up: with the backoff's cap, more than a
	// day, so a run is retried until its period ends.
	maxAttempts = 100
	// maxErrorLen bounds the error text kept with a failed run.
	maxErrorLen = 1000
)

// Run is one run of a job for one period (a row of job_runs). It is both
// the claim that keeps a period to one run across instances and the record
// managers read (Statuses); it outlives River's own rows, which River
// deletes a day after they finish.
type Run struct {
	Job         string    `gorm:"primaryKey"`
	PeriodStart time.Time `gorm:"primaryKey"`
	Status      string
	Attempts    int
	Instance    string
	// LeaseUntil: while RUNNING, when the claim lapses if its instance does
	// not finish (it died); once finished, when it finished. A FAILED run
	// may be claimed again at any time: River's backoff paces the retries.
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

// Runner runs the jobs on the instance's River client. River's leader
// enqueues one River job per job and period (at the period's start, and
// when it is elected: an instance starting after an outage or a deploy
// catches up the current period); River's unique jobs keep that to one
// River job per period; the worker that takes it claims the period's
// job_runs row by a conditional upsert, which exactly one instance wins,
// runs the job and records the outcome. A failed run returns its error to
// River, which retries it with the runner's backoff within the period.
type Runner struct {
	DB   *models.DB
	Jobs []Job
	// Clock is the runner's clock (nil: the real time): periods, windows
	// and claims are read from it. Tests move it; River's waits (backoff,
	// snoozes, its schedule) still pass in real time.
	Clock models.Clock
	Log   *slog.Logger
	// Instance names this process in job_runs; empty means host:pid:random.
	Instance string
	// Lease is how long a claim holds before another instance may take
	// the run over (DefaultLease when zero): longer than any run lasts;
	// a run extends it while it lasts.
	Lease time.Duration
	// RetryAfter is the wait before the first retry of a failed run; each
	// further one doubles it, up to MaxRetryAfter (DefaultRetryAfter and
	// DefaultMaxRetryAfter when zero).
	RetryAfter, MaxRetryAfter time.Duration
	// Recheck is the longest a run that waits (for its window to open, or
	// for another instance's claim to lapse) sleeps before it reads the
	// clock again (DefaultRecheck when zero).
	Recheck time.Duration
	// PollInterval is how often an idle instance looks for a run that
	// became due (a retry, the end of a wait) in the jobs' queue
	// (DefaultPollInterval when zero). A run River's leader enqueues
	// wakes the workers at once.
	PollInterval time.Duration

	client   *river.Client[*sql.Tx]
	instOnce sync.Once
	inst     string
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

// instance is Instance, or host:pid:random when empty, fixed on first use
// (the runner's workers run jobs concurrently).
func (r *Runner) instance() string {
	r.instOnce.Do(func() {
		r.inst = r.Instance
		if r.inst == "" {
			host, _ := os.Hostname()
			r.inst = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8])
		}
	})
	return r.inst
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// runArgs is the River job of one job's run for one period.
type runArgs struct {
	Job    string    `json:"job"`
	Period time.Time `json:"period"`
}

// Kind names the job in River's table.
func (runArgs) Kind() string { return "jobs.run" }

// InsertOpts puts the run on the jobs' queue, one River job per job and
// period (unique by its arguments while River keeps it: a day after it
// finished; the job_runs claim holds beyond).
func (runArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AddWorkers registers the runner's worker on the instance's River
// workers, before the client is made (see outbox.Concern).
func (r *Runner) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &worker{r: r})
}

// Queue is the runner's River queue: how many jobs it runs at once, and
// how often it polls.
func (r *Runner) Queue() (string, river.QueueConfig) {
	return Queue, river.QueueConfig{MaxWorkers: queueWorkers, FetchPollInterval: orDefault(r.PollInterval, DefaultPollInterval)}
}

// Attach gives the runner the instance's River client and River one
// periodic job per job: River's leader enqueues the job's run at the start
// of each of its periods, and once when it is elected (RunOnStart), which
// catches up a period whose run was missed. Every instance attaches the
// same jobs; only the leader enqueues.
func (r *Runner) Attach(c *river.Client[*sql.Tx]) error {
	r.client = c
	periodic := make([]*river.PeriodicJob, 0, len(r.Jobs))
	for _, j := range r.Jobs {
		name := j.Name
		periodic = append(periodic, river.NewPeriodicJob(schedule{j}, func() (river.JobArgs, *river.InsertOpts) {
			j, ok := r.job(name)
			if !ok {
				return nil, nil
			}
			return runArgs{Job: name, Period: j.PeriodAt(r.Clock.Now(context.Background()))}, nil
		}, &river.PeriodicJobOpts{ID: "jobs." + name, RunOnStart: true}))
	}
	_, err := c.PeriodicJobs().AddManySafely(periodic)
	return err
}

// EnqueueDue enqueues the run of every job's current period, as River's
// leader does when a period starts: one River job per job and period
// however often it is called, on however many instances. Tests call it
// after moving the clock.
func (r *Runner) EnqueueDue(ctx context.Context) error {
	if r.client == nil {
		return errors.New("jobs: the runner has no River client (Attach)")
	}
	now := r.Clock.Now(ctx)
	params := make([]river.InsertManyParams, 0, len(r.Jobs))
	for _, j := range r.Jobs {
		params = append(params, river.InsertManyParams{Args: runArgs{Job: j.Name, Period: j.PeriodAt(now)}})
	}
	if len(params) == 0 {
		return nil
	}
	_, err := r.client.InsertMany(ctx, params)
	return err
}

// schedule is a job's periods as River's schedule: a run is due at the
// start of each period.
type schedule struct{ j Job }

func (s schedule) Next(t time.Time) time.Time { return s.j.PeriodAt(t).Add(s.j.period()) }

// job is the job named name.
func (r *Runner) job(name string) (Job, bool) {
	for _, j := range r.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return Job{}, false
}

// worker runs one job for one period.
type worker struct {
	river.WorkerDefaults[runArgs]
	r *Runner
}

// Work runs the job for its period. A run whose period is over ends
// without running (the new period has a run of its own); one outside the
// job's window sleeps until the window opens, or ends if it does not open
// again within the period; one whose period another instance is running
// sleeps until that claim lapses, and one whose period already succeeded
// ends. A failure is returned to River, which retries it (NextRetry).
func (w *worker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	r := w.r
	j, ok := r.job(job.Args.Job)
	if !ok {
		// Inserted by an instance of another version (a rolling deploy):
		// left to River's retries, so that an instance that knows it
		// runs it.
		return fmt.Errorf("jobs: job %q unknown to this instance", job.Args.Job)
	}
	period := job.Args.Period.UTC()
	now := r.Clock.Now(ctx)
	if !j.PeriodAt(now).Equal(period) {
		return nil
	}
	if !j.InWindow(now) {
		open := j.nextOpen(now)
		if !open.Before(period.Add(j.period())) {
			return nil
		}
		return river.JobSnooze(r.recheck(open.Sub(now)))
	}
	attempt, heldUntil, err := r.claim(ctx, j.Name, period, now)
	if err != nil {
		return err
	}
	if attempt == 0 {
		if heldUntil.IsZero() {
			return nil // succeeded
		}
		return river.JobSnooze(r.recheck(heldUntil.Sub(now)))
	}
	return r.run(ctx, j, period, attempt, now)
}

// NextRetry is the runner's backoff: RetryAfter doubled for each attempt
// after the first, up to MaxRetryAfter. River compares it with its own
// wall clock, so it is read from the real one.
func (w *worker) NextRetry(job *river.Job[runArgs]) time.Time {
	d := orDefault(w.r.RetryAfter, DefaultRetryAfter)
	ceiling := orDefault(w.r.MaxRetryAfter, DefaultMaxRetryAfter)
	for i := 1; i < job.Attempt && d < ceiling; i++ {
		d *= 2
	}
	return models.Clock(nil).Now(context.Background()).Add(min(d, ceiling))
}

// Timeout: a scheduled job runs as long as it takes (its lease is kept
// while it runs), not the client's timeout for a delivery.
func (w *worker) Timeout(*river.Job[runArgs]) time.Duration { return -1 }

// recheck bounds a sleep of d by Recheck.
func (r *Runner) recheck(d time.Duration) time.Duration {
	rc := orDefault(r.Recheck, DefaultRecheck)
	if d <= 0 || d > rc {
		return rc
	}
	return d
}

// run runs the job for the period it claimed (attempt) and records the
// outcome on the claim, if the claim is still ours.
func (r *Runner) run(ctx context.Context, j Job, period time.Time, attempt int, now time.Time) error {
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
		Updates(map[string]any{"status": status, "finished_at": done, "count": count, "error": msg, "lease_until": done})
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
// takes over a row that FAILED or whose RUNNING lease lapsed. One
// conditional upsert, so of several instances exactly one claims a run.
// Returns the attempt number, or 0 and, while another claim holds, when
// it lapses (zero if the run succeeded).
func (r *Runner) claim(ctx context.Context, job string, period, now time.Time) (attempt int, heldUntil time.Time, err error) {
	lease := now.Add(orDefault(r.Lease, DefaultLease))
	inst := r.instance()
	res := r.DB.Conn(ctx).Exec(`INSERT INTO job_runs (job, period_start, status, attempts, instance, lease_until, started_at, count, error)
		VALUES (?, ?, ?, 1, ?, ?, ?, 0, '')
		ON CONFLICT (job, period_start) DO UPDATE SET status = excluded.status, attempts = job_runs.attempts + 1,
			instance = excluded.instance, lease_until = excluded.lease_until, started_at = excluded.started_at,
			finished_at = NULL, count = 0, error = ''
		WHERE job_runs.status = ? OR (job_runs.status = ? AND job_runs.lease_until < ?)`,
		job, period, Running, inst, lease, now, Failed, Running, now)
	if res.Error != nil {
		return 0, time.Time{}, res.Error
	}
	var run Run
	if err := r.DB.Conn(ctx).Where("job = ? AND period_start = ?", job, period).Take(&run).Error; err != nil {
		return 0, time.Time{}, err
	}
	switch {
	case res.RowsAffected == 1 && run.Instance == inst && run.Status == Running:
		return run.Attempts, time.Time{}, nil
	case run.Status == Succeeded:
		return 0, time.Time{}, nil
	default:
		return 0, run.LeaseUntil.UTC(), nil
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

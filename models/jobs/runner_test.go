package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), &jobs.Run{})
}

var serial atomic.Int64

// name is a job name of the test's own on the shared database.
func name(t *testing.T) string {
	return fmt.Sprintf("test-%d-%s", serial.Add(1), t.Name())
}

func sh(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, models.ChinaTime)
}

func TestPeriodStart(t *testing.T) {
	cases := []struct {
		at   time.Time
		p    time.Duration
		want time.Time
	}{
		{sh(2031, 3, 3, 0, 0), 24 * time.Hour, sh(2031, 3, 3, 0, 0)},
		{sh(2031, 3, 3, 23, 59), 24 * time.Hour, sh(2031, 3, 3, 0, 0)},
		{sh(2031, 3, 4, 7, 59), 24 * time.Hour, sh(2031, 3, 4, 0, 0)}, // 23:59 UTC of the 3rd
		{sh(2031, 3, 3, 10, 30), time.Hour, sh(2031, 3, 3, 10, 0)},
		{sh(2031, 3, 3, 10, 0), time.Hour, sh(2031, 3, 3, 10, 0)},
		{sh(1999, 12, 31, 10, 30), 24 * time.Hour, sh(1999, 12, 31, 0, 0)},
	}
	for _, c := range cases {
		if got := jobs.PeriodStart(c.at, c.p); !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("PeriodStart(%v, %v) = %v; want %v (UTC)", c.at, c.p, got, c.want)
		}
	}
}

func TestPeriodAtWithOffset(t *testing.T) {
	j := jobs.Job{Period: 24 * time.Hour, Offset: 9 * time.Hour}
	for at, want := range map[time.Time]time.Time{
		sh(2031, 3, 3, 9, 0):  sh(2031, 3, 3, 9, 0),
		sh(2031, 3, 3, 23, 0): sh(2031, 3, 3, 9, 0),
		sh(2031, 3, 4, 8, 59): sh(2031, 3, 3, 9, 0),
		sh(2031, 3, 4, 9, 0):  sh(2031, 3, 4, 9, 0),
		sh(2031, 3, 3, 0, 30): sh(2031, 3, 2, 9, 0),
	} {
		if got := j.PeriodAt(at); !got.Equal(want) {
			t.Errorf("PeriodAt(%v) = %v; want %v", at, got, want)
		}
	}
}

func TestInWindow(t *testing.T) {
	day := jobs.Job{NotBefore: 9 * time.Hour, NotAfter: 21 * time.Hour}
	night := jobs.Job{NotBefore: 22 * time.Hour, NotAfter: 6 * time.Hour}
	fromNine := jobs.Job{NotBefore: 9 * time.Hour}
	cases := []struct {
		j    jobs.Job
		at   time.Time
		want bool
	}{
		{jobs.Job{}, sh(2031, 3, 3, 3, 0), true},
		{day, sh(2031, 3, 3, 8, 59).Add(59 * time.Second), false},
		{day, sh(2031, 3, 3, 9, 0), true},
		{day, time.Date(2031, 3, 3, 1, 0, 0, 0, time.UTC), true}, // 09:00 in Shanghai
		{day, sh(2031, 3, 3, 20, 59).Add(59 * time.Second), true},
		{day, sh(2031, 3, 3, 21, 0), false},
		{day, time.Date(2031, 3, 3, 13, 0, 0, 0, time.UTC), false}, // 21:00 in Shanghai
		{day, sh(2031, 3, 4, 2, 30), false},
		{night, sh(2031, 3, 3, 23, 0), true},
		{night, sh(2031, 3, 4, 5, 59), true},
		{night, sh(2031, 3, 4, 6, 0), false},
		{night, sh(2031, 3, 4, 12, 0), false},
		{fromNine, sh(2031, 3, 3, 23, 59), true},
		{fromNine, sh(2031, 3, 3, 8, 0), false},
	}
	for _, c := range cases {
		if got := c.j.InWindow(c.at); got != c.want {
			t.Errorf("%v-%v InWindow(%v) = %v; want %v", c.j.NotBefore, c.j.NotAfter, c.at, got, c.want)
		}
	}
}

// TestSchedule: River's schedule of a job is the start of its next
// period, Shanghai-aligned and offset.
func TestSchedule(t *testing.T) {
	hourly := jobs.Job{Period: time.Hour}
	morning := jobs.Job{Period: 24 * time.Hour, Offset: 9 * time.Hour}
	cases := []struct {
		j        jobs.Job
		at, want time.Time
	}{
		{hourly, sh(2031, 3, 3, 10, 0), sh(2031, 3, 3, 11, 0)},
		{hourly, sh(2031, 3, 3, 10, 59), sh(2031, 3, 3, 11, 0)},
		{morning, sh(2031, 3, 3, 8, 59), sh(2031, 3, 3, 9, 0)},
		{morning, sh(2031, 3, 3, 9, 0), sh(2031, 3, 4, 9, 0)},
		{morning, time.Date(2031, 3, 3, 23, 0, 0, 0, time.UTC), sh(2031, 3, 4, 9, 0)}, // 07:00 on the 4th in Shanghai
	}
	for _, c := range cases {
		if got := c.j.Next(c.at); !got.Equal(c.want) {
			t.Errorf("Next(%v) every %v from %v = %v; want %v", c.at, c.j.Period, c.j.Offset, got, c.want)
		}
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// instance starts an instance's River client working r's jobs, as the
// server does (the outbox makes the client; the runner is one of its
// concerns), with short waits; stop stops it (also at the test's end).
func instance(t *testing.T, r *jobs.Runner) (stop func()) {
	t.Helper()
	if r.Recheck == 0 {
		r.Recheck = 50 * time.Millisecond
	}
	if r.RetryAfter == 0 {
		r.RetryAfter = time.Minute
	}
	if r.Log == nil {
		r.Log = quiet
	}
	if r.PollInterval == 0 {
		r.PollInterval = 20 * time.Millisecond
	}
	ob, err := outbox.New(r.DB, nil, outbox.Config{PollInterval: 20 * time.Millisecond}, quiet, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Attach(ob.River()); err != nil {
		t.Fatal(err)
	}
	if err := ob.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := ob.Stop(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// eventually waits up to 20 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runOf is job's run of the period starting at period (nil before it).
func runOf(t *testing.T, db *models.DB, job string, period time.Time) *jobs.Run {
	t.Helper()
	var out []jobs.Run
	if err := db.Conn(context.Background()).Where("job = ? AND period_start = ?", job, period.UTC()).Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		return nil
	}
	return &out[0]
}

// waitRun waits for job's run of period to have status.
func waitRun(t *testing.T, db *models.DB, job string, period time.Time, status string) *jobs.Run {
	t.Helper()
	var run *jobs.Run
	eventually(t, fmt.Sprintf("%s %s at %v", job, status, period), func() bool {
		run = runOf(t, db, job, period)
		return run != nil && run.Status == status
	})
	return run
}

// settle waits until River holds no scheduled job's run that is still to
// be worked (none available, running, retryable or snoozed).
func settle(t *testing.T, db *models.DB) {
	t.Helper()
	eventually(t, "River's scheduled jobs to settle", func() bool {
		var n int64
		err := db.Conn(context.Background()).Table("river_job").
			Where("kind = ? AND state IN ?", "jobs.run", []string{"available", "running", "retryable", "scheduled", "pending"}).
			Count(&n).Error
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

func runs(t *testing.T, db *models.DB, job string) []jobs.Run {
	t.Helper()
	var out []jobs.Run
	if err := db.Conn(context.Background()).Where("job = ?", job).Order("period_start").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEachPeriodRunsOnceAcrossInstances: three instances' River clients
// on one database, each enqueuing every job's period again and again (as
// leaders elected in turn would): a daily and an hourly job run once per
// period, on one instance, over three hours and into the next day.
func TestEachPeriodRunsOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	daily, hourly := name(t), name(t)
	var dailyCalls, hourlyCalls atomic.Int64
	var mu sync.Mutex
	var seen []time.Time
	jobList := []jobs.Job{
		{Name: daily, Period: 24 * time.Hour, Run: func(_ context.Context, now time.Time) (int64, error) {
			dailyCalls.Add(1)
			mu.Lock()
			seen = append(seen, now)
			mu.Unlock()
			return 7, nil
		}},
		{Name: hourly, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { hourlyCalls.Add(1); return 1, nil }},
	}
	var runners []*jobs.Runner
	for i := 0; i < 3; i++ {
		r := &jobs.Runner{DB: db, Clock: c.Now, Instance: fmt.Sprintf("i%d", i), Jobs: jobList}
		instance(t, r)
		runners = append(runners, r)
	}
	enqueueAll := func() {
		var wg sync.WaitGroup
		for _, r := range runners {
			for k := 0; k < 2; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := r.EnqueueDue(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		settle(t, db)
	}
	for round := 0; round < 3; round++ {
		enqueueAll()
		c.Advance(time.Hour)
	}
	if dailyCalls.Load() != 1 || hourlyCalls.Load() != 3 {
		t.Fatalf("daily ran %d times (want 1), hourly %d (want 3)", dailyCalls.Load(), hourlyCalls.Load())
	}
	if !seen[0].Equal(sh(2031, 3, 3, 10, 0)) {
		t.Fatalf("the daily job ran at %v; want 10:00", seen)
	}
	c.Set(sh(2031, 3, 4, 0, 0)) // the next day in Shanghai
	enqueueAll()
	if dailyCalls.Load() != 2 {
		t.Fatalf("daily ran %d times by the next day; want 2", dailyCalls.Load())
	}
	rs := runs(t, db, daily)
	if len(rs) != 2 || rs[0].Status != jobs.Succeeded || rs[0].Count != 7 || rs[0].FinishedAt == nil || rs[0].Attempts != 1 {
		t.Fatalf("runs = %+v", rs)
	}
	if !rs[0].PeriodStart.Equal(sh(2031, 3, 3, 0, 0)) || !rs[1].PeriodStart.Equal(sh(2031, 3, 4, 0, 0)) {
		t.Fatalf("periods = %v, %v", rs[0].PeriodStart, rs[1].PeriodStart)
	}
	if rs := runs(t, db, hourly); len(rs) != 4 {
		t.Fatalf("hourly runs recorded: %d; want 4", len(rs))
	}
}

// TestFailedRunIsRetriedWithBackoff: a run that fails, then panics, is
// retried by River after RetryAfter, then twice that; each failure is
// recorded on the period's run as it happens; a failing job does not
// hold up the others.
func TestFailedRunIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	n, other := name(t), name(t)
	var mu sync.Mutex
	var at []time.Time // real times of the calls
	var otherCalls atomic.Int64
	r := &jobs.Runner{DB: db, Clock: c.Now, RetryAfter: time.Second, Jobs: []jobs.Job{
		{Name: n, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) {
			mu.Lock()
			at = append(at, time.Now())
			k := len(at)
			mu.Unlock()
			switch k {
			case 1:
				return 3, errors.New("boom")
			case 2:
				panic("kaboom")
			}
			return 5, nil
		}},
		{Name: other, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { otherCalls.Add(1); return 0, nil }},
	}}
	instance(t, r)
	if err := r.EnqueueDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	period := sh(2031, 3, 3, 10, 0)
	if run := waitRun(t, db, n, period, jobs.Failed); run.Error != "boom" || run.Attempts != 1 || run.FinishedAt == nil {
		t.Fatalf("after the failure: %+v", run)
	}
	waitRun(t, db, other, period, jobs.Succeeded)
	eventually(t, "the second attempt's failure", func() bool {
		run := runOf(t, db, n, period)
		return run.Status == jobs.Failed && run.Attempts == 2 && run.Error == "panic: kaboom"
	})
	run := waitRun(t, db, n, period, jobs.Succeeded)
	if run.Attempts != 3 || run.Count != 5 || run.Error != "" {
		t.Fatalf("after success: %+v", run)
	}
	settle(t, db)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 3 {
		t.Fatalf("%d calls; want 3", len(at))
	}
	if d1, d2 := at[1].Sub(at[0]), at[2].Sub(at[1]); d1 < time.Second || d2 < 2*time.Second {
		t.Fatalf("retries after %v and %v; want at least 1 s, then 2 s", d1, d2)
	}
	if otherCalls.Load() != 1 {
		t.Fatalf("the other job ran %d times in one period", otherCalls.Load())
	}
}

// TestRunWaitsForItsWindow: a run due before its window opens waits for
// it, and runs in the same period once it opens.
func TestRunWaitsForItsWindow(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	c := testdb.NewClock(sh(2031, 5, 3, 7, 0))
	n := name(t)
	var calls atomic.Int64
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{{Name: n, Period: 24 * time.Hour, NotBefore: 9 * time.Hour, NotAfter: 21 * time.Hour,
		Run: func(context.Context, time.Time) (int64, error) { calls.Add(1); return 1, nil }}}}
	instance(t, r)
	if err := r.EnqueueDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // ten looks at the clock
	if calls.Load() != 0 || runOf(t, db, n, sh(2031, 5, 3, 0, 0)) != nil {
		t.Fatal("the job ran at 07:00, before its window")
	}
	c.Set(sh(2031, 5, 3, 9, 0))
	waitRun(t, db, n, sh(2031, 5, 3, 0, 0), jobs.Succeeded)
	if calls.Load() != 1 {
		t.Fatalf("calls = %d", calls.Load())
	}
}

// TestQuietWindow: a daily 09:00 job that messages owners fails at 09:00;
// its retry comes after 21:00. The run is not retried at night (the
// period lasts until 09:00 the next day, but the window closed at 21:00):
// the job runs next at 09:00. Within the window a failed run is retried
// the same day.
func TestQuietWindow(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 5, 3, 9, 0))
	var mu sync.Mutex
	var at []time.Time
	fail := true
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, RetryAfter: time.Second, Jobs: []jobs.Job{{Name: n, Period: 24 * time.Hour,
		Offset: 9 * time.Hour, NotBefore: 9 * time.Hour, NotAfter: 21 * time.Hour,
		Run: func(_ context.Context, now time.Time) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, now)
			if fail {
				return 0, errors.New("db down")
			}
			return 1, nil
		}}}}
	calls := func() int { mu.Lock(); defer mu.Unlock(); return len(at) }
	setFail := func(f bool) { mu.Lock(); fail = f; mu.Unlock() }
	instance(t, r)
	if err := r.EnqueueDue(ctx); err != nil {
		t.Fatal(err)
	}
	waitRun(t, db, n, sh(2031, 5, 3, 9, 0), jobs.Failed)
	c.Set(sh(2031, 5, 3, 21, 0)) // before the retry, a second later
	setFail(false)
	settle(t, db) // the retry ended without running
	if calls() != 1 {
		t.Fatalf("the job ran %d times; its retry ran at night", calls())
	}
	if rs := runs(t, db, n); len(rs) != 1 || rs[0].Status != jobs.Failed || rs[0].Attempts != 1 {
		t.Fatalf("runs during the night: %+v", rs)
	}
	c.Set(sh(2031, 5, 4, 9, 0))
	if err := r.EnqueueDue(ctx); err != nil {
		t.Fatal(err)
	}
	waitRun(t, db, n, sh(2031, 5, 4, 9, 0), jobs.Succeeded)
	if calls() != 2 || !at[1].Equal(sh(2031, 5, 4, 9, 0)) {
		t.Fatalf("runs at %v; want 09:00 on both days", at)
	}
	setFail(true)
	c.Set(sh(2031, 5, 5, 9, 0))
	if err := r.EnqueueDue(ctx); err != nil {
		t.Fatal(err)
	}
	waitRun(t, db, n, sh(2031, 5, 5, 9, 0), jobs.Failed)
	setFail(false)
	c.Set(sh(2031, 5, 5, 20, 59))
	run := waitRun(t, db, n, sh(2031, 5, 5, 9, 0), jobs.Succeeded)
	if run.Attempts != 2 || calls() != 4 {
		t.Fatalf("the retried run: %+v after %d calls", run, calls())
	}
}

// TestMissedPeriodRunsAtStart: an instance ran the 09:00 period of an
// hourly job and stopped; none was up at 10:00. The next instance to start
// runs the 10:00 period at once (River's leader enqueues every job's
// current period when it is elected), and not the daily job that already
// ran today.
func TestMissedPeriodRunsAtStart(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	c := testdb.NewClock(sh(2031, 3, 3, 9, 5))
	hourly, daily := name(t), name(t)
	var hourlyCalls, dailyCalls atomic.Int64
	jobList := []jobs.Job{
		{Name: hourly, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { hourlyCalls.Add(1); return 1, nil }},
		{Name: daily, Period: 24 * time.Hour, Run: func(context.Context, time.Time) (int64, error) { dailyCalls.Add(1); return 1, nil }},
	}
	first := &jobs.Runner{DB: db, Clock: c.Now, Instance: "first", Jobs: jobList}
	stop := instance(t, first)
	// Started, it runs the current periods without being told.
	waitRun(t, db, hourly, sh(2031, 3, 3, 9, 0), jobs.Succeeded)
	waitRun(t, db, daily, sh(2031, 3, 3, 0, 0), jobs.Succeeded)
	settle(t, db)
	stop()
	c.Set(sh(2031, 3, 3, 10, 30))
	second := &jobs.Runner{DB: db, Clock: c.Now, Instance: "second", Jobs: jobList}
	instance(t, second)
	if run := waitRun(t, db, hourly, sh(2031, 3, 3, 10, 0), jobs.Succeeded); run.Instance != "second" {
		t.Fatalf("the missed period: %+v", run)
	}
	settle(t, db)
	if hourlyCalls.Load() != 2 || dailyCalls.Load() != 1 {
		t.Fatalf("hourly ran %d times (want 2), daily %d (want 1)", hourlyCalls.Load(), dailyCalls.Load())
	}
}

// TestLongErrorIsCut: a failure's text is kept cut to 1000 bytes, on a
// character boundary (PostgreSQL refuses half a character).
func TestLongErrorIsCut(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{{Name: n, Period: time.Hour,
		Run: func(context.Context, time.Time) (int64, error) { return 0, errors.New(strings.Repeat("库", 400)) }}}}
	instance(t, r)
	if err := r.EnqueueDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, db, n, sh(2031, 3, 3, 10, 0), jobs.Failed); run.Error != strings.Repeat("库", 333) {
		t.Fatalf("run = %+v", run)
	}
}

// TestAbandonedClaimIsTakenOverAfterLease: an instance claimed the run and
// died; another waits until the claim's lease lapses, then runs it.
func TestAbandonedClaimIsTakenOverAfterLease(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	n := name(t)
	var calls atomic.Int64
	job := jobs.Job{Name: n, Period: 24 * time.Hour, Run: func(context.Context, time.Time) (int64, error) { calls.Add(1); return 1, nil }}
	// An instance that claimed the run and died: its row stays RUNNING.
	dead := jobs.Run{Job: n, PeriodStart: jobs.PeriodStart(c.Now(), job.Period), Status: jobs.Running, Attempts: 1,
		Instance: "dead", LeaseUntil: c.Now().Add(15 * time.Minute).UTC(), StartedAt: c.Now().UTC()}
	if err := db.Conn(ctx).Create(&dead).Error; err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Minute)
	r := &jobs.Runner{DB: db, Clock: c.Now, Lease: 15 * time.Minute, Instance: "alive", Jobs: []jobs.Job{job}}
	instance(t, r)
	if err := r.EnqueueDue(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("took over a live claim")
	}
	c.Advance(6 * time.Minute)
	run := waitRun(t, db, n, dead.PeriodStart, jobs.Succeeded)
	if calls.Load() != 1 || run.Instance != "alive" || run.Attempts != 2 {
		t.Fatalf("calls = %d, run = %+v", calls.Load(), run)
	}
}

// TestLongRunKeepsItsLease: a run that lasts longer than its lease extends
// it, so another instance (holding the same period's River job after
// River rescued it as stuck) does not take it over as abandoned.
func TestLongRunKeepsItsLease(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	n := name(t)
	var calls atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	job := jobs.Job{Name: n, Period: 24 * time.Hour, Run: func(context.Context, time.Time) (int64, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
		}
		return 1, nil
	}}
	// A clock that runs at the real pace from a fixed instant: the lease
	// is two seconds and the run lasts three, so an unextended lease would
	// lapse while the other instance asks. (A one-second lease, extended
	// every third of a second, lapsed once on a loaded CI machine.)
	base, start := sh(2031, 3, 3, 10, 0), time.Now()
	clock := func() time.Time { return base.Add(time.Since(start)) }
	const lease = 2 * time.Second
	slow := &jobs.Runner{DB: db, Clock: clock, Instance: "slow", Lease: lease, Jobs: []jobs.Job{job}}
	other := &jobs.Runner{DB: db, Clock: clock, Instance: "other", Lease: lease, Jobs: []jobs.Job{job}}
	instance(t, slow)
	<-started
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // a failure below must not leave the run blocked
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		attempt, heldUntil, err := other.Claim(ctx, n, jobs.PeriodStart(base, 24*time.Hour), models.Clock(clock).Now(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if attempt != 0 || heldUntil.IsZero() {
			t.Fatalf("the other instance claimed a live run: attempt %d, held until %v", attempt, heldUntil)
		}
		time.Sleep(50 * time.Millisecond)
	}
	unblock()
	run := waitRun(t, db, n, jobs.PeriodStart(base, 24*time.Hour), jobs.Succeeded)
	if calls.Load() != 1 || run.Instance != "slow" || run.Attempts != 1 {
		t.Fatalf("the job ran %d times; run = %+v", calls.Load(), run)
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	ok, bad, never := name(t), name(t), name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{
		{Name: ok, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { return 4, nil }},
		{Name: bad, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { return 0, errors.New("db down") }},
	}}
	instance(t, r)
	for _, period := range []time.Time{sh(2031, 3, 3, 10, 0), sh(2031, 3, 3, 11, 0)} {
		c.Set(period)
		if err := r.EnqueueDue(ctx); err != nil {
			t.Fatal(err)
		}
		waitRun(t, db, ok, period, jobs.Succeeded)
		waitRun(t, db, bad, period, jobs.Failed)
	}
	r.Jobs = append(r.Jobs, jobs.Job{Name: never, Period: 24 * time.Hour})
	manager := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleManager}, StoreIDs: []uuid.UUID{uuid.New()}}
	admin := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleGroupAdmin}}
	for _, who := range []*auth.Principal{manager, admin} {
		st, err := r.Statuses(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 3 || st[0].Name != ok || st[0].Period != 3600 || st[0].LastRun == nil || st[0].LastRun.Count != 4 ||
			!st[0].LastRun.PeriodStart.Equal(sh(2031, 3, 3, 11, 0)) || st[0].LastRun.Status != jobs.Succeeded {
			t.Fatalf("statuses[0] = %+v (%+v)", st[0], st[0].LastRun)
		}
		// A failed run is visible as failed, with a fixed message that
		// points to the log, not the failure's text.
		wantMsg := "运行失败，详情见服务器日志（任务 " + bad + "，时段 2031-03-03T03:00:00Z，第 1 次）"
		if st[1].LastRun == nil || st[1].LastRun.Status != jobs.Failed || st[1].LastRun.Error != wantMsg {
			t.Fatalf("statuses[1] = %+v", st[1].LastRun)
		}
		if st[2].LastRun != nil || st[2].Period != 86400 {
			t.Fatalf("never-run job: %+v", st[2])
		}
	}
	st, err := r.Statuses(models.WithLang(ctx, "en"), manager)
	if err != nil {
		t.Fatal(err)
	}
	if want := "the run failed; see the server log (job " + bad + ", period 2031-03-03T03:00:00Z, attempt 1)"; st[1].LastRun.Error != want {
		t.Fatalf("English message = %q; want %q", st[1].LastRun.Error, want)
	}
	// The failure itself stays in the table, for operators.
	if rs := runs(t, db, bad); len(rs) != 2 || rs[1].Error != "db down" {
		t.Fatalf("recorded runs of the failing job: %+v", rs)
	}
	advisor := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleAdvisor}, StoreIDs: []uuid.UUID{uuid.New()}}
	owner := &auth.Principal{Kind: auth.KindOwner, ID: uuid.New()}
	for _, who := range []*auth.Principal{advisor, owner} {
		_, err := r.Statuses(ctx, who)
		testdb.WantCode(t, err, models.CodeForbidden, "")
	}
	_, err = r.Statuses(ctx, nil)
	testdb.WantCode(t, err, models.CodeUnauthenticated, "")
}

func TestPrune(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{{Name: n, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { return 0, nil }}}}
	instance(t, r)
	for i := 0; i < 5; i++ {
		if err := r.EnqueueDue(ctx); err != nil {
			t.Fatal(err)
		}
		waitRun(t, db, n, c.Now(), jobs.Succeeded)
		c.Advance(time.Hour)
	}
	got, err := r.Prune(ctx, sh(2031, 3, 3, 12, 0))
	if err != nil || got != 2 {
		t.Fatalf("pruned %d, %v; want 2", got, err)
	}
	if rs := runs(t, db, n); len(rs) != 3 {
		t.Fatalf("%d runs left; want 3", len(rs))
	}
}

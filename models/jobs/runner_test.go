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

// TestQuietWindow: a daily 09:00 job that messages owners fails at 09:00;
// the database is back in the night. The run is not retried at night (the
// period lasts until 09:00 the next day, but the window closed at 21:00):
// the job runs next at 09:00.
func TestQuietWindow(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 5, 3, 9, 0))
	var at []time.Time
	fail := true
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, RetryAfter: 5 * time.Minute, Jobs: []jobs.Job{{Name: n, Period: 24 * time.Hour,
		Offset: 9 * time.Hour, NotBefore: 9 * time.Hour, NotAfter: 21 * time.Hour,
		Run: func(_ context.Context, now time.Time) (int64, error) {
			at = append(at, now)
			if fail {
				return 0, errors.New("db down")
			}
			return 1, nil
		}}}}
	if err := r.RunDue(ctx); err == nil {
		t.Fatal("the 09:00 failure was not reported")
	}
	fail = false
	for _, night := range []time.Time{sh(2031, 5, 3, 21, 0), sh(2031, 5, 4, 2, 30), sh(2031, 5, 4, 8, 59)} {
		c.Set(night)
		if err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if len(at) != 1 {
			t.Fatalf("the job ran at %s Shanghai time", night.Format("15:04"))
		}
	}
	rs := runs(t, db, n)
	if len(rs) != 1 || rs[0].Status != jobs.Failed || rs[0].Attempts != 1 {
		t.Fatalf("runs during the night: %+v", rs)
	}
	c.Set(sh(2031, 5, 4, 9, 0))
	if err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(at) != 2 || !at[1].Equal(sh(2031, 5, 4, 9, 0)) {
		t.Fatalf("runs at %v; want 09:00 on both days", at)
	}
	rs = runs(t, db, n)
	if len(rs) != 2 || rs[1].Status != jobs.Succeeded || !rs[1].PeriodStart.Equal(sh(2031, 5, 4, 9, 0)) {
		t.Fatalf("runs = %+v", rs)
	}
	// Within the window a failed run is retried the same day.
	fail = true
	c.Set(sh(2031, 5, 5, 9, 0))
	_ = r.RunDue(ctx)
	fail = false
	c.Set(sh(2031, 5, 5, 20, 59))
	if err := r.RunDue(ctx); err != nil || len(at) != 4 {
		t.Fatalf("retry at 20:59: %d runs, %v", len(at), err)
	}
	if rs = runs(t, db, n); rs[2].Status != jobs.Succeeded || rs[2].Attempts != 2 {
		t.Fatalf("the retried run: %+v", rs[2])
	}
}

// TestLongErrorIsCut: a failure's text is kept cut to 1000 bytes, on a
// character boundary (PostgreSQL refuses half a character).
func TestLongErrorIsCut(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Jobs: []jobs.Job{{Name: n, Period: time.Hour,
		Run: func(context.Context, time.Time) (int64, error) { return 0, errors.New(strings.Repeat("库", 400)) }}}}
	if err := r.RunDue(context.Background()); err == nil {
		t.Fatal("the failure was not reported")
	}
	rs := runs(t, db, n)
	if len(rs) != 1 || rs[0].Status != jobs.Failed || rs[0].Error != strings.Repeat("库", 333) {
		t.Fatalf("runs = %+v", rs)
	}
}

func runs(t *testing.T, db *models.DB, job string) []jobs.Run {
	t.Helper()
	var out []jobs.Run
	if err := db.Conn(context.Background()).Where("job = ?", job).Order("period_start").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunsOncePerPeriod(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 9, 0))
	var calls atomic.Int64
	var seen []time.Time
	n := name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{{Name: n, Period: 24 * time.Hour, Run: func(_ context.Context, now time.Time) (int64, error) {
		calls.Add(1)
		seen = append(seen, now)
		return 7, nil
	}}}}
	for i := 0; i < 3; i++ {
		if err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
	}
	if calls.Load() != 1 || !seen[0].Equal(sh(2031, 3, 3, 9, 0)) {
		t.Fatalf("calls = %d (%v); want 1 at 09:00", calls.Load(), seen)
	}
	c.Set(sh(2031, 3, 4, 0, 0)) // next day in Shanghai
	if err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls = %d on the next day; want 2", calls.Load())
	}
	rs := runs(t, db, n)
	if len(rs) != 2 || rs[0].Status != jobs.Succeeded || rs[0].Count != 7 || rs[0].FinishedAt == nil || rs[0].Attempts != 1 {
		t.Fatalf("runs = %+v", rs)
	}
	if !rs[0].PeriodStart.Equal(sh(2031, 3, 3, 0, 0)) || !rs[1].PeriodStart.Equal(sh(2031, 3, 4, 0, 0)) {
		t.Fatalf("periods = %v, %v", rs[0].PeriodStart, rs[1].PeriodStart)
	}
}

func TestFailedRunIsRetriedLater(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	var calls atomic.Int64
	n, other := name(t), name(t)
	var otherCalls atomic.Int64
	r := &jobs.Runner{DB: db, Clock: c.Now, RetryAfter: 10 * time.Minute, Jobs: []jobs.Job{
		{Name: n, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) {
			if calls.Add(1) == 1 {
				return 3, errors.New("boom")
			}
			if calls.Load() == 2 {
				panic("kaboom")
			}
			return 5, nil
		}},
		{Name: other, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { otherCalls.Add(1); return 0, nil }},
	}}
	if err := r.RunDue(ctx); err == nil {
		t.Fatal("RunDue hid the failure")
	}
	if otherCalls.Load() != 1 {
		t.Fatal("a failing job stopped the next one")
	}
	rs := runs(t, db, n)
	if len(rs) != 1 || rs[0].Status != jobs.Failed || rs[0].Error != "boom" || rs[0].FinishedAt == nil {
		t.Fatalf("after failure: %+v", rs)
	}
	c.Advance(5 * time.Minute) // before the retry time
	if err := r.RunDue(ctx); err != nil || calls.Load() != 1 {
		t.Fatalf("retried too soon: calls = %d, err = %v", calls.Load(), err)
	}
	c.Advance(6 * time.Minute)
	if err := r.RunDue(ctx); err == nil || calls.Load() != 2 {
		t.Fatalf("second attempt: calls = %d, err = %v", calls.Load(), err)
	}
	rs = runs(t, db, n)
	if rs[0].Status != jobs.Failed || rs[0].Attempts != 2 || rs[0].Error != "panic: kaboom" {
		t.Fatalf("after panic: %+v", rs[0])
	}
	c.Advance(11 * time.Minute)
	if err := r.RunDue(ctx); err != nil || calls.Load() != 3 {
		t.Fatalf("third attempt: calls = %d, err = %v", calls.Load(), err)
	}
	rs = runs(t, db, n)
	if rs[0].Status != jobs.Succeeded || rs[0].Attempts != 3 || rs[0].Count != 5 || rs[0].Error != "" {
		t.Fatalf("after success: %+v", rs[0])
	}
	if err := r.RunDue(ctx); err != nil || calls.Load() != 3 {
		t.Fatalf("ran again after success: %d", calls.Load())
	}
	if otherCalls.Load() != 1 {
		t.Fatalf("other job ran %d times in one period", otherCalls.Load())
	}
}

func TestAbandonedClaimIsTakenOverAfterLease(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
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
	r := &jobs.Runner{DB: db, Clock: c.Now, Lease: 15 * time.Minute, Instance: "alive", Jobs: []jobs.Job{job}}
	c.Advance(10 * time.Minute)
	if err := r.RunDue(ctx); err != nil || calls.Load() != 0 {
		t.Fatalf("took over a live claim: calls = %d, err = %v", calls.Load(), err)
	}
	c.Advance(6 * time.Minute)
	if err := r.RunDue(ctx); err != nil || calls.Load() != 1 {
		t.Fatalf("did not take over a lapsed claim: calls = %d, err = %v", calls.Load(), err)
	}
	rs := runs(t, db, n)
	if len(rs) != 1 || rs[0].Status != jobs.Succeeded || rs[0].Instance != "alive" || rs[0].Attempts != 2 {
		t.Fatalf("runs = %+v", rs)
	}
}

// TestSeveralInstancesRunOnce: many runners (as on many instances) call
// RunDue at once, again and again; each job runs exactly once per period.
func TestSeveralInstancesRunOnce(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	daily, hourly := name(t), name(t)
	var dailyCalls, hourlyCalls atomic.Int64
	jobList := []jobs.Job{
		{Name: daily, Period: 24 * time.Hour, Run: func(context.Context, time.Time) (int64, error) { dailyCalls.Add(1); return 1, nil }},
		{Name: hourly, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { hourlyCalls.Add(1); return 1, nil }},
	}
	const instances = 8
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, instances)
		for i := 0; i < instances; i++ {
			r := &jobs.Runner{DB: db, Clock: c.Now, Instance: fmt.Sprintf("i%d", i), Jobs: jobList}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.RunDue(ctx); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
	}
	if dailyCalls.Load() != 1 || hourlyCalls.Load() != 3 {
		t.Fatalf("daily ran %d times (want 1), hourly %d (want 3)", dailyCalls.Load(), hourlyCalls.Load())
	}
	if rs := runs(t, db, hourly); len(rs) != 3 {
		t.Fatalf("hourly runs recorded: %d", len(rs))
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	c := testdb.NewClock(sh(2031, 3, 3, 10, 0))
	ok, bad, never := name(t), name(t), name(t)
	r := &jobs.Runner{DB: db, Clock: c.Now, Jobs: []jobs.Job{
		{Name: ok, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { return 4, nil }},
		{Name: bad, Period: time.Hour, Run: func(context.Context, time.Time) (int64, error) { return 0, errors.New("db down") }},
	}}
	_ = r.RunDue(ctx)
	c.Advance(time.Hour)
	_ = r.RunDue(ctx)
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
	for i := 0; i < 5; i++ {
		if err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
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

// TestLongRunKeepsItsLease: a run that lasts longer than its lease extends
// it, so another instance does not take it over as abandoned.
func TestLongRunKeepsItsLease(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
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
	// is 300 ms and the run lasts a second.
	base, start := sh(2031, 3, 3, 10, 0), time.Now()
	clock := func() time.Time { return base.Add(time.Since(start)) }
	slow := &jobs.Runner{DB: db, Clock: clock, Instance: "slow", Lease: 300 * time.Millisecond, Jobs: []jobs.Job{job}}
	other := &jobs.Runner{DB: db, Clock: clock, Instance: "other", Lease: 300 * time.Millisecond, Jobs: []jobs.Job{job}}
	errc := make(chan error, 1)
	go func() { errc <- slow.RunDue(ctx) }()
	<-started
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if err := other.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("the job ran %d times; the other instance took over a live run", calls.Load())
	}
}

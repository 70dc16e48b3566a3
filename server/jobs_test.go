package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/testdb"
)

const jobRunsDoc = `{ jobRuns { name periodSeconds lastRun { periodStart status attempts count error finishedAt } } }`

// onOwnDB starts a server on a seeded database of the test's own (the
// scheduled jobs touch every owner, so they must not run on the shared one).
func onOwnDB(t *testing.T) func(*Config, *Deps) {
	t.Helper()
	db := testdb.Open(t)
	if _, err := demo.Seed(context.Background(), db, demo.DefaultPassword); err != nil {
		t.Fatal(err)
	}
	return func(_ *Config, d *Deps) { d.DB = db }
}

// TestJobRunner runs the real list of scheduled jobs on the River clients
// of two instances at once, each enqueuing every job's period several
// times (and each one's leader enqueuing them at start): every job runs
// exactly once, and managers see each one's last run.
func TestJobRunner(t *testing.T) {
	own := onOwnDB(t)
	a, b := newTestServer(t, own), newTestServer(t, own)
	if a.DB != b.DB || a.DB == sharedDB {
		t.Fatal("instances must share a database of their own")
	}
	now := daytime() // one instant: the period cannot roll over mid-test
	startJobs(t, a, now)
	startJobs(t, b, now)
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for _, s := range []*testServer{a, b} {
			wg.Add(1)
			go func(r *jobs.Runner) {
				defer wg.Done()
				if err := r.EnqueueDue(context.Background()); err != nil {
					t.Error(err)
				}
			}(s.App.Jobs)
		}
		wg.Wait()
	}
	waitJobRuns(t, a.DB, int64(len(a.App.Jobs.Jobs)))
	var n int64
	if err := a.DB.Conn(context.Background()).Model(&jobs.Run{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if want := int64(len(a.App.Jobs.Jobs)); n != want {
		t.Fatalf("%d runs recorded; want one per job (%d)", n, want)
	}

	for _, who := range []string{"manager.sz01", demo.AdminUsername} {
		d := a.gql(t, a.staffToken(t, who), jobRunsDoc, nil)
		list, _ := d["jobRuns"].([]any)
		if len(list) != len(a.App.Jobs.Jobs) {
			t.Fatalf("%s sees %d jobs; want %d", who, len(list), len(a.App.Jobs.Jobs))
		}
		names := map[string]bool{}
		for _, j := range list {
			names[dig(j, "name").(string)] = true
			if dig(j, "lastRun", "status") != "SUCCEEDED" || dig(j, "lastRun", "attempts") != float64(1) || dig(j, "lastRun", "error") != "" {
				t.Fatalf("job %v", j)
			}
			if dig(j, "lastRun", "finishedAt") == nil || dig(j, "periodSeconds").(float64) < 300 {
				t.Fatalf("job %v", j)
			}
		}
		for _, want := range []string{"points-expiry", "tier-recompute", "appointment-reminders", "care-reminders", "idempotency-key-pruning", "staff-network-pruning", "sign-in-record-pruning", "job-run-pruning", "payment-sweep", "payment-reconciliation", "event-hold-release", "refund-sweep"} {
			if !names[want] {
				t.Errorf("job %s missing from %v", want, names)
			}
		}
	}
}

// startJobs starts the instance's River client, which works the outbox's
// deliveries and the scheduled jobs, with the jobs' clock standing at now;
// it stops at the test's end.
func startJobs(t *testing.T, s *testServer, now time.Time) {
	t.Helper()
	s.App.Jobs.Clock = func() time.Time { return now }
	if err := s.App.Outbox.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.App.Outbox.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

// waitJobRuns waits until n runs have finished (succeeded or failed) and
// River holds no scheduled job's run still to be worked.
func waitJobRuns(t *testing.T, db *models.DB, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var finished, pending int64
		conn := db.Conn(context.Background())
		if err := conn.Model(&jobs.Run{}).Where("status <> ?", jobs.Running).Count(&finished).Error; err != nil {
			t.Fatal(err)
		}
		if err := conn.Table("river_job").Where("kind = ? AND state IN ?", "jobs.run", []string{"available", "running", "scheduled", "pending"}).
			Count(&pending).Error; err != nil {
			t.Fatal(err)
		}
		if finished >= n && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs finished, %d River jobs pending; want %d finished", finished, pending, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// daytime is noon of the current day in Shanghai: every job's window is
// open then, so tests of the real job list do not depend on the time of
// day they run at.
func daytime() time.Time {
	d := testdb.Now().In(models.ChinaTime)
	return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, models.ChinaTime).UTC()
}

// TestCareRemindersQuietWindow: the daily care reminders message owners,
// so the real runner starts them only between 09:00 and 21:00 Shanghai
// time; a run due at night (after a failure) waits for the morning.
func TestCareRemindersQuietWindow(t *testing.T) {
	s := newTestServer(t)
	j := s.App.Jobs.Jobs[indexOf(t, s, "care-reminders")]
	day := daytime()
	for h, want := range map[time.Duration]bool{-3*time.Hour - time.Second: false, -3 * time.Hour: true, 0: true,
		9*time.Hour - time.Second: true, 9 * time.Hour: false, 14*time.Hour + 30*time.Minute: false} {
		if got := j.InWindow(day.Add(h)); got != want {
			t.Errorf("care-reminders may start at %s Shanghai time: %v; want %v", day.Add(h).In(models.ChinaTime).Format("15:04:05"), got, want)
		}
	}
	for _, other := range s.App.Jobs.Jobs {
		if other.Name != "care-reminders" && (other.NotBefore != 0 || other.NotAfter != 0) {
			t.Errorf("job %s has a window", other.Name)
		}
	}
}

// TestJobRunFailureShownToManagers: a failed run is visible to managers as
// FAILED, with a fixed message naming the job, period and attempt; the SQL
// error itself is only in the server log.
func TestJobRunFailureShownToManagers(t *testing.T) {
	s := newTestServer(t, onOwnDB(t))
	name := fmt.Sprintf("broken-%d", time.Now().UnixNano())
	now := daytime()
	s.App.Jobs.Jobs = []jobs.Job{{Name: name, Period: time.Hour, Run: func(ctx context.Context, _ time.Time) (int64, error) {
		var n int64
		err := s.DB.Conn(ctx).Raw("SELECT secret_column FROM no_such_table").Scan(&n).Error
		return n, err
	}}}
	startJobs(t, s, now)
	if err := s.App.Jobs.EnqueueDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitJobRuns(t, s.DB, 1) // failed; River retries it after a minute
	period := jobs.PeriodStart(now, time.Hour).Format(time.RFC3339)
	token := s.staffToken(t, "manager.sz01")
	for lang, want := range map[string]string{
		"":   "运行失败，详情见服务器日志（任务 " + name + "，时段 " + period + "，第 1 次）",
		"en": "the run failed; see the server log (job " + name + ", period " + period + ", attempt 1)",
	} {
		res := s.do(t, req{Query: jobRunsDoc, Token: token, Headers: map[string]string{"Accept-Language": lang}})
		if len(res.Errors) > 0 {
			t.Fatal(res.Raw)
		}
		if dig(res.Data, "jobRuns", 0, "name") != name || dig(res.Data, "jobRuns", 0, "lastRun", "status") != "FAILED" ||
			dig(res.Data, "jobRuns", 0, "lastRun", "error") != want {
			t.Fatalf("jobRuns in %q: %s", lang, res.Raw)
		}
		if strings.Contains(res.Raw, "no_such_table") || strings.Contains(res.Raw, "secret_column") {
			t.Fatalf("jobRuns shows the SQL error: %s", res.Raw)
		}
	}
	logs := s.Logs.String()
	if !strings.Contains(logs, `"msg":"job failed"`) || !strings.Contains(logs, name) || !strings.Contains(logs, "no_such_table") {
		t.Fatalf("the failure is not in the log:\n%s", logs)
	}
}

func TestJobRunsAuthorization(t *testing.T) {
	s := newTestServer(t)
	for _, who := range []string{"advisor.sz01", "crm.sz01"} {
		if r := s.do(t, req{Query: jobRunsDoc, Token: s.staffToken(t, who)}); r.Code() != "FORBIDDEN" {
			t.Fatalf("%s: %s", who, r.Raw)
		}
	}
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	if r := s.do(t, req{Query: jobRunsDoc, Token: s.ownerToken(t, owner.ID)}); r.Code() != "FORBIDDEN" {
		t.Fatalf("owner: %s", r.Raw)
	}
	if r := s.do(t, req{Query: jobRunsDoc}); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("anonymous: %s", r.Raw)
	}
}

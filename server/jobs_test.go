package main

import (
	"context"
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

// TestJobRunner runs the real list of scheduled jobs of two instances at
// once, several times within one period: every job runs exactly once, and
// managers see each one's last run.
func TestJobRunner(t *testing.T) {
	own := onOwnDB(t)
	a, b := newTestServer(t, own), newTestServer(t, own)
	if a.DB != b.DB || a.DB == sharedDB {
		t.Fatal("instances must share a database of their own")
	}
	now := models.Now() // one instant: the period cannot roll over mid-test
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for _, s := range []*testServer{a, b} {
			s.App.Jobs.Now = func() time.Time { return now }
			wg.Add(1)
			go func(r *jobs.Runner) {
				defer wg.Done()
				if err := r.RunDue(context.Background()); err != nil {
					t.Error(err)
				}
			}(s.App.Jobs)
		}
		wg.Wait()
	}
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
			if dig(j, "lastRun", "finishedAt") == nil || dig(j, "periodSeconds").(float64) < 3600 {
				t.Fatalf("job %v", j)
			}
		}
		for _, want := range []string{"points-expiry", "tier-recompute", "appointment-reminders", "care-reminders", "idempotency-key-pruning", "job-run-pruning"} {
			if !names[want] {
				t.Errorf("job %s missing from %v", want, names)
			}
		}
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

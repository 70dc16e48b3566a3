package care

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

func TestStepAllowed(t *testing.T) {
	t.Parallel()
	allowed := map[Step][]ComplaintStatus{
		StepAcknowledge: {Submitted},
		StepPropose:     {Submitted, Acknowledged, Proposed, Reopened},
		StepResolve:     {Submitted, Acknowledged, Proposed, Reopened},
		StepAccept:      {Resolved},
		StepReopen:      {Resolved},
	}
	all := []ComplaintStatus{Submitted, Acknowledged, Proposed, Resolved, Reopened, Closed}
	for step, ok := range allowed {
		for _, st := range all {
			want := false
			for _, o := range ok {
				want = want || o == st
			}
			if got := StepAllowed(st, step) == nil; got != want {
				t.Errorf("%s from %s: allowed=%v; want %v", step, st, got, want)
			}
		}
	}
}

func TestLow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sc   Scores
		want bool
	}{
		{Scores{5, 5, 5, 5, 5}, false},
		{Scores{4, 4, 4, 4, 4}, false},
		{Scores{4, 4, 4, 4, 3}, true},
		{Scores{3, 5, 5, 5, 5}, true},
		{Scores{5, 1, 5, 5, 5}, true},
	} {
		if Low(tc.sc) != tc.want {
			t.Errorf("Low(%v) != %v", tc.sc, tc.want)
		}
	}
}

func TestValidatePhotos(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://img.example.com/a.jpg", true},
		{"https://img.example.com/a.jpg?x=1", true},
		{"http://img.example.com/a.jpg", false},
		{"https:///a.jpg", false},
		{"ftp://a/b", false},
		{"https://user:pw@img.example.com/a.jpg", false},
		{"javascript:alert(1)", false},
		{"", false},
	} {
		_, err := ValidatePhotos([]string{tc.url})
		if (err == nil) != tc.ok {
			t.Errorf("%q: err=%v; want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestApplyDeadlines(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &Complaint{Status: Submitted, ResponseDueAt: t0.Add(RespondWithin), ResponseState: DeadlineOpen,
		ProposalDueAt: t0.Add(ProposeWithin), ProposalState: DeadlineOpen, ResolutionDueAt: t0.Add(ResolveWithin), ResolutionState: DeadlineOpen}
	// Resolving straight away, late for the response only: the response and
	// the proposal count as made then.
	apply(c, StepResolve, t0.Add(3*time.Hour), "done")
	if c.ResponseState != DeadlineMissed || c.ProposalState != DeadlineMet || c.ResolutionState != DeadlineMet || c.Status != Resolved {
		t.Fatalf("%+v", c)
	}
	apply(c, StepReopen, t0.Add(4*time.Hour), "no")
	if c.ResolutionState != DeadlineOpen || !c.ResolutionDueAt.Equal(t0.Add(52*time.Hour)) || c.ResolvedAt != nil || c.ProposalState != DeadlineMet {
		t.Fatalf("%+v", c)
	}
}

// A late resolution is recorded for good: reopening leaves ResolutionMissed
// set while the new deadline is OPEN.
func TestApplyKeepsMissedResolution(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &Complaint{Status: Proposed, ResponseDueAt: t0.Add(RespondWithin), ResponseState: DeadlineMet,
		ProposalDueAt: t0.Add(ProposeWithin), ProposalState: DeadlineMet, ResolutionDueAt: t0.Add(ResolveWithin), ResolutionState: DeadlineOpen}
	apply(c, StepResolve, t0.Add(ResolveWithin), "in time")
	if c.ResolutionState != DeadlineMet || c.ResolutionMissed {
		t.Fatalf("in time: %+v", c)
	}
	apply(c, StepReopen, t0.Add(50*time.Hour), "no")
	apply(c, StepResolve, t0.Add(99*time.Hour), "late")
	if c.ResolutionState != DeadlineMissed || !c.ResolutionMissed {
		t.Fatalf("late: %+v", c)
	}
	apply(c, StepReopen, t0.Add(100*time.Hour), "no")
	if c.ResolutionState != DeadlineOpen || !c.ResolutionMissed || c.ReopenCount != 2 {
		t.Fatalf("reopened after a late resolution: %+v", c)
	}
}

func TestNewCarDelivered(t *testing.T) {
	t.Parallel()
	// 2026-03-10 12:00 in Shanghai.
	now := time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC)
	shanghai := models.ChinaTime
	oldest := models.DateOf(now.Add(-Lookback).In(shanghai))
	for _, tc := range []struct {
		name     string
		purchase models.Date
		timezone string
		want     time.Time
		ok       bool
	}{
		{"today, already past midnight", models.Date{Year: 2026, Month: 3, Day: 10}, "Asia/Shanghai", time.Date(2026, 3, 10, 0, 0, 0, 0, shanghai), true},
		{"yesterday", models.Date{Year: 2026, Month: 3, Day: 9}, "Asia/Shanghai", time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), true},
		{"tomorrow", models.Date{Year: 2026, Month: 3, Day: 11}, "Asia/Shanghai", time.Date(2026, 3, 11, 0, 0, 0, 0, shanghai), false},
		{"today in a zone where the day has not begun", models.Date{Year: 2026, Month: 3, Day: 10}, "America/Los_Angeles",
			time.Date(2026, 3, 10, 0, 0, 0, 0, mustZone(t, "America/Los_Angeles")), false},
		{"an unknown zone reads as China's", models.Date{Year: 2026, Month: 3, Day: 9}, "Mars/Olympus", time.Date(2026, 3, 9, 0, 0, 0, 0, shanghai), true},
		{"the oldest day after the lookback's start", oldest.AddDate(0, 0, 1), "Asia/Shanghai",
			time.Date(oldest.Year, oldest.Month, oldest.Day+1, 0, 0, 0, 0, shanghai), true},
		{"the lookback's first day, its midnight before the start", oldest, "Asia/Shanghai",
			time.Date(oldest.Year, oldest.Month, oldest.Day, 0, 0, 0, 0, shanghai), false},
		{"before the lookback", oldest.AddDate(0, 0, -1), "Asia/Shanghai",
			time.Date(oldest.Year, oldest.Month, oldest.Day-1, 0, 0, 0, 0, shanghai), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := newCarDelivered(tc.purchase, tc.timezone, now)
			if !got.Equal(tc.want) || ok != tc.ok {
				t.Fatalf("newCarDelivered(%v, %q) = %v, %v; want %v, %v", tc.purchase, tc.timezone, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

package care

import (
	"testing"
	"time"
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

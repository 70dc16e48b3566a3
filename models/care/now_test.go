package care_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// What depends on when a complaint, a task or a survey is read follows the
// service's clock.
func TestReadTimeFollowsTheClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	clk := testdb.NewClock(start)
	s := &care.Service{Clock: clk.Now}
	due := start.Add(time.Hour)
	c := &care.Complaint{Status: care.Submitted,
		ResponseDueAt: due, ResponseState: care.DeadlineOpen,
		ProposalDueAt: due, ProposalState: care.DeadlineOpen,
		ResolutionDueAt: due, ResolutionState: care.DeadlineOpen}
	task := &care.FollowUpTask{Status: care.TaskOpen, DueAt: due}
	sv := &care.Survey{AnswerBy: due}

	check := func(when string, late bool) {
		t.Helper()
		want := care.DeadlineOpen
		if late {
			want = care.DeadlineMissed
		}
		for name, d := range map[string]care.Deadline{"response": s.ResponseDeadline(ctx, c), "proposal": s.ProposalDeadline(ctx, c), "resolution": s.ResolutionDeadline(ctx, c)} {
			if d.State != want {
				t.Errorf("%s: %s deadline %s, want %s", when, name, d.State, want)
			}
		}
		if s.ComplaintOverdue(ctx, c) != late || s.TaskOverdue(ctx, task) != late || s.SurveyEditable(ctx, sv) == late {
			t.Errorf("%s: complaint overdue %v, task overdue %v, survey editable %v; want late=%v",
				when, s.ComplaintOverdue(ctx, c), s.TaskOverdue(ctx, task), s.SurveyEditable(ctx, sv), late)
		}
	}
	check("before the deadline", false)
	clk.Advance(2 * time.Hour)
	check("after the deadline", true)
}

package care_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/inbox"
)

func TestInviteSurveysOncePerDeliveredOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	a, b, old := e.customer(), e.customer(), e.customer()
	recent := e.delivered(a, now.Add(-2*time.Hour))
	lastWeek := e.delivered(b, now.Add(-7*24*time.Hour))
	e.delivered(old, now.Add(-31*24*time.Hour)) // before the lookback

	// Ten instances run the job at once: each order gets one survey and
	// one invitation.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.svc.InviteSurveys(e.ctx, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 2 {
		t.Fatalf("offered %d surveys; want 2", total)
	}
	if n, err := e.svc.InviteSurveys(e.ctx, now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second run offered %d (%v); want 0", n, err)
	}
	sv := e.surveyOf(recent)
	if !sv.OfferedAt.Equal(now) || !sv.AnswerBy.Equal(now.Add(care.SurveyAnswerWindow)) || sv.Answered() || sv.AdvisorID != e.who("advisor").ID {
		t.Fatalf("survey = %+v", sv)
	}
	e.surveyOf(lastWeek)
	var notes []inbox.Notification
	must(t, e.db.Conn(e.ctx).Where("owner_id IN ? AND kind = ?", []any{a.owner.ID, b.owner.ID, old.owner.ID}, care.NotifySurveyInvitation).Find(&notes).Error)
	if len(notes) != 2 {
		t.Fatalf("%d invitations; want 2", len(notes))
	}
	for _, n := range notes {
		if n.OwnerID == a.owner.ID && n.Link != models.LinkTo(models.RefTo(models.RefRepairOrder, recent.ID)) {
			t.Errorf("invitation links %q", n.Link)
		}
	}
}

func TestSubmitSurvey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	order := e.delivered(c, e.clock.Now().Add(-time.Hour))
	_, err := e.svc.InviteSurveys(e.ctx, e.clock.Now())
	must(t, err)
	sv := e.surveyOf(order)

	t.Run("refusals", func(t *testing.T) {
		_, err := e.svc.SubmitSurvey(e.ctx, nil, sv.ID, good, "")
		wantCode(t, err, models.CodeUnauthenticated, "")
		_, err = e.svc.SubmitSurvey(e.ctx, e.who("crm"), sv.ID, good, "")
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.SubmitSurvey(e.ctx, other.p, sv.ID, good, "")
		wantCode(t, err, models.CodeNotFound, "")
		for field, sc := range map[string]care.Scores{
			"overall":     {0, 5, 5, 5, 5},
			"advisor":     {5, 6, 5, 5, 5},
			"quality":     {5, 5, -1, 5, 5},
			"timeliness":  {5, 5, 5, 0, 5},
			"cleanliness": {5, 5, 5, 5, 9},
		} {
			_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, sc, "")
			wantCode(t, err, models.CodeInvalidArgument, field)
		}
		_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, good, strings.Repeat("好", care.MaxCommentLen+1))
		wantCode(t, err, models.CodeInvalidArgument, "comment")
		if got := e.surveyOf(order); got.Answered() {
			t.Fatal("a refused answer was stored")
		}
	})

	first := e.advance(24 * time.Hour)
	got, err := e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, good, "  很满意 ")
	must(t, err)
	if *got.Overall != 5 || *got.Quality != 4 || got.Comment != "很满意" || !got.SubmittedAt.Equal(first) || !got.EditableUntil.Equal(first.Add(care.SurveyEditWindow)) {
		t.Fatalf("answer = %+v", got)
	}
	if len(e.tasks()) != 0 {
		t.Fatal("a good survey opened a task")
	}
	// Changed within 7 days: a low score opens one follow-up, once.
	e.advance(6 * 24 * time.Hour)
	low := care.Scores{Overall: 4, Advisor: 5, Quality: 3, Timeliness: 5, Cleanliness: 5}
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, low, "洗车不干净")
	must(t, err)
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, care.Scores{Overall: 1, Advisor: 1, Quality: 1, Timeliness: 1, Cleanliness: 1}, "")
	must(t, err)
	tasks := e.tasks()
	if len(tasks) != 1 || tasks[0].Kind != care.LowSurvey || *tasks[0].RepairOrderID != order.ID || *tasks[0].SurveyID != sv.ID ||
		tasks[0].StoreID != e.store.ID || tasks[0].OwnerID != c.owner.ID {
		t.Fatalf("tasks = %+v", tasks)
	}
	if again := e.surveyOf(order); !again.SubmittedAt.Equal(first) || *again.Overall != 1 {
		t.Fatalf("after edits: %+v", again)
	}
	// 7 days after the first answer it is locked.
	e.clock.Set(first.Add(care.SurveyEditWindow))
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, good, "")
	wantCode(t, err, care.CodeSurveyClosed, "")
}

func TestSurveyExpiresUnanswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	order := e.delivered(c, e.clock.Now())
	_, err := e.svc.InviteSurveys(e.ctx, e.clock.Now())
	must(t, err)
	sv := e.surveyOf(order)
	e.clock.Set(sv.AnswerBy)
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, good, "")
	wantCode(t, err, care.CodeSurveyClosed, "")
	e.clock.Set(sv.AnswerBy.Add(-time.Microsecond))
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, good, "")
	must(t, err)
}

func TestSurveyReaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	order := e.delivered(c, e.clock.Now())
	_, err := e.svc.InviteSurveys(e.ctx, e.clock.Now())
	must(t, err)
	sv := e.surveyOf(order)
	for _, who := range []string{"crm", "manager", "admin"} {
		if _, err := e.svc.SurveyFor(e.ctx, e.who(who), sv.ID); err != nil {
			t.Errorf("%s: %v", who, err)
		}
	}
	if _, err := e.svc.SurveyFor(e.ctx, c.p, sv.ID); err != nil {
		t.Error(err)
	}
	for _, who := range []string{"crm.other", "advisor", "technician"} {
		_, err := e.svc.SurveyFor(e.ctx, e.who(who), sv.ID)
		wantCode(t, err, models.CodeNotFound, "")
	}
	_, err = e.svc.SurveyFor(e.ctx, other.p, sv.ID)
	wantCode(t, err, models.CodeNotFound, "")

	rows, more, err := e.svc.OwnerSurveys(e.ctx, c.p, c.owner.ID, models.Page{First: 10})
	must(t, err)
	if len(rows) != 1 || more || rows[0].ID != sv.ID {
		t.Fatalf("own surveys = %v %v", rows, more)
	}
	_, _, err = e.svc.OwnerSurveys(e.ctx, other.p, c.owner.ID, models.Page{First: 10})
	wantCode(t, err, models.CodeNotFound, "")
	_, _, err = e.svc.OwnerSurveys(e.ctx, e.who("advisor"), c.owner.ID, models.Page{First: 10})
	wantCode(t, err, models.CodeForbidden, "")
	rows, _, err = e.svc.OwnerSurveys(e.ctx, e.who("crm.other"), c.owner.ID, models.Page{First: 10})
	must(t, err)
	if len(rows) != 0 {
		t.Fatal("another store's CRM sees the survey")
	}
}

// SurveyVisible, the check of surveys loaded by order (RepairOrder.survey),
// agrees with SurveyFor for everyone: the owner offered the survey, the
// store's CRM and managers, the group admin; not another owner (the car's
// next owner reads the car's past orders, not the previous owner's
// survey), not another store's staff, not advisors or technicians.
func TestSurveyVisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, buyer := e.customer(), e.customer()
	order := e.delivered(c, e.clock.Now())
	_, err := e.svc.InviteSurveys(e.ctx, e.clock.Now())
	must(t, err)
	sv := e.surveyOf(order)
	// The car changes hands.
	must(t, e.db.Conn(e.ctx).Model(&models.Vehicle{}).Where("id = ?", c.car.ID).Update("owner_id", buyer.owner.ID).Error)
	who := map[string]*auth.Principal{"owner": c.p, "buyer": buyer.p, "nobody": nil}
	for name, p := range e.staff {
		who[name] = p
	}
	want := map[string]bool{"owner": true, "crm": true, "manager": true, "admin": true}
	for name, p := range who {
		if got := care.SurveyVisible(p, sv); got != want[name] {
			t.Errorf("%s: visible %v; want %v", name, got, want[name])
		}
		if p == nil {
			continue
		}
		_, err := e.svc.SurveyFor(e.ctx, p, sv.ID)
		if (err == nil) != want[name] {
			t.Errorf("%s: SurveyFor err %v, SurveyVisible %v", name, err, want[name])
		}
	}
	if care.SurveyVisible(c.p, nil) {
		t.Error("a nil survey is visible")
	}
}

package care_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/privacy"
)

func (e *env) privacy() *privacy.Service {
	return &privacy.Service{DB: e.db, Clock: e.clock.Now, Erasers: []privacy.Eraser{e.svc.EraseOwner}}
}

// newCar is a customer whose car the env's store sold yesterday.
func (e *env) newCar() *customer {
	bought := models.DateOf(e.clock.Now().In(e.store.Location())).AddDate(0, 0, -1)
	return e.customer(func(o *models.Owner, v *models.Vehicle) { v.PurchaseDate, v.SellingStoreID = &bought, &e.store.ID })
}

// surveysAndCalls counts what the care jobs left for an owner: surveys,
// inbox notifications and open follow-up tasks.
func (e *env) surveysAndCalls(c *customer) (surveys, notes, open int64) {
	e.t.Helper()
	conn := e.db.Conn(e.ctx)
	must(e.t, conn.Model(&care.Survey{}).Where("owner_id = ?", c.owner.ID).Count(&surveys).Error)
	must(e.t, conn.Model(&inbox.Notification{}).Where("owner_id = ?", c.owner.ID).Count(&notes).Error)
	must(e.t, conn.Model(&care.FollowUpTask{}).Where("owner_id = ? AND status = 'OPEN'", c.owner.ID).Count(&open).Error)
	return
}

// An owner who deleted the account (car still in the workshop, or the job
// not yet run since the delivery) gets no survey, no invitation and no
// call; the other owners of the same run do.
func TestDeletedOwnerGetsNoSurveyNoCall(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	gone, stays := e.customer(), e.customer()
	goneNew, staysNew := e.newCar(), e.newCar()
	e.delivered(gone, e.clock.Now())
	e.delivered(stays, e.clock.Now())
	must(t, e.privacy().DeleteAccount(e.ctx, gone.p, true))
	must(t, e.privacy().DeleteAccount(e.ctx, goneNew.p, true))

	now := e.advance(time.Hour)
	nS, err := e.svc.InviteSurveys(e.ctx, now)
	must(t, err)
	nT, err := e.svc.CreateFollowUps(e.ctx, now)
	must(t, err)
	if nS != 1 || nT != 3 { // stays: survey and 3DC; staysNew: 3- and 7-day calls
		t.Fatalf("offered %d surveys, created %d tasks; want 1 and 3", nS, nT)
	}
	for _, c := range []*customer{gone, goneNew} {
		if s, n, o := e.surveysAndCalls(c); s+n+o != 0 {
			t.Errorf("deleted owner: %d surveys, %d notifications, %d open calls", s, n, o)
		}
	}
	if s, n, o := e.surveysAndCalls(stays); s != 1 || n != 1 || o != 1 {
		t.Errorf("owner kept: %d surveys, %d notifications, %d open calls; want 1 each", s, n, o)
	}
	if _, _, o := e.surveysAndCalls(staysNew); o != 2 {
		t.Errorf("new car kept: %d open calls; want 2", o)
	}
}

// Deletions racing the jobs: whichever commits first, a deleted owner ends
// with no invitation in the inbox and no open call (a job that ran first
// is undone by the deletion; one that runs after skips the owner, its query
// or its check under the owner's lock).
func TestDeletionRacesCareJobs(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	const n = 8
	var owners []*customer
	for i := range n {
		c := e.customer()
		if i%2 == 1 {
			c = e.newCar()
		}
		e.delivered(c, e.clock.Now())
		owners = append(owners, c)
	}
	now := e.advance(time.Hour)
	var wg sync.WaitGroup
	for _, c := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.privacy().DeleteAccount(e.ctx, c.p, true); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 3 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.svc.InviteSurveys(e.ctx, now); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := e.svc.CreateFollowUps(e.ctx, now); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, c := range owners {
		if _, notes, open := e.surveysAndCalls(c); notes != 0 || open != 0 {
			t.Errorf("deleted owner %s: %d notifications, %d open calls", c.owner.Name, notes, open)
		}
	}
	// Nothing is left to offer or create for anyone.
	if s, err := e.svc.InviteSurveys(e.ctx, now); err != nil || s != 0 {
		t.Fatalf("later run offered %d (%v)", s, err)
	}
	if c, err := e.svc.CreateFollowUps(e.ctx, now); err != nil || c != 0 {
		t.Fatalf("later run created %d (%v)", c, err)
	}
}

// InviteSurveys counts the invitations it committed, not the ones whose
// transaction rolled back.
func TestInviteSurveysCountsCommitted(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	c := e.customer()
	e.delivered(c, e.clock.Now())
	now := e.advance(time.Hour)
	conn := e.db.Conn(e.ctx)
	// The invitation cannot be written: the survey's transaction rolls back.
	must(t, conn.Exec("ALTER TABLE notifications RENAME TO notifications_away").Error)
	n, err := e.svc.InviteSurveys(e.ctx, now)
	must(t, conn.Exec("ALTER TABLE notifications_away RENAME TO notifications").Error)
	if err == nil || n != 0 {
		t.Fatalf("failed run: offered %d, err %v; want 0 and an error", n, err)
	}
	if s, _, _ := e.surveysAndCalls(c); s != 0 {
		t.Fatalf("%d surveys left by the failed run", s)
	}
	n, err = e.svc.InviteSurveys(e.ctx, now)
	must(t, err)
	if s, notes, _ := e.surveysAndCalls(c); n != 1 || s != 1 || notes != 1 {
		t.Fatalf("next run: offered %d, %d surveys, %d notifications; want 1 each", n, s, notes)
	}
}

// EraseOwner blanks what the owner wrote (complaint descriptions, photos,
// the owner's timeline notes, survey comments, call notes) and closes the
// open calls; categories, statuses, deadlines, scores and the staff's
// notes stay for the statistics. Another owner's records are untouched.
func TestEraseOwnerBlanksFreeText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	crm := e.who("crm")

	// A complaint handled late, reopened by the owner with a note.
	cp := e.file(c, func(in *care.ComplaintInput) {
		in.Description, in.PhotoURLs = "我是张三 13800000000，师傅态度差", []string{"https://img.example.com/a.jpg"}
	})
	_, err := e.svc.Step(e.ctx, crm, cp.ID, care.StepPropose, "更换零件")
	must(t, err)
	e.advance(49 * time.Hour)
	_, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepResolve, "已更换")
	must(t, err)
	_, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepReopen, "还是响，打我电话 13800000000")
	must(t, err)
	kept := e.file(other, func(in *care.ComplaintInput) { in.PhotoURLs = []string{"https://img.example.com/b.jpg"} })

	// A low survey with a comment (opens a LOW_SURVEY call), and a 3DC call
	// recorded NOT_REACHED with a note, still open.
	order := e.delivered(c, e.clock.Now())
	now := e.advance(time.Hour)
	_, err = e.svc.InviteSurveys(e.ctx, now)
	must(t, err)
	_, err = e.svc.CreateFollowUps(e.ctx, now)
	must(t, err)
	sv := e.surveyOf(order)
	low := care.Scores{Overall: 2, Advisor: 2, Quality: 2, Timeliness: 2, Cleanliness: 2}
	_, err = e.svc.SubmitSurvey(e.ctx, c.p, sv.ID, low, "张师傅态度差")
	must(t, err)
	var calls []*care.FollowUpTask
	must(t, e.db.Conn(e.ctx).Where("owner_id = ?", c.owner.ID).Order("kind").Find(&calls).Error)
	if len(calls) != 2 {
		t.Fatalf("%d calls; want 3DC and LOW_SURVEY", len(calls))
	}
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, calls[0].ID, care.OutcomeInput{Outcome: care.Reached, Note: "车主说张师傅不专业"})
	must(t, err)
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, calls[1].ID, care.OutcomeInput{Outcome: care.NotReached, Note: "车主在开会",
		RetryAt: ptr(now.Add(24 * time.Hour))})
	must(t, err)

	must(t, e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error { return e.svc.EraseOwner(ctx, c.owner.ID) }))

	admin := e.who("admin")
	got, err := e.svc.ComplaintFor(e.ctx, admin, cp.ID)
	must(t, err)
	if got.Description != care.ErasedDescription || len(got.Photos) != 0 {
		t.Errorf("complaint kept description %q, photos %v", got.Description, got.Photos)
	}
	if got.Category != care.AfterSales || got.Status != care.Reopened || got.ReopenCount != 1 || !got.ResolutionMissed ||
		got.Proposal != "更换零件" || got.Resolution != "已更换" {
		t.Errorf("complaint's record changed: %+v", got)
	}
	ev, err := e.svc.EventsByComplaintIDs(e.ctx, []uuidT{cp.ID})
	must(t, err)
	notes := map[care.EventKind]string{}
	for _, x := range ev[cp.ID] {
		notes[x.Kind] = x.Note
	}
	if len(ev[cp.ID]) != 4 || notes[care.EventReopened] != "" || notes[care.EventProposed] != "更换零件" || notes[care.EventResolved] != "已更换" {
		t.Errorf("timeline notes after erasure: %v", notes)
	}
	sv2, err := e.svc.SurveyFor(e.ctx, admin, sv.ID)
	must(t, err)
	if sv2.Comment != "" || sv2.Overall == nil || *sv2.Overall != 2 {
		t.Errorf("survey after erasure: comment %q, overall %v", sv2.Comment, sv2.Overall)
	}
	var after []*care.FollowUpTask
	must(t, e.db.Conn(e.ctx).Where("owner_id = ?", c.owner.ID).Order("kind").Find(&after).Error)
	if after[0].Note != "" || after[0].Status != care.TaskClosed || *after[0].Outcome != care.Reached {
		t.Errorf("closed call after erasure: %+v", after[0])
	}
	if after[1].Note != "车主已注销账户" || after[1].Status != care.TaskClosed || after[1].Attempts != 1 {
		t.Errorf("open call after erasure: %+v", after[1])
	}

	untouched, err := e.svc.ComplaintFor(e.ctx, admin, kept.ID)
	must(t, err)
	if untouched.Description != kept.Description || len(untouched.Photos) != 1 {
		t.Errorf("another owner's complaint changed: %+v", untouched)
	}
}

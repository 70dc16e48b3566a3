package care_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
)

func TestCreateFollowUps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now() // 10:00 in Shanghai
	served := e.customer()
	order := e.delivered(served, now.Add(-50*time.Hour)) // due in 22 h, before the new car's first call
	e.delivered(e.customer(), now.Add(-40*24*time.Hour)) // before the lookback
	bought := models.DateOf(now.In(e.store.Location())).AddDate(0, 0, -1)
	newCar := e.customer(func(o *models.Owner, v *models.Vehicle) { v.PurchaseDate, v.SellingStoreID = &bought, &e.store.ID })
	tomorrow := bought.AddDate(0, 0, 3)                                                                                // two days ahead
	e.customer(func(o *models.Owner, v *models.Vehicle) { v.PurchaseDate, v.SellingStoreID = &tomorrow, &e.store.ID }) // not delivered yet
	e.customer(func(o *models.Owner, v *models.Vehicle) { v.PurchaseDate = &bought })                                  // no selling store

	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.svc.CreateFollowUps(e.ctx, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 3 {
		t.Fatalf("created %d tasks; want 3", total)
	}
	if n, err := e.svc.CreateFollowUps(e.ctx, now.Add(24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second run created %d (%v)", n, err)
	}
	tasks := e.tasks()
	if len(tasks) != 3 {
		t.Fatalf("%d tasks", len(tasks))
	}
	midnight := time.Date(bought.Year, bought.Month, bought.Day, 0, 0, 0, 0, e.store.Location())
	want := []struct {
		kind care.TaskKind
		due  time.Time
	}{
		{care.Service3DC, order.DeliveredAt.Add(72 * time.Hour)},
		{care.NewCar3D, midnight.AddDate(0, 0, 3)},
		{care.NewCar7D, midnight.AddDate(0, 0, 7)},
	}
	for i, w := range want {
		if tasks[i].Kind != w.kind || !tasks[i].DueAt.Equal(w.due) || tasks[i].Status != care.TaskOpen {
			t.Errorf("task %d = %s due %s; want %s due %s", i, tasks[i].Kind, tasks[i].DueAt, w.kind, w.due)
		}
	}
	if *tasks[0].RepairOrderID != order.ID || tasks[0].OwnerID != served.owner.ID || tasks[1].OwnerID != newCar.owner.ID || *tasks[2].VehicleID != newCar.car.ID {
		t.Fatalf("task subjects: %+v", tasks)
	}
}

// taskEnv is an env with one open 3DC task.
func taskEnv(t *testing.T) (*env, *customer, *care.FollowUpTask) {
	e := newEnv(t)
	c := e.customer()
	e.delivered(c, e.clock.Now().Add(-time.Hour))
	_, err := e.svc.CreateFollowUps(e.ctx, e.clock.Now())
	must(t, err)
	tasks := e.tasks()
	if len(tasks) != 1 {
		t.Fatalf("%d tasks", len(tasks))
	}
	return e, c, tasks[0]
}

func TestFollowUpLifecycle(t *testing.T) {
	t.Parallel()
	e, c, task := taskEnv(t)
	crm := e.who("crm")

	// Assign, list mine.
	got, err := e.svc.AssignFollowUp(e.ctx, e.who("manager"), task.ID, &crm.ID)
	must(t, err)
	if *got.AssigneeID != crm.ID {
		t.Fatal("not assigned")
	}
	mine, _, err := e.svc.FollowUps(e.ctx, crm, care.TaskFilter{Mine: true}, models.Page{First: 10})
	must(t, err)
	if len(mine) != 1 || mine[0].ID != task.ID {
		t.Fatalf("mine = %v", mine)
	}
	none, _, err := e.svc.FollowUps(e.ctx, e.who("manager"), care.TaskFilter{Mine: true}, models.Page{First: 10})
	must(t, err)
	if len(none) != 0 {
		t.Fatal("the manager's list has the CRM's task")
	}

	// Not reached: due again at the retry time.
	retry := e.clock.Now().Add(5 * time.Hour)
	got, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached, Note: "无人接听", RetryAt: &retry})
	must(t, err)
	if got.Status != care.TaskOpen || !got.DueAt.Equal(retry) || got.Attempts != 1 || *got.Outcome != care.NotReached {
		t.Fatalf("after not reached: %+v", got)
	}
	// Overdue once the retry time passes.
	overdue := func() int {
		rows, _, err := e.svc.FollowUps(e.ctx, e.who("manager"), care.TaskFilter{Overdue: true}, models.Page{First: 10})
		must(t, err)
		return len(rows)
	}
	if overdue() != 0 {
		t.Fatal("overdue before its time")
	}
	e.advance(6 * time.Hour)
	if overdue() != 1 {
		t.Fatal("not overdue after its time")
	}

	// Reached closes it; nothing more may happen.
	got, cp, err := e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.Reached, Note: "车主满意"})
	must(t, err)
	if got.Status != care.TaskClosed || got.Attempts != 2 || got.ClosedAt == nil || *got.ClosedBy != crm.ID || cp != nil {
		t.Fatalf("after reached: %+v", got)
	}
	if overdue() != 0 {
		t.Fatal("a closed task is overdue")
	}
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.Reached})
	wantCode(t, err, care.CodeTaskClosed, "")
	_, err = e.svc.CloseFollowUp(e.ctx, crm, task.ID, "")
	wantCode(t, err, care.CodeTaskClosed, "")
	_, err = e.svc.AssignFollowUp(e.ctx, crm, task.ID, nil)
	wantCode(t, err, care.CodeTaskClosed, "")
	_ = c
}

func TestFollowUpIssueFoundFilesComplaint(t *testing.T) {
	t.Parallel()
	e, c, task := taskEnv(t)
	_, _, err := e.svc.RecordOutcome(e.ctx, e.who("crm"), task.ID, care.OutcomeInput{Outcome: care.IssueFound})
	wantCode(t, err, models.CodeInvalidArgument, "complaint")
	_, _, err = e.svc.RecordOutcome(e.ctx, e.who("crm"), task.ID, care.OutcomeInput{Outcome: care.IssueFound,
		Complaint: &care.ComplaintInput{Category: "BAD"}})
	wantCode(t, err, models.CodeInvalidArgument, "complaint.category")
	got, cp, err := e.svc.RecordOutcome(e.ctx, e.who("crm"), task.ID, care.OutcomeInput{Outcome: care.IssueFound,
		Complaint: &care.ComplaintInput{Category: care.AfterSales, Description: "刹车异响"}})
	must(t, err)
	if got.Status != care.TaskClosed || *got.ComplaintID != cp.ID {
		t.Fatalf("task = %+v", got)
	}
	if cp.OwnerID != c.owner.ID || cp.StoreID != e.store.ID || *cp.RepairOrderID != *task.RepairOrderID || *cp.FiledBy != e.who("crm").ID || cp.Status != care.Submitted {
		t.Fatalf("complaint = %+v", cp)
	}
	// The owner sees it as theirs.
	if _, err := e.svc.ComplaintFor(e.ctx, c.p, cp.ID); err != nil {
		t.Fatal(err)
	}
}

func TestFollowUpRefusals(t *testing.T) {
	t.Parallel()
	e, c, task := taskEnv(t)
	crm := e.who("crm")
	past := e.clock.Now().Add(-time.Minute)
	far := e.clock.Now().Add(31 * 24 * time.Hour)
	_, _, err := e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached})
	wantCode(t, err, models.CodeInvalidArgument, "retryAt")
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached, RetryAt: &past})
	wantCode(t, err, models.CodeInvalidArgument, "retryAt")
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached, RetryAt: &far})
	wantCode(t, err, models.CodeInvalidArgument, "retryAt")
	_, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: "MAYBE"})
	wantCode(t, err, models.CodeInvalidArgument, "outcome")

	// Who: no one outside the store's CRM and managers.
	_, _, err = e.svc.RecordOutcome(e.ctx, nil, task.ID, care.OutcomeInput{Outcome: care.Reached})
	wantCode(t, err, models.CodeUnauthenticated, "")
	for _, p := range []string{"advisor", "technician"} {
		_, _, err = e.svc.RecordOutcome(e.ctx, e.who(p), task.ID, care.OutcomeInput{Outcome: care.Reached})
		wantCode(t, err, models.CodeForbidden, "")
		_, _, err = e.svc.FollowUps(e.ctx, e.who(p), care.TaskFilter{}, models.Page{First: 10})
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, _, err = e.svc.RecordOutcome(e.ctx, c.p, task.ID, care.OutcomeInput{Outcome: care.Reached})
	wantCode(t, err, models.CodeForbidden, "")
	_, _, err = e.svc.RecordOutcome(e.ctx, e.who("crm.other"), task.ID, care.OutcomeInput{Outcome: care.Reached})
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.FollowUpFor(e.ctx, e.who("crm.other"), task.ID)
	wantCode(t, err, models.CodeNotFound, "")
	_, _, err = e.svc.FollowUps(e.ctx, e.who("crm.other"), care.TaskFilter{StoreID: &e.store.ID}, models.Page{First: 10})
	wantCode(t, err, models.CodeForbidden, "")
	others, _, err := e.svc.FollowUps(e.ctx, e.who("crm.other"), care.TaskFilter{}, models.Page{First: 10})
	must(t, err)
	if len(others) != 0 {
		t.Fatal("another store's CRM lists the task")
	}
	if _, err := e.svc.FollowUpFor(e.ctx, e.who("admin"), task.ID); err != nil {
		t.Fatal(err)
	}
	// Assignees: CRM or managers of the store only.
	for _, p := range []string{"advisor", "crm.other"} {
		_, err = e.svc.AssignFollowUp(e.ctx, e.who("manager"), task.ID, &e.who(p).ID)
		wantCode(t, err, models.CodeInvalidArgument, "assigneeId")
	}
	stranger := uuid.New()
	_, err = e.svc.AssignFollowUp(e.ctx, e.who("manager"), task.ID, &stranger)
	wantCode(t, err, models.CodeInvalidArgument, "assigneeId")
	if _, err = e.svc.AssignFollowUp(e.ctx, e.who("manager"), task.ID, &e.who("admin").ID); err != nil {
		t.Fatal(err)
	}
	// Nothing refused was written.
	got, err := e.svc.FollowUpFor(e.ctx, crm, task.ID)
	must(t, err)
	if got.Attempts != 0 || got.Outcome != nil || got.Status != care.TaskOpen || !got.DueAt.Equal(task.DueAt) {
		t.Fatalf("refusals changed the task: %+v", got)
	}
}

// TestFollowUpCloseRace: many staff close and record the same task at once;
// exactly one wins.
func TestFollowUpCloseRace(t *testing.T) {
	t.Parallel()
	e, _, task := taskEnv(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				_, err = e.svc.CloseFollowUp(e.ctx, e.who("crm"), task.ID, "不再回访")
			} else {
				_, _, err = e.svc.RecordOutcome(e.ctx, e.who("manager"), task.ID, care.OutcomeInput{Outcome: care.Reached})
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case models.IsUniqueViolation(err):
				t.Error(err)
			default:
				if me, ok := models.AsError(err); ok && me.Code == care.CodeTaskClosed {
					lost++
				} else {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 11 {
		t.Fatalf("won %d, lost %d; want 1 and 11", won, lost)
	}
	got, err := e.svc.FollowUpFor(e.ctx, e.who("admin"), task.ID)
	must(t, err)
	if got.Attempts > 1 {
		t.Fatalf("attempts %d", got.Attempts)
	}
}

func TestFollowUpsPageByDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	// Delivered in reverse order of creation, so due order differs from id order.
	for i := range 5 {
		e.delivered(e.customer(), now.Add(-time.Duration(i+1)*time.Hour))
	}
	_, err := e.svc.CreateFollowUps(e.ctx, now)
	must(t, err)
	var seen []*care.FollowUpTask
	p := models.Page{First: 2}
	for {
		rows, more, err := e.svc.FollowUps(e.ctx, e.who("crm"), care.TaskFilter{StoreID: &e.store.ID}, p)
		must(t, err)
		seen = append(seen, rows...)
		if !more {
			break
		}
		p.After = rows[len(rows)-1].PageKey()
	}
	if len(seen) != 5 {
		t.Fatalf("%d tasks over the pages", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if !seen[i-1].DueAt.Before(seen[i].DueAt) {
			t.Fatalf("not by due time: %s then %s", seen[i-1].DueAt, seen[i].DueAt)
		}
	}
}

// A call recorded without a note keeps the note of the previous call; a
// call with a note replaces it.
func TestRecordOutcomeKeepsNote(t *testing.T) {
	t.Parallel()
	e, _, task := taskEnv(t)
	crm := e.who("crm")
	retry := e.clock.Now().Add(5 * time.Hour)
	got, _, err := e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached, Note: "车主下午方便接听", RetryAt: &retry})
	must(t, err)
	if got.Note != "车主下午方便接听" {
		t.Fatalf("note %q", got.Note)
	}
	retry = retry.Add(5 * time.Hour)
	got, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.NotReached, Note: "  ", RetryAt: &retry})
	must(t, err)
	if got.Note != "车主下午方便接听" || got.Attempts != 2 {
		t.Fatalf("after a call without a note: note %q, attempts %d", got.Note, got.Attempts)
	}
	got, _, err = e.svc.RecordOutcome(e.ctx, crm, task.ID, care.OutcomeInput{Outcome: care.Reached})
	must(t, err)
	read, err := e.svc.FollowUpFor(e.ctx, crm, task.ID)
	must(t, err)
	if got.Note != "车主下午方便接听" || read.Note != got.Note || read.Status != care.TaskClosed || read.Attempts != 3 {
		t.Fatalf("closed without a note: returned %q, stored %q (%s, %d attempts)", got.Note, read.Note, read.Status, read.Attempts)
	}
}

// Tasks due at the same moment page by id, without gaps or repeats, and a
// page continues after a task deleted since (its cursor holds its due time
// and id, not a reference to the row).
func TestFollowUpsPageThroughTies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	at := now.Add(-2 * time.Hour)
	for range 5 {
		e.delivered(e.customer(), at)
	}
	e.delivered(e.customer(), now.Add(-3*time.Hour))
	e.delivered(e.customer(), now.Add(-time.Hour))
	_, err := e.svc.CreateFollowUps(e.ctx, now)
	must(t, err)
	list := func(p models.Page) ([]*care.FollowUpTask, bool) {
		t.Helper()
		rows, more, err := e.svc.FollowUps(e.ctx, e.who("crm"), care.TaskFilter{StoreID: &e.store.ID}, p)
		must(t, err)
		return rows, more
	}
	var seen []*care.FollowUpTask
	p := models.Page{First: 2}
	for range 10 {
		rows, more := list(p)
		seen = append(seen, rows...)
		if !more {
			break
		}
		p.After = rows[len(rows)-1].PageKey()
	}
	if len(seen) != 7 {
		t.Fatalf("%d tasks over the pages; want 7", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		a, b := seen[i-1], seen[i]
		if b.DueAt.Before(a.DueAt) || (b.DueAt.Equal(a.DueAt) && b.ID.String() <= a.ID.String()) {
			t.Fatalf("task %d (%s %s) after (%s %s)", i, b.DueAt, b.ID, a.DueAt, a.ID)
		}
	}

	// The third task (the second of the ties) goes; the page after it
	// still starts with the one that followed it.
	gone := seen[2]
	must(t, e.db.Conn(e.ctx).Delete(&care.FollowUpTask{}, "id = ?", gone.ID).Error)
	rows, _ := list(models.Page{First: 2, After: gone.PageKey()})
	if len(rows) != 2 || rows[0].ID != seen[3].ID || rows[1].ID != seen[4].ID {
		t.Fatalf("after a deleted task: %v; want %s, %s", rows, seen[3].ID, seen[4].ID)
	}
}

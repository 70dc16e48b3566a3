package care_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/inbox"
)

func TestFileComplaintStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.newStore()
	c := e.customer(func(o *models.Owner, v *models.Vehicle) { o.HomeStoreID, v.SellingStoreID = &other.ID, &other.ID })
	order := e.delivered(c, e.clock.Now())

	// The order's store first, then the car's selling store, then the home
	// store, then the storeId given.
	cp := e.file(c, func(in *care.ComplaintInput) { in.RepairOrderID, in.VehicleID = &order.ID, &c.car.ID })
	if cp.StoreID != e.store.ID {
		t.Fatal("not the order's store")
	}
	cp = e.file(c, func(in *care.ComplaintInput) { in.VehicleID = &c.car.ID })
	if cp.StoreID != other.ID {
		t.Fatal("not the car's selling store")
	}
	home := e.customer(func(o *models.Owner, v *models.Vehicle) { o.HomeStoreID = &other.ID })
	if cp = e.file(home); cp.StoreID != other.ID {
		t.Fatal("not the home store")
	}
	bare := e.customer()
	if cp = e.file(bare); cp.StoreID != e.store.ID {
		t.Fatal("not the store given")
	}
	_, err := e.svc.FileComplaint(e.ctx, bare.p, care.ComplaintInput{Category: care.Price, Description: "价格太高"})
	wantCode(t, err, care.CodeNoStore, "storeId")

	now := e.clock.Now()
	if cp.Status != care.Submitted || !cp.ResponseDueAt.Equal(now.Add(2*time.Hour)) || !cp.ProposalDueAt.Equal(now.Add(24*time.Hour)) ||
		!cp.ResolutionDueAt.Equal(now.Add(48*time.Hour)) || cp.ResponseState != care.DeadlineOpen {
		t.Fatalf("complaint = %+v", cp)
	}
}

func TestFileComplaintRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	theirs := e.delivered(other, e.clock.Now())
	mine := e.delivered(c, e.clock.Now())
	in := func(mod func(*care.ComplaintInput)) care.ComplaintInput {
		x := care.ComplaintInput{Category: care.ProductQuality, Description: "车门异响", StoreID: &e.store.ID}
		mod(&x)
		return x
	}
	cases := []struct {
		name  string
		mod   func(*care.ComplaintInput)
		code  models.Code
		field string
	}{
		{"category", func(x *care.ComplaintInput) { x.Category = "SERVICE" }, models.CodeInvalidArgument, "category"},
		{"empty", func(x *care.ComplaintInput) { x.Description = "  " }, models.CodeInvalidArgument, "description"},
		{"long", func(x *care.ComplaintInput) { x.Description = strings.Repeat("长", 2001) }, models.CodeInvalidArgument, "description"},
		{"http", func(x *care.ComplaintInput) { x.PhotoURLs = []string{"http://img.example.com/a.jpg"} }, models.CodeInvalidArgument, "photoUrls"},
		{"relative", func(x *care.ComplaintInput) { x.PhotoURLs = []string{"/a.jpg"} }, models.CodeInvalidArgument, "photoUrls"},
		{"long url", func(x *care.ComplaintInput) {
			x.PhotoURLs = []string{"https://a.example.com/" + strings.Repeat("a", 500)}
		}, models.CodeInvalidArgument, "photoUrls"},
		{"ten", func(x *care.ComplaintInput) {
			for range 10 {
				x.PhotoURLs = append(x.PhotoURLs, "https://img.example.com/a.jpg")
			}
		}, models.CodeInvalidArgument, "photoUrls"},
		{"their order", func(x *care.ComplaintInput) { x.RepairOrderID = &theirs.ID }, models.CodeNotFound, "repairOrderId"},
		{"their car", func(x *care.ComplaintInput) { x.VehicleID = &other.car.ID }, models.CodeNotFound, "vehicleId"},
		{"not the order's car", func(x *care.ComplaintInput) { x.RepairOrderID, x.VehicleID = &mine.ID, &other.car.ID }, models.CodeInvalidArgument, "vehicleId"},
		{"no store", func(x *care.ComplaintInput) { id := models.NewID(); x.StoreID = &id }, models.CodeNotFound, "storeId"},
	}
	for _, tc := range cases {
		_, err := e.svc.FileComplaint(e.ctx, c.p, in(tc.mod))
		wantCode(t, err, tc.code, tc.field)
	}
	_, err := e.svc.FileComplaint(e.ctx, nil, in(func(*care.ComplaintInput) {}))
	wantCode(t, err, models.CodeUnauthenticated, "")
	_, err = e.svc.FileComplaint(e.ctx, e.who("crm"), in(func(*care.ComplaintInput) {}))
	wantCode(t, err, models.CodeForbidden, "")
	rows, _, err := e.svc.OwnerComplaints(e.ctx, c.p, c.owner.ID, models.Page{First: 10})
	must(t, err)
	if len(rows) != 0 {
		t.Fatal("a refused complaint was stored")
	}
	cp := e.file(c, func(x *care.ComplaintInput) {
		x.PhotoURLs = []string{" https://img.example.com/a.jpg ", "https://img.example.com/b.jpg"}
	})
	if len(cp.Photos) != 2 || cp.Photos[0] != "https://img.example.com/a.jpg" {
		t.Fatalf("photos = %v", cp.Photos)
	}
	got, err := e.svc.ComplaintFor(e.ctx, c.p, cp.ID)
	must(t, err)
	if len(got.Photos) != 2 {
		t.Fatalf("photos read back = %v", got.Photos)
	}
}

// TestComplaintDeadlinesMet: every step in time; the owner accepts.
func TestComplaintDeadlinesMet(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	c := e.customer()
	cp := e.file(c)
	crm := e.who("crm")
	e.advance(2 * time.Hour) // exactly at the deadline: met
	got, err := e.svc.Step(e.ctx, crm, cp.ID, care.StepAcknowledge, "")
	must(t, err)
	if got.Status != care.Acknowledged || got.ResponseState != care.DeadlineMet {
		t.Fatalf("acknowledged: %+v", got)
	}
	e.advance(20 * time.Hour)
	got, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepPropose, "免费更换刹车片")
	must(t, err)
	if got.Status != care.Proposed || got.ProposalState != care.DeadlineMet || got.Proposal != "免费更换刹车片" {
		t.Fatalf("proposed: %+v", got)
	}
	e.advance(20 * time.Hour)
	got, err = e.svc.Step(e.ctx, e.who("manager"), cp.ID, care.StepResolve, "已更换")
	must(t, err)
	if got.Status != care.Resolved || got.ResolutionState != care.DeadlineMet {
		t.Fatalf("resolved: %+v", got)
	}
	// The job finds nothing to mark.
	if n, err := e.svc.MarkMissedDeadlines(e.ctx, e.advance(100*time.Hour)); err != nil || n != 0 {
		t.Fatalf("marked %d (%v)", n, err)
	}
	got, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepAccept, "")
	must(t, err)
	if got.Status != care.Closed || got.ClosedAt == nil {
		t.Fatalf("accepted: %+v", got)
	}
	// Timeline and notifications (three staff steps).
	ev, err := e.svc.EventsByComplaintIDs(e.ctx, []uuidT{cp.ID})
	must(t, err)
	var kinds []string
	for _, x := range ev[cp.ID] {
		kinds = append(kinds, string(x.Kind)+"/"+x.ActorKind)
	}
	if strings.Join(kinds, " ") != "FILED/OWNER ACKNOWLEDGED/STAFF PROPOSED/STAFF RESOLVED/STAFF ACCEPTED/OWNER" {
		t.Fatalf("timeline %v", kinds)
	}
	var n int64
	must(t, e.db.Conn(e.ctx).Model(&inbox.Notification{}).Where("owner_id = ? AND kind = ? AND link = ?", c.owner.ID, care.NotifyComplaintUpdate, care.ComplaintLink(cp.ID)).Count(&n).Error)
	if n != 3 {
		t.Fatalf("%d notifications; want 3", n)
	}
	_, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepReopen, "又响了")
	wantCode(t, err, care.CodeComplaintStatus, "")
}

// TestComplaintDeadlinesMissed: the job marks passed deadlines; late steps
// are missed too; reopening starts a new resolution deadline.
func TestComplaintDeadlinesMissed(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	c := e.customer()
	cp := e.file(c)
	crm := e.who("crm")
	filed := e.clock.Now()

	// Just before the response deadline nothing is missed.
	if n, err := e.svc.MarkMissedDeadlines(e.ctx, filed.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("marked %d (%v)", n, err)
	}
	// Several instances run the job late at once: one deadline marked once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.svc.MarkMissedDeadlines(e.ctx, filed.Add(3*time.Hour))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 {
		t.Fatalf("marked %d; want 1", total)
	}
	got, err := e.svc.ComplaintFor(e.ctx, crm, cp.ID)
	must(t, err)
	if got.ResponseState != care.DeadlineMissed || got.ProposalState != care.DeadlineOpen || !got.Overdue(filed.Add(3*time.Hour)) {
		t.Fatalf("after the job: %+v", got)
	}
	e.clock.Set(filed.Add(3 * time.Hour))
	overdue, _, err := e.svc.Complaints(e.ctx, e.who("manager"), care.ComplaintFilter{Overdue: true}, models.Page{First: 10})
	must(t, err)
	if len(overdue) != 1 || overdue[0].ID != cp.ID {
		t.Fatalf("overdue = %v", overdue)
	}

	// A late acknowledgement stays missed; a late proposal (the job has not
	// run) is missed when it happens.
	e.clock.Set(filed.Add(4 * time.Hour))
	got, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepAcknowledge, "")
	must(t, err)
	if got.ResponseState != care.DeadlineMissed || got.RespondedAt == nil {
		t.Fatalf("late acknowledgement: %+v", got)
	}
	e.clock.Set(filed.Add(25 * time.Hour))
	// Shown as missed before the job marks it.
	if d := got.ProposalDeadline(e.clock.Now()); d.State != care.DeadlineMissed {
		t.Fatalf("proposal shown %s", d.State)
	}
	got, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepPropose, "退还工时费")
	must(t, err)
	if got.ProposalState != care.DeadlineMissed {
		t.Fatalf("late proposal: %+v", got)
	}
	// Resolved in time; the owner reopens: a new 48 h resolution deadline.
	e.clock.Set(filed.Add(47 * time.Hour))
	got, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepResolve, "已退款")
	must(t, err)
	if got.ResolutionState != care.DeadlineMet {
		t.Fatalf("resolution: %+v", got)
	}
	overdue, _, err = e.svc.Complaints(e.ctx, e.who("manager"), care.ComplaintFilter{Overdue: true}, models.Page{First: 10})
	must(t, err)
	if len(overdue) != 0 {
		t.Fatal("a resolved complaint is overdue")
	}
	_, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepReopen, "")
	wantCode(t, err, models.CodeInvalidArgument, "note")
	reopened := e.advance(time.Hour)
	got, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepReopen, "没有收到退款")
	must(t, err)
	if got.Status != care.Reopened || got.ReopenCount != 1 || got.ResolvedAt != nil || got.ResolutionState != care.DeadlineOpen ||
		!got.ResolutionDueAt.Equal(reopened.Add(care.ResolveWithin)) || got.ResponseState != care.DeadlineMissed {
		t.Fatalf("reopened: %+v", got)
	}
	// Missed by the job this time.
	if n, err := e.svc.MarkMissedDeadlines(e.ctx, reopened.Add(49*time.Hour)); err != nil || n != 1 {
		t.Fatalf("marked %d (%v); want 1", n, err)
	}
	e.clock.Set(reopened.Add(50 * time.Hour))
	got, err = e.svc.Step(e.ctx, crm, cp.ID, care.StepResolve, "已退款，附凭证")
	must(t, err)
	if got.ResolutionState != care.DeadlineMissed || got.Status != care.Resolved {
		t.Fatalf("late resolution: %+v", got)
	}
}

func TestComplaintStepRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	cp := e.file(c)
	_, err := e.svc.Step(e.ctx, nil, cp.ID, care.StepAcknowledge, "")
	wantCode(t, err, models.CodeUnauthenticated, "")
	for _, p := range []string{"advisor", "technician"} {
		_, err = e.svc.Step(e.ctx, e.who(p), cp.ID, care.StepAcknowledge, "")
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepAcknowledge, "")
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Step(e.ctx, e.who("crm"), cp.ID, care.StepAccept, "")
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Step(e.ctx, e.who("crm.other"), cp.ID, care.StepAcknowledge, "")
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.Step(e.ctx, other.p, cp.ID, care.StepAccept, "")
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.ComplaintFor(e.ctx, other.p, cp.ID)
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.Step(e.ctx, e.who("crm"), cp.ID, care.StepPropose, " ")
	wantCode(t, err, models.CodeInvalidArgument, "note")
	_, err = e.svc.Step(e.ctx, c.p, cp.ID, care.StepAccept, "")
	wantCode(t, err, care.CodeComplaintStatus, "")
	_, _, err = e.svc.Complaints(e.ctx, e.who("advisor"), care.ComplaintFilter{}, models.Page{First: 10})
	wantCode(t, err, models.CodeForbidden, "")
	_, _, err = e.svc.Complaints(e.ctx, e.who("crm.other"), care.ComplaintFilter{StoreID: &e.store.ID}, models.Page{First: 10})
	wantCode(t, err, models.CodeForbidden, "")
	if got, err := e.svc.ComplaintFor(e.ctx, e.who("admin"), cp.ID); err != nil || got.Status != care.Submitted {
		t.Fatalf("after refusals: %v %v", got, err)
	}

	// Many staff acknowledge at once: one does, the rest are refused.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.Step(e.ctx, e.who("crm"), cp.ID, care.StepAcknowledge, "")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if me, is := models.AsError(err); is && me.Code == care.CodeComplaintStatus {
				refused++
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || refused != 9 {
		t.Fatalf("ok %d, refused %d", ok, refused)
	}
	ev, err := e.svc.EventsByComplaintIDs(e.ctx, []uuidT{cp.ID})
	must(t, err)
	if len(ev[cp.ID]) != 2 {
		t.Fatalf("%d events; want 2", len(ev[cp.ID]))
	}
}

// TestFileComplaintIdempotent: a retried filing (also many at once) files
// one complaint; the key with other content is refused.
func TestFileComplaintIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	in := care.ComplaintInput{Category: care.Other, Description: "门店停车位不足", StoreID: &e.store.ID, IdempotencyKey: "app-7f3c"}
	var wg sync.WaitGroup
	ids := make([]uuidT, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp, err := e.svc.FileComplaint(e.ctx, c.p, in)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = cp.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("retries filed different complaints: %v", ids)
		}
	}
	rows, _, err := e.svc.OwnerComplaints(e.ctx, c.p, c.owner.ID, models.Page{First: 10})
	must(t, err)
	if len(rows) != 1 {
		t.Fatalf("%d complaints; want 1", len(rows))
	}
	in.Description = "另一件事"
	_, err = e.svc.FileComplaint(e.ctx, c.p, in)
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
}

// Free text with control characters is refused as INVALID_ARGUMENT on its
// field, nothing written (NUL would fail PostgreSQL's insert; a bell or an
// escape sequence would be stored). Descriptions and survey comments may
// span lines; notes are one line.
func TestFreeTextControlCharacters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	for _, desc := range []string{"异响\x00", "异响\x1b[2J", "异响\a"} {
		_, err := e.svc.FileComplaint(e.ctx, c.p, care.ComplaintInput{Category: care.Other, Description: desc, StoreID: &e.store.ID})
		wantCode(t, err, models.CodeInvalidArgument, "description")
	}
	rows, _, err := e.svc.OwnerComplaints(e.ctx, c.p, c.owner.ID, models.Page{First: 10})
	must(t, err)
	if len(rows) != 0 {
		t.Fatalf("%d refused complaints stored", len(rows))
	}
	cp := e.file(c, func(in *care.ComplaintInput) { in.Description = "第一次：异响\n第二次：\t仍然异响" })
	if cp.Description != "第一次：异响\n第二次：\t仍然异响" {
		t.Fatalf("multi-line description stored as %q", cp.Description)
	}
	for _, note := range []string{"已受理\x00", "第一行\n第二行"} {
		_, err = e.svc.Step(e.ctx, e.who("crm"), cp.ID, care.StepPropose, note)
		wantCode(t, err, models.CodeInvalidArgument, "note")
	}

	// From a follow-up call: the complaint's fields are prefixed.
	e.delivered(c, e.clock.Now())
	_, err = e.svc.CreateFollowUps(e.ctx, e.clock.Now())
	must(t, err)
	task := e.tasks()[0]
	_, _, err = e.svc.RecordOutcome(e.ctx, e.who("crm"), task.ID, care.OutcomeInput{Outcome: care.IssueFound,
		Complaint: &care.ComplaintInput{Category: care.Other, Description: "\x00"}})
	wantCode(t, err, models.CodeInvalidArgument, "complaint.description")
	_, _, err = e.svc.RecordOutcome(e.ctx, e.who("crm"), task.ID, care.OutcomeInput{Outcome: care.Reached, Note: "\x1b"})
	wantCode(t, err, models.CodeInvalidArgument, "note")
	_, err = e.svc.CloseFollowUp(e.ctx, e.who("crm"), task.ID, "关闭\x00")
	wantCode(t, err, models.CodeInvalidArgument, "note")
}

// A resolution deadline missed before the owner reopened stays counted:
// reopening starts a new (OPEN) resolution deadline, and the complaint
// report still counts the late resolution, whether the job marked it or the
// resolution came late before the job ran, even once the new deadline is met.
func TestReopenKeepsMissedResolution(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	c := e.customer()
	crm := e.who("crm")
	day := models.DateOf(e.clock.Now().In(e.store.Location()))
	byJob, late := e.file(c), e.file(c)
	for _, cp := range []*care.Complaint{byJob, late} {
		_, err := e.svc.Step(e.ctx, crm, cp.ID, care.StepPropose, "更换零件") // response and proposal in time
		must(t, err)
	}
	e.advance(49 * time.Hour)
	_, err := e.svc.Step(e.ctx, crm, late.ID, care.StepResolve, "已更换") // before the job ran
	must(t, err)
	if n, err := e.svc.MarkMissedDeadlines(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("marked %d (%v); want byJob's resolution", n, err)
	}
	_, err = e.svc.Step(e.ctx, crm, byJob.ID, care.StepResolve, "已更换")
	must(t, err)
	missed := func(when string) {
		t.Helper()
		rep, err := e.svc.ComplaintStats(e.ctx, e.who("manager"), &e.store.ID, day, day)
		must(t, err)
		if rep.Total != 2 || rep.ByStore[0].Missed != 2 {
			t.Fatalf("%s: total %d, missed %d; want 2 missed", when, rep.Total, rep.ByStore[0].Missed)
		}
	}
	missed("resolved late")
	for _, cp := range []*care.Complaint{byJob, late} {
		got, err := e.svc.Step(e.ctx, c.p, cp.ID, care.StepReopen, "还是响")
		must(t, err)
		if got.ResolutionState != care.DeadlineOpen || !got.ResolutionMissed {
			t.Fatalf("reopened: state %s, missed %v", got.ResolutionState, got.ResolutionMissed)
		}
	}
	missed("reopened")
	e.advance(time.Hour)
	for _, cp := range []*care.Complaint{byJob, late} {
		got, err := e.svc.Step(e.ctx, crm, cp.ID, care.StepResolve, "再次更换")
		must(t, err)
		if got.ResolutionState != care.DeadlineMet || !got.ResolutionMissed {
			t.Fatalf("resolved again in time: state %s, missed %v", got.ResolutionState, got.ResolutionMissed)
		}
	}
	missed("resolved again in time")
	got, err := e.svc.ComplaintFor(e.ctx, c.p, late.ID)
	must(t, err)
	if !got.ResolutionMissed || got.ReopenCount != 1 {
		t.Fatalf("read back: %+v", got)
	}
}

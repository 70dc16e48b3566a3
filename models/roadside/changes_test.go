package roadside_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// signalled waits briefly for a signal on a live subscription.
func signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}

func drained(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return false
	case <-time.After(500 * time.Millisecond):
		return true
	}
}

// quiet waits until ch has been silent for a while, taking what arrives
// meanwhile: on PostgreSQL an announcement travels over LISTEN/NOTIFY and
// may arrive after the next change was made, so earlier changes' are taken
// before a test checks that a later step announces nothing.
func quiet(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

// The whole flow: request, accept, dispatch, close; each change on the
// timeline, in the owner's inbox and announced on the request's topic.
func TestAssistanceFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	r := e.request(c)
	// On PostgreSQL announcements arrive through the listener: once it
	// listens.
	<-e.db.LiveReady()
	live, stop := e.db.Subscribe(roadside.Topic(r.ID))
	defer stop()

	advisor, crm, manager := e.who("advisor"), e.who("crm"), e.who("manager")
	e.clock.Advance(3 * time.Minute)
	got, err := e.svc.Accept(e.ctx, crm, r.ID)
	must(t, err)
	if got.Status != roadside.Accepted || got.Version != 2 || *got.AcceptedBy != crm.ID || !got.AcceptedAt.Equal(base.Add(3*time.Minute)) {
		t.Fatalf("accepted = %+v", got)
	}
	if !signalled(live) {
		t.Fatal("no announcement after accept")
	}

	e.clock.Advance(2 * time.Minute)
	in := dispatchIn(r.ID)
	in.StaffID, in.Name, in.Note = &advisor.ID, "", "带上搭电宝\n车在地库 B2"
	got, err = e.svc.Dispatch(e.ctx, manager, in)
	must(t, err)
	at := base.Add(5 * time.Minute)
	if got.Status != roadside.Dispatched || got.Version != 3 || *got.DispatcherStaffID != advisor.ID || *got.DispatcherName != "员工advisor" ||
		*got.DispatcherPhone != "+8613900001111" || !got.ETA.Equal(at.Add(30*time.Minute)) || !got.DispatchedAt.Equal(at) {
		t.Fatalf("dispatched = %+v", got)
	}
	if !signalled(live) {
		t.Fatal("no announcement after dispatch")
	}

	e.clock.Advance(40 * time.Minute)
	got, err = e.svc.Close(e.ctx, advisor, r.ID, " 现场搭电后车辆正常启动\n建议更换电瓶 ")
	must(t, err)
	if got.Status != roadside.Closed || got.Version != 4 || *got.Outcome != "现场搭电后车辆正常启动\n建议更换电瓶" || !got.FinishedAt.Equal(base.Add(45*time.Minute)) {
		t.Fatalf("closed = %+v", got)
	}
	if !signalled(live) {
		t.Fatal("no announcement after close")
	}

	ev := e.events(r.ID)
	want := []struct {
		from, to roadside.Status
		actor    uuid.UUID
		note     string
	}{{"", roadside.Requested, c.owner.ID, ""}, {roadside.Requested, roadside.Accepted, crm.ID, ""},
		{roadside.Accepted, roadside.Dispatched, manager.ID, "带上搭电宝\n车在地库 B2"}, {roadside.Dispatched, roadside.Closed, advisor.ID, "现场搭电后车辆正常启动\n建议更换电瓶"}}
	if len(ev) != len(want) {
		t.Fatalf("timeline has %d events; want %d", len(ev), len(want))
	}
	for i, w := range want {
		from := roadside.Status("")
		if ev[i].FromStatus != nil {
			from = *ev[i].FromStatus
		}
		if from != w.from || ev[i].ToStatus != w.to || ev[i].ActorID != w.actor || ev[i].Note != w.note {
			t.Errorf("event %d = %+v; want %+v", i, ev[i], w)
		}
	}
	inbox := e.inbox(c.owner.ID)
	kinds := []string{}
	for _, n := range inbox {
		kinds = append(kinds, n.Kind)
		if n.Link != roadside.RequestLink(r.ID) || n.Title == "" || n.Body == "" {
			t.Errorf("notification %+v", n)
		}
	}
	if strings.Join(kinds, ",") != "ASSISTANCE_ACCEPTED,ASSISTANCE_DISPATCHED,ASSISTANCE_CLOSED" {
		t.Fatalf("inbox = %v", kinds)
	}
	if !strings.Contains(inbox[1].Body, "员工advisor") || !strings.Contains(inbox[1].Body, "30 分钟") {
		t.Errorf("dispatch notification: %q", inbox[1].Body)
	}

	// Finished: nothing changes it, nothing is announced.
	quiet(live)
	_, err = e.svc.Cancel(e.ctx, manager, r.ID, "误操作")
	wantCode(t, err, roadside.CodeFinished, "")
	_, err = e.svc.Close(e.ctx, manager, r.ID, "再次关闭")
	wantCode(t, err, roadside.CodeFinished, "")
	if !drained(live) {
		t.Fatal("a refused change was announced")
	}
	if n := len(e.events(r.ID)); n != 4 {
		t.Fatalf("refused changes added events: %d", n)
	}
}

// Who may change a request: the owner cancels their own until dispatch;
// ADVISOR, CRM and MANAGER staff of the store (and GROUP_ADMIN) serve it;
// another owner and another store's staff find nothing; other roles,
// screens and anonymous callers are refused.
func TestAssistanceAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	other := e.customer()
	r := e.request(c)
	screen := &auth.Principal{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.a}}

	for name, who := range map[string]*auth.Principal{
		"another owner": other.p, "another store's advisor": e.who("advisor.b"),
	} {
		_, err := e.svc.Accept(e.ctx, who, r.ID)
		if who.IsOwner() {
			wantCode(t, err, models.CodeForbidden, "")
		} else {
			wantCode(t, err, models.CodeNotFound, "")
		}
		_, err = e.svc.Cancel(e.ctx, who, r.ID, "不需要了")
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.RequestFor(e.ctx, who, r.ID)
		wantCode(t, err, models.CodeNotFound, "")
		t.Logf("%s refused", name)
	}
	for name, who := range map[string]*auth.Principal{
		"technician": e.who("technician"), "foreman": e.who("foreman"), "screen": screen, "owner": c.p,
	} {
		_, err := e.svc.Accept(e.ctx, who, r.ID)
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Dispatch(e.ctx, who, dispatchIn(r.ID))
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Close(e.ctx, who, r.ID, "好了")
		wantCode(t, err, models.CodeForbidden, "")
		_, _, err = e.svc.OpenRequests(e.ctx, who, &e.a, page20)
		wantCode(t, err, models.CodeForbidden, "")
		if who.IsStaff() {
			_, err = e.svc.RequestFor(e.ctx, who, r.ID)
			wantCode(t, err, models.CodeNotFound, "")
			_, err = e.svc.Cancel(e.ctx, who, r.ID, "不需要了")
			wantCode(t, err, models.CodeForbidden, "")
		}
		t.Logf("%s refused", name)
	}
	for _, err := range []error{
		func() error { _, err := e.svc.Accept(e.ctx, nil, r.ID); return err }(),
		func() error { _, err := e.svc.Dispatch(e.ctx, nil, dispatchIn(r.ID)); return err }(),
		func() error { _, err := e.svc.Close(e.ctx, nil, r.ID, "x"); return err }(),
		func() error { _, err := e.svc.Cancel(e.ctx, nil, r.ID, ""); return err }(),
		func() error { _, err := e.svc.RequestFor(e.ctx, nil, r.ID); return err }(),
		func() error { _, _, err := e.svc.OwnerRequests(e.ctx, nil, c.owner.ID, page20); return err }(),
		func() error { _, _, err := e.svc.OpenRequests(e.ctx, nil, nil, page20); return err }(),
	} {
		wantCode(t, err, models.CodeUnauthenticated, "")
	}
	// Another store's staff may not list this store's requests.
	_, _, err := e.svc.OpenRequests(e.ctx, e.who("advisor.b"), &e.a, page20)
	wantCode(t, err, models.CodeForbidden, "storeId")
	// Nothing changed.
	got, err := e.svc.RequestFor(e.ctx, c.p, r.ID)
	must(t, err)
	if got.Status != roadside.Requested || got.Version != 1 || len(e.events(r.ID)) != 1 {
		t.Fatalf("request changed by refused calls: %+v", got)
	}

	// The group admin serves every store.
	got, err = e.svc.Accept(e.ctx, e.who("admin"), r.ID)
	must(t, err)
	if got.Status != roadside.Accepted {
		t.Fatalf("admin's accept = %+v", got)
	}
}

// Refusals of the changes: wrong status, the owner too late, bad input.
func TestAssistanceChangeRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	advisor := e.who("advisor")
	c := e.customer()
	r := e.request(c)

	_, err := e.svc.Dispatch(e.ctx, advisor, dispatchIn(r.ID))
	wantCode(t, err, roadside.CodeWrongStatus, "")
	_, err = e.svc.Close(e.ctx, advisor, r.ID, "好了")
	wantCode(t, err, roadside.CodeWrongStatus, "")
	_, err = e.svc.Accept(e.ctx, advisor, models.NewID())
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.Accept(e.ctx, advisor, r.ID)
	must(t, err)
	_, err = e.svc.Accept(e.ctx, e.who("manager"), r.ID)
	wantCode(t, err, roadside.CodeAlreadyAccepted, "")

	bad := []struct {
		name  string
		mod   func(*roadside.DispatchInput)
		code  models.Code
		field string
	}{
		{"no name", func(in *roadside.DispatchInput) { in.Name = " " }, models.CodeInvalidArgument, "dispatcherName"},
		{"long name", func(in *roadside.DispatchInput) { in.Name = strings.Repeat("刘", 41) }, models.CodeInvalidArgument, "dispatcherName"},
		{"line break in name", func(in *roadside.DispatchInput) { in.Name = "刘\n师傅" }, models.CodeInvalidArgument, "dispatcherName"},
		{"no phone", func(in *roadside.DispatchInput) { in.Phone = "" }, models.CodeInvalidPhone, "dispatcherPhone"},
		{"bad phone", func(in *roadside.DispatchInput) { in.Phone = "12345" }, models.CodeInvalidPhone, "dispatcherPhone"},
		{"landline", func(in *roadside.DispatchInput) { in.Phone = "0755-83886600" }, models.CodeInvalidPhone, "dispatcherPhone"},
		{"eta 0", func(in *roadside.DispatchInput) { in.ETAMinutes = 0 }, models.CodeInvalidArgument, "etaMinutes"},
		{"eta 721", func(in *roadside.DispatchInput) { in.ETAMinutes = 721 }, models.CodeInvalidArgument, "etaMinutes"},
		{"long note", func(in *roadside.DispatchInput) { in.Note = strings.Repeat("备", 501) }, models.CodeInvalidArgument, "note"},
		{"control character in note", func(in *roadside.DispatchInput) { in.Note = "备\x1b注" }, models.CodeInvalidArgument, "note"},
		{"staff of another store", func(in *roadside.DispatchInput) { in.StaffID = &e.who("advisor.b").ID }, models.CodeNotFound, "staffId"},
		{"no such staff", func(in *roadside.DispatchInput) { in.StaffID = ptr(models.NewID()) }, models.CodeNotFound, "staffId"},
	}
	for _, tt := range bad {
		in := dispatchIn(r.ID)
		tt.mod(&in)
		_, err := e.svc.Dispatch(e.ctx, advisor, in)
		wantCode(t, err, tt.code, tt.field)
	}
	_, err = e.svc.Close(e.ctx, advisor, r.ID, "  ")
	wantCode(t, err, models.CodeInvalidArgument, "outcome")
	_, err = e.svc.Close(e.ctx, advisor, r.ID, "拖回\x00门店")
	wantCode(t, err, models.CodeInvalidArgument, "outcome")
	_, err = e.svc.Cancel(e.ctx, advisor, r.ID, "")
	wantCode(t, err, models.CodeInvalidArgument, "reason")
	_, err = e.svc.Cancel(e.ctx, advisor, r.ID, "重复\n请求")
	wantCode(t, err, models.CodeInvalidArgument, "reason")
	if got, _ := e.svc.RequestFor(e.ctx, c.p, r.ID); got.Version != 2 || got.Status != roadside.Accepted {
		t.Fatalf("refused changes changed the request: %+v", got)
	}

	// The owner may cancel until dispatch; then only the store.
	_, err = e.svc.Dispatch(e.ctx, advisor, dispatchIn(r.ID))
	must(t, err)
	_, err = e.svc.Cancel(e.ctx, c.p, r.ID, "朋友来帮忙了")
	wantCode(t, err, roadside.CodeTooLateToCancel, "")
	got, err := e.svc.Cancel(e.ctx, e.who("manager"), r.ID, "车主电话告知已自行解决")
	must(t, err)
	if got.Status != roadside.Cancelled || *got.CancelReason != "车主电话告知已自行解决" || got.FinishedAt == nil {
		t.Fatalf("cancelled = %+v", got)
	}
	inbox := e.inbox(c.owner.ID)
	if last := inbox[len(inbox)-1]; last.Kind != roadside.NotifyCancelled || !strings.Contains(last.Body, "车主电话告知已自行解决") {
		t.Fatalf("cancel notification = %+v", last)
	}

	// An owner's own cancellation (with or without reason) is on the
	// timeline but not in their inbox.
	d := e.customer()
	r2 := e.request(d)
	got, err = e.svc.Cancel(e.ctx, d.p, r2.ID, "")
	must(t, err)
	if got.Status != roadside.Cancelled || *got.CancelReason != "" {
		t.Fatalf("owner's cancel = %+v", got)
	}
	if ev := e.events(r2.ID); len(ev) != 2 || ev[1].ActorKind != roadside.ActorOwner {
		t.Fatalf("owner's cancel timeline = %+v", ev)
	}
	if n := len(e.inbox(d.owner.ID)); n != 0 {
		t.Fatalf("owner's own cancel notified them %d times", n)
	}
}

// Owners read their own requests, newest first; staff read the open
// requests of their stores, oldest first, a page at a time.
func TestAssistanceReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	// Three cars of the store (one per owner), one at store B.
	var ids []uuid.UUID
	for range 3 {
		ids = append(ids, e.request(e.customer()).ID)
	}
	mine := e.request(c)
	ids = append(ids, mine.ID)
	atB := e.request(e.customer(), func(in *roadside.RequestInput) { in.StoreID = &e.b })
	// A closed one leaves the open list.
	_, err := e.svc.Cancel(e.ctx, e.who("advisor"), ids[1], "重复请求")
	must(t, err)
	open := []uuid.UUID{ids[0], ids[2], ids[3]}

	list := func(who *auth.Principal, store *uuid.UUID, first int, after uuid.UUID) ([]uuid.UUID, bool) {
		t.Helper()
		rows, more, err := e.svc.OpenRequests(e.ctx, who, store, models.Page{First: first, After: models.Cursor{ID: after}})
		must(t, err)
		var out []uuid.UUID
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out, more
	}
	got, more := list(e.who("crm"), &e.a, 2, uuid.Nil)
	if len(got) != 2 || got[0] != open[0] || got[1] != open[1] || !more {
		t.Fatalf("first page = %v (more %v); want %v", got, more, open[:2])
	}
	got, more = list(e.who("crm"), &e.a, 2, got[1])
	if len(got) != 1 || got[0] != open[2] || more {
		t.Fatalf("second page = %v (more %v)", got, more)
	}
	// Without a store: all of the caller's stores.
	if got, _ := list(e.who("manager"), nil, 100, uuid.Nil); len(got) != 3 {
		t.Fatalf("manager's open requests = %v", got)
	}
	if got, _ := list(e.who("advisor.b"), nil, 100, uuid.Nil); len(got) != 1 || got[0] != atB.ID {
		t.Fatalf("store B's open requests = %v", got)
	}
	if got, _ := list(e.who("admin"), &e.b, 100, uuid.Nil); len(got) != 1 || got[0] != atB.ID {
		t.Fatalf("admin's store B = %v", got)
	}

	// The owner's own, newest first.
	second := e.customer()
	r1 := e.request(second)
	_, err = e.svc.Cancel(e.ctx, second.p, r1.ID, "")
	must(t, err)
	r2 := e.request(second)
	rows, more, err := e.svc.OwnerRequests(e.ctx, second.p, second.owner.ID, page20)
	must(t, err)
	if len(rows) != 2 || rows[0].ID != r2.ID || rows[1].ID != r1.ID || more {
		t.Fatalf("owner's requests = %v", rows)
	}
	_, _, err = e.svc.OwnerRequests(e.ctx, c.p, second.owner.ID, page20)
	wantCode(t, err, models.CodeNotFound, "")
	// Staff see the owner's requests at their stores only.
	rows, _, err = e.svc.OwnerRequests(e.ctx, e.who("advisor.b"), second.owner.ID, page20)
	must(t, err)
	if len(rows) != 0 {
		t.Fatalf("store B sees store A's requests: %v", rows)
	}
	_, _, err = e.svc.OwnerRequests(e.ctx, e.who("technician"), second.owner.ID, page20)
	wantCode(t, err, models.CodeForbidden, "")
	if r, err := e.svc.RequestFor(e.ctx, e.who("advisor"), r2.ID); err != nil || r.ID != r2.ID {
		t.Fatalf("store's advisor reads the request: %v, %v", r, err)
	}
	// A page size out of range is refused, not quietly changed.
	for _, first := range []int{0, -1, models.MaxPageSize + 1} {
		_, _, err = e.svc.OwnerRequests(e.ctx, second.p, second.owner.ID, models.Page{First: first})
		wantCode(t, err, models.CodeInvalidArgument, "first")
		_, _, err = e.svc.OpenRequests(e.ctx, e.who("crm"), &e.a, models.Page{First: first})
		wantCode(t, err, models.CodeInvalidArgument, "first")
	}
}

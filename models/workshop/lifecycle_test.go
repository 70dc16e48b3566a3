package workshop_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// One car's visit from check-in to delivery, with extra work the owner
// partly approves, a failed quality check, settlement and the history it
// leaves.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	ctx := e.ctx
	owner, car := e.customer("王小明")
	ownerP := ownerOf(owner)
	advisor, foreman, tech, cashier := e.who("advisor.sz01"), e.who("foreman.sz01"), e.who("technician1.sz01"), e.who("cashier.sz01")
	boardBefore, err := e.svc.BoardVersion(ctx, e.sz.ID)
	must(t, err)

	// Check-in.
	promised := e.clock.Now().Add(4 * time.Hour)
	o, err := e.svc.Open(ctx, advisor, workshop.OpenInput{
		StoreID: e.sz.ID, Vehicle: "粤e·" + (*car.Plate)[len("粤E"):], MileageIn: 12345, Kind: workshop.Maintenance,
		Concern: "仪表提示保养\n刹车有异响", PromisedAt: &promised, Items: []workshop.ItemInput{oil, labor},
	})
	must(t, err)
	local := e.clock.Now().In(e.sz.Location()).Format("20060102")
	if !regexp.MustCompile(`^SZ01-` + local + `-\d{3}$`).MatchString(o.Number) {
		t.Errorf("number %s", o.Number)
	}
	if o.Status != workshop.CheckedIn || o.Version != 1 || o.OwnerID != owner.ID || o.VehicleID != car.ID || o.AdvisorID != advisor.ID ||
		o.MileageIn != 12345 || o.Concern != "仪表提示保养\n刹车有异响" || !o.PromisedAt.Equal(promised) || o.TechnicianID != nil {
		t.Fatalf("opened %+v", o)
	}
	var v models.Vehicle
	must(t, e.db.Conn(ctx).Where("id = ?", car.ID).Take(&v).Error)
	if v.MileageKm != 12345 || v.MileageReadAt == nil || !v.MileageReadAt.Equal(e.clock.Now()) {
		t.Errorf("vehicle mileage %d read %v", v.MileageKm, v.MileageReadAt)
	}
	items := e.items(o)
	if len(items) != 2 || items[0].Description != oil.Description || items[0].AmountFen != 41160 || items[1].AmountFen != 18000 {
		t.Fatalf("items %+v", items)
	}
	for _, it := range items {
		if it.Approval != workshop.PreApproved || it.WorkStartedAt != nil || it.CreatedBy != advisor.ID {
			t.Errorf("item %+v", it)
		}
	}
	if bv, _ := e.svc.BoardVersion(ctx, e.sz.ID); bv != boardBefore+1 {
		t.Errorf("board version %d after open; want %d", bv, boardBefore+1)
	}
	version := 1
	step := func(got *workshop.RepairOrder, err error) *workshop.RepairOrder {
		t.Helper()
		must(t, err)
		version++
		if got.Version != version {
			t.Fatalf("version %d; want %d", got.Version, version)
		}
		e.clock.Advance(10 * time.Minute)
		return got
	}

	// Dispatch and diagnosis.
	o = step(e.svc.Assign(ctx, foreman, o.ID, &tech.ID, ptr("3号工位"), ptr(version)))
	if *o.TechnicianID != tech.ID || *o.Bay != "3号工位" {
		t.Fatalf("assigned %+v", o)
	}
	o = step(e.svc.Move(ctx, tech, o.ID, workshop.Diagnosing, "", ptr(version), ""))

	// Extra work: two PENDING items; the order waits for the owner.
	o = step(e.svc.AddItem(ctx, tech, o.ID, pads, true, nil))
	if o.Status != workshop.AwaitingApproval || o.ResumeStatus == nil || *o.ResumeStatus != workshop.Diagnosing {
		t.Fatalf("after a pending item: %s (resume %v)", o.Status, o.ResumeStatus)
	}
	o = step(e.svc.AddItem(ctx, tech, o.ID, wiper, true, nil))
	if o.Status != workshop.AwaitingApproval {
		t.Fatalf("second pending item: %s", o.Status)
	}
	items = e.items(o)
	var padsID, wiperID uuid.UUID
	for _, it := range items[2:] {
		if it.Approval != workshop.Pending || it.RequestedAt == nil || it.SeenAt != nil || it.WorkStartedAt != nil {
			t.Errorf("pending item %+v", it)
		}
	}
	padsID, wiperID = items[2].ID, items[3].ID
	msgs, _, err := (&inbox.Service{DB: e.db}).Notifications(ctx, ownerP, owner.ID, models.Page{First: 10}, true)
	must(t, err)
	if len(msgs) != 2 || msgs[0].Kind != workshop.NotifyApprovalNeeded || msgs[0].Link != workshop.OrderLink(o.ID) {
		t.Fatalf("inbox %+v", msgs)
	}

	// The owner opens the request: staff see when.
	seenAt := e.clock.Now()
	got, err := e.svc.OrderFor(ctx, ownerP, o.ID)
	must(t, err)
	if got.Version != version {
		t.Errorf("reading changed the version to %d", got.Version)
	}
	e.clock.Advance(time.Minute)
	_, err = e.svc.OrderFor(ctx, ownerP, o.ID)
	must(t, err)
	for _, it := range e.items(o)[2:] {
		if it.SeenAt == nil || !it.SeenAt.Equal(seenAt) {
			t.Errorf("item %s seen at %v; want %v (the first read)", it.Description, it.SeenAt, seenAt)
		}
	}

	// The owner approves the pads and declines the wipers: back to diagnosis.
	o = step(e.svc.Decide(ctx, ownerP, o.ID, []workshop.Decision{{ItemID: padsID, Approve: true}, {ItemID: wiperID, Approve: false}}))
	if o.Status != workshop.Diagnosing || o.ResumeStatus != nil {
		t.Fatalf("after the decisions: %s", o.Status)
	}
	for _, it := range e.items(o)[2:] {
		if it.DecidedAt == nil {
			t.Errorf("item %s has no decision time", it.Description)
		}
	}

	// Work: every agreed item starts, the declined one never does.
	o = step(e.svc.Move(ctx, tech, o.ID, workshop.InProgress, "", nil, ""))
	for _, it := range e.items(o) {
		if started := it.WorkStartedAt != nil; started != (it.ID != wiperID) {
			t.Errorf("item %s (%s) started=%v", it.Description, it.Approval, started)
		}
	}
	o = step(e.svc.Move(ctx, tech, o.ID, workshop.QualityCheck, "", nil, ""))
	_, err = e.svc.Move(ctx, foreman, o.ID, workshop.InProgress, " ", nil, "")
	wantCode(t, err, workshop.CodeReasonRequired, "note")
	o = step(e.svc.Move(ctx, foreman, o.ID, workshop.InProgress, "右前轮螺栓扭矩不足，返工", nil, ""))
	o = step(e.svc.Move(ctx, tech, o.ID, workshop.QualityCheck, "", nil, ""))
	o = step(e.svc.Move(ctx, foreman, o.ID, workshop.Washing, "", nil, ""))
	o = step(e.svc.Move(ctx, foreman, o.ID, workshop.ReadyForPickup, "", nil, ""))
	msgs, _, err = (&inbox.Service{DB: e.db}).Notifications(ctx, ownerP, owner.ID, models.Page{First: 10}, false)
	must(t, err)
	if len(msgs) != 3 || msgs[0].Kind != workshop.NotifyReadyForPickup || msgs[0].Link != workshop.OrderLink(o.ID) {
		t.Fatalf("inbox after ready: %+v", msgs)
	}

	// Not without paying.
	_, err = e.svc.Move(ctx, advisor, o.ID, workshop.Delivered, "", nil, "")
	wantCode(t, err, workshop.CodeNotSettled, "")

	// Settlement: card and cash adding up to the payable amount.
	const payable = 41160 + 18000 + 68000
	_, err = e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.BankCard, AmountFen: 100000, Reference: "POS-778899"}, {Method: workshop.Cash, AmountFen: payable - 100000 - 1},
	}})
	wantCode(t, err, workshop.CodePaymentsDoNotAddUp, "payments")
	pays := []workshop.PaymentInput{
		{Method: workshop.BankCard, AmountFen: 100000, Reference: "POS-778899"}, {Method: workshop.Cash, AmountFen: payable - 100000},
	}
	o = step(e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays, IdempotencyKey: "settle-" + o.ID.String()}))
	today := models.DateOf(e.clock.Now().Add(-10 * time.Minute).In(e.sz.Location()))
	if o.SettledAt == nil || *o.SettledBy != cashier.ID || o.TotalFen != payable || o.WarrantyFen != 0 || o.PayableFen != payable ||
		*o.NextServiceDate != today.AddDate(0, 6, 0) || *o.NextServiceKm != 12345+5000 {
		t.Fatalf("settled %+v (next %v %v)", o, o.NextServiceDate, o.NextServiceKm)
	}
	// A retry with the same key and payments (in any order) answers the
	// order; the key with other payments is refused; without it, a second
	// settlement is.
	again, err := e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{pays[1], pays[0]}, IdempotencyKey: "settle-" + o.ID.String()})
	must(t, err)
	if again.Version != version {
		t.Errorf("retry changed the version to %d", again.Version)
	}
	_, err = e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays})
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	_, err = e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays[:1], IdempotencyKey: "settle-" + o.ID.String()})
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
	payments, err := e.svc.PaymentsByOrderIDs(ctx, []uuid.UUID{o.ID})
	must(t, err)
	if len(payments[o.ID]) != 2 || workshop.Totals(e.items(o), payments[o.ID]).PaidFen != payable {
		t.Fatalf("payments %+v", payments[o.ID])
	}

	o = step(e.svc.Move(ctx, advisor, o.ID, workshop.Delivered, "", nil, ""))
	if o.DeliveredAt == nil || o.Status != workshop.Delivered {
		t.Fatalf("delivered %+v", o)
	}
	if stored := e.reload(o); !stored.UpdatedAt.Equal(*o.DeliveredAt) || !stored.UpdatedAt.Equal(stored.StatusChangedAt) {
		t.Errorf("updated at %v, delivered at %v: not the service's clock", stored.UpdatedAt, o.DeliveredAt)
	}
	_, err = e.svc.AddItem(ctx, advisor, o.ID, oil, false, nil)
	wantCode(t, err, workshop.CodeOrderClosed, "")

	// The timeline: who, when, from, to, note.
	evs := e.events(o)
	want := []struct {
		from, to workshop.Status
		kind     string
		by       uuid.UUID
	}{
		{"", workshop.CheckedIn, "STAFF", advisor.ID},
		{workshop.CheckedIn, workshop.Diagnosing, "STAFF", tech.ID},
		{workshop.Diagnosing, workshop.AwaitingApproval, "STAFF", tech.ID},
		{workshop.AwaitingApproval, workshop.Diagnosing, "OWNER", owner.ID},
		{workshop.Diagnosing, workshop.InProgress, "STAFF", tech.ID},
		{workshop.InProgress, workshop.QualityCheck, "STAFF", tech.ID},
		{workshop.QualityCheck, workshop.InProgress, "STAFF", foreman.ID},
		{workshop.InProgress, workshop.QualityCheck, "STAFF", tech.ID},
		{workshop.QualityCheck, workshop.Washing, "STAFF", foreman.ID},
		{workshop.Washing, workshop.ReadyForPickup, "STAFF", foreman.ID},
		{workshop.ReadyForPickup, workshop.Delivered, "STAFF", advisor.ID},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events; want %d", len(evs), len(want))
	}
	for i, w := range want {
		ev := evs[i]
		from := workshop.Status("")
		if ev.FromStatus != nil {
			from = *ev.FromStatus
		}
		if from != w.from || ev.ToStatus != w.to || ev.ActorKind != w.kind || ev.ActorID == nil || *ev.ActorID != w.by {
			t.Errorf("event %d = %s->%s by %s %v; want %s->%s by %s", i, from, ev.ToStatus, ev.ActorKind, ev.ActorID, w.from, w.to, w.kind)
		}
		if i > 0 && ev.CreatedAt.Before(evs[i-1].CreatedAt) {
			t.Errorf("event %d before event %d", i, i-1)
		}
	}
	if evs[6].Note != "右前轮螺栓扭矩不足，返工" {
		t.Errorf("QC failure note %q", evs[6].Note)
	}

	// What the owner sees afterwards: history, last service, the advice.
	hist, err := e.svc.ServiceHistory(ctx, []workshop.HistoryKey{{VehicleID: car.ID, First: 5}})
	must(t, err)
	page := hist[workshop.HistoryKey{VehicleID: car.ID, First: 5}]
	if len(page.Orders) != 1 || page.Orders[0].ID != o.ID || page.Total != 1 || page.HasNext {
		t.Fatalf("history %+v", page)
	}
	last, err := e.svc.LastServiceByVehicleIDs(ctx, []uuid.UUID{car.ID})
	must(t, err)
	if last[car.ID] == nil || last[car.ID].ID != o.ID {
		t.Fatalf("last service %+v", last)
	}
	recs, err := e.svc.RecommendationsByVehicleIDs(ctx, []uuid.UUID{car.ID})
	must(t, err)
	if len(recs[car.ID]) != 1 || recs[car.ID][0].ID != wiperID || recs[car.ID][0].Approval != workshop.Declined {
		t.Fatalf("recommendations %+v", recs[car.ID])
	}
	active, err := e.svc.ActiveOrdersByVehicleIDs(ctx, []uuid.UUID{car.ID})
	must(t, err)
	if len(active) != 0 {
		t.Errorf("active order after delivery: %+v", active)
	}
	// The next visit may open now; doing the declined work closes the advice.
	o2 := e.open(car, func(in *workshop.OpenInput) {
		in.MileageIn = 17000
		in.Items = []workshop.ItemInput{wiper}
	})
	if o2.Number == o.Number {
		t.Errorf("second order reuses number %s", o.Number)
	}
	o2 = e.move(o2, workshop.InProgress, "")
	o2 = e.move(o2, workshop.QualityCheck, "")
	o2 = e.move(o2, workshop.ReadyForPickup, "")
	_, err = e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o2.ID, Payments: []workshop.PaymentInput{{Method: workshop.WeChatPay, AmountFen: 19600, Reference: "4200001234"}}})
	must(t, err)
	e.move(o2, workshop.Delivered, "")
	recs, err = e.svc.RecommendationsByVehicleIDs(ctx, []uuid.UUID{car.ID})
	must(t, err)
	if len(recs[car.ID]) != 0 {
		t.Errorf("recommendation still open after the work was done: %+v", recs[car.ID])
	}
	last, err = e.svc.LastServiceByVehicleIDs(ctx, []uuid.UUID{car.ID})
	must(t, err)
	if last[car.ID].ID != o2.ID {
		t.Errorf("last service %s; want the second visit", last[car.ID].Number)
	}
}

// A warranty repair costs the owner nothing: it is delivered without a
// settlement and its totals are fixed at delivery.
func TestWarrantyOnlyDeliversWithoutSettlement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, car := e.customer("李雷")
	screen := workshop.ItemInput{Kind: workshop.Part, Code: "HU", Description: "中控显示屏总成", QuantityMilli: 1000, UnitPriceFen: 352000, Warranty: true}
	o := e.open(car, func(in *workshop.OpenInput) {
		in.Kind = workshop.Warranty
		in.Items = []workshop.ItemInput{screen}
	})
	for _, to := range []workshop.Status{workshop.InProgress, workshop.QualityCheck, workshop.ReadyForPickup, workshop.Delivered} {
		o = e.move(o, to, "")
	}
	if o.SettledAt != nil || o.TotalFen != 352000 || o.WarrantyFen != 352000 || o.PayableFen != 0 || o.DeliveredAt == nil {
		t.Fatalf("delivered warranty order %+v", o)
	}
	// A settlement of a free bill needs no payment.
	_, car2 := e.customer("韩梅梅")
	o2 := e.open(car2, func(in *workshop.OpenInput) { in.Items = []workshop.ItemInput{screen} })
	for _, to := range []workshop.Status{workshop.InProgress, workshop.QualityCheck} {
		o2 = e.move(o2, to, "")
	}
	_, err := e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o2.ID,
		Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: 1}}})
	wantCode(t, err, workshop.CodePaymentsDoNotAddUp, "payments")
	o2, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o2.ID})
	must(t, err)
	if o2.SettledAt == nil || o2.PayableFen != 0 {
		t.Fatalf("settled free order %+v", o2)
	}
}

// Removing the last pending item returns the order to where it came from.
func TestRemovePendingItemResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, car := e.customer("赵六")
	o := e.open(car)
	o = e.move(o, workshop.InProgress, "")
	started := e.items(o)
	if started[0].WorkStartedAt == nil {
		t.Fatal("work did not start in progress")
	}
	// After reception nothing is added as agreed: the owner approves it.
	_, err := e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, wiper, false, nil)
	wantCode(t, err, workshop.CodeNeedsApproval, "needsApproval")
	o, err = e.svc.AddItem(e.ctx, e.who("foreman.sz01"), o.ID, pads, true, nil)
	must(t, err)
	if o.Status != workshop.AwaitingApproval {
		t.Fatalf("status %s", o.Status)
	}
	pending := e.items(o)[2]
	_, err = e.svc.RemoveItem(e.ctx, e.who("advisor.sz01"), e.items(o)[0].ID, nil)
	wantCode(t, err, workshop.CodeItemWorkStarted, "")
	o, err = e.svc.RemoveItem(e.ctx, e.who("advisor.sz01"), pending.ID, ptr(o.Version))
	must(t, err)
	if o.Status != workshop.InProgress || o.ResumeStatus != nil || len(e.items(o)) != 2 {
		t.Fatalf("after removing the pending item: %s with %d items", o.Status, len(e.items(o)))
	}
	evs := e.events(o)
	if last := evs[len(evs)-1]; *last.FromStatus != workshop.AwaitingApproval || last.ToStatus != workshop.InProgress || last.ActorKind != "STAFF" {
		t.Errorf("last event %+v", last)
	}
	// The owner had been told; the request is gone, the notification stays.
	n, err := (&inbox.Service{DB: e.db}).UnreadNotificationCount(e.ctx, ownerOf(owner), owner.ID)
	must(t, err)
	if n != 1 {
		t.Errorf("%d unread notifications", n)
	}
	// A pre-approved item before work starts can go.
	_, car2 := e.customer("钱七")
	o2 := e.open(car2)
	o2, err = e.svc.RemoveItem(e.ctx, e.who("foreman.sz01"), e.items(o2)[1].ID, nil)
	must(t, err)
	if len(e.items(o2)) != 1 || o2.Version != 2 {
		t.Errorf("after removal: %d items, version %d", len(e.items(o2)), o2.Version)
	}
}

// Moving to AWAITING_APPROVAL by hand works only with pending items; a
// manual move out of it is refused; cancelling it is allowed.
func TestAwaitingApprovalByHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, car := e.customer("孙八")
	o := e.open(car)
	o = e.move(o, workshop.Diagnosing, "")
	_, err := e.svc.Move(e.ctx, e.who("foreman.sz01"), o.ID, workshop.AwaitingApproval, "", nil, "")
	wantCode(t, err, workshop.CodeNoPendingItems, "")
	o, err = e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, pads, true, nil)
	must(t, err)
	for _, to := range []workshop.Status{workshop.Diagnosing, workshop.InProgress, workshop.QualityCheck} {
		_, err = e.svc.Move(e.ctx, e.who("foreman.sz01"), o.ID, to, "", nil, "")
		wantCode(t, err, workshop.CodeInvalidTransition, "")
	}
	o = e.move(o, workshop.Cancelled, "客户决定不修了")
	if o.CancelReason == nil || *o.CancelReason != "客户决定不修了" || o.Status != workshop.Cancelled {
		t.Fatalf("cancelled %+v", o)
	}
	_, err = e.svc.Decide(e.ctx, ownerOf(owner), o.ID, []workshop.Decision{{ItemID: e.items(o)[2].ID, Approve: true}})
	wantCode(t, err, workshop.CodeOrderClosed, "")
	// A cancelled order frees the car for a new check-in.
	o2 := e.open(car, func(in *workshop.OpenInput) { in.MileageIn = car.MileageKm + 100 })
	if o2.Status != workshop.CheckedIn {
		t.Fatalf("reopened %+v", o2)
	}
}

// waitSignal waits for a live update (want) or makes sure none comes.
func waitSignal(t *testing.T, ch <-chan struct{}, want bool, what string) {
	t.Helper()
	wait := 200 * time.Millisecond
	if want {
		wait = 5 * time.Second
	}
	select {
	case <-ch:
		if !want {
			t.Fatalf("%s: got a live update, want none", what)
		}
	case <-time.After(wait):
		if want {
			t.Fatalf("%s: no live update", what)
		}
	}
}

// settle waits for announcements in flight (PostgreSQL delivers them
// through a listener connection, a moment after commit) and drops them.
func settle(ch <-chan struct{}) {
	time.Sleep(300 * time.Millisecond)
	select {
	case <-ch:
	default:
	}
}

// Every change of an order is announced on its topic and its store's board
// topic after commit; refusals announce nothing; the owner opening a
// request tells the order's watchers once.
func TestChangesArePublished(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	<-e.db.LiveReady()
	owner, car := e.customer("直播")
	o := e.open(car)
	orderCh, stopOrder := e.db.Subscribe(workshop.OrderTopic(o.ID))
	defer stopOrder()
	boardCh, stopBoard := e.db.Subscribe(workshop.BoardTopic(e.sz.ID))
	defer stopBoard()

	o = e.move(o, workshop.InProgress, "")
	waitSignal(t, orderCh, true, "order after a move")
	waitSignal(t, boardCh, true, "board after a move")
	settle(orderCh)
	_, err := e.svc.Move(e.ctx, e.who("foreman.sz01"), o.ID, workshop.Delivered, "", nil, "")
	wantCode(t, err, workshop.CodeInvalidTransition, "")
	waitSignal(t, orderCh, false, "order after a refusal")

	o, err = e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, pads, true, nil)
	must(t, err)
	waitSignal(t, orderCh, true, "order after a pending item")
	settle(orderCh)
	_, err = e.svc.OrderFor(e.ctx, ownerOf(owner), o.ID)
	must(t, err)
	waitSignal(t, orderCh, true, "order after the owner saw the request")
	settle(orderCh)
	_, err = e.svc.OrderFor(e.ctx, ownerOf(owner), o.ID)
	must(t, err)
	waitSignal(t, orderCh, false, "order after a second read")
	_, err = e.svc.Decide(e.ctx, ownerOf(owner), o.ID, []workshop.Decision{{ItemID: e.items(o)[2].ID, Approve: true}})
	must(t, err)
	waitSignal(t, orderCh, true, "order after the decision")
}

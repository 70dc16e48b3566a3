package workshop_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// One car's visit from check-in to delivery, one behaviour per test: the
// check-in, dispatch, extra work the owner partly approves, work with a
// failed quality check, settlement, delivery with its timeline, and the
// history it leaves. Each test drives a customer's order of its own to where
// its behaviour starts with the visit steps below, which make the same moves
// in the same order.

// visit is one customer's order at SZ01, with the staff at hand and its
// version counted.
type visit struct {
	t                               *testing.T
	e                               *env
	owner                           *models.Owner
	ownerP                          *auth.Principal
	car                             *models.Vehicle
	advisor, foreman, tech, cashier *auth.Principal
	o                               *workshop.RepairOrder
	version                         int
	promised                        time.Time
	padsID, wiperID                 uuid.UUID
}

// visitPayable is the bill: oil, labour and the approved pads.
const visitPayable = 41160 + 18000 + 68000

// newVisit checks 王小明's car in by its plate as typed (粤e·12345), with
// oil and labour agreed.
func newVisit(t *testing.T, e *env) *visit {
	t.Helper()
	owner, car := e.customer("王小明")
	v := &visit{t: t, e: e, owner: owner, ownerP: ownerOf(owner), car: car,
		advisor: e.who("advisor.sz01"), foreman: e.who("foreman.sz01"), tech: e.who("technician1.sz01"), cashier: e.who("cashier.sz01"),
		version: 1, promised: e.clock.Now().Add(4 * time.Hour)}
	o, err := e.svc.Open(e.ctx, v.advisor, workshop.OpenInput{
		StoreID: e.sz.ID, Vehicle: "粤e·" + (*car.Plate)[len("粤E"):], MileageIn: 12345, Kind: workshop.Maintenance,
		Concern: "仪表提示保养\n刹车有异响", PromisedAt: &v.promised, Items: []workshop.ItemInput{oil, labor},
	})
	must(t, err)
	v.o = o
	return v
}

// step takes a change's answer: it must be accepted with the next version;
// the clock moves on 10 minutes.
func (v *visit) step(got *workshop.RepairOrder, err error) *workshop.RepairOrder {
	v.t.Helper()
	must(v.t, err)
	v.version++
	if got.Version != v.version {
		v.t.Fatalf("version %d; want %d", got.Version, v.version)
	}
	v.e.clock.Advance(10 * time.Minute)
	v.o = got
	return got
}

// dispatch: the foreman gives the job to technician 1 in bay 3, who starts
// diagnosing.
func (v *visit) dispatch() {
	v.t.Helper()
	v.step(v.e.svc.Assign(v.e.ctx, v.foreman, v.o.ID, &v.tech.ID, ptr("3号工位"), ptr(v.version)))
	v.step(v.e.svc.Move(v.e.ctx, v.tech, v.o.ID, workshop.Diagnosing, "", ptr(v.version), ""))
}

// askApproval: the technician finds pads and wipers to do, both PENDING.
func (v *visit) askApproval() {
	v.t.Helper()
	v.step(v.e.svc.AddItem(v.e.ctx, v.tech, v.o.ID, pads, true, nil))
	v.step(v.e.svc.AddItem(v.e.ctx, v.tech, v.o.ID, wiper, true, nil))
	items := v.e.items(v.o)
	v.padsID, v.wiperID = items[2].ID, items[3].ID
}

// decide: the owner opens the order, approves the pads and declines the
// wipers.
func (v *visit) decide() {
	v.t.Helper()
	_, err := v.e.svc.OrderFor(v.e.ctx, v.ownerP, v.o.ID)
	must(v.t, err)
	v.e.clock.Advance(time.Minute)
	v.step(v.e.svc.Decide(v.e.ctx, v.ownerP, v.o.ID, []workshop.Decision{{ItemID: v.padsID, Approve: true}, {ItemID: v.wiperID, Approve: false}}))
}

// work: in progress, a quality check the foreman fails, again, washed,
// ready for pickup.
func (v *visit) work() {
	v.t.Helper()
	ctx, svc := v.e.ctx, v.e.svc
	v.step(svc.Move(ctx, v.tech, v.o.ID, workshop.InProgress, "", nil, ""))
	v.step(svc.Move(ctx, v.tech, v.o.ID, workshop.QualityCheck, "", nil, ""))
	v.step(svc.Move(ctx, v.foreman, v.o.ID, workshop.InProgress, "右前轮螺栓扭矩不足，返工", nil, ""))
	v.step(svc.Move(ctx, v.tech, v.o.ID, workshop.QualityCheck, "", nil, ""))
	v.step(svc.Move(ctx, v.foreman, v.o.ID, workshop.Washing, "", nil, ""))
	v.step(svc.Move(ctx, v.foreman, v.o.ID, workshop.ReadyForPickup, "", nil, ""))
}

// payments are the card and the cash that settle the visit.
func (v *visit) payments() []workshop.PaymentInput {
	return []workshop.PaymentInput{
		{Method: workshop.BankCard, AmountFen: 100000, Reference: "POS-778899"}, {Method: workshop.Cash, AmountFen: visitPayable - 100000},
	}
}

// settle: the cashier takes the payments, with an idempotency key.
func (v *visit) settle() {
	v.t.Helper()
	v.step(v.e.svc.Settle(v.e.ctx, v.cashier, workshop.SettleInput{OrderID: v.o.ID, Payments: v.payments(), IdempotencyKey: "settle-" + v.o.ID.String()}))
}

// deliver: the advisor hands the car over.
func (v *visit) deliver() {
	v.t.Helper()
	v.step(v.e.svc.Move(v.e.ctx, v.advisor, v.o.ID, workshop.Delivered, "", nil, ""))
}

// through runs the visit's steps in order, up to and including last.
func (v *visit) through(last string) {
	v.t.Helper()
	for _, s := range []struct {
		name string
		run  func()
	}{{"dispatch", v.dispatch}, {"askApproval", v.askApproval}, {"decide", v.decide}, {"work", v.work}, {"settle", v.settle}, {"deliver", v.deliver}} {
		s.run()
		if s.name == last {
			return
		}
	}
	v.t.Fatalf("no step %s", last)
}

// TestLifecycleCheckIn: the order opened by a plate as typed, its number,
// the car's mileage, the agreed items, the store's board moved on. On a
// database of its own: it reads the board's version.
func TestLifecycleCheckIn(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	boardBefore, err := e.svc.BoardVersion(e.ctx, e.sz.ID)
	must(t, err)
	v := newVisit(t, e)
	o, owner, car, advisor := v.o, v.owner, v.car, v.advisor
	local := e.clock.Now().In(e.sz.Location()).Format("20060102")
	if !regexp.MustCompile(`^SZ01-` + local + `-\d{3}$`).MatchString(o.Number) {
		t.Errorf("number %s", o.Number)
	}
	if o.Status != workshop.CheckedIn || o.Version != 1 || o.OwnerID != owner.ID || o.VehicleID != car.ID || o.AdvisorID != advisor.ID ||
		o.MileageIn != 12345 || o.Concern != "仪表提示保养\n刹车有异响" || !o.PromisedAt.Equal(v.promised) || o.TechnicianID != nil {
		t.Fatalf("opened %+v", o)
	}
	var stored models.Vehicle
	must(t, e.db.Conn(e.ctx).Where("id = ?", car.ID).Take(&stored).Error)
	if stored.MileageKm != 12345 || stored.MileageReadAt == nil || !stored.MileageReadAt.Equal(e.clock.Now()) {
		t.Errorf("vehicle mileage %d read %v", stored.MileageKm, stored.MileageReadAt)
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
	if bv, _ := e.svc.BoardVersion(e.ctx, e.sz.ID); bv != boardBefore+1 {
		t.Errorf("board version %d after open; want %d", bv, boardBefore+1)
	}
}

// TestLifecycleDispatch: the foreman assigns a technician and a bay; the
// technician starts diagnosing; each change moves the version on by one.
func TestLifecycleDispatch(t *testing.T) {
	t.Parallel()
	v := newVisit(t, newEnv(t))
	o := v.step(v.e.svc.Assign(v.e.ctx, v.foreman, v.o.ID, &v.tech.ID, ptr("3号工位"), ptr(v.version)))
	if *o.TechnicianID != v.tech.ID || *o.Bay != "3号工位" {
		t.Fatalf("assigned %+v", o)
	}
	if o = v.step(v.e.svc.Move(v.e.ctx, v.tech, v.o.ID, workshop.Diagnosing, "", ptr(v.version), "")); o.Status != workshop.Diagnosing {
		t.Fatalf("diagnosing %+v", o)
	}
}

// TestLifecycleApproval: extra work found in diagnosis is PENDING and the
// order waits for the owner, who is told; the first time the owner opens
// the order is what staff see; the decisions send it back to diagnosis.
func TestLifecycleApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := newVisit(t, e)
	v.through("dispatch")
	ctx, owner := e.ctx, v.owner

	o := v.step(e.svc.AddItem(ctx, v.tech, v.o.ID, pads, true, nil))
	if o.Status != workshop.AwaitingApproval || o.ResumeStatus == nil || *o.ResumeStatus != workshop.Diagnosing {
		t.Fatalf("after a pending item: %s (resume %v)", o.Status, o.ResumeStatus)
	}
	o = v.step(e.svc.AddItem(ctx, v.tech, v.o.ID, wiper, true, nil))
	if o.Status != workshop.AwaitingApproval {
		t.Fatalf("second pending item: %s", o.Status)
	}
	items := e.items(o)
	for _, it := range items[2:] {
		if it.Approval != workshop.Pending || it.RequestedAt == nil || it.SeenAt != nil || it.WorkStartedAt != nil {
			t.Errorf("pending item %+v", it)
		}
	}
	padsID, wiperID := items[2].ID, items[3].ID
	msgs, _, err := (&inbox.Service{DB: e.db}).Notifications(ctx, v.ownerP, owner.ID, models.Page{First: 10}, true)
	must(t, err)
	if len(msgs) != 2 || msgs[0].Kind != workshop.NotifyApprovalNeeded || msgs[0].Link != workshop.OrderLink(o.ID) {
		t.Fatalf("inbox %+v", msgs)
	}

	// The owner opens the request: staff see when.
	seenAt := e.clock.Now()
	got, err := e.svc.OrderFor(ctx, v.ownerP, o.ID)
	must(t, err)
	if got.Version != v.version {
		t.Errorf("reading changed the version to %d", got.Version)
	}
	e.clock.Advance(time.Minute)
	_, err = e.svc.OrderFor(ctx, v.ownerP, o.ID)
	must(t, err)
	for _, it := range e.items(o)[2:] {
		if it.SeenAt == nil || !it.SeenAt.Equal(seenAt) {
			t.Errorf("item %s seen at %v; want %v (the first read)", it.Description, it.SeenAt, seenAt)
		}
	}

	// The owner approves the pads and declines the wipers: back to diagnosis.
	o = v.step(e.svc.Decide(ctx, v.ownerP, o.ID, []workshop.Decision{{ItemID: padsID, Approve: true}, {ItemID: wiperID, Approve: false}}))
	if o.Status != workshop.Diagnosing || o.ResumeStatus != nil {
		t.Fatalf("after the decisions: %s", o.Status)
	}
	for _, it := range e.items(o)[2:] {
		if it.DecidedAt == nil {
			t.Errorf("item %s has no decision time", it.Description)
		}
	}
}

// TestLifecycleWork: every agreed item starts, the declined one never does;
// a failed quality check needs a reason; ready for pickup, the owner is
// told; not delivered without paying.
func TestLifecycleWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := newVisit(t, e)
	v.through("decide")
	ctx, tech, foreman := e.ctx, v.tech, v.foreman

	o := v.step(e.svc.Move(ctx, tech, v.o.ID, workshop.InProgress, "", nil, ""))
	for _, it := range e.items(o) {
		if started := it.WorkStartedAt != nil; started != (it.ID != v.wiperID) {
			t.Errorf("item %s (%s) started=%v", it.Description, it.Approval, started)
		}
	}
	o = v.step(e.svc.Move(ctx, tech, o.ID, workshop.QualityCheck, "", nil, ""))
	_, err := e.svc.Move(ctx, foreman, o.ID, workshop.InProgress, " ", nil, "")
	wantCode(t, err, workshop.CodeReasonRequired, "note")
	o = v.step(e.svc.Move(ctx, foreman, o.ID, workshop.InProgress, "右前轮螺栓扭矩不足，返工", nil, ""))
	o = v.step(e.svc.Move(ctx, tech, o.ID, workshop.QualityCheck, "", nil, ""))
	o = v.step(e.svc.Move(ctx, foreman, o.ID, workshop.Washing, "", nil, ""))
	o = v.step(e.svc.Move(ctx, foreman, o.ID, workshop.ReadyForPickup, "", nil, ""))
	msgs, _, err := (&inbox.Service{DB: e.db}).Notifications(ctx, v.ownerP, v.owner.ID, models.Page{First: 10}, false)
	must(t, err)
	if len(msgs) != 3 || msgs[0].Kind != workshop.NotifyReadyForPickup || msgs[0].Link != workshop.OrderLink(o.ID) {
		t.Fatalf("inbox after ready: %+v", msgs)
	}

	// Not without paying.
	_, err = e.svc.Move(ctx, v.advisor, o.ID, workshop.Delivered, "", nil, "")
	wantCode(t, err, workshop.CodeNotSettled, "")
}

// TestLifecycleSettle: card and cash adding up to the payable amount, the
// next service due; a retry with the same key answers the order, the key
// with other payments is refused, and so is a second settlement.
func TestLifecycleSettle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := newVisit(t, e)
	v.through("work")
	ctx, cashier, o := e.ctx, v.cashier, v.o

	const payable = visitPayable
	_, err := e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.BankCard, AmountFen: 100000, Reference: "POS-778899"}, {Method: workshop.Cash, AmountFen: payable - 100000 - 1},
	}})
	wantCode(t, err, workshop.CodePaymentsDoNotAddUp, "payments")
	pays := v.payments()
	o = v.step(e.svc.Settle(ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays, IdempotencyKey: "settle-" + o.ID.String()}))
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
	if again.Version != v.version {
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
}

// TestLifecycleDeliver: delivered on the service's clock, the order closed
// to changes; the timeline says who moved it, when, from, to, and the QC
// failure's note.
func TestLifecycleDeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := newVisit(t, e)
	v.through("settle")
	advisor, foreman, tech, owner := v.advisor, v.foreman, v.tech, v.owner

	o := v.step(e.svc.Move(e.ctx, advisor, v.o.ID, workshop.Delivered, "", nil, ""))
	if o.DeliveredAt == nil || o.Status != workshop.Delivered {
		t.Fatalf("delivered %+v", o)
	}
	if stored := e.reload(o); !stored.UpdatedAt.Equal(*o.DeliveredAt) || !stored.UpdatedAt.Equal(stored.StatusChangedAt) {
		t.Errorf("updated at %v, delivered at %v: not the service's clock", stored.UpdatedAt, o.DeliveredAt)
	}
	_, err := e.svc.AddItem(e.ctx, advisor, o.ID, oil, false, nil)
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
}

// TestLifecycleHistory: what the owner sees after the visit (history, last
// service, the declined work as advice, no active order); the next visit may
// open, and doing the declined work closes the advice.
func TestLifecycleHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := newVisit(t, e)
	v.through("deliver")
	ctx, car, o := e.ctx, v.car, v.o

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
	if len(recs[car.ID]) != 1 || recs[car.ID][0].ID != v.wiperID || recs[car.ID][0].Approval != workshop.Declined {
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
	_, err = e.svc.Settle(ctx, v.cashier, workshop.SettleInput{OrderID: o2.ID, Payments: []workshop.PaymentInput{{Method: workshop.WeChatPay, AmountFen: 19600, Reference: "4200001234"}}})
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

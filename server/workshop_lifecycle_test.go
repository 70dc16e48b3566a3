package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The working day of one car, one behaviour per test: check-in by plate,
// dispatch, diagnosis and extra work the owner approves and declines, work
// with a failed quality check, settlement, delivery and the timeline; a
// second visit under warranty and the car's history; the owner's inbox.
// Each test drives a new car's order to where its behaviour starts with the
// wkVisit steps, which make the same moves as the day they split from, and
// asserts every refusal met on the way with its code.

// wkVisit is one car's repair order at SZ01 with the staff at hand.
type wkVisit struct {
	*wkFixture
	advisor, foreman, tech1, tech2, cashier string // tokens
	tech1ID                                 string
	car, other                              wkCar // other: another owner, with a car of their own
	o                                       map[string]any
	id, number                              string
	day                                     string // store-local day of the check-in
	promised                                time.Time
}

// wkPayable is what the owner pays for the visit: diagnosis, oil, the cabin
// filter agreed at reception and the approved brakes.
const wkPayable = 20000 + 41160 + 68000 + 16800

// newVisit checks a new owner's car in by plate, typed as printed
// (粤B·12345), with a concern, a promised time and three agreed items.
func newVisit(t *testing.T, tweak ...func(*Config, *Deps)) *wkVisit {
	t.Helper()
	f := newWorkshop(t, tweak...)
	v := &wkVisit{wkFixture: f,
		advisor: f.staff(t, "advisor.sz01"), foreman: f.staff(t, "foreman.sz01"),
		tech1: f.staff(t, "technician1.sz01"), tech2: f.staff(t, "technician2.sz01"),
		cashier: f.staff(t, "cashier.sz01"), tech1ID: f.staffID(t, "technician1.sz01"),
		car: f.newCar(t, ""), other: f.newCar(t, ""),
		day: wkStoreDay(), promised: time.Now().Add(4 * time.Hour).UTC().Truncate(time.Second)}
	v.o = f.open(t, v.advisor, f.sz, e2eSpaced(v.car.Plate, "·"), 15000, "REPAIR",
		map[string]any{"concern": "刹车时有异响", "promisedAt": v.promised.Format(time.RFC3339)},
		wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false),
		wkItem("PART", "OIL-0W20", "原厂全合成机油 0W-20", 4.2, 9800, false),
		wkItem("PART", "FLT-AIR", "空气滤清器", 1, 12800, false))
	v.id, v.number = wkStr(v.o["id"]), wkStr(v.o["number"])
	return v
}

// reception removes the air filter and adds the cabin filter, agreed.
func (v *wkVisit) reception(t *testing.T) {
	t.Helper()
	v.o = v.ok(t, v.advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, v.o, "FLT-AIR")["id"]})
	v.o = v.ok(t, v.advisor, "addRepairOrderItem", wkAdd(v.id, wkItem("PART", "FLT-AC", "空调滤芯", 1, 16800, false), false))
}

// assign gives the job to technician 1 in bay 3.
func (v *wkVisit) assign(t *testing.T) {
	t.Helper()
	v.o = v.ok(t, v.foreman, "assignRepairOrder", map[string]any{"orderId": v.id, "technicianId": v.tech1ID, "bay": "3号工位"})
}

// diagnose: technician 1 starts diagnosing.
func (v *wkVisit) diagnose(t *testing.T) {
	t.Helper()
	v.o = v.move(t, v.tech1, v.id, "DIAGNOSING", "")
}

// askApproval: technician 1 asks for the brakes, the wipers and the
// throttle body; the advisor withdraws the throttle body.
func (v *wkVisit) askApproval(t *testing.T) {
	t.Helper()
	v.ok(t, v.tech1, "addRepairOrderItem", wkAdd(v.id, wkItem("PART", "BRK-PAD-F", "前刹车片更换（含工时）", 1, 68000, false), true))
	v.ok(t, v.tech1, "addRepairOrderItem", wkAdd(v.id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true))
	v.o = v.ok(t, v.tech1, "addRepairOrderItem", wkAdd(v.id, wkItem("LABOR", "LAB-THROTTLE", "节气门清洗", 1, 26800, false), true))
	v.o = v.ok(t, v.advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, v.o, "LAB-THROTTLE")["id"]})
}

// decision is the owner's: the brakes approved, the wipers declined.
func (v *wkVisit) decision(t *testing.T) map[string]any {
	t.Helper()
	return map[string]any{"orderId": v.id, "decisions": []any{
		map[string]any{"itemId": wkItemBy(t, v.o, "BRK-PAD-F")["id"], "approve": true},
		map[string]any{"itemId": wkItemBy(t, v.o, "WIPER")["id"], "approve": false}}}
}

// decide: the owner opens the order and decides.
func (v *wkVisit) decide(t *testing.T) {
	t.Helper()
	v.o = v.order(t, v.car.OwnerToken, v.id)
	v.o = v.ok(t, v.car.OwnerToken, "decideRepairItems", v.decision(t))
}

// work: in progress, a failed quality check, washed, ready for pickup.
func (v *wkVisit) work(t *testing.T) {
	t.Helper()
	v.move(t, v.tech1, v.id, "IN_PROGRESS", "")
	v.move(t, v.tech1, v.id, "QUALITY_CHECK", "")
	v.move(t, v.tech1, v.id, "IN_PROGRESS", "刹车仍有异响，重新调整")
	v.move(t, v.tech1, v.id, "QUALITY_CHECK", "")
	v.move(t, v.foreman, v.id, "WASHING", "")
	v.o = v.move(t, v.foreman, v.id, "READY_FOR_PICKUP", "")
}

// settlement pays by card and cash, with an idempotency key.
func (v *wkVisit) settlement() map[string]any {
	settle := wkSettle(v.id, wkPay("CARD", 140000, "POS778899"), wkPay("CASH", wkPayable-140000, ""))
	settle["idempotencyKey"] = "settle-" + v.number
	return settle
}

// deliver settles and hands the car over.
func (v *wkVisit) deliver(t *testing.T) {
	t.Helper()
	v.ok(t, v.cashier, "settleRepairOrder", v.settlement())
	v.o = v.move(t, v.advisor, v.id, "DELIVERED", "")
}

// through runs the visit up to and including the step named.
func (v *wkVisit) through(t *testing.T, last string) {
	t.Helper()
	steps := []struct {
		name string
		run  func(*testing.T)
	}{{"reception", v.reception}, {"assign", v.assign}, {"diagnose", v.diagnose}, {"askApproval", v.askApproval},
		{"decide", v.decide}, {"work", v.work}, {"deliver", v.deliver}}
	for _, s := range steps {
		s.run(t)
		if s.name == last {
			return
		}
	}
	t.Fatalf("no step %s", last)
}

// warrantyVisit is a second visit of a delivered car, under warranty only,
// checked in by VIN and driven to delivery without settlement.
func (v *wkVisit) warrantyVisit(t *testing.T) (o2 map[string]any, id2, number2 string) {
	t.Helper()
	o2 = v.open(t, v.advisor, v.sz, strings.ToLower(v.car.VIN), 15100, "WARRANTY", nil,
		wkItem("PART", "HU-DISPLAY", "中控显示屏总成", 1, 352000, true),
		wkItem("LABOR", "LAB-HU", "中控屏拆装工时", 1.5, 18000, true))
	id2, number2 = wkStr(o2["id"]), wkStr(o2["number"])
	wkCheckNumber(t, number2, "SZ01", v.day, wkStoreDay())
	if number2 == v.number || dig(o2, "vehicle", "mileageKm") != float64(15100) || wkFen(o2, "totals", "payable") != 0 ||
		wkFen(o2, "totals", "warrantyCovered") != 352000+27000 {
		t.Fatalf("warranty order: %v", o2)
	}
	return o2, id2, number2
}

// TestRepairOrderCheckIn: the order opened by plate, what it shows, every
// refusal while it is checked in; reception may still remove and add agreed
// work.
func TestRepairOrderCheckIn(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	o, id, car, advisor := v.o, v.id, v.car, v.advisor
	wkCheckNumber(t, v.number, "SZ01", v.day, wkStoreDay())
	if o["status"] != "CHECKED_IN" || o["kind"] != "REPAIR" || o["concern"] != "刹车时有异响" || wkNum(o["mileageIn"]) != 15000 ||
		wkNum(o["version"]) != 1 || dig(o, "store", "code") != "SZ01" || dig(o, "vehicle", "id") != car.ID ||
		dig(o, "advisor", "name") != "李明" || o["technician"] != nil || o["bay"] != nil || o["overdue"] != false ||
		!e2eTime(t, o["promisedAt"]).Equal(v.promised) || o["settledAt"] != nil || o["deliveredAt"] != nil {
		t.Fatalf("opened order: %v", o)
	}
	if dig(o, "vehicle", "mileageKm") != float64(15000) {
		t.Fatalf("vehicle mileage after check-in: %v", dig(o, "vehicle"))
	}
	if a := wkItemBy(t, o, "OIL-0W20"); a["approval"] != "PRE_APPROVED" || a["quantity"] != 4.2 ||
		wkFen(a, "amount") != 41160 || wkFen(a, "unitPrice") != 9800 || a["workStarted"] != false {
		t.Fatalf("pre-approved item: %v", a)
	}
	if wkFen(o, "totals", "total") != 20000+41160+12800 || wkFen(o, "totals", "payable") != 20000+41160+12800 {
		t.Fatalf("totals at check-in: %v", o["totals"])
	}

	// Refusals while checked in.
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "WASHING", ""), "INVALID_TRANSITION")
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "AWAITING_APPROVAL", ""), "INVALID_TRANSITION")
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "INVALID_TRANSITION")
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "CANCELLED", "  "), "REASON_REQUIRED")
	v.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true), "INVALID_TRANSITION")
	v.refused(t, advisor, "settleRepairOrder", wkSettle(id, wkPay("CASH", 74000, "")), "WORK_NOT_FINISHED")
	v.refused(t, advisor, "openRepairOrder", wkOpenInput(v.sz, car.VIN, 15000, "MAINTENANCE", nil), "VEHICLE_IN_WORKSHOP")
	v.refused(t, v.staff(t, "advisor.gz01"), "openRepairOrder", wkOpenInput(v.gz, car.Plate, 15000, "MAINTENANCE", nil), "VEHICLE_IN_WORKSHOP")
	// A car that is not registered, and input that is no car at all.
	v.denied(t, advisor, "openRepairOrder", wkOpenInput(v.sz, e2eVIN(t), 100, "REPAIR", nil), "NOT_FOUND")
	v.refused(t, advisor, "openRepairOrder", wkOpenInput(v.sz, "no such car", 100, "REPAIR", nil), "INVALID_ARGUMENT")
	// A technician acts on their own jobs only: nobody's job is theirs yet.
	v.refused(t, v.tech1, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_YOUR_JOB")
	if o = v.order(t, advisor, id); o["status"] != "CHECKED_IN" || wkNum(o["version"]) != 1 {
		t.Fatalf("refusals changed the order: %v", o)
	}

	// An item agreed at reception and not started can be removed.
	o = v.ok(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "FLT-AIR")["id"]})
	if items, _ := o["items"].([]any); len(items) != 2 || wkNum(o["version"]) != 2 {
		t.Fatalf("after removing an item: %v", o)
	}
	// Still at reception: more agreed work may be added.
	o = v.ok(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "FLT-AC", "空调滤芯", 1, 16800, false), false))
	if it := wkItemBy(t, o, "FLT-AC"); it["approval"] != "PRE_APPROVED" {
		t.Fatalf("work added at reception: %v", it)
	}
}

// TestRepairOrderDispatch: the foreman gives the job to a technician of the
// store and a bay; who may move it then; a stale view; the technician starts
// diagnosing.
func TestRepairOrderDispatch(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "reception")
	id, car, other, foreman := v.id, v.car, v.other, v.foreman

	// Only a technician of the store.
	v.refused(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": v.staffID(t, "advisor.sz01")}, "INVALID_ARGUMENT")
	v.refused(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": v.staffID(t, "technician1.gz01")}, "INVALID_ARGUMENT")
	o := v.ok(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": v.tech1ID, "bay": "3号工位"})
	if dig(o, "technician", "staffId") != v.tech1ID || dig(o, "technician", "name") != "陈志强" || o["bay"] != "3号工位" {
		t.Fatalf("after assignment: %v", o)
	}
	version := wkNum(o["version"])

	// Who may move it: not the other technician, not the cashier, not staff
	// of another store, not an owner.
	v.refused(t, v.tech2, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_YOUR_JOB")
	v.denied(t, v.cashier, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "FORBIDDEN")
	v.denied(t, v.staff(t, "advisor.gz01"), "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_FOUND")
	v.denied(t, v.staff(t, "foreman.gz01"), "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "NOT_FOUND")
	v.denied(t, v.staff(t, "advisor.gz01"), "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 1, false), false), "NOT_FOUND")
	if v.order(t, v.staff(t, "advisor.gz01"), id) != nil {
		t.Fatal("staff of GZ01 read an SZ01 order")
	}
	for _, tok := range []string{car.OwnerToken, other.OwnerToken} {
		v.denied(t, tok, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "FORBIDDEN")
		v.denied(t, tok, "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "FORBIDDEN")
		v.denied(t, tok, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 1, false), false), "FORBIDDEN")
		v.denied(t, tok, "settleRepairOrder", wkSettle(id, wkPay("CASH", 1, "")), "FORBIDDEN")
		v.denied(t, tok, "openRepairOrder", wkOpenInput(v.sz, car.Plate, 15000, "REPAIR", nil), "FORBIDDEN")
	}
	// A stale view is refused.
	stale := wkMove(id, "DIAGNOSING", "")
	stale["expectedVersion"] = version - 1
	v.refused(t, v.tech1, "moveRepairOrder", stale, "CONFLICT")
	if o = v.order(t, v.advisor, id); o["status"] != "CHECKED_IN" || wkNum(o["version"]) != version {
		t.Fatalf("refusals changed the order: %v", o)
	}

	// The technician starts diagnosing their job.
	fresh := wkMove(id, "DIAGNOSING", "")
	fresh["expectedVersion"] = version
	o = v.ok(t, v.tech1, "moveRepairOrder", fresh)
	if o["status"] != "DIAGNOSING" || wkNum(o["version"]) != version+1 {
		t.Fatalf("after diagnosing: %v", o)
	}
}

// TestRepairOrderApproval: extra work found in diagnosis waits for the
// owner, who is told, opens the request and decides; nobody else decides,
// nobody moves the order out by hand; decided items stay.
func TestRepairOrderApproval(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "diagnose")
	id, number, car, other, advisor, tech1 := v.id, v.number, v.car, v.other, v.advisor, v.tech1

	// A technician cannot bill work the owner did not agree to.
	v.refused(t, v.tech2, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true), "NOT_YOUR_JOB")
	v.denied(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), false), "FORBIDDEN")
	o := v.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "BRK-PAD-F", "前刹车片更换（含工时）", 1, 68000, false), true))
	if o["status"] != "AWAITING_APPROVAL" {
		t.Fatalf("after asking for approval: %v", o)
	}
	v.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true))
	o = v.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("LABOR", "LAB-THROTTLE", "节气门清洗", 1, 26800, false), true))
	// One request withdrawn: the order keeps waiting for the other two.
	o = v.ok(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "LAB-THROTTLE")["id"]})
	if o["status"] != "AWAITING_APPROVAL" || wkFen(o, "totals", "pendingApproval") != 68000+19600 || wkFen(o, "totals", "total") != 61160+16800 {
		t.Fatalf("waiting for approval: %v", o)
	}
	for _, code := range []string{"BRK-PAD-F", "WIPER"} {
		if it := wkItemBy(t, o, code); it["approval"] != "PENDING" || it["requestedAt"] == nil || it["seenByOwnerAt"] != nil || it["decidedAt"] != nil {
			t.Fatalf("pending item: %v", it)
		}
	}
	// Nobody moves it out by hand; the owner's decision does.
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "INVALID_TRANSITION")
	v.refused(t, v.foreman, "moveRepairOrder", wkMove(id, "IN_PROGRESS", ""), "INVALID_TRANSITION")

	// The owner is told, sees the car in the workshop, and opens the request.
	me := v.gql(t, car.OwnerToken, `{ me { unreadNotificationCount
		notifications(first: 20, unreadOnly: true) { edges { node { id kind title body link readAt } } }
		vehicles { edges { node { id activeRepairOrder { number status } } } } } }`, nil)
	approvals := 0
	for _, e := range dig(me, "me", "notifications", "edges").([]any) {
		if dig(e, "node", "kind") == "APPROVAL_NEEDED" {
			approvals++
			if dig(e, "node", "link") != id || dig(e, "node", "readAt") != nil || !strings.Contains(wkStr(dig(e, "node", "body")), number) {
				t.Fatalf("approval notification: %v", e)
			}
		}
	}
	if approvals == 0 || wkNum(dig(me, "me", "unreadNotificationCount")) < approvals {
		t.Fatalf("owner's inbox: %v", me)
	}
	if dig(me, "me", "vehicles", "edges", 0, "node", "activeRepairOrder", "number") != number ||
		dig(me, "me", "vehicles", "edges", 0, "node", "activeRepairOrder", "status") != "AWAITING_APPROVAL" {
		t.Fatalf("owner's car in the workshop: %v", me)
	}
	seen := v.order(t, car.OwnerToken, id)
	if seen == nil || seen["number"] != number || seen["status"] != "AWAITING_APPROVAL" {
		t.Fatalf("owner reads the order: %v", seen)
	}
	v.o = v.order(t, advisor, id)
	o = v.o
	for _, code := range []string{"BRK-PAD-F", "WIPER"} {
		if it := wkItemBy(t, o, code); it["seenByOwnerAt"] == nil || it["decidedAt"] != nil {
			t.Fatalf("staff do not see the owner opened the request: %v", it)
		}
	}
	if it := wkItemBy(t, o, "LAB-DIAG"); it["seenByOwnerAt"] != nil {
		t.Fatalf("an agreed item marked seen: %v", it)
	}

	// Another owner sees nothing of it and decides nothing; staff decide
	// nothing either.
	brake, wiper := wkItemBy(t, o, "BRK-PAD-F")["id"], wkItemBy(t, o, "WIPER")["id"]
	decide := v.decision(t)
	if v.order(t, other.OwnerToken, id) != nil {
		t.Fatal("another owner read the order")
	}
	if n := v.gql(t, other.OwnerToken, `query($id: ID!) { node(id: $id) { id ... on RepairOrder { number } } }`, map[string]any{"id": id}); n["node"] != nil {
		t.Fatalf("another owner read the order through node: %v", n)
	}
	v.denied(t, other.OwnerToken, "decideRepairItems", decide, "NOT_FOUND")
	v.denied(t, advisor, "decideRepairItems", decide, "FORBIDDEN")
	// Only pending items are decided.
	v.refused(t, car.OwnerToken, "decideRepairItems", map[string]any{"orderId": id, "decisions": []any{
		map[string]any{"itemId": wkItemBy(t, o, "LAB-DIAG")["id"], "approve": true}}}, "ITEM_NOT_PENDING")
	if o = v.order(t, advisor, id); o["status"] != "AWAITING_APPROVAL" || wkItemBy(t, o, "BRK-PAD-F")["approval"] != "PENDING" {
		t.Fatalf("refused decisions changed the order: %v", o)
	}

	// The owner approves the brakes and declines the wipers: the order
	// returns to diagnosis.
	o = v.ok(t, car.OwnerToken, "decideRepairItems", decide)
	if o["status"] != "DIAGNOSING" || wkItemBy(t, o, "BRK-PAD-F")["approval"] != "APPROVED" || wkItemBy(t, o, "WIPER")["approval"] != "DECLINED" ||
		wkItemBy(t, o, "WIPER")["decidedAt"] == nil || wkFen(o, "totals", "declined") != 19600 || wkFen(o, "totals", "pendingApproval") != 0 ||
		wkFen(o, "totals", "total") != 61160+16800+68000 {
		t.Fatalf("after the owner's decisions: %v", o)
	}
	v.refused(t, car.OwnerToken, "decideRepairItems", decide, "ITEM_NOT_PENDING")
	// Decided items stay, approved or declined.
	v.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": brake}, "ITEM_DECIDED")
	v.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wiper}, "ITEM_DECIDED")
}

// TestRepairOrderWork: agreed items start with the work, a started item
// cannot be removed, new work needs the owner; a failed quality check needs
// a reason; ready for pickup, but not delivered unsettled.
func TestRepairOrderWork(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "decide")
	id, advisor, tech1, foreman := v.id, v.advisor, v.tech1, v.foreman

	o := v.move(t, tech1, id, "IN_PROGRESS", "")
	for _, code := range []string{"LAB-DIAG", "OIL-0W20", "BRK-PAD-F"} {
		if wkItemBy(t, o, code)["workStarted"] != true {
			t.Fatalf("agreed item not started in progress: %v", wkItemBy(t, o, code))
		}
	}
	if wkItemBy(t, o, "WIPER")["workStarted"] != false {
		t.Fatalf("declined item started: %v", wkItemBy(t, o, "WIPER"))
	}
	v.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "LAB-DIAG")["id"]}, "ITEM_WORK_STARTED")
	// In the workshop, work is added only for the owner's approval.
	v.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "FLT-CABIN", "空调滤芯", 1, 16800, false), false), "NEEDS_APPROVAL")
	if it := wkItemBy(t, o, "FLT-AC"); it["approval"] != "PRE_APPROVED" || it["workStarted"] != true {
		t.Fatalf("item agreed at reception, in progress: %v", it)
	}
	v.refused(t, v.cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", 145960, "")), "WORK_NOT_FINISHED")

	// Quality check fails: a reason is required, and the car goes back.
	v.move(t, tech1, id, "QUALITY_CHECK", "")
	v.refused(t, tech1, "moveRepairOrder", wkMove(id, "IN_PROGRESS", ""), "REASON_REQUIRED")
	if o = v.move(t, tech1, id, "IN_PROGRESS", "刹车仍有异响，重新调整"); o["status"] != "IN_PROGRESS" {
		t.Fatalf("after failing quality check: %v", o)
	}
	v.move(t, tech1, id, "QUALITY_CHECK", "")
	v.move(t, foreman, id, "WASHING", "")
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "INVALID_TRANSITION")
	o = v.move(t, foreman, id, "READY_FOR_PICKUP", "")
	if o["status"] != "READY_FOR_PICKUP" || o["overdue"] != false {
		t.Fatalf("ready: %v", o)
	}

	// Delivery needs settlement; technicians do not hand cars over.
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "NOT_SETTLED")
	v.denied(t, tech1, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "FORBIDDEN")
}

// TestRepairOrderSettle: the payments must add up, the wallet must cover
// what it pays, a card needs its slip number; settled, the bill is fixed and
// a retry is answered with the order.
func TestRepairOrderSettle(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "work")
	id, cashier := v.id, v.cashier
	const payable = wkPayable
	v.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CARD", 140000, "POS778899"), wkPay("CASH", 5000, "")), "PAYMENTS_DO_NOT_ADD_UP")
	v.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", payable, "")), "INSUFFICIENT_BALANCE")
	v.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CARD", payable, "")), "INVALID_ARGUMENT")
	v.denied(t, v.staff(t, "cashier.gz01"), "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")), "NOT_FOUND")
	settle := v.settlement()
	today := wkToday()
	o := v.ok(t, cashier, "settleRepairOrder", settle)
	due := wkStr(dig(o, "nextServiceDue", "date"))
	if o["settledAt"] == nil || wkFen(o, "totals", "payable") != payable || wkFen(o, "totals", "paid") != payable ||
		len(o["payments"].([]any)) != 2 || dig(o, "nextServiceDue", "km") != float64(20000) ||
		(due != today.AddDate(0, 6, 0).String() && due != wkToday().AddDate(0, 6, 0).String()) {
		t.Fatalf("settled: %v", o)
	}
	pays := map[string]int{}
	for _, p := range o["payments"].([]any) {
		pays[wkStr(dig(p, "method"))] = wkNum(dig(p, "amount", "amountFen"))
		if dig(p, "method") == "CARD" && dig(p, "reference") != "POS778899" {
			t.Fatalf("card payment: %v", p)
		}
	}
	if pays["CARD"] != 140000 || pays["CASH"] != payable-140000 {
		t.Fatalf("payments: %v", o["payments"])
	}
	// A retry of the same settlement is answered with the order; anything
	// else is refused: the bill is fixed.
	if again := v.ok(t, cashier, "settleRepairOrder", settle); len(again["payments"].([]any)) != 2 {
		t.Fatalf("retried settlement: %v", again)
	}
	v.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")), "ALREADY_SETTLED")
	v.refused(t, v.advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 100, false), false), "ALREADY_SETTLED")
}

// wkCarDoc reads a car as its owner: the visit, the history, what is due
// and what was declined.
const wkCarDoc = `query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Vehicle {
	mileageKm activeRepairOrder { number }
	lastService { number } nextServiceDue { date km }
	recommendations { code description approval }
	serviceHistory(first: $first, after: $after) { totalCount
		edges { cursor node { number status mileageIn totals { payable { amountFen } declined { amountFen } }
			items { code approval } advisor { name } nextServiceDue { date km } } }
		pageInfo { hasNextPage endCursor } } } } }`

// TestRepairOrderDeliver: handed over, the order changes no more; its
// timeline has every move, who made it, and the QC failure's reason; the
// owner sees the car's visit, what is due and what was declined.
func TestRepairOrderDeliver(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "work")
	id, number, car, advisor := v.id, v.number, v.car, v.advisor
	wiper := wkItemBy(t, v.o, "WIPER")["id"]
	v.ok(t, v.cashier, "settleRepairOrder", v.settlement())

	o := v.move(t, advisor, id, "DELIVERED", "")
	if o["status"] != "DELIVERED" || o["deliveredAt"] == nil {
		t.Fatalf("delivered: %v", o)
	}
	// A closed order changes no more.
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "CANCELLED", "客户改主意"), "ORDER_CLOSED")
	v.refused(t, advisor, "moveRepairOrder", wkMove(id, "IN_PROGRESS", "返工"), "ORDER_CLOSED")
	v.refused(t, advisor, "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "ORDER_CLOSED")
	v.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 100, false), true), "ORDER_CLOSED")
	v.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wiper}, "ORDER_CLOSED")

	// The timeline has every move, who made it, and the QC failure's reason.
	o = v.order(t, car.OwnerToken, id)
	want := []string{
		">CHECKED_IN by 李明",
		"CHECKED_IN>DIAGNOSING by 陈志强",
		"DIAGNOSING>AWAITING_APPROVAL by 陈志强",
		"AWAITING_APPROVAL>DIAGNOSING by " + car.Owner.Name,
		"DIAGNOSING>IN_PROGRESS by 陈志强",
		"IN_PROGRESS>QUALITY_CHECK by 陈志强",
		"QUALITY_CHECK>IN_PROGRESS by 陈志强",
		"IN_PROGRESS>QUALITY_CHECK by 陈志强",
		"QUALITY_CHECK>WASHING by 王建国",
		"WASHING>READY_FOR_PICKUP by 王建国",
		"READY_FOR_PICKUP>DELIVERED by 李明",
	}
	if got := wkMoves(o); !slices.Equal(got, want) {
		t.Fatalf("timeline:\n got %q\nwant %q", got, want)
	}
	tl := o["timeline"].([]any)
	if dig(tl[6], "note") != "刹车仍有异响，重新调整" {
		t.Fatalf("QC failure note: %v", tl[6])
	}
	for i := 1; i < len(tl); i++ {
		if e2eTime(t, dig(tl[i], "at")).Before(e2eTime(t, dig(tl[i-1], "at"))) {
			t.Fatalf("timeline not in time order: %v", tl)
		}
	}

	// The owner's view of the car after the visit.
	c := v.gql(t, car.OwnerToken, wkCarDoc, map[string]any{"id": car.ID, "first": 5})["node"].(map[string]any)
	if c["activeRepairOrder"] != nil || dig(c, "lastService", "number") != number ||
		dig(c, "nextServiceDue", "km") != float64(20000) || dig(c, "nextServiceDue", "date") != dig(o, "nextServiceDue", "date") ||
		wkNum(dig(c, "serviceHistory", "totalCount")) != 1 || dig(c, "serviceHistory", "edges", 0, "node", "number") != number ||
		dig(c, "serviceHistory", "edges", 0, "node", "advisor", "name") != "李明" ||
		wkNum(dig(c, "serviceHistory", "edges", 0, "node", "totals", "declined", "amountFen")) != 19600 {
		t.Fatalf("car after its visit: %v", c)
	}
	recs, _ := c["recommendations"].([]any)
	if len(recs) != 1 || dig(recs[0], "code") != "WIPER" || dig(recs[0], "approval") != "DECLINED" {
		t.Fatalf("recommendations: %v", recs)
	}
}

// TestRepairOrderWarrantyVisit: a second visit under warranty only, checked
// in by VIN, is delivered without settlement; the odometer never runs back;
// the car's history lists both visits, newest first, paged.
func TestRepairOrderWarrantyVisit(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "deliver")
	car, advisor := v.car, v.advisor
	_, id2, number2 := v.warrantyVisit(t)
	o2 := v.wkDrive(t, advisor, id2, "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP", "DELIVERED")
	if o2["status"] != "DELIVERED" || o2["settledAt"] != nil || len(o2["payments"].([]any)) != 0 || wkFen(o2, "totals", "payable") != 0 {
		t.Fatalf("warranty order delivered: %v", o2)
	}
	// The odometer never runs back.
	p := v.refused(t, advisor, "openRepairOrder", wkOpenInput(v.sz, car.Plate, 15099, "MAINTENANCE", nil), "MILEAGE_DECREASED")
	if !slices.Equal(e2eStrings(dig(p, "userErrors", 0, "field")), []string{"input", "mileageIn"}) {
		t.Fatalf("MILEAGE_DECREASED field: %v", p)
	}

	// History: newest first, paged.
	h1 := v.gql(t, car.OwnerToken, wkCarDoc, map[string]any{"id": car.ID, "first": 1})["node"].(map[string]any)
	if wkNum(dig(h1, "serviceHistory", "totalCount")) != 2 || dig(h1, "serviceHistory", "edges", 0, "node", "number") != number2 ||
		dig(h1, "serviceHistory", "pageInfo", "hasNextPage") != true || dig(h1, "lastService", "number") != number2 || h1["activeRepairOrder"] != nil {
		t.Fatalf("history page 1: %v", h1)
	}
	h2 := v.gql(t, car.OwnerToken, wkCarDoc, map[string]any{"id": car.ID, "first": 1,
		"after": dig(h1, "serviceHistory", "pageInfo", "endCursor")})["node"].(map[string]any)
	if edges, _ := dig(h2, "serviceHistory", "edges").([]any); len(edges) != 1 || dig(edges[0], "node", "number") != v.number ||
		dig(h2, "serviceHistory", "pageInfo", "hasNextPage") != false {
		t.Fatalf("history page 2: %v", h2)
	}
	if recs, _ := h2["recommendations"].([]any); len(recs) != 1 || dig(recs[0], "code") != "WIPER" {
		t.Fatalf("recommendations after another visit: %v", recs)
	}
}

// TestRepairOrderInbox: after two visits the owner was asked to approve and
// told the car was ready once per visit; marking read one by id (another
// owner's marks are ignored), then all.
func TestRepairOrderInbox(t *testing.T) {
	t.Parallel()
	v := newVisit(t)
	v.through(t, "deliver")
	car, other, id := v.car, v.other, v.id
	_, id2, _ := v.warrantyVisit(t)
	v.wkDrive(t, v.advisor, id2, "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP", "DELIVERED")

	const inboxDoc = `query($unread: Boolean) { me { unreadNotificationCount
		notifications(first: 50, unreadOnly: $unread) { edges { node { id kind link readAt } } } } }`
	in := v.gql(t, car.OwnerToken, inboxDoc, nil)
	ready := map[string]int{}
	var approvalIDs []any
	for _, e := range dig(in, "me", "notifications", "edges").([]any) {
		switch dig(e, "node", "kind") {
		case "READY_FOR_PICKUP":
			ready[wkStr(dig(e, "node", "link"))]++
		case "APPROVAL_NEEDED":
			approvalIDs = append(approvalIDs, dig(e, "node", "id"))
		}
	}
	unread := wkNum(dig(in, "me", "unreadNotificationCount"))
	if ready[id] != 1 || ready[id2] != 1 || len(approvalIDs) == 0 || unread != len(dig(in, "me", "notifications", "edges").([]any)) {
		t.Fatalf("inbox: %v", in)
	}
	// Marking: one by id; another owner's ids are ignored; then all.
	mark := `mutation($in: MarkNotificationsReadInput!) { markNotificationsRead(input: $in) { unreadCount userErrors { code } } }`
	r := v.gql(t, car.OwnerToken, mark, map[string]any{"in": map[string]any{"ids": approvalIDs[:1]}})
	if wkNum(dig(r, "markNotificationsRead", "unreadCount")) != unread-1 {
		t.Fatalf("after marking one read: %v (was %d)", r, unread)
	}
	v.gql(t, other.OwnerToken, mark, map[string]any{"in": map[string]any{"ids": approvalIDs}})
	if n := wkNum(dig(v.gql(t, car.OwnerToken, inboxDoc, nil), "me", "unreadNotificationCount")); n != unread-1 {
		t.Fatalf("another owner marked this owner's notifications: %d unread, want %d", n, unread-1)
	}
	r = v.gql(t, car.OwnerToken, mark, map[string]any{"in": map[string]any{"all": true}})
	after := v.gql(t, car.OwnerToken, inboxDoc, map[string]any{"unread": true})
	if wkNum(dig(r, "markNotificationsRead", "unreadCount")) != 0 || wkNum(dig(after, "me", "unreadNotificationCount")) != 0 ||
		len(dig(after, "me", "notifications", "edges").([]any)) != 0 {
		t.Fatalf("after marking all read: %v / %v", r, after)
	}
}

package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// End-to-end tests of the workshop through
// the real server: repair orders opened, assigned, moved, approved by their
// owner, settled and delivered over GraphQL; every refusal with its code;
// who may act on which order; concurrent moves and check-ins; the owner's
// inbox and service history; and statement counts of the owner's home
// screen.

// wkOrderFields is everything a RepairOrder shows.
const wkOrderFields = `id number status kind concern mileageIn version bay promisedAt overdue minutesInStatus
	store { code } vehicle { id plate vin mileageKm }
	advisor { id name } technician { id name }
	items { id kind code description quantity unitPrice { amountFen } amount { amountFen } warrantyCovered
		approval requestedAt seenByOwnerAt decidedAt workStarted }
	totals { total { amountFen } warrantyCovered { amountFen } payable { amountFen } paid { amountFen }
		pendingApproval { amountFen } declined { amountFen } }
	payments { method amount { amountFen } points reference at }
	timeline { from to note actorName at }
	settledAt deliveredAt openedAt statusChangedAt cancelReason firstFreeMaintenance nextServiceDue { date km }`

const wkOrderQuery = `query($id: ID!) { repairOrder(id: $id) { ` + wkOrderFields + ` } }`

// wkNumber is the shape of an order's readable number.
var wkNumber = regexp.MustCompile(`^(SZ01|GZ01)-(\d{8})-(\d{3,})$`)

// wkFixture is a test server for workshop tests, with staff tokens at hand
// and room in the rate limits for a whole working day in one test.
type wkFixture struct {
	*testServer
	sz, gz string // store global ids

	mu     sync.Mutex
	tokens map[string]string // staff username -> access token
}

func newWorkshop(t *testing.T, tweak ...func(*Config, *Deps)) *wkFixture {
	t.Helper()
	roomy := func(c *Config, _ *Deps) {
		c.RateLimits = RateLimits{IPRate: 100_000, IPBurst: 100_000, UserRate: 100_000, UserBurst: 100_000}
	}
	s := newTestServer(t, append([]func(*Config, *Deps){roomy}, tweak...)...)
	return &wkFixture{testServer: s, sz: e2eStoreNodeID(t, s, "SZ01"), gz: e2eStoreNodeID(t, s, "GZ01"), tokens: map[string]string{}}
}

// staff is a demo staff member's access token.
func (f *wkFixture) staff(t testing.TB, username string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if tok, ok := f.tokens[username]; ok {
		return tok
	}
	tok := e2eStaffToken(t, f.testServer, username)
	f.tokens[username] = tok
	return tok
}

// staffID is a staff member's global id, as staffMe gives it.
func (f *wkFixture) staffID(t testing.TB, username string) string {
	t.Helper()
	id, _ := dig(f.gql(t, f.staff(t, username), `{ staffMe { id } }`, nil), "staffMe", "id").(string)
	if id == "" {
		t.Fatalf("no staffMe id for %s", username)
	}
	return id
}

// wkCar is a customer's car made for one test.
type wkCar struct {
	ID, VIN, Plate string // ID: the vehicle's global id
	Owner          *models.Owner
	OwnerToken     string
}

// newCar registers a car with a fresh VIN and plate through registerVehicle,
// for the owner with phone (a new owner when phone is "").
func (f *wkFixture) newCar(t testing.TB, phone string) wkCar {
	t.Helper()
	in := e2eRegistration(t)
	if phone != "" {
		in["ownerPhone"] = phone
	}
	p := e2eRegister(t, f.testServer, f.staff(t, "advisor.sz01"), in)
	o := f.ownerByPhone(t, in["ownerPhone"].(string))
	return wkCar{ID: dig(p, "vehicle", "id").(string), VIN: in["vin"].(string), Plate: in["plate"].(string),
		Owner: o, OwnerToken: f.ownerToken(t, o.ID)}
}

// quickCar inserts a new owner's car directly (1,000 km), for tests that
// need many cars and are not about registering them.
func (f *wkFixture) quickCar(t testing.TB, store string) wkCar {
	t.Helper()
	o := e2eInsertOwner(t, f.testServer, "钱多多", store)
	v := e2eInsertVehicle(t, f.testServer, o.ID, store)
	return wkCar{ID: e2eGlobalID("Vehicle", v.ID), VIN: v.VIN, Plate: *v.Plate, Owner: o, OwnerToken: f.ownerToken(t, o.ID)}
}

// call sends a workshop mutation (field's input type is <Field>Input) and
// selects the order and the userErrors.
func (f *wkFixture) call(t testing.TB, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc := fmt.Sprintf(`mutation($in: %sInput!) { %s(input: $in) { repairOrder { %s } userErrors { code field message } } }`,
		strings.ToUpper(field[:1])+field[1:], field, wkOrderFields)
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// ok runs a mutation that must be accepted and returns the order.
func (f *wkFixture) ok(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	o, _ := p["repairOrder"].(map[string]any)
	if codes := userErrorCodes(p); len(codes) != 0 || o == nil {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return o
}

// refused runs a mutation that must be refused with code as a userError,
// returning no order.
func (f *wkFixture) refused(t testing.TB, token, field string, input map[string]any, code string) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	expectUserError(t, p, code)
	if p["repairOrder"] != nil {
		t.Fatalf("%s refused with %s but returned an order: %v", field, code, p)
	}
	if m, _ := dig(p, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("%s: userError %s without a message", field, code)
	}
	return p
}

// denied runs a mutation the API must deny with a GraphQL error code (who
// may act, what exists), with no data.
func (f *wkFixture) denied(t testing.TB, token, field string, input map[string]any, code string) {
	t.Helper()
	r := f.call(t, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Data)
	}
}

// order reads repairOrder(id) as token's holder; nil when not visible.
func (f *wkFixture) order(t testing.TB, token, id string) map[string]any {
	t.Helper()
	o, _ := f.gql(t, token, wkOrderQuery, map[string]any{"id": id})["repairOrder"].(map[string]any)
	return o
}

// open checks a car in at a store with optional extra input fields.
func (f *wkFixture) open(t testing.TB, token, store, vehicle string, mileage int, kind string, extra map[string]any, items ...map[string]any) map[string]any {
	t.Helper()
	return f.ok(t, token, "openRepairOrder", wkOpenInput(store, vehicle, mileage, kind, extra, items...))
}

func wkOpenInput(store, vehicle string, mileage int, kind string, extra map[string]any, items ...map[string]any) map[string]any {
	in := map[string]any{"storeId": store, "vehicle": vehicle, "mileageIn": mileage, "kind": kind}
	if len(items) > 0 {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		in["items"] = list
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// move moves an order, which must be accepted.
func (f *wkFixture) move(t testing.TB, token, id, to, note string) map[string]any {
	t.Helper()
	return f.ok(t, token, "moveRepairOrder", wkMove(id, to, note))
}

func wkMove(id, to, note string) map[string]any {
	in := map[string]any{"orderId": id, "to": to}
	if note != "" {
		in["note"] = note
	}
	return in
}

func wkItem(kind, code, description string, qty float64, unitPriceFen int, warranty bool) map[string]any {
	return map[string]any{"kind": kind, "code": code, "description": description, "quantity": qty,
		"unitPriceFen": unitPriceFen, "warrantyCovered": warranty}
}

func wkAdd(id string, item map[string]any, needsApproval bool) map[string]any {
	return map[string]any{"orderId": id, "item": item, "needsApproval": needsApproval}
}

func wkPay(method string, fen int, ref string) map[string]any {
	p := map[string]any{"method": method, "amountFen": fen}
	if ref != "" {
		p["reference"] = ref
	}
	return p
}

// wkSettle is a settlement input with the given payments.
func wkSettle(id string, payments ...map[string]any) map[string]any {
	list := make([]any, len(payments))
	for i, p := range payments {
		list[i] = p
	}
	return map[string]any{"orderId": id, "payments": list}
}

// wkNum reads a JSON number as an int (-1 when it is not one).
func wkNum(v any) int {
	if n, ok := v.(float64); ok {
		return int(n)
	}
	return -1
}

func wkStr(v any) string { s, _ := v.(string); return s }

// wkFen reads a Money field's amountFen.
func wkFen(o map[string]any, path ...any) int { return wkNum(dig(dig(o, path...), "amountFen")) }

// wkItemBy finds an order's item by code.
func wkItemBy(t testing.TB, o map[string]any, code string) map[string]any {
	t.Helper()
	items, _ := o["items"].([]any)
	for _, it := range items {
		if dig(it, "code") == code {
			return it.(map[string]any)
		}
	}
	t.Fatalf("order %v has no item %s: %v", o["number"], code, items)
	return nil
}

// wkStoreDay is today in the stores' zone, as order numbers write it.
func wkStoreDay() string {
	return time.Now().In(models.ChinaTime).Format("20060102")
}

// wkToday is today's date in the stores' zone.
func wkToday() models.Date {
	return testdb.Today()
}

// wkCheckNumber checks an order number's format, store and day.
func wkCheckNumber(t testing.TB, number, store string, days ...string) {
	t.Helper()
	m := wkNumber.FindStringSubmatch(number)
	if m == nil || m[1] != store || !slices.Contains(days, m[2]) {
		t.Fatalf("order number %q: want %s-<one of %v>-NNN", number, store, days)
	}
}

// wkMoves is an order's timeline as "FROM>TO by ACTOR" lines.
func wkMoves(o map[string]any) []string {
	var out []string
	list, _ := o["timeline"].([]any)
	for _, e := range list {
		from, _ := dig(e, "from").(string)
		out = append(out, fmt.Sprintf("%s>%s by %s", from, dig(e, "to"), wkStr(dig(e, "actorName"))))
	}
	return out
}

// wkDrive moves an order through the given statuses as token's holder.
func (f *wkFixture) wkDrive(t testing.TB, token, id string, to ...string) map[string]any {
	t.Helper()
	var o map[string]any
	for _, st := range to {
		o = f.move(t, token, id, st, "")
	}
	return o
}

// The whole working day of one car: check-in by plate, dispatch, diagnosis,
// extra work the owner approves and declines, work, a failed quality check,
// wash, pickup, settlement and delivery; then the car's history as its
// owner sees it and the owner's inbox. Every refusal met on the way is
// asserted with its code and changes nothing.
func TestRepairOrderLifecycle(t *testing.T) {
	f := newWorkshop(t)
	advisor, foreman := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01")
	tech1, tech2 := f.staff(t, "technician1.sz01"), f.staff(t, "technician2.sz01")
	cashier := f.staff(t, "cashier.sz01")
	car := f.newCar(t, "")
	other := f.newCar(t, "") // another owner, with a car of their own
	tech1ID := f.staffID(t, "technician1.sz01")

	// Check-in by plate, typed as printed (粤B·12345).
	day := wkStoreDay()
	promised := time.Now().Add(4 * time.Hour).UTC().Truncate(time.Second)
	o := f.open(t, advisor, f.sz, e2eSpaced(car.Plate, "·"), 15000, "REPAIR",
		map[string]any{"concern": "刹车时有异响", "promisedAt": promised.Format(time.RFC3339)},
		wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false),
		wkItem("PART", "OIL-0W20", "原厂全合成机油 0W-20", 4.2, 9800, false),
		wkItem("PART", "FLT-AIR", "空气滤清器", 1, 12800, false))
	id, number := wkStr(o["id"]), wkStr(o["number"])
	wkCheckNumber(t, number, "SZ01", day, wkStoreDay())
	if o["status"] != "CHECKED_IN" || o["kind"] != "REPAIR" || o["concern"] != "刹车时有异响" || wkNum(o["mileageIn"]) != 15000 ||
		wkNum(o["version"]) != 1 || dig(o, "store", "code") != "SZ01" || dig(o, "vehicle", "id") != car.ID ||
		dig(o, "advisor", "name") != "李明" || o["technician"] != nil || o["bay"] != nil || o["overdue"] != false ||
		!e2eTime(t, o["promisedAt"]).Equal(promised) || o["settledAt"] != nil || o["deliveredAt"] != nil {
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
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "WASHING", ""), "INVALID_TRANSITION")
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "AWAITING_APPROVAL", ""), "INVALID_TRANSITION")
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "INVALID_TRANSITION")
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "CANCELLED", "  "), "REASON_REQUIRED")
	f.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true), "INVALID_TRANSITION")
	f.refused(t, advisor, "settleRepairOrder", wkSettle(id, wkPay("CASH", 74000, "")), "WORK_NOT_FINISHED")
	f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, car.VIN, 15000, "MAINTENANCE", nil), "VEHICLE_IN_WORKSHOP")
	f.refused(t, f.staff(t, "advisor.gz01"), "openRepairOrder", wkOpenInput(f.gz, car.Plate, 15000, "MAINTENANCE", nil), "VEHICLE_IN_WORKSHOP")
	// A car that is not registered, and input that is no car at all.
	f.denied(t, advisor, "openRepairOrder", wkOpenInput(f.sz, e2eVIN(t), 100, "REPAIR", nil), "NOT_FOUND")
	f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, "no such car", 100, "REPAIR", nil), "INVALID_ARGUMENT")
	// A technician acts on their own jobs only: nobody's job is theirs yet.
	f.refused(t, tech1, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_YOUR_JOB")

	// An item agreed at reception and not started can be removed.
	o = f.ok(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "FLT-AIR")["id"]})
	if items, _ := o["items"].([]any); len(items) != 2 || wkNum(o["version"]) != 2 {
		t.Fatalf("after removing an item: %v", o)
	}
	// Still at reception: more agreed work may be added.
	f.ok(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "FLT-AC", "空调滤芯", 1, 16800, false), false))

	// Dispatch: technician and bay. Only a technician of the store.
	f.refused(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": f.staffID(t, "advisor.sz01")}, "INVALID_ARGUMENT")
	f.refused(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": f.staffID(t, "technician1.gz01")}, "INVALID_ARGUMENT")
	o = f.ok(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": tech1ID, "bay": "3号工位"})
	if dig(o, "technician", "id") != tech1ID || dig(o, "technician", "name") != "陈志强" || o["bay"] != "3号工位" {
		t.Fatalf("after assignment: %v", o)
	}
	version := wkNum(o["version"])

	// Who may move it: not the other technician, not the cashier, not staff
	// of another store, not an owner.
	f.refused(t, tech2, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_YOUR_JOB")
	f.denied(t, cashier, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "FORBIDDEN")
	f.denied(t, f.staff(t, "advisor.gz01"), "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "NOT_FOUND")
	f.denied(t, f.staff(t, "foreman.gz01"), "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "NOT_FOUND")
	f.denied(t, f.staff(t, "advisor.gz01"), "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 1, false), false), "NOT_FOUND")
	if f.order(t, f.staff(t, "advisor.gz01"), id) != nil {
		t.Fatal("staff of GZ01 read an SZ01 order")
	}
	for _, tok := range []string{car.OwnerToken, other.OwnerToken} {
		f.denied(t, tok, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "FORBIDDEN")
		f.denied(t, tok, "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "FORBIDDEN")
		f.denied(t, tok, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 1, false), false), "FORBIDDEN")
		f.denied(t, tok, "settleRepairOrder", wkSettle(id, wkPay("CASH", 1, "")), "FORBIDDEN")
		f.denied(t, tok, "openRepairOrder", wkOpenInput(f.sz, car.Plate, 15000, "REPAIR", nil), "FORBIDDEN")
	}
	// A stale view is refused.
	stale := wkMove(id, "DIAGNOSING", "")
	stale["expectedVersion"] = version - 1
	f.refused(t, tech1, "moveRepairOrder", stale, "CONFLICT")
	if o = f.order(t, advisor, id); o["status"] != "CHECKED_IN" || wkNum(o["version"]) != version {
		t.Fatalf("refusals changed the order: %v", o)
	}

	// The technician starts diagnosing their job.
	fresh := wkMove(id, "DIAGNOSING", "")
	fresh["expectedVersion"] = version
	o = f.ok(t, tech1, "moveRepairOrder", fresh)
	if o["status"] != "DIAGNOSING" || wkNum(o["version"]) != version+1 {
		t.Fatalf("after diagnosing: %v", o)
	}

	// Extra work found: the owner must approve. A technician cannot bill
	// work the owner did not agree to.
	f.refused(t, tech2, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true), "NOT_YOUR_JOB")
	f.denied(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), false), "FORBIDDEN")
	o = f.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "BRK-PAD-F", "前刹车片更换（含工时）", 1, 68000, false), true))
	if o["status"] != "AWAITING_APPROVAL" {
		t.Fatalf("after asking for approval: %v", o)
	}
	f.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("PART", "WIPER", "雨刮片（对）", 1, 19600, false), true))
	o = f.ok(t, tech1, "addRepairOrderItem", wkAdd(id, wkItem("LABOR", "LAB-THROTTLE", "节气门清洗", 1, 26800, false), true))
	// One request withdrawn: the order keeps waiting for the other two.
	o = f.ok(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "LAB-THROTTLE")["id"]})
	if o["status"] != "AWAITING_APPROVAL" || wkFen(o, "totals", "pendingApproval") != 68000+19600 || wkFen(o, "totals", "total") != 61160+16800 {
		t.Fatalf("waiting for approval: %v", o)
	}
	for _, code := range []string{"BRK-PAD-F", "WIPER"} {
		if it := wkItemBy(t, o, code); it["approval"] != "PENDING" || it["requestedAt"] == nil || it["seenByOwnerAt"] != nil || it["decidedAt"] != nil {
			t.Fatalf("pending item: %v", it)
		}
	}
	// Nobody moves it out by hand; the owner's decision does.
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "DIAGNOSING", ""), "INVALID_TRANSITION")
	f.refused(t, foreman, "moveRepairOrder", wkMove(id, "IN_PROGRESS", ""), "INVALID_TRANSITION")

	// The owner is told, sees the car in the workshop, and opens the request.
	me := f.gql(t, car.OwnerToken, `{ me { unreadNotificationCount
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
	seen := f.order(t, car.OwnerToken, id)
	if seen == nil || seen["number"] != number || seen["status"] != "AWAITING_APPROVAL" {
		t.Fatalf("owner reads the order: %v", seen)
	}
	o = f.order(t, advisor, id)
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
	decide := map[string]any{"orderId": id, "decisions": []any{
		map[string]any{"itemId": brake, "approve": true}, map[string]any{"itemId": wiper, "approve": false}}}
	if f.order(t, other.OwnerToken, id) != nil {
		t.Fatal("another owner read the order")
	}
	if n := f.gql(t, other.OwnerToken, `query($id: ID!) { node(id: $id) { id ... on RepairOrder { number } } }`, map[string]any{"id": id}); n["node"] != nil {
		t.Fatalf("another owner read the order through node: %v", n)
	}
	f.denied(t, other.OwnerToken, "decideRepairItems", decide, "NOT_FOUND")
	f.denied(t, advisor, "decideRepairItems", decide, "FORBIDDEN")
	// Only pending items are decided.
	f.refused(t, car.OwnerToken, "decideRepairItems", map[string]any{"orderId": id, "decisions": []any{
		map[string]any{"itemId": wkItemBy(t, o, "LAB-DIAG")["id"], "approve": true}}}, "ITEM_NOT_PENDING")
	if o = f.order(t, advisor, id); o["status"] != "AWAITING_APPROVAL" || wkItemBy(t, o, "BRK-PAD-F")["approval"] != "PENDING" {
		t.Fatalf("refused decisions changed the order: %v", o)
	}

	// The owner approves the brakes and declines the wipers: the order
	// returns to diagnosis.
	o = f.ok(t, car.OwnerToken, "decideRepairItems", decide)
	if o["status"] != "DIAGNOSING" || wkItemBy(t, o, "BRK-PAD-F")["approval"] != "APPROVED" || wkItemBy(t, o, "WIPER")["approval"] != "DECLINED" ||
		wkItemBy(t, o, "WIPER")["decidedAt"] == nil || wkFen(o, "totals", "declined") != 19600 || wkFen(o, "totals", "pendingApproval") != 0 ||
		wkFen(o, "totals", "total") != 61160+16800+68000 {
		t.Fatalf("after the owner's decisions: %v", o)
	}
	f.refused(t, car.OwnerToken, "decideRepairItems", decide, "ITEM_NOT_PENDING")
	// Decided items stay, approved or declined.
	f.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": brake}, "ITEM_DECIDED")
	f.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wiper}, "ITEM_DECIDED")

	// Work: agreed items start; a started item cannot be removed; an item
	// agreed now starts at once.
	o = f.move(t, tech1, id, "IN_PROGRESS", "")
	for _, code := range []string{"LAB-DIAG", "OIL-0W20", "BRK-PAD-F"} {
		if wkItemBy(t, o, code)["workStarted"] != true {
			t.Fatalf("agreed item not started in progress: %v", wkItemBy(t, o, code))
		}
	}
	if wkItemBy(t, o, "WIPER")["workStarted"] != false {
		t.Fatalf("declined item started: %v", wkItemBy(t, o, "WIPER"))
	}
	f.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wkItemBy(t, o, "LAB-DIAG")["id"]}, "ITEM_WORK_STARTED")
	// In the workshop, work is added only for the owner's approval.
	f.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "FLT-CABIN", "空调滤芯", 1, 16800, false), false), "NEEDS_APPROVAL")
	if it := wkItemBy(t, o, "FLT-AC"); it["approval"] != "PRE_APPROVED" || it["workStarted"] != true {
		t.Fatalf("item agreed at reception, in progress: %v", it)
	}
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", 145960, "")), "WORK_NOT_FINISHED")

	// Quality check fails: a reason is required, and the car goes back.
	f.move(t, tech1, id, "QUALITY_CHECK", "")
	f.refused(t, tech1, "moveRepairOrder", wkMove(id, "IN_PROGRESS", ""), "REASON_REQUIRED")
	if o = f.move(t, tech1, id, "IN_PROGRESS", "刹车仍有异响，重新调整"); o["status"] != "IN_PROGRESS" {
		t.Fatalf("after failing quality check: %v", o)
	}
	f.move(t, tech1, id, "QUALITY_CHECK", "")
	f.move(t, foreman, id, "WASHING", "")
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "INVALID_TRANSITION")
	o = f.move(t, foreman, id, "READY_FOR_PICKUP", "")
	if o["status"] != "READY_FOR_PICKUP" || o["overdue"] != false {
		t.Fatalf("ready: %v", o)
	}

	// Delivery needs settlement; technicians do not hand cars over.
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "NOT_SETTLED")
	f.denied(t, tech1, "moveRepairOrder", wkMove(id, "DELIVERED", ""), "FORBIDDEN")

	// Settlement: the payments must add up; the wallet must cover what it
	// pays; a card needs its slip number.
	const payable = 20000 + 41160 + 68000 + 16800
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CARD", 140000, "POS778899"), wkPay("CASH", 5000, "")), "PAYMENTS_DO_NOT_ADD_UP")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", payable, "")), "INSUFFICIENT_BALANCE")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CARD", payable, "")), "INVALID_ARGUMENT")
	f.denied(t, f.staff(t, "cashier.gz01"), "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")), "NOT_FOUND")
	settle := wkSettle(id, wkPay("CARD", 140000, "POS778899"), wkPay("CASH", payable-140000, ""))
	settle["idempotencyKey"] = "settle-" + number
	today := wkToday()
	o = f.ok(t, cashier, "settleRepairOrder", settle)
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
	if again := f.ok(t, cashier, "settleRepairOrder", settle); len(again["payments"].([]any)) != 2 {
		t.Fatalf("retried settlement: %v", again)
	}
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")), "ALREADY_SETTLED")
	f.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 100, false), false), "ALREADY_SETTLED")

	// Handed over.
	o = f.move(t, advisor, id, "DELIVERED", "")
	if o["status"] != "DELIVERED" || o["deliveredAt"] == nil {
		t.Fatalf("delivered: %v", o)
	}
	// A closed order changes no more.
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "CANCELLED", "客户改主意"), "ORDER_CLOSED")
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "IN_PROGRESS", "返工"), "ORDER_CLOSED")
	f.refused(t, advisor, "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "ORDER_CLOSED")
	f.refused(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "X", "x", 1, 100, false), true), "ORDER_CLOSED")
	f.refused(t, advisor, "removeRepairOrderItem", map[string]any{"itemId": wiper}, "ORDER_CLOSED")

	// The timeline has every move, who made it, and the QC failure's reason.
	o = f.order(t, car.OwnerToken, id)
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
	const carDoc = `query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Vehicle {
		mileageKm activeRepairOrder { number }
		lastService { number } nextServiceDue { date km }
		recommendations { code description approval }
		serviceHistory(first: $first, after: $after) { totalCount
			edges { cursor node { number status mileageIn totals { payable { amountFen } declined { amountFen } }
				items { code approval } advisor { name } nextServiceDue { date km } } }
			pageInfo { hasNextPage endCursor } } } } }`
	v := f.gql(t, car.OwnerToken, carDoc, map[string]any{"id": car.ID, "first": 5})["node"].(map[string]any)
	if v["activeRepairOrder"] != nil || dig(v, "lastService", "number") != number ||
		dig(v, "nextServiceDue", "km") != float64(20000) || dig(v, "nextServiceDue", "date") != dig(o, "nextServiceDue", "date") ||
		wkNum(dig(v, "serviceHistory", "totalCount")) != 1 || dig(v, "serviceHistory", "edges", 0, "node", "number") != number ||
		dig(v, "serviceHistory", "edges", 0, "node", "advisor", "name") != "李明" ||
		wkNum(dig(v, "serviceHistory", "edges", 0, "node", "totals", "declined", "amountFen")) != 19600 {
		t.Fatalf("car after its visit: %v", v)
	}
	recs, _ := v["recommendations"].([]any)
	if len(recs) != 1 || dig(recs[0], "code") != "WIPER" || dig(recs[0], "approval") != "DECLINED" {
		t.Fatalf("recommendations: %v", recs)
	}

	// A second visit, under warranty only, checked in by VIN: delivered
	// without settlement, nothing to pay.
	o2 := f.open(t, advisor, f.sz, strings.ToLower(car.VIN), 15100, "WARRANTY", nil,
		wkItem("PART", "HU-DISPLAY", "中控显示屏总成", 1, 352000, true),
		wkItem("LABOR", "LAB-HU", "中控屏拆装工时", 1.5, 18000, true))
	id2, number2 := wkStr(o2["id"]), wkStr(o2["number"])
	wkCheckNumber(t, number2, "SZ01", day, wkStoreDay())
	if number2 == number || dig(o2, "vehicle", "mileageKm") != float64(15100) || wkFen(o2, "totals", "payable") != 0 ||
		wkFen(o2, "totals", "warrantyCovered") != 352000+27000 {
		t.Fatalf("warranty order: %v", o2)
	}
	o2 = f.wkDrive(t, advisor, id2, "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP", "DELIVERED")
	if o2["status"] != "DELIVERED" || o2["settledAt"] != nil || len(o2["payments"].([]any)) != 0 || wkFen(o2, "totals", "payable") != 0 {
		t.Fatalf("warranty order delivered: %v", o2)
	}
	// The odometer never runs back.
	p := f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, car.Plate, 15099, "MAINTENANCE", nil), "MILEAGE_DECREASED")
	if !slices.Equal(e2eStrings(dig(p, "userErrors", 0, "field")), []string{"input", "mileageIn"}) {
		t.Fatalf("MILEAGE_DECREASED field: %v", p)
	}

	// History: newest first, paged.
	h1 := f.gql(t, car.OwnerToken, carDoc, map[string]any{"id": car.ID, "first": 1})["node"].(map[string]any)
	if wkNum(dig(h1, "serviceHistory", "totalCount")) != 2 || dig(h1, "serviceHistory", "edges", 0, "node", "number") != number2 ||
		dig(h1, "serviceHistory", "pageInfo", "hasNextPage") != true || dig(h1, "lastService", "number") != number2 || h1["activeRepairOrder"] != nil {
		t.Fatalf("history page 1: %v", h1)
	}
	h2 := f.gql(t, car.OwnerToken, carDoc, map[string]any{"id": car.ID, "first": 1,
		"after": dig(h1, "serviceHistory", "pageInfo", "endCursor")})["node"].(map[string]any)
	if edges, _ := dig(h2, "serviceHistory", "edges").([]any); len(edges) != 1 || dig(edges[0], "node", "number") != number ||
		dig(h2, "serviceHistory", "pageInfo", "hasNextPage") != false {
		t.Fatalf("history page 2: %v", h2)
	}
	if recs, _ := h2["recommendations"].([]any); len(recs) != 1 || dig(recs[0], "code") != "WIPER" {
		t.Fatalf("recommendations after another visit: %v", recs)
	}

	// The inbox: asked to approve, told the car was ready (once per visit).
	const inboxDoc = `query($unread: Boolean) { me { unreadNotificationCount
		notifications(first: 50, unreadOnly: $unread) { edges { node { id kind link readAt } } } } }`
	in := f.gql(t, car.OwnerToken, inboxDoc, nil)
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
	r := f.gql(t, car.OwnerToken, mark, map[string]any{"in": map[string]any{"ids": approvalIDs[:1]}})
	if wkNum(dig(r, "markNotificationsRead", "unreadCount")) != unread-1 {
		t.Fatalf("after marking one read: %v (was %d)", r, unread)
	}
	f.gql(t, other.OwnerToken, mark, map[string]any{"in": map[string]any{"ids": approvalIDs}})
	if n := wkNum(dig(f.gql(t, car.OwnerToken, inboxDoc, nil), "me", "unreadNotificationCount")); n != unread-1 {
		t.Fatalf("another owner marked this owner's notifications: %d unread, want %d", n, unread-1)
	}
	r = f.gql(t, car.OwnerToken, mark, map[string]any{"in": map[string]any{"all": true}})
	after := f.gql(t, car.OwnerToken, inboxDoc, map[string]any{"unread": true})
	if wkNum(dig(r, "markNotificationsRead", "unreadCount")) != 0 || wkNum(dig(after, "me", "unreadNotificationCount")) != 0 ||
		len(dig(after, "me", "notifications", "edges").([]any)) != 0 {
		t.Fatalf("after marking all read: %v / %v", r, after)
	}
}

// Cancellation needs a reason, keeps it, frees the car for a new check-in,
// and leaves no history.
func TestRepairOrderCancel(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	o := f.open(t, advisor, f.sz, car.Plate, 100, "DETAILING", nil, wkItem("LABOR", "LAB-DETAIL", "内饰精洗", 1, 58800, false))
	id := wkStr(o["id"])
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "CANCELLED", ""), "REASON_REQUIRED")
	f.denied(t, f.staff(t, "technician1.sz01"), "assignRepairOrder", map[string]any{"orderId": id, "bay": "1号工位"}, "FORBIDDEN")
	o = f.move(t, advisor, id, "CANCELLED", "客户临时有事")
	if o["status"] != "CANCELLED" || o["cancelReason"] != "客户临时有事" {
		t.Fatalf("cancelled: %v", o)
	}
	f.refused(t, advisor, "moveRepairOrder", wkMove(id, "CHECKED_IN", ""), "ORDER_CLOSED")
	o2 := f.open(t, advisor, f.sz, car.VIN, 120, "DETAILING", nil)
	if o2["number"] == o["number"] {
		t.Fatalf("a new order reused the number %v", o["number"])
	}
	v := f.gql(t, car.OwnerToken, `query($id: ID!) { node(id: $id) { ... on Vehicle {
		activeRepairOrder { number } lastService { number } serviceHistory { totalCount } } } }`, map[string]any{"id": car.ID})
	if dig(v, "node", "activeRepairOrder", "number") != o2["number"] || dig(v, "node", "lastService") != nil ||
		wkNum(dig(v, "node", "serviceHistory", "totalCount")) != 0 {
		t.Fatalf("car after a cancelled visit: %v", v)
	}
}

// Bad input is refused with the field it is about and changes nothing.
func TestRepairOrderBadInput(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for name, c := range map[string]struct {
		in    map[string]any
		field string
	}{
		"negative mileage": {wkOpenInput(f.sz, car.Plate, -1, "REPAIR", nil), "mileageIn"},
		"promised past":    {wkOpenInput(f.sz, car.Plate, 100, "REPAIR", map[string]any{"promisedAt": past}), "promisedAt"},
		"long concern":     {wkOpenInput(f.sz, car.Plate, 100, "REPAIR", map[string]any{"concern": strings.Repeat("长", 501)}), "concern"},
		"empty item":       {wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil, wkItem("PART", "X", " ", 1, 100, false)), "items[0].description"},
		"negative price":   {wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil, wkItem("PART", "X", "x", 1, -1, false)), "items[0].unitPriceFen"},
	} {
		p := f.refused(t, advisor, "openRepairOrder", c.in, "INVALID_ARGUMENT")
		if got := e2eStrings(dig(p, "userErrors", 0, "field")); !slices.Equal(got, []string{"input", c.field}) {
			t.Errorf("%s: field %v, want input.%s", name, got, c.field)
		}
	}
	// A quantity is > 0 with at most three decimals.
	for _, q := range []float64{0, 1.2345} {
		f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil, wkItem("PART", "X", "x", q, 100, false)), "INVALID_ARGUMENT")
	}
	// An advisor opens orders at their own store only.
	f.denied(t, advisor, "openRepairOrder", wkOpenInput(f.gz, car.Plate, 100, "REPAIR", nil), "FORBIDDEN")
	f.denied(t, f.staff(t, "foreman.sz01"), "openRepairOrder", wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil), "FORBIDDEN")
	f.denied(t, "", "openRepairOrder", wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil), "UNAUTHENTICATED")
	v := f.gql(t, car.OwnerToken, `query($id: ID!) { node(id: $id) { ... on Vehicle { mileageKm activeRepairOrder { number } } } }`, map[string]any{"id": car.ID})
	if dig(v, "node", "activeRepairOrder") != nil || dig(v, "node", "mileageKm") != float64(12) {
		t.Fatalf("refused check-ins changed the car: %v", v)
	}
}

// Ten staff move one order at the same moment: exactly one move happens,
// the others are told why not, and the timeline records it once.
func TestRepairOrderConcurrentMoves(t *testing.T) {
	f := newWorkshop(t)
	advisor, foreman := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01")
	car := f.quickCar(t, "SZ01")
	o := f.open(t, advisor, f.sz, car.Plate, 2000, "REPAIR", nil)
	id, version := wkStr(o["id"]), wkNum(o["version"])

	const n = 10
	res := e2eConcurrently(n, func(i int) *gqlResponse {
		in := wkMove(id, "DIAGNOSING", "")
		tok := advisor
		if i%2 == 1 {
			in["expectedVersion"] = version
			tok = foreman
		}
		return f.call(t, tok, "moveRepairOrder", in)
	})
	wins := 0
	refusals := map[string]int{}
	for _, r := range res {
		p := e2ePayload(t, r, "moveRepairOrder")
		codes := userErrorCodes(p)
		switch {
		case len(codes) == 0 && dig(p, "repairOrder", "status") == "DIAGNOSING":
			wins++
		case len(codes) == 1 && (codes[0] == "INVALID_TRANSITION" || codes[0] == "CONFLICT"):
			refusals[codes[0]]++
		default:
			t.Fatalf("unexpected answer: %s", r.Raw)
		}
	}
	if wins != 1 || refusals["INVALID_TRANSITION"]+refusals["CONFLICT"] != n-1 {
		t.Fatalf("%d moves won, refusals %v", wins, refusals)
	}
	t.Logf("1 move won; refusals %v", refusals)
	o = f.order(t, advisor, id)
	moves := 0
	for _, m := range wkMoves(o) {
		if strings.HasPrefix(m, "CHECKED_IN>DIAGNOSING") {
			moves++
		}
	}
	if o["status"] != "DIAGNOSING" || wkNum(o["version"]) != version+1 || moves != 1 || len(o["timeline"].([]any)) != 2 {
		t.Fatalf("after concurrent moves: %v", o)
	}
}

// Fifteen cars checked in at one store at the same moment get fifteen
// different numbers; one car checked in five times at once gets one order.
func TestRepairOrderConcurrentOpens(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.gz01")
	const n = 15
	cars := make([]wkCar, n)
	for i := range cars {
		cars[i] = f.quickCar(t, "GZ01")
	}
	day := wkStoreDay()
	res := e2eConcurrently(n, func(i int) *gqlResponse {
		return f.call(t, advisor, "openRepairOrder", wkOpenInput(f.gz, cars[i].Plate, 1500+i, "MAINTENANCE", nil))
	})
	numbers := map[string]bool{}
	for i, r := range res {
		p := e2ePayload(t, r, "openRepairOrder")
		if len(userErrorCodes(p)) != 0 {
			t.Fatalf("check-in %d refused: %s", i, r.Raw)
		}
		num := wkStr(dig(p, "repairOrder", "number"))
		wkCheckNumber(t, num, "GZ01", day, wkStoreDay())
		if dig(p, "repairOrder", "vehicle", "id") != cars[i].ID || dig(p, "repairOrder", "vehicle", "mileageKm") != float64(1500+i) {
			t.Fatalf("check-in %d: %v", i, p)
		}
		numbers[num] = true
	}
	if len(numbers) != n {
		t.Fatalf("%d check-ins got %d distinct numbers: %v", n, len(numbers), numbers)
	}

	one := f.quickCar(t, "GZ01")
	res = e2eConcurrently(5, func(i int) *gqlResponse {
		return f.call(t, advisor, "openRepairOrder", wkOpenInput(f.gz, one.VIN, 1200, "MAINTENANCE", nil))
	})
	opened := 0
	for _, r := range res {
		p := e2ePayload(t, r, "openRepairOrder")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0:
			opened++
		case len(codes) == 1 && codes[0] == "VEHICLE_IN_WORKSHOP":
		default:
			t.Fatalf("unexpected answer: %s", r.Raw)
		}
	}
	if opened != 1 {
		t.Fatalf("one car checked in %d times at once", opened)
	}
}

// wkDeliverVisit runs a whole visit of a car through the API as the store
// works: the advisor checks it in, the foreman dispatches it to
// technician1, who diagnoses it and asks for extra work the owner declines
// (when decline is set), works and checks it; the foreman calls the owner,
// the cashier settles in cash and the advisor hands the car over. It
// returns the order's number.
func (f *wkFixture) wkDeliverVisit(t testing.TB, car wkCar, mileage int, decline bool) string {
	t.Helper()
	advisor, foreman, tech := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01"), f.staff(t, "technician1.sz01")
	o := f.open(t, advisor, f.sz, car.Plate, mileage, "MAINTENANCE", nil,
		wkItem("PART", "OIL-0W20", "原厂全合成机油 0W-20", 4, 9800, false),
		wkItem("LABOR", "LAB-MNT", "保养工时", 1, 18000, false))
	id := wkStr(o["id"])
	f.ok(t, foreman, "assignRepairOrder", map[string]any{"orderId": id, "technicianId": f.techID(t), "bay": "2号工位"})
	f.move(t, tech, id, "DIAGNOSING", "")
	if decline {
		o = f.ok(t, tech, "addRepairOrderItem", wkAdd(id, wkItem("PART", fmt.Sprintf("REC-%d", mileage), "雨刮片（对）", 1, 19600, false), true))
		pending := ""
		for _, it := range o["items"].([]any) {
			if dig(it, "approval") == "PENDING" {
				pending = wkStr(dig(it, "id"))
			}
		}
		f.ok(t, car.OwnerToken, "decideRepairItems", map[string]any{"orderId": id,
			"decisions": []any{map[string]any{"itemId": pending, "approve": false}}})
	}
	f.wkDrive(t, tech, id, "IN_PROGRESS", "QUALITY_CHECK")
	f.move(t, foreman, id, "READY_FOR_PICKUP", "")
	f.ok(t, f.staff(t, "cashier.sz01"), "settleRepairOrder", wkSettle(id, wkPay("CASH", 4*9800+18000, "")))
	f.move(t, advisor, id, "DELIVERED", "")
	return wkStr(o["number"])
}

// techID is technician1.sz01's global id.
func (f *wkFixture) techID(t testing.TB) string {
	t.Helper()
	f.mu.Lock()
	id, ok := f.tokens["#tech1"]
	f.mu.Unlock()
	if !ok {
		id = f.staffID(t, "technician1.sz01")
		f.mu.Lock()
		f.tokens["#tech1"] = id
		f.mu.Unlock()
	}
	return id
}

// The owner's home screen asks every car for its history, advice, last
// service and live order in one request: its statement count does not grow
// with the number of cars and orders.
func TestNoNPlusOneOwnerWorkshop(t *testing.T) {
	f := newWorkshop(t)
	const q = `{ me { vehicles { edges { node {
		serviceHistory(first: 5) { edges { node { items { description } timeline { to } advisor { name } } } }
		recommendations { description } lastService { number } activeRepairOrder { number } } } } } }`
	shape := func(d map[string]any) (cars, orders, withActive int) {
		for _, e := range dig(d, "me", "vehicles", "edges").([]any) {
			cars++
			for _, h := range dig(e, "node", "serviceHistory", "edges").([]any) {
				orders++
				if len(dig(h, "node", "items").([]any)) == 0 || len(dig(h, "node", "timeline").([]any)) == 0 ||
					dig(h, "node", "advisor", "name") == nil {
					t.Fatalf("history order without items, timeline or advisor: %v", h)
				}
			}
			if dig(e, "node", "activeRepairOrder") != nil {
				withActive++
			}
		}
		return
	}

	// One car with one visit (the same people on its timeline as on the
	// others': advisor, technician, owner, foreman).
	single := f.newCar(t, "")
	f.wkDeliverVisit(t, single, 1000, true)
	// Three cars, two visits each (one with declined advice), each in the
	// workshop again now.
	multi := f.newCar(t, "")
	cars := []wkCar{multi, f.newCar(t, multi.Owner.Phone), f.newCar(t, multi.Owner.Phone)}
	for i, c := range cars {
		f.wkDeliverVisit(t, c, 1000+i, true)
		f.wkDeliverVisit(t, c, 6000+i, false)
		f.open(t, f.staff(t, "advisor.sz01"), f.sz, c.Plate, 9000+i, "REPAIR", nil, wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false))
	}

	base, d := minStatements(t, f.testServer, single.OwnerToken, q, nil)
	if c, o, _ := shape(d); c != 1 || o != 1 {
		t.Fatalf("single car: %d cars, %d orders: %v", c, o, d)
	}
	many, d := minStatements(t, f.testServer, multi.OwnerToken, q, nil)
	if c, o, a := shape(d); c != 3 || o != 6 || a != 3 {
		t.Fatalf("three cars: %d cars, %d orders, %d in the workshop: %v", c, o, a, d)
	}
	for _, e := range dig(d, "me", "vehicles", "edges").([]any) {
		if recs, _ := dig(e, "node", "recommendations").([]any); len(recs) != 1 {
			t.Fatalf("car without its declined advice: %v", e)
		}
	}
	// Demo owners: 张伟 (two cars), 杨磊 (three).
	zhang, dz := minStatements(t, f.testServer, f.ownerToken(t, f.ownerByPhone(t, "+8613800000001").ID), q, nil)
	yang, dy := minStatements(t, f.testServer, f.ownerToken(t, f.ownerByPhone(t, "+8613800000006").ID), q, nil)
	if c, o, _ := shape(dz); c != 2 || o < 2 {
		t.Fatalf("张伟's cars: %v", dz)
	}
	if c, o, _ := shape(dy); c != 3 || o < 3 {
		t.Fatalf("杨磊's cars: %v", dy)
	}
	t.Logf("statements: 1 car / 1 order %d; 3 cars / 6 orders %d; demo 2 cars %d; demo 3 cars %d", base, many, zhang, yang)
	for name, n := range map[string]int64{"3 cars": many, "张伟": zhang, "杨磊": yang} {
		if n > base+1 {
			t.Errorf("N+1: %s took %d statements, one car with one order %d", name, n, base)
		}
	}
	if many > 20 {
		t.Errorf("%d statements for the owner's home screen", many)
	}
}

// An item's quantity is refused like its other fields: in the payload's
// userErrors, naming the item ("items[i].quantity", "item.quantity").
func TestRepairOrderBadQuantity(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	for _, q := range []float64{0, 1.2345} {
		p := f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, car.Plate, 100, "REPAIR", nil,
			wkItem("PART", "OK", "机油", 1, 100, false), wkItem("PART", "X", "x", q, 100, false)), "INVALID_ARGUMENT")
		if got := e2eStrings(dig(p, "userErrors", 0, "field")); !slices.Equal(got, []string{"input", "items[1].quantity"}) {
			t.Fatalf("quantity %v: field %v", q, got)
		}
	}
	o := f.open(t, advisor, f.sz, car.Plate, 100, "REPAIR", nil)
	f.move(t, advisor, wkStr(o["id"]), "DIAGNOSING", "")
	p := f.refused(t, advisor, "addRepairOrderItem", wkAdd(wkStr(o["id"]), wkItem("PART", "X", "x", 0, 100, false), true), "INVALID_ARGUMENT")
	if got := e2eStrings(dig(p, "userErrors", 0, "field")); !slices.Equal(got, []string{"input", "item.quantity"}) {
		t.Fatalf("field %v", got)
	}
}

// A warranty repair delivered without settlement records no next service
// due; the car's maintenance schedule from its last maintenance stands.
func TestNextServiceDueSurvivesWarrantyVisit(t *testing.T) {
	f := newWorkshop(t)
	car := f.newCar(t, "")
	f.wkDeliverVisit(t, car, 1000, false)
	const q = `query($id: ID!) { node(id: $id) { ... on Vehicle { lastService { number } nextServiceDue { date km } } } }`
	before := f.gql(t, car.OwnerToken, q, map[string]any{"id": car.ID})
	if dig(before, "node", "nextServiceDue", "km") != float64(6000) {
		t.Fatalf("after maintenance: %v", before)
	}
	advisor := f.staff(t, "advisor.sz01")
	o := f.open(t, advisor, f.sz, car.Plate, 1100, "WARRANTY", nil, wkItem("PART", "HU-DISPLAY", "中控显示屏总成", 1, 352000, true))
	f.wkDrive(t, advisor, wkStr(o["id"]), "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP", "DELIVERED")
	after := f.gql(t, car.OwnerToken, q, map[string]any{"id": car.ID})
	if dig(after, "node", "lastService", "number") != o["number"] {
		t.Fatalf("last service: %v", after)
	}
	if !equalJSON(dig(after, "node", "nextServiceDue"), dig(before, "node", "nextServiceDue")) {
		t.Fatalf("next service due after a warranty visit: %v, want %v", dig(after, "node", "nextServiceDue"), dig(before, "node", "nextServiceDue"))
	}
}

func equalJSON(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// A timeline costs the same statements whoever made its moves: the actors'
// names are loaded in one batch, not one round trip per new name.
func TestNoNPlusOneTimelineActors(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	one := f.open(t, advisor, f.sz, f.quickCar(t, "SZ01").Plate, 2000, "REPAIR", nil)
	f.wkDrive(t, advisor, wkStr(one["id"]), "DIAGNOSING", "IN_PROGRESS", "QUALITY_CHECK", "WASHING", "READY_FOR_PICKUP")
	five := f.open(t, advisor, f.sz, f.quickCar(t, "SZ01").Plate, 2000, "REPAIR", nil)
	id := wkStr(five["id"])
	f.ok(t, f.staff(t, "foreman.sz01"), "assignRepairOrder", map[string]any{"orderId": id, "technicianId": f.techID(t)})
	f.move(t, f.staff(t, "manager.sz01"), id, "DIAGNOSING", "")
	f.move(t, f.staff(t, "technician1.sz01"), id, "IN_PROGRESS", "")
	f.move(t, f.staff(t, "foreman.sz01"), id, "QUALITY_CHECK", "")
	f.move(t, f.staff(t, "admin"), id, "WASHING", "")
	f.move(t, advisor, id, "READY_FOR_PICKUP", "")
	for _, fields := range []string{"to actorName", "to"} {
		q := `query($id: ID!) { repairOrder(id: $id) { timeline { ` + fields + ` } } }`
		n1, d1 := minStatements(t, f.testServer, advisor, q, map[string]any{"id": one["id"]})
		n5, d5 := minStatements(t, f.testServer, advisor, q, map[string]any{"id": id})
		if len(dig(d1, "repairOrder", "timeline").([]any)) != 6 || len(dig(d5, "repairOrder", "timeline").([]any)) != 6 {
			t.Fatalf("timelines: %v / %v", d1, d5)
		}
		if n5 != n1 {
			t.Errorf("timeline { %s }: %d statements for one actor, %d for five, same number of events", fields, n1, n5)
		}
	}
}

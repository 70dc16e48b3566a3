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
	advisor { id staffId name } technician { id staffId name }
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
	return f.wkDeliverVisitOf(t, "MAINTENANCE", car, mileage, decline)
}

// wkDeliverVisitOf is wkDeliverVisit for an order of the kind.
func (f *wkFixture) wkDeliverVisitOf(t testing.TB, kind string, car wkCar, mileage int, decline bool) string {
	t.Helper()
	advisor, foreman, tech := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01"), f.staff(t, "technician1.sz01")
	o := f.open(t, advisor, f.sz, car.Plate, mileage, kind, nil,
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

package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// End-to-end tests of classes and trips
// through the real server: staff create, publish, change and cancel events;
// owners list them, register (confirmed and charged through the wallet, or
// waitlisted), cancel before and after the deadline; the waitlist is served
// in order, passing over parties too large and owners who cannot pay; check
// in once with attendance points; every refusal with its code; who may see
// and do what; statement counts of the list screens; and the seat invariant
// under 100 owners racing for 10 seats, on one server and split across two
// on one PostgreSQL. Money is checked against the ledger: wallet.Audit
// finds nothing after every test that moves money.
//
// The package's tests share one seeded database, whose demo events lie in
// the coming month. These tests schedule their events at SZ01 (and GZ01)
// 100 to 200 days ahead, one day per test, and move the events service's
// clock (never the wall clock) to open registration, pass deadlines and
// start events. Owners are new in every test.

// Days ahead each test's events start on (at 02:00 UTC, 10:00 in the
// stores' zone), so that lists by date never meet another test's events.
const (
	evDayClass        = 101
	evDayTrip         = 103
	evDayRefusals     = 105
	evDayEdges        = 107
	evDayPromotion    = 109
	evDayCancelEvent  = 111
	evDayAuthz        = 113
	evDayStatements   = 115
	evDayPaging       = 117
	evDayRace         = 140
	evDayRaceTwo      = 142
	evDayCapacityRace = 144
)

const (
	evEventFields = `id kind status title description location itinerary { at place note } startsAt endsAt
		registrationOpensAt registrationClosesAt cancellationDeadline registrationOpen capacity seatsLeft feePerSeat { amountFen }
		pointsPerSeat minTier vehicleRequired maxPartySize attendancePoints cancelReason version store { code }`
	evRegFields = `id status partySize payWith waitlistPosition checkInCode checkedInAt paid { amountFen } paidPoints
		refunded { amountFen } refundedPoints confirmedAt cancelledAt createdAt event { id seatsLeft } vehicle { id plate }`
	evEventDoc = `query($id: ID!) { event(id: $id) { ` + evEventFields + ` myRegistration { ` + evRegFields + ` } } }`
	evNodeDoc  = `query($id: ID!) { node(id: $id) { __typename ... on Registration { id status checkInCode }
		... on Event { id eventStatus: status } } }`
	evRosterDoc = `query($e: ID!, $st: RegistrationStatus, $in: Boolean) { eventRoster(eventId: $e, status: $st, checkedIn: $in) {
		confirmedSeats confirmed waitlisted waitlistedSeats cancelled checkedIn
		edges { node { name phone plate vehicleModel registration { id status partySize checkInCode checkedInAt } } } } }`
	evListDoc = `query($f: EventFilter, $n: Int) { events(filter: $f, first: $n) { edges { node { id title status seatsLeft
		store { code } myRegistration { id status waitlistPosition } } } pageInfo { hasNextPage } } }`
	evMineDoc = `query($n: Int, $st: RegistrationStatus) { me { registrations(first: $n, status: $st) { edges { node {
		id status partySize waitlistPosition checkInCode event { id title store { code } } } } pageInfo { hasNextPage } } } }`
	evInboxDoc = `{ me { notifications(first: 50) { edges { node { kind title body link } } } } }`
)

// evFixture is a test server whose events clock the test sets.
type evFixture struct {
	*wkFixture
	clock atomic.Int64 // unix nanoseconds; 0: the real time
}

func newEvents(t *testing.T, tweak ...func(*Config, *Deps)) *evFixture {
	t.Helper()
	f := &evFixture{wkFixture: newWorkshop(t, tweak...)}
	f.App.Events.Clock = func() time.Time {
		if n := f.clock.Load(); n != 0 {
			return time.Unix(0, n).UTC()
		}
		return time.Now()
	}
	return f
}

// at sets the events clock.
func (f *evFixture) at(when time.Time) { f.clock.Store(when.UnixNano()) }

// evRuns counts the runs of each test in this process (go test -count).
var evRuns sync.Map

// evStart is the start of a test's events: days ahead at 02:00 UTC, four
// hours later on each further run of the test in the process, so that a
// run's lists by date meet no event of an earlier one.
func evStart(t testing.TB, days int) time.Time {
	n, _ := evRuns.LoadOrStore(t.Name(), new(atomic.Int64))
	run := n.(*atomic.Int64).Add(1) - 1
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(2*time.Hour + time.Duration(run)*4*time.Hour)
}

func evTS(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

// evDocFor is the mutation document of field selecting its whole payload.
func evDocFor(field string) string {
	result := "registration { " + evRegFields + " }"
	if strings.HasSuffix(field, "Event") && field != "registerForEvent" {
		result = "event { " + evEventFields + " }"
	}
	return fmt.Sprintf(`mutation($in: %sInput!) { %s(input: $in) { %s userErrors { code field message } } }`,
		strings.ToUpper(field[:1])+field[1:], field, result)
}

func (f *evFixture) call(t testing.TB, token, field string, in map[string]any) *gqlResponse {
	t.Helper()
	return f.do(t, req{Query: evDocFor(field), Vars: map[string]any{"in": in}, Token: token})
}

// ok runs a mutation that must be accepted and returns its event or
// registration.
func (f *evFixture) ok(t testing.TB, token, field string, in map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, in), field)
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("%s(%v) refused: %v", field, in, p)
	}
	for _, k := range []string{"event", "registration"} {
		if v, ok := p[k].(map[string]any); ok {
			return v
		}
	}
	t.Fatalf("%s accepted with nothing: %v", field, p)
	return nil
}

// refused runs a mutation that must be refused with code as a userError
// (on the input field when given), answering nothing else.
func (f *evFixture) refused(t testing.TB, token, field string, in map[string]any, code string, on ...string) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, in), field)
	if len(on) > 0 {
		e2eWantUserError(t, p, code, append([]string{"input"}, on...)...)
	} else {
		expectUserError(t, p, code)
	}
	if m, _ := dig(p, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("%s: userError %s without a message", field, code)
	}
	if p["event"] != nil || p["registration"] != nil {
		t.Fatalf("%s refused with %s but answered %v", field, code, p)
	}
	return p
}

// denied runs a mutation the API must deny with a GraphQL error code.
func (f *evFixture) denied(t testing.TB, token, field string, in map[string]any, code string) {
	t.Helper()
	r := f.call(t, token, field, in)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Raw)
	}
}

// eventIn is a createEvent input at store (global id) starting at start:
// two hours long, registration open from ten days before until an hour
// before, free cancellation until a day before, ten seats, free.
func evEventIn(store, kind string, start time.Time, extra map[string]any) map[string]any {
	in := map[string]any{"storeId": store, "kind": kind, "title": "测试活动 " + kind, "location": "深圳福田店 二楼",
		"startsAt": evTS(start), "endsAt": evTS(start.Add(2 * time.Hour)),
		"registrationOpensAt": evTS(start.AddDate(0, 0, -10)), "registrationClosesAt": evTS(start.Add(-time.Hour)),
		"cancellationDeadline": evTS(start.Add(-24 * time.Hour)), "capacity": 10}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// publish creates an event as token's holder and publishes it.
func (f *evFixture) publish(t testing.TB, token string, in map[string]any) map[string]any {
	t.Helper()
	e := f.ok(t, token, "createEvent", in)
	return f.ok(t, token, "publishEvent", map[string]any{"eventId": e["id"]})
}

// owner is a new owner at SZ01 with a car, with fen in the wallet and
// points (given by the manager as a correction).
func (f *evFixture) owner(t testing.TB, fen, points int64) wkCar {
	t.Helper()
	c := f.quickCar(t, "SZ01")
	f.fund(t, c.Owner.ID, fen, points)
	return c
}

func (f *evFixture) fund(t testing.TB, owner uuid.UUID, fen, points int64) {
	t.Helper()
	if fen == 0 && points == 0 {
		return
	}
	if _, err := f.App.Wallet.Adjust(context.Background(), f.wlPrincipal(t, "manager.sz01"), wallet.AdjustInput{
		OwnerID: owner, StoreID: e2eStoreID(t, f.testServer, "SZ01"), AmountFen: fen, Points: points,
		Reason: "活动测试充值", IdempotencyKey: wlKey("ev-fund")}); err != nil {
		t.Fatal(err)
	}
}

// register signs car's owner up for event (global id), which must be
// accepted, and returns the registration.
func (f *evFixture) register(t testing.TB, c wkCar, event any, extra map[string]any) map[string]any {
	t.Helper()
	return f.ok(t, c.OwnerToken, "registerForEvent", evRegIn(event, extra))
}

func evRegIn(event any, extra map[string]any) map[string]any {
	in := map[string]any{"eventId": event}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func evCancelIn(reg map[string]any) map[string]any {
	return map[string]any{"registrationId": reg["id"]}
}

// reg reads a registration from the database by its global id.
func (f *evFixture) reg(t testing.TB, gid any) events.Registration {
	t.Helper()
	var r events.Registration
	if err := f.DB.Conn(context.Background()).Where("id = ?", wlUUID(t, wkStr(gid), "Registration")).Take(&r).Error; err != nil {
		t.Fatal(err)
	}
	return r
}

// event reads an event from the database by its global id.
func (f *evFixture) event(t testing.TB, gid any) events.Event {
	t.Helper()
	var e events.Event
	if err := f.DB.Conn(context.Background()).Where("id = ?", wlUUID(t, wkStr(gid), "Event")).Take(&e).Error; err != nil {
		t.Fatal(err)
	}
	return e
}

// entries counts an owner's ledger entries of kind for registrations.
func (f *evFixture) entries(t testing.TB, owner uuid.UUID, kind wallet.EntryKind) (n, fen, points int64) {
	t.Helper()
	row := f.DB.Conn(context.Background()).Raw(`SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT),
		CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger_entries WHERE owner_id = ? AND kind = ? AND ref_type = ?`,
		owner, kind, wallet.RefRegistration).Row()
	if err := row.Scan(&n, &fen, &points); err != nil {
		t.Fatal(err)
	}
	return n, fen, points
}

// inboxKinds lists the kinds of the owner's notifications, newest first.
func (f *evFixture) inboxKinds(t testing.TB, token string) []string {
	t.Helper()
	edges, _ := dig(f.gql(t, token, evInboxDoc, nil), "me", "notifications", "edges").([]any)
	out := make([]string, len(edges))
	for i, e := range edges {
		out[i] = wkStr(dig(e, "node", "kind"))
	}
	return out
}

// evCount counts s in list.
func evCount(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// audit checks the wallet's ledger invariant over every account.
func (f *evFixture) audit(t testing.TB) {
	t.Helper()
	if bad, err := wallet.Audit(context.Background(), f.DB); err != nil || len(bad) != 0 {
		t.Fatalf("wallet audit: %v %+v", err, bad)
	}
}

// balance is the owner's balance and points, checked against the ledger.
func (f *evFixture) balance(t testing.TB, owner uuid.UUID) (int64, int64) {
	t.Helper()
	l := wlInvariant(t, f.testServer, owner)
	return l.Balance, l.Points
}

// ---------------------------------------------------------------------------
// Both kinds end to end

// A class: the event staff create a draft (seen only by staff), publish it;
// an owner registers and pays from the wallet, sees the seat and the code;
// the roster shows the owner; at the door the code admits once and credits
// the attendance points; a second scan says when it was used.
func TestEventClassEndToEnd(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayClass)
	a := f.owner(t, 20_000, 0)

	in := evEventIn(f.sz, "CLASS", start, map[string]any{"title": "  机油保养讲堂  ", "description": "现场演示",
		"capacity": 2, "feeFen": 5_000, "attendancePoints": 100})
	draft := f.ok(t, staff, "createEvent", in)
	if draft["status"] != "DRAFT" || draft["title"] != "机油保养讲堂" || wkNum(draft["seatsLeft"]) != 2 ||
		wkFen(draft, "feePerSeat") != 5_000 || draft["pointsPerSeat"] != nil || draft["minTier"] != "BASIC" ||
		wkNum(draft["maxPartySize"]) != 1 || draft["vehicleRequired"] != false || dig(draft, "store", "code") != "SZ01" ||
		len(draft["itinerary"].([]any)) != 0 {
		t.Fatalf("draft: %v", draft)
	}
	id := draft["id"]
	// A draft is the staff's only: an owner neither reads nor lists it,
	// nor registers for it.
	if e := f.gql(t, a.OwnerToken, evEventDoc, map[string]any{"id": id})["event"]; e != nil {
		t.Fatalf("an owner reads a draft: %v", e)
	}
	f.at(start.AddDate(0, 0, -5))
	f.denied(t, a.OwnerToken, "registerForEvent", evRegIn(id, nil), "NOT_FOUND")
	window := map[string]any{"storeId": f.sz, "from": evTS(start.Add(-time.Hour)), "to": evTS(start.Add(time.Hour))}
	list := func(token string, unpublished bool) []any {
		fl := map[string]any{"includeUnpublished": unpublished}
		for k, v := range window {
			fl[k] = v
		}
		edges, _ := dig(f.gql(t, token, evListDoc, map[string]any{"f": fl}), "events", "edges").([]any)
		return edges
	}
	if n := len(list(a.OwnerToken, false)); n != 0 {
		t.Fatalf("owners list %d events before publishing", n)
	}
	if l := list(staff, true); len(l) != 1 || dig(l, 0, "node", "status") != "DRAFT" {
		t.Fatalf("staff list with drafts: %v", l)
	}

	pub := f.ok(t, staff, "publishEvent", map[string]any{"eventId": id, "expectedVersion": draft["version"]})
	if pub["status"] != "PUBLISHED" || wkNum(pub["version"]) != wkNum(draft["version"])+1 {
		t.Fatalf("published: %v", pub)
	}
	f.refused(t, staff, "publishEvent", map[string]any{"eventId": id}, "NOT_DRAFT")

	// The owner registers: confirmed, ¥50 from the wallet in the same
	// transaction (one SPEND entry for the registration, no points earned).
	r := f.register(t, a, id, nil)
	if r["status"] != "CONFIRMED" || wkNum(r["partySize"]) != 1 || r["payWith"] != "WALLET" || wkFen(r, "paid") != 5_000 ||
		wkStr(r["checkInCode"]) == "" || r["waitlistPosition"] != nil || r["confirmedAt"] == nil ||
		wkNum(dig(r, "event", "seatsLeft")) != 1 {
		t.Fatalf("registration: %v", r)
	}
	if bal, pts := f.balance(t, a.Owner.ID); bal != 15_000 || pts != 0 {
		t.Fatalf("after paying: balance %d, points %d", bal, pts)
	}
	if n, fen, _ := f.entries(t, a.Owner.ID, wallet.Spend); n != 1 || fen != -5_000 {
		t.Fatalf("%d SPEND entries of %d", n, fen)
	}
	m := f.wlMe(t, a.OwnerToken, 5, "", "SPEND")
	if e := wlNodes(m); len(e) != 1 || wkFen(e[0], "amount") != -5_000 || wkStr(e[0]["memo"]) != "机油保养讲堂" {
		t.Fatalf("the owner's SPEND entries: %v", e)
	}

	// The owner's view: the event with its seats and the registration.
	e := f.gql(t, a.OwnerToken, evEventDoc, map[string]any{"id": id})["event"]
	if wkNum(dig(e, "seatsLeft")) != 1 || dig(e, "myRegistration", "id") != r["id"] ||
		dig(e, "myRegistration", "checkInCode") != r["checkInCode"] {
		t.Fatalf("event as the owner: %v", e)
	}
	l := list(a.OwnerToken, false)
	if len(l) != 1 || dig(l, 0, "node", "myRegistration", "status") != "CONFIRMED" || wkNum(dig(l, 0, "node", "seatsLeft")) != 1 {
		t.Fatalf("events as the owner: %v", l)
	}
	mine := dig(f.gql(t, a.OwnerToken, evMineDoc, map[string]any{"n": 10}), "me", "registrations", "edges").([]any)
	if len(mine) != 1 || dig(mine, 0, "node", "id") != r["id"] || dig(mine, 0, "node", "event", "store", "code") != "SZ01" {
		t.Fatalf("me.registrations: %v", mine)
	}

	// The roster: name and phone for the door; the code is the owner's only.
	ros := f.gql(t, staff, evRosterDoc, map[string]any{"e": id})["eventRoster"]
	if wkNum(dig(ros, "confirmedSeats")) != 1 || wkNum(dig(ros, "confirmed")) != 1 || wkNum(dig(ros, "checkedIn")) != 0 ||
		dig(ros, "edges", 0, "node", "phone") != a.Owner.Phone || dig(ros, "edges", 0, "node", "registration", "checkInCode") != nil {
		t.Fatalf("roster: %v", ros)
	}

	// Check-in opens three hours before the start.
	code := wkStr(r["checkInCode"])
	f.at(start.Add(-events.CheckInOpensBefore - time.Microsecond))
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": code}, "CHECK_IN_NOT_OPEN", "code")
	f.at(start.Add(-time.Hour))
	in1 := f.ok(t, staff, "checkInRegistration", map[string]any{"code": " " + strings.ToLower(code) + " "})
	if in1["checkedInAt"] == nil || in1["checkInCode"] != nil {
		t.Fatalf("checked in: %v", in1)
	}
	if _, pts := f.balance(t, a.Owner.ID); pts != 100 {
		t.Fatalf("attendance points: %d", pts)
	}
	p := f.refused(t, staff, "checkInRegistration", map[string]any{"code": code}, "ALREADY_CHECKED_IN", "code")
	local := e2eTime(t, in1["checkedInAt"]).In(bkShanghai).Format("2006-01-02 15:04")
	if msg := wkStr(dig(p, "userErrors", 0, "message")); !strings.Contains(msg, local) {
		t.Fatalf("second scan says %q, want the time %s", msg, local)
	}
	if _, pts := f.balance(t, a.Owner.ID); pts != 100 {
		t.Fatalf("points after the second scan: %d", pts)
	}
	ros = f.gql(t, staff, evRosterDoc, map[string]any{"e": id, "in": true})["eventRoster"]
	if wkNum(dig(ros, "checkedIn")) != 1 || len(dig(ros, "edges").([]any)) != 1 {
		t.Fatalf("roster of the checked in: %v", ros)
	}
	// A checked-in registration is not cancelled any more.
	f.at(start.Add(-2 * time.Hour))
	f.refused(t, a.OwnerToken, "cancelRegistration", evCancelIn(r), "ALREADY_CHECKED_IN")
	f.denied(t, staff, "checkInRegistration", map[string]any{"code": "NOSUCHCODE"}, "NOT_FOUND")
	f.audit(t)
}

// A trip: itinerary, a required car, parties up to a size, paid in points
// or money (the owner chooses), the plate on the roster.
func TestEventTripEndToEnd(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "manager.sz01") // MANAGER runs events too
	start := evStart(t, evDayTrip)
	stops := []any{
		map[string]any{"at": evTS(start), "place": "深圳福田店", "note": "集合"},
		map[string]any{"at": evTS(start.Add(3 * time.Hour)), "place": "双月湾观景台"},
		map[string]any{"at": evTS(start.Add(30 * time.Hour)), "place": "深圳福田店", "note": "解散"},
	}
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"title": "周末双月湾自驾",
		"endsAt": evTS(start.Add(30 * time.Hour)), "itinerary": stops, "capacity": 6, "feeFen": 10_000, "feePoints": 1_000,
		"vehicleRequired": true, "maxPartySize": 3, "attendancePoints": 200}))
	if ev["kind"] != "TRIP" || len(ev["itinerary"].([]any)) != 3 || dig(ev, "itinerary", 1, "place") != "双月湾观景台" ||
		dig(ev, "itinerary", 1, "note") != "" || wkNum(ev["pointsPerSeat"]) != 1_000 || ev["vehicleRequired"] != true {
		t.Fatalf("trip: %v", ev)
	}
	f.at(start.AddDate(0, 0, -3))
	a, b := f.owner(t, 0, 5_000), f.owner(t, 50_000, 0)

	// Both prices: the owner must choose.
	f.refused(t, a.OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"vehicleId": a.ID, "partySize": 3}),
		"PAYMENT_METHOD_UNAVAILABLE", "payWith")
	ra := f.register(t, a, ev["id"], map[string]any{"vehicleId": a.ID, "partySize": 3, "payWith": "POINTS"})
	if ra["status"] != "CONFIRMED" || wkNum(ra["paidPoints"]) != 3_000 || wkFen(ra, "paid") != 0 || ra["payWith"] != "POINTS" ||
		dig(ra, "vehicle", "id") != a.ID {
		t.Fatalf("party of 3 in points: %v", ra)
	}
	rb := f.register(t, b, ev["id"], map[string]any{"vehicleId": b.ID, "partySize": 2, "payWith": "WALLET"})
	if rb["status"] != "CONFIRMED" || wkFen(rb, "paid") != 20_000 || wkNum(dig(rb, "event", "seatsLeft")) != 1 {
		t.Fatalf("party of 2 from the wallet: %v", rb)
	}
	if _, pts := f.balance(t, a.Owner.ID); pts != 2_000 {
		t.Fatalf("points after paying 3,000: %d", pts)
	}
	if n, _, pts := f.entries(t, a.Owner.ID, wallet.PointsRedeem); n != 1 || pts != -3_000 {
		t.Fatalf("%d POINTS_REDEEM entries of %d", n, pts)
	}
	if bal, _ := f.balance(t, b.Owner.ID); bal != 30_000 {
		t.Fatalf("balance after paying ¥200: %d", bal)
	}

	ros := f.gql(t, staff, evRosterDoc, map[string]any{"e": ev["id"], "st": "CONFIRMED"})["eventRoster"]
	if wkNum(dig(ros, "confirmedSeats")) != 5 || len(dig(ros, "edges").([]any)) != 2 ||
		dig(ros, "edges", 0, "node", "plate") != a.Plate || dig(ros, "edges", 0, "node", "vehicleModel") != "Corolla" {
		t.Fatalf("trip roster: %v", ros)
	}

	// At the meeting point, on the day: both admitted, the points credited.
	f.at(start.Add(-30 * time.Minute))
	for _, c := range []struct {
		car wkCar
		reg map[string]any
	}{{a, ra}, {b, rb}} {
		f.ok(t, staff, "checkInRegistration", map[string]any{"code": c.reg["checkInCode"]})
	}
	if _, pts := f.balance(t, a.Owner.ID); pts != 2_200 {
		t.Fatalf("points after attending: %d", pts)
	}
	if _, pts := f.balance(t, b.Owner.ID); pts != 200 {
		t.Fatalf("points after attending: %d", pts)
	}
	// The trip started: too late to change it or cancel a seat.
	f.at(start.Add(time.Minute))
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "title": "改名"}, "EVENT_STARTED")
	f.refused(t, staff, "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "天气"}, "EVENT_STARTED")
	f.audit(t)
}

// ---------------------------------------------------------------------------
// Refusals

// Every refusal an owner or the staff can meet over the API, each with its
// code and a message, and nothing written.
func TestEventRefusals(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayRefusals)
	ctx := context.Background()

	// Bad events: INVALID_ARGUMENT on the field.
	bad := []struct {
		extra map[string]any
		field string
	}{
		{map[string]any{"title": "  "}, "title"},
		{map[string]any{"endsAt": evTS(start)}, "endsAt"},
		{map[string]any{"startsAt": evTS(time.Now().Add(-time.Hour))}, "startsAt"},
		{map[string]any{"registrationClosesAt": evTS(start.Add(time.Minute))}, "registrationClosesAt"},
		{map[string]any{"registrationOpensAt": evTS(start.Add(-time.Hour))}, "registrationClosesAt"},
		{map[string]any{"cancellationDeadline": evTS(start.Add(time.Minute))}, "cancellationDeadline"},
		{map[string]any{"capacity": 0}, "capacity"},
		{map[string]any{"feeFen": -1}, "feeFen"},
		{map[string]any{"maxPartySize": 2}, "maxPartySize"}, // a class
		{map[string]any{"vehicleRequired": true}, "vehicleRequired"},
	}
	var before int64
	f.DB.Conn(ctx).Model(&events.Event{}).Count(&before)
	for _, c := range bad {
		f.refused(t, staff, "createEvent", evEventIn(f.sz, "CLASS", start, c.extra), "INVALID_ARGUMENT", c.field)
	}
	var after int64
	f.DB.Conn(ctx).Model(&events.Event{}).Count(&after)
	if after != before {
		t.Fatalf("refused events were written: %d -> %d", before, after)
	}

	f.at(start.AddDate(0, 0, -5))
	paid := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 2, "feeFen": 3_000}))
	points := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 2, "feePoints": 500}))
	trip := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 4, "vehicleRequired": true, "maxPartySize": 3}))
	gold := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"minTier": "GOLD"}))

	poor := f.owner(t, 2_999, 499)
	nothingWritten := func(c wkCar) {
		t.Helper()
		if n := e2eCount(t, f.testServer, &events.Registration{}, "owner_id = ?", c.Owner.ID); n != 0 {
			t.Fatalf("a refused registration was written: %d", n)
		}
	}
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], nil), "INSUFFICIENT_BALANCE")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(points["id"], nil), "INSUFFICIENT_POINTS")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(points["id"], map[string]any{"payWith": "WALLET"}),
		"PAYMENT_METHOD_UNAVAILABLE", "payWith")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], nil), "VEHICLE_REQUIRED", "vehicleId")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": poor.ID, "partySize": 4}),
		"PARTY_TOO_LARGE", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], map[string]any{"partySize": 2}), "PARTY_TOO_LARGE", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": poor.ID, "partySize": -1}),
		"INVALID_ARGUMENT", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], map[string]any{"vehicleId": poor.ID}),
		"INVALID_ARGUMENT", "vehicleId") // a class takes no car
	other := f.quickCar(t, "SZ01")
	f.denied(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": other.ID}), "NOT_FOUND")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "TIER_TOO_LOW")
	nothingWritten(poor)
	if bal, pts := f.balance(t, poor.Owner.ID); bal != 2_999 || pts != 499 {
		t.Fatalf("refusals moved money: %d, %d", bal, pts)
	}

	// Tiers: spend of ¥10,000 in the last 12 months makes GOLD.
	rich := f.owner(t, 10_000, 1_000)
	if _, err := f.App.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: rich.Owner.ID, MoneyFen: 1_000_000, Key: wlKey("ev-gold"),
		Memo: "购车精品"}); err != nil {
		t.Fatal(err)
	}
	if m := f.wlMe(t, rich.OwnerToken, 1, ""); m["tier"] != "GOLD" {
		t.Fatalf("tier after ¥10,000: %v", m["tier"])
	}
	f.register(t, rich, gold["id"], nil)
	silver := f.owner(t, 0, 0)
	if _, err := f.App.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: silver.Owner.ID, MoneyFen: 999_999, Key: wlKey("ev-silver"),
		Memo: "购车精品"}); err != nil {
		t.Fatal(err)
	}
	f.refused(t, silver.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "TIER_TOO_LOW")

	// Once per owner; a retry with the key answers the first result, the
	// key with other input is refused.
	key := wlKey("ev-reg")
	r := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 2, "idempotencyKey": key})
	again := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 2, "idempotencyKey": key})
	if again["id"] != r["id"] {
		t.Fatalf("retry answered another registration: %v", again)
	}
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 3,
		"idempotencyKey": key}), "IDEMPOTENCY_KEY_REUSED")
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": rich.ID}), "ALREADY_REGISTERED", "eventId")
	if n := e2eCount(t, f.testServer, &events.Registration{}, "owner_id = ? AND event_id = ?", rich.Owner.ID,
		wlUUID(t, wkStr(trip["id"]), "Event")); n != 1 {
		t.Fatalf("%d registrations after the retries", n)
	}

	// Cancelled once; a second cancel is REGISTRATION_NOT_ACTIVE. After
	// cancelling, registering again is allowed.
	f.ok(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r))
	f.refused(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r), "REGISTRATION_NOT_ACTIVE")
	r2 := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 3})
	if r2["status"] != "CONFIRMED" || r2["id"] == r["id"] {
		t.Fatalf("registering again: %v", r2)
	}

	// Staff changes: capacity below the confirmed seats, fees once
	// registrations exist, a stale version.
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "capacity": 2}, "CAPACITY_BELOW_CONFIRMED", "capacity")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "feeFen": 100}, "EVENT_LOCKED")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "maxPartySize": 2}, "EVENT_LOCKED")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "title": "新标题", "expectedVersion": 1}, "CONFLICT")
	f.refused(t, staff, "cancelEvent", map[string]any{"eventId": trip["id"], "reason": " "}, "INVALID_ARGUMENT", "reason")
	if e := f.event(t, trip["id"]); e.Capacity != 4 || e.FeeFen != 0 || e.MaxPartySize != 3 || e.SeatsTaken != 3 || e.Status != events.Published {
		t.Fatalf("refused changes were written: %+v", e)
	}
	// Changes that do not touch what registrations rely on go through.
	up := f.ok(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "title": "新标题", "capacity": 3,
		"expectedVersion": f.event(t, trip["id"]).Version})
	if up["title"] != "新标题" || wkNum(up["capacity"]) != 3 || wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("updated: %v", up)
	}

	// A cancelled event: closed to owners, frozen for staff.
	f.ok(t, staff, "cancelEvent", map[string]any{"eventId": gold["id"], "reason": "讲师临时有事"})
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "REGISTRATION_CLOSED", "eventId")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": gold["id"], "title": "x"}, "EVENT_CANCELLED")
	f.refused(t, staff, "cancelEvent", map[string]any{"eventId": gold["id"], "reason": "again"}, "EVENT_CANCELLED")
	f.refused(t, staff, "publishEvent", map[string]any{"eventId": gold["id"]}, "EVENT_CANCELLED")

	// Check-in refusals: a waitlisted code holds no seat.
	full := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 1}))
	f.register(t, f.owner(t, 0, 0), full["id"], nil)
	w := f.owner(t, 0, 0)
	wr := f.register(t, w, full["id"], nil)
	if wr["status"] != "WAITLISTED" || wkNum(wr["waitlistPosition"]) != 1 || wr["checkInCode"] != nil {
		t.Fatalf("waitlisted: %v", wr)
	}
	f.at(start.Add(-time.Hour))
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": f.reg(t, wr["id"]).CheckInCode}, "NOT_CONFIRMED", "code")
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": "  "}, "INVALID_ARGUMENT", "code")
	f.at(start.Add(2*time.Hour + time.Microsecond))
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": r2["checkInCode"]}, "CHECK_IN_NOT_OPEN", "code")
	f.refused(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r2), "EVENT_STARTED")
	f.audit(t)
}

// The registration window is [opens, closes): exactly at the opening is
// open, exactly at the close is closed. The cancellation deadline: a
// microsecond before it is refunded in full, at it and after it nothing.
func TestEventWindowAndDeadline(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayEdges)
	in := evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 1_000, "feePoints": 100, "capacity": 10})
	ev := f.publish(t, staff, in)
	opens, closes := e2eTime(t, ev["registrationOpensAt"]), e2eTime(t, ev["registrationClosesAt"])
	deadline := e2eTime(t, ev["cancellationDeadline"])
	if !opens.Equal(start.AddDate(0, 0, -10)) || !closes.Equal(start.Add(-time.Hour)) || !deadline.Equal(start.Add(-24*time.Hour)) {
		t.Fatalf("window %v..%v, deadline %v", opens, closes, deadline)
	}
	owners := make([]wkCar, 6)
	for i := range owners {
		owners[i] = f.owner(t, 10_000, 1_000)
	}

	// registrationOpen says the same as registering does.
	isOpen := func() any {
		return dig(f.gql(t, owners[0].OwnerToken, evEventDoc, map[string]any{"id": ev["id"]}), "event", "registrationOpen")
	}
	f.at(opens.Add(-time.Microsecond))
	if isOpen() != false {
		t.Fatal("registrationOpen a microsecond before the opening")
	}
	f.refused(t, owners[0].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"payWith": "WALLET"}), "REGISTRATION_CLOSED", "eventId")
	f.at(opens)
	if isOpen() != true {
		t.Fatal("registrationOpen is false at the opening")
	}
	regs := []map[string]any{f.register(t, owners[0], ev["id"], map[string]any{"payWith": "WALLET"})}
	f.at(closes.Add(-time.Microsecond))
	for _, o := range owners[1:5] {
		pay := "WALLET"
		if len(regs)%2 == 0 {
			pay = "POINTS"
		}
		regs = append(regs, f.register(t, o, ev["id"], map[string]any{"payWith": pay}))
	}
	if isOpen() != true {
		t.Fatal("registrationOpen is false a microsecond before the close")
	}
	f.at(closes)
	if isOpen() != false {
		t.Fatal("registrationOpen at the close")
	}
	f.refused(t, owners[5].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"payWith": "WALLET"}), "REGISTRATION_CLOSED", "eventId")
	for _, r := range regs {
		if r["status"] != "CONFIRMED" {
			t.Fatalf("registration in the window: %v", r)
		}
	}

	// regs: 0 WALLET, 1 WALLET, 2 POINTS, 3 WALLET, 4 POINTS.
	cancel := func(i int, at time.Time, refunded bool) {
		t.Helper()
		f.at(at)
		c := f.ok(t, owners[i].OwnerToken, "cancelRegistration", evCancelIn(regs[i]))
		bal, pts := f.balance(t, owners[i].Owner.ID)
		paidFen, paidPts := wkFen(regs[i], "paid"), wkNum(regs[i]["paidPoints"])
		if c["status"] != "CANCELLED" || c["cancelledAt"] == nil || c["checkInCode"] != nil {
			t.Fatalf("cancelled: %v", c)
		}
		n, fen, points := f.entries(t, owners[i].Owner.ID, wallet.Refund)
		if refunded {
			if wkFen(c, "refunded") != paidFen || wkNum(c["refundedPoints"]) != paidPts || bal != 10_000 || pts != 1_000 ||
				n != 1 || int(fen) != paidFen || int(points) != paidPts {
				t.Fatalf("cancelled before the deadline: %v; balance %d, points %d; %d REFUND of %d, %d", c, bal, pts, n, fen, points)
			}
			return
		}
		if wkFen(c, "refunded") != 0 || wkNum(c["refundedPoints"]) != 0 || n != 0 ||
			bal != int64(10_000-paidFen) || pts != int64(1_000-paidPts) {
			t.Fatalf("cancelled after the deadline: %v; balance %d, points %d; %d REFUND", c, bal, pts, n)
		}
	}
	cancel(0, deadline.Add(-time.Microsecond), true)
	cancel(2, deadline.Add(-time.Microsecond), true) // points back as well
	cancel(1, deadline, false)
	cancel(4, deadline, false)
	cancel(3, start.Add(-time.Microsecond), false)
	if e := f.event(t, ev["id"]); e.SeatsTaken != 0 {
		t.Fatalf("seats after every cancellation: %d", e.SeatsTaken)
	}
	f.audit(t)
}

// ---------------------------------------------------------------------------
// The waitlist

// Freed seats go to the earliest waitlisted registrations that fit: a
// party of 3 waitlisted before a party of 1 is passed over when one seat
// frees; an owner who cannot pay is skipped, stays waitlisted and is told
// (EVENT_PAYMENT_FAILED) while the next is promoted, charged and told
// (EVENT_PROMOTED). Raising the capacity promotes at once; lowering it
// below the confirmed seats is refused.
func TestEventWaitlistPromotion(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayPromotion)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 3, "maxPartySize": 3, "feeFen": 2_000}))
	f.at(start.AddDate(0, 0, -5))
	x, y := f.owner(t, 10_000, 0), f.owner(t, 10_000, 0)
	big, broke, small, late := f.owner(t, 10_000, 0), f.owner(t, 0, 0), f.owner(t, 10_000, 0), f.owner(t, 10_000, 0)
	rx := f.register(t, x, ev["id"], nil)
	f.register(t, y, ev["id"], map[string]any{"partySize": 2})
	rBig := f.register(t, big, ev["id"], map[string]any{"partySize": 3})
	rBroke := f.register(t, broke, ev["id"], nil) // waitlisted: no charge yet, so no refusal
	rSmall := f.register(t, small, ev["id"], nil)
	rLate := f.register(t, late, ev["id"], nil)
	for i, r := range []map[string]any{rBig, rBroke, rSmall, rLate} {
		if r["status"] != "WAITLISTED" || wkNum(r["waitlistPosition"]) != i+1 || wkFen(r, "paid") != 0 {
			t.Fatalf("waitlisted %d: %v", i+1, r)
		}
	}
	if n, _, _ := f.entries(t, broke.Owner.ID, wallet.Spend); n != 0 {
		t.Fatal("a waitlisted registration was charged")
	}

	// One seat frees: the party of 3 does not fit, the broke owner cannot
	// pay, the next one is promoted.
	f.ok(t, x.OwnerToken, "cancelRegistration", evCancelIn(rx))
	want := map[any]string{rBig["id"]: "WAITLISTED", rBroke["id"]: "WAITLISTED", rSmall["id"]: "CONFIRMED", rLate["id"]: "WAITLISTED"}
	for id, st := range want {
		if r := f.reg(t, id); string(r.Status) != st {
			t.Fatalf("after one seat freed, %v is %s, want %s", id, r.Status, st)
		}
	}
	if r := f.reg(t, rSmall["id"]); r.PaidFen != 2_000 || r.ConfirmedAt == nil {
		t.Fatalf("promoted: %+v", r)
	}
	if bal, _ := f.balance(t, small.Owner.ID); bal != 8_000 {
		t.Fatalf("the promoted owner's balance: %d", bal)
	}
	if k := f.inboxKinds(t, small.OwnerToken); evCount(k, events.NotifyPromoted) != 1 {
		t.Fatalf("the promoted owner's inbox: %v", k)
	}
	if k := f.inboxKinds(t, broke.OwnerToken); evCount(k, events.NotifyPromotionFailed) != 1 || evCount(k, events.NotifyPromoted) != 0 {
		t.Fatalf("the broke owner's inbox: %v", k)
	}
	if k := f.inboxKinds(t, big.OwnerToken); len(k) != 0 {
		t.Fatalf("the passed-over party's inbox: %v", k)
	}
	// The queue closes up: big 1, broke 2, late 3.
	mine := func(c wkCar) map[string]any {
		t.Helper()
		return dig(f.gql(t, c.OwnerToken, evMineDoc, map[string]any{"n": 5, "st": "WAITLISTED"}), "me", "registrations", "edges", 0, "node").(map[string]any)
	}
	for i, c := range []wkCar{big, broke, late} {
		if p := wkNum(mine(c)["waitlistPosition"]); p != i+1 {
			t.Fatalf("waitlist position %d, want %d", p, i+1)
		}
	}

	// Lowering the capacity below the confirmed seats is refused; raising
	// it promotes at once: 3 more seats take the party of 3 (first in
	// line, now that it fits); the others wait.
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 2}, "CAPACITY_BELOW_CONFIRMED", "capacity")
	up := f.ok(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 6})
	if wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("after raising the capacity: %v", up)
	}
	for id, st := range map[any]string{rBig["id"]: "CONFIRMED", rBroke["id"]: "WAITLISTED", rLate["id"]: "WAITLISTED"} {
		if r := f.reg(t, id); string(r.Status) != st {
			t.Fatalf("after raising the capacity, %v is %s, want %s", id, r.Status, st)
		}
	}
	if bal, _ := f.balance(t, big.Owner.ID); bal != 4_000 {
		t.Fatalf("the party of 3 paid: balance %d", bal)
	}
	// One more seat: the broke owner, now with money, is promoted before late.
	f.fund(t, broke.Owner.ID, 2_000, 0)
	up = f.ok(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 7})
	if r := f.reg(t, rBroke["id"]); r.Status != events.Confirmed || r.PaidFen != 2_000 {
		t.Fatalf("the owner who topped up: %+v", r)
	}
	if r := f.reg(t, rLate["id"]); r.Status != events.Waitlisted {
		t.Fatalf("late: %+v", r)
	}
	if e := f.event(t, ev["id"]); e.SeatsTaken != 7 || wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("seats: %+v", e)
	}
	f.audit(t)
}

// cancelEvent cancels every registration, refunds every confirmed one in
// full (also after the deadline: the store cancelled) through REFUND
// entries, and tells every owner.
func TestEventCancelRefundsEveryone(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayCancelEvent)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 4, "maxPartySize": 2,
		"feeFen": 5_000, "feePoints": 300}))
	f.at(start.AddDate(0, 0, -5))
	owners := []wkCar{f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000)}
	regs := []map[string]any{
		f.register(t, owners[0], ev["id"], map[string]any{"partySize": 2, "payWith": "WALLET"}),
		f.register(t, owners[1], ev["id"], map[string]any{"partySize": 1, "payWith": "POINTS"}),
		f.register(t, owners[2], ev["id"], map[string]any{"partySize": 1, "payWith": "WALLET"}),
		f.register(t, owners[3], ev["id"], map[string]any{"partySize": 2, "payWith": "WALLET"}), // waitlisted
	}
	if regs[3]["status"] != "WAITLISTED" {
		t.Fatalf("fourth: %v", regs[3])
	}
	f.at(start.Add(-2 * time.Hour)) // past the deadline
	c := f.ok(t, staff, "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "台风预警"})
	if c["status"] != "CANCELLED" || c["cancelReason"] != "台风预警" {
		t.Fatalf("cancelled: %v", c)
	}
	if e := f.event(t, ev["id"]); e.SeatsTaken != 0 || e.Status != events.Cancelled {
		t.Fatalf("cancelled event: %+v", e)
	}
	for i, o := range owners {
		r := f.reg(t, regs[i]["id"])
		bal, pts := f.balance(t, o.Owner.ID)
		n, _, _ := f.entries(t, o.Owner.ID, wallet.Refund)
		wantN := int64(1)
		if i == 3 {
			wantN = 0
		}
		if r.Status != events.Withdrawn || r.RefundedFen != r.PaidFen || r.RefundedPoints != r.PaidPoints ||
			bal != 20_000 || pts != 1_000 || n != wantN {
			t.Fatalf("owner %d after the event was cancelled: %+v; balance %d, points %d, %d REFUND entries", i, r, bal, pts, n)
		}
		if k := f.inboxKinds(t, o.OwnerToken); evCount(k, events.NotifyEventCancelled) != 1 {
			t.Fatalf("owner %d's inbox: %v", i, k)
		}
	}
	m := f.wlMe(t, owners[0].OwnerToken, 5, "", "REFUND")
	if e := wlNodes(m); len(e) != 1 || wkFen(e[0], "amount") != 10_000 {
		t.Fatalf("the owner's REFUND entries: %v", e)
	}
	// The owners see the cancellation.
	e := f.gql(t, owners[0].OwnerToken, evEventDoc, map[string]any{"id": ev["id"]})["event"]
	if dig(e, "status") != "CANCELLED" || dig(e, "myRegistration") != nil {
		t.Fatalf("a cancelled event as its owner: %v", e)
	}
	f.audit(t)
}

// ---------------------------------------------------------------------------
// Who may do what

func TestEventAuthorization(t *testing.T) {
	f := newEvents(t)
	start := evStart(t, evDayAuthz)
	sz, gz, advisor, admin := f.staff(t, "events.sz01"), f.staff(t, "events.gz01"), f.staff(t, "advisor.sz01"), f.staff(t, "admin")
	in := evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 5})

	// Only EVENTS and MANAGER (and GROUP_ADMIN) create events, only at their
	// stores.
	f.denied(t, "", "createEvent", in, "UNAUTHENTICATED")
	f.denied(t, advisor, "createEvent", in, "FORBIDDEN")
	f.denied(t, f.staff(t, "cashier.sz01"), "createEvent", in, "FORBIDDEN")
	f.denied(t, gz, "createEvent", in, "FORBIDDEN")
	a, b := f.owner(t, 0, 0), f.owner(t, 0, 0)
	f.denied(t, a.OwnerToken, "createEvent", in, "FORBIDDEN")
	ev := f.publish(t, sz, in)
	gzEv := f.publish(t, admin, evEventIn(f.gz, "CLASS", start, nil)) // the admin runs every store
	id := ev["id"]

	// Another store's event staff may not touch SZ01's event.
	f.denied(t, gz, "updateEvent", map[string]any{"eventId": id, "title": "x"}, "FORBIDDEN")
	f.denied(t, gz, "cancelEvent", map[string]any{"eventId": id, "reason": "x"}, "FORBIDDEN")
	f.denied(t, sz, "publishEvent", map[string]any{"eventId": gzEv["id"]}, "FORBIDDEN")
	r := f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}, Token: gz})
	e2eWantGQLError(t, r, "FORBIDDEN")
	for _, tok := range []string{advisor, a.OwnerToken} {
		e2eWantGQLError(t, f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}, Token: tok}), "FORBIDDEN")
	}
	e2eWantGQLError(t, f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}}), "UNAUTHENTICATED")
	e2eWantGQLError(t, f.do(t, req{Query: evListDoc, Vars: map[string]any{"f": map[string]any{"storeId": f.sz,
		"includeUnpublished": true}}, Token: gz}), "FORBIDDEN")

	// Owners register; staff do not, and nobody without a token.
	f.at(start.AddDate(0, 0, -5))
	f.denied(t, sz, "registerForEvent", evRegIn(id, nil), "FORBIDDEN")
	f.denied(t, "", "registerForEvent", evRegIn(id, nil), "UNAUTHENTICATED")
	ra := f.register(t, a, id, nil)
	code := wkStr(ra["checkInCode"])

	// Another owner: cannot see, cancel or find the registration.
	f.denied(t, b.OwnerToken, "cancelRegistration", evCancelIn(ra), "NOT_FOUND")
	f.denied(t, "", "cancelRegistration", evCancelIn(ra), "UNAUTHENTICATED")
	if n := f.gql(t, b.OwnerToken, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; n != nil {
		t.Fatalf("another owner reads the registration: %v", n)
	}
	if my := dig(f.gql(t, b.OwnerToken, evEventDoc, map[string]any{"id": id}), "event", "myRegistration"); my != nil {
		t.Fatalf("another owner's myRegistration: %v", my)
	}
	if n := f.gql(t, a.OwnerToken, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; dig(n, "checkInCode") != code {
		t.Fatalf("the owner's node: %v", n)
	}
	// The host store's staff read it without its code; another store's
	// staff do not read it.
	if n := f.gql(t, sz, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; dig(n, "status") != "CONFIRMED" || dig(n, "checkInCode") != nil {
		t.Fatalf("the host staff's node: %v", n)
	}
	if n := f.gql(t, gz, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; n != nil {
		t.Fatalf("another store's staff read the registration: %v", n)
	}
	// Another store's staff cannot check in or cancel SZ01's registrations
	// (a code of another store's event is unknown to them).
	f.at(start.Add(-time.Hour))
	f.denied(t, gz, "checkInRegistration", map[string]any{"code": code}, "NOT_FOUND")
	f.denied(t, advisor, "checkInRegistration", map[string]any{"code": code}, "FORBIDDEN")
	f.denied(t, a.OwnerToken, "checkInRegistration", map[string]any{"code": code}, "FORBIDDEN")
	f.at(start.AddDate(0, 0, -5))
	f.denied(t, gz, "cancelRegistration", evCancelIn(ra), "NOT_FOUND")
	f.denied(t, advisor, "cancelRegistration", evCancelIn(ra), "FORBIDDEN")
	if r := f.reg(t, ra["id"]); r.Status != events.Confirmed || r.CheckedInAt != nil {
		t.Fatalf("denied requests changed the registration: %+v", r)
	}
	// The host store's event staff cancel for the owner.
	if c := f.ok(t, sz, "cancelRegistration", evCancelIn(ra)); c["status"] != "CANCELLED" {
		t.Fatalf("cancelled by staff: %v", c)
	}
	// Drafts: the other store's staff do not see them.
	d := f.ok(t, sz, "createEvent", in)
	if e := f.gql(t, gz, evEventDoc, map[string]any{"id": d["id"]})["event"]; e != nil {
		t.Fatalf("another store's staff read a draft: %v", e)
	}
	if e := f.gql(t, admin, evEventDoc, map[string]any{"id": d["id"]})["event"]; dig(e, "status") != "DRAFT" {
		t.Fatalf("the admin reads a draft: %v", e)
	}
	e2eWantGQLError(t, f.do(t, req{Query: evEventDoc, Vars: map[string]any{"id": id}}), "UNAUTHENTICATED")
}

// ---------------------------------------------------------------------------
// Statements

// The events list with each event's store and the caller's registration
// (and its waitlist position), and me.registrations with each one's event,
// store and position, cost as many statements for 20 rows as for 2.
func TestEventNoNPlusOne(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	first := evStart(t, evDayStatements)
	ids := make([]any, 20)
	for i := range ids {
		ids[i] = f.publish(t, staff, evEventIn(f.sz, "CLASS", first.Add(time.Duration(i)*time.Minute), map[string]any{"capacity": 1}))["id"]
	}
	f.at(first.AddDate(0, 0, -5))
	filler, me := f.owner(t, 0, 0), f.owner(t, 0, 0)
	for i, id := range ids {
		if i%2 == 0 {
			f.register(t, filler, id, nil) // me waits on every other one
		}
		f.register(t, me, id, nil)
	}
	vars := func(n int) map[string]any {
		return map[string]any{"n": n, "f": map[string]any{"storeId": f.sz, "from": evTS(first),
			"to": evTS(first.Add(19 * time.Minute))}}
	}
	n2, d2 := minStatements(t, f.testServer, me.OwnerToken, evListDoc, vars(2))
	n20, d20 := minStatements(t, f.testServer, me.OwnerToken, evListDoc, vars(20))
	edges, _ := dig(d20, "events", "edges").([]any)
	if len(dig(d2, "events", "edges").([]any)) != 2 || len(edges) != 20 {
		t.Fatalf("events: %d and %d", len(dig(d2, "events", "edges").([]any)), len(edges))
	}
	for i, e := range edges {
		wantStatus, wantPos := "CONFIRMED", any(nil)
		if i%2 == 0 {
			wantStatus, wantPos = "WAITLISTED", float64(1)
		}
		if dig(e, "node", "id") != ids[i] || dig(e, "node", "store", "code") != "SZ01" ||
			dig(e, "node", "myRegistration", "status") != wantStatus || dig(e, "node", "myRegistration", "waitlistPosition") != wantPos {
			t.Fatalf("event %d: %v", i, e)
		}
	}
	if n2 != n20 {
		t.Fatalf("events with store and myRegistration: %d statements for 2, %d for 20", n2, n20)
	}

	m2, _ := minStatements(t, f.testServer, me.OwnerToken, evMineDoc, map[string]any{"n": 2})
	m20, d := minStatements(t, f.testServer, me.OwnerToken, evMineDoc, map[string]any{"n": 20})
	regs, _ := dig(d, "me", "registrations", "edges").([]any)
	waiting := 0
	for _, r := range regs {
		if dig(r, "node", "event", "store", "code") != "SZ01" || wkStr(dig(r, "node", "event", "title")) == "" {
			t.Fatalf("registration: %v", r)
		}
		if dig(r, "node", "waitlistPosition") == float64(1) {
			waiting++
		}
	}
	if len(regs) != 20 || waiting != 10 {
		t.Fatalf("me.registrations: %d, %d waiting", len(regs), waiting)
	}
	if m2 != m20 {
		t.Fatalf("me.registrations with event, store and position: %d statements for 2, %d for 20", m2, m20)
	}
	t.Logf("events: %d statements; me.registrations: %d", n20, m20)
}

// Both connections page without gaps or repeats, also through events that
// start at the same moment (the cursor is the start and the id).
func TestEventPaging(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	first := evStart(t, evDayPaging)
	const n = 7
	want := make([]any, n)
	for i := range want {
		// Three events at each hour: ties on startsAt.
		want[i] = f.publish(t, staff, evEventIn(f.sz, "CLASS", first.Add(time.Duration(i/3)*time.Hour), nil))["id"]
	}
	f.at(first.AddDate(0, 0, -5))
	me := f.owner(t, 0, 0)
	for _, id := range want {
		f.register(t, me, id, nil)
	}
	const listDoc = `query($f: EventFilter, $n: Int, $a: String) { events(filter: $f, first: $n, after: $a) {
		edges { cursor node { id startsAt } } pageInfo { hasNextPage endCursor } } }`
	const mineDoc = `query($n: Int, $a: String) { me { registrations(first: $n, after: $a) {
		edges { cursor node { id event { id } } } pageInfo { hasNextPage endCursor } } } }`
	walk := func(doc string, vars map[string]any, path ...any) []any {
		t.Helper()
		var out []any
		var after any
		for range n + 1 {
			vars["n"], vars["a"] = 2, after
			conn := dig(f.gql(t, me.OwnerToken, doc, vars), path...)
			for _, e := range dig(conn, "edges").([]any) {
				out = append(out, dig(e, "node"))
			}
			if dig(conn, "pageInfo", "hasNextPage") != true {
				return out
			}
			after = dig(conn, "pageInfo", "endCursor")
		}
		t.Fatalf("%v does not end", path)
		return nil
	}
	evs := walk(listDoc, map[string]any{"f": map[string]any{"storeId": f.sz, "from": evTS(first),
		"to": evTS(first.Add(2 * time.Hour))}}, "events")
	seen := map[any]bool{}
	var last time.Time
	for _, e := range evs {
		at := e2eTime(t, dig(e, "startsAt"))
		if seen[dig(e, "id")] || at.Before(last) {
			t.Fatalf("events out of order or repeated: %v", evs)
		}
		seen[dig(e, "id")], last = true, at
	}
	if len(evs) != n {
		t.Fatalf("%d events over the pages, want %d", len(evs), n)
	}
	regs := walk(mineDoc, map[string]any{}, "me", "registrations")
	seen = map[any]bool{}
	for i, r := range regs {
		// Newest first: the last registered comes first.
		if seen[dig(r, "id")] || dig(r, "event", "id") != want[n-1-i] {
			t.Fatalf("registrations out of order or repeated: %v", regs)
		}
		seen[dig(r, "id")] = true
	}
	if len(regs) != n {
		t.Fatalf("%d registrations over the pages, want %d", len(regs), n)
	}
}

// TestEventCancelAfterCheckIn: a store may cancel in the event's last hours,
// after people were admitted; the fee comes back, the attendance points stay.
func TestEventCancelAfterCheckIn(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, 146)
	ev := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 5_000, "attendancePoints": 500}))
	f.at(start.AddDate(0, 0, -5))
	a := f.owner(t, 10_000, 0)
	r := f.register(t, a, ev["id"], nil)
	f.at(start.Add(-time.Hour))
	f.ok(t, staff, "checkInRegistration", map[string]any{"code": r["checkInCode"]})
	f.ok(t, staff, "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "场地停电"})
	if fen, points := f.balance(t, a.Owner.ID); fen != 10_000 || points != 500 {
		t.Fatalf("balance %d, points %d after the cancellation; want 10000 and 500", fen, points)
	}
	f.audit(t)
}

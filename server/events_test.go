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

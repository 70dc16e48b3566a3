package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// End-to-end tests of maintenance booking
// through the real server: owners list free slots, book, move and cancel
// their appointments; staff book for owners, read a day's schedule, record
// arrivals (which open the repair order) and no-shows, read the daily
// figures and change the store's calendar; every refusal with its code; who
// may act on what; the no-overbooking invariant under concurrency (also
// across two server instances on one PostgreSQL); idempotent retries; the
// statements the read screens take; and the store's time zone at midnight.
//
// The package's tests share one seeded database, whose demo data books
// SZ01 and GZ01 in the coming nine days and closes both for stocktaking in
// twelve. So that they do not meet other tests or the demo data in a slot,
// these tests book at SZ01 on the days 20 to 29 ahead, one day per test,
// mostly for DETAILING, whose seats on that day each test sets with a date
// override of its own (the week's seats stay as they are). The calendar
// test changes the week's seats of BODY_PAINT, which nothing else books,
// and puts them back. The time-zone and slot-length tests use stores of
// their own, removed afterwards. Owners and cars are new in every test.
// Dates are store-local (Asia/Shanghai); the tests never rely on today
// having a slot left, and those about "too late", "started" and reminders
// move the booking service's clock (or the job's) instead of waiting.

// Days ahead each test books on (store-local), so that the tests' date
// overrides never meet.
const (
	bkDayOwnerFlow   = 20
	bkDayRefusals    = 21
	bkDayClosed      = 22
	bkDayStaff       = 23
	bkDayClock       = 24
	bkDayCalendar    = 25
	bkDayRace        = 26
	bkDayChanges     = 27
	bkDayIdempotency = 28
	bkDayStatements  = 29
	bkDayRetry       = 19

	bkKind = "DETAILING"
)

const (
	bkApptFields = `id status source kind note slotStart slotEnd createdAt store { code } vehicle { id plate } repairOrder { id }`
	bkSlotsDoc   = `query($s: ID!, $k: RepairOrderKind!, $from: Date!, $to: Date!) {
		availableSlots(storeId: $s, kind: $k, from: $from, to: $to) { start end seatsLeft } }`
	bkCalendarFields = `slotMinutes openingHours { weekday opens closes } seats { kind seats } overrides { date kind closed seats note }`
	bkCalendarDoc    = `query($s: ID!) { storeCalendar(storeId: $s) { ` + bkCalendarFields + ` } }`
	bkScheduleDoc    = `query($s: ID!, $d: Date!) { appointments(storeId: $s, date: $d) { date closed slots { start end kind seats booked
		appointments { id status source kind note slotStart slotEnd store { code } owner { id name phone } vehicle { id plate vin } repairOrder { id } } } } }`
	bkScheduleNoOwnerDoc = `query($s: ID!, $d: Date!) { appointments(storeId: $s, date: $d) { date slots { start kind booked
		appointments { id status note vehicle { plate } } } } }`
	bkStatsDoc = `query($s: ID!, $from: Date!, $to: Date!) { bookingStats(storeId: $s, from: $from, to: $to) {
		date booked arrived noShow cancelled } }`
	bkMineDoc = `query($st: AppointmentStatus) { me { appointments(first: 50, status: $st) {
		edges { cursor node { ` + bkApptFields + ` owner { id } } } pageInfo { hasNextPage } } } }`
	bkNodeDoc = `query($id: ID!) { node(id: $id) { __typename ... on Appointment { id status slotStart repairOrder { id } } } }`
)

// bkDocs are the booking mutations, each selecting everything its payload has.
var bkDocs = map[string]string{
	"bookAppointment": `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"rescheduleAppointment": `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"cancelAppointment": `mutation($in: AppointmentInput!) { cancelAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"markNoShow": `mutation($in: AppointmentInput!) { markNoShow(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"markArrived": `mutation($in: MarkArrivedInput!) { markArrived(input: $in) {
		appointment { ` + bkApptFields + ` }
		repairOrder { id number status kind concern mileageIn store { code } vehicle { id vin } }
		userErrors { code field message } } }`,
	"setStoreCalendar": `mutation($in: SetStoreCalendarInput!) { setStoreCalendar(input: $in) {
		calendar { ` + bkCalendarFields + ` } conflicts { id status slotStart kind } userErrors { code field message } } }`,
	"setCalendarOverride": `mutation($in: SetCalendarOverrideInput!) { setCalendarOverride(input: $in) {
		calendar { ` + bkCalendarFields + ` } conflicts { id status slotStart kind } userErrors { code field message } } }`,
}

// bkFixture is a workshop fixture whose booking clock can be moved.
type bkFixture struct {
	*wkFixture
	szID   uuid.UUID
	offset atomic.Int64 // of the booking clock, in nanoseconds
}

func newBooking(t *testing.T, tweak ...func(*Config, *Deps)) *bkFixture {
	t.Helper()
	f := &bkFixture{wkFixture: newWorkshop(t, tweak...)}
	f.szID = e2eStoreID(t, f.testServer, "SZ01")
	// Set before the first booking request: from then on only the offset
	// changes.
	f.App.Booking.Clock = func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	return f
}

// setClock moves the booking clock so that it reads at (zero: the real time).
func (f *bkFixture) setClock(at time.Time) {
	if at.IsZero() {
		f.offset.Store(0)
		return
	}
	f.offset.Store(int64(time.Until(at)))
}

// bkDay is the store-local date n days from today.
func bkDay(n int) models.Date { return testdb.Today().AddDate(0, 0, n) }

// bkShanghai is the demo stores' zone.
var bkShanghai = models.ChinaTime

// bkSlot is a slot as availableSlots gives it.
type bkSlot struct {
	Start, End time.Time
	SeatsLeft  int
}

func bkTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("not a DateTime: %v", v)
	}
	return at
}

func bkTS(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

func bkSlotsOf(t testing.TB, list any) []bkSlot {
	t.Helper()
	items, ok := list.([]any)
	if !ok {
		t.Fatalf("availableSlots is not a list: %v", list)
	}
	out := make([]bkSlot, len(items))
	for i, it := range items {
		n, ok := dig(it, "seatsLeft").(float64)
		if !ok {
			t.Fatalf("slot without seatsLeft: %v", it)
		}
		out[i] = bkSlot{Start: bkTime(t, dig(it, "start")), End: bkTime(t, dig(it, "end")), SeatsLeft: int(n)}
	}
	return out
}

// slots reads availableSlots of a store (global id) from..to, publicly.
func (f *bkFixture) slots(t testing.TB, store, kind string, from, to models.Date) []bkSlot {
	t.Helper()
	d := f.gql(t, "", bkSlotsDoc, map[string]any{"s": store, "k": kind, "from": from.String(), "to": to.String()})
	return bkSlotsOf(t, d["availableSlots"])
}

// daySlots are SZ01's slots of kind on day; the day must have some.
func (f *bkFixture) daySlots(t testing.TB, kind string, day models.Date) []bkSlot {
	t.Helper()
	s := f.slots(t, f.sz, kind, day, day)
	if len(s) < 4 {
		t.Fatalf("SZ01 has only %d %s slots on %s", len(s), kind, day)
	}
	return s
}

// seatsLeft is what availableSlots says is left of the SZ01 slot starting
// at start; -1 when it is not listed.
func (f *bkFixture) seatsLeft(t testing.TB, kind string, start time.Time) int {
	t.Helper()
	day := models.DateOf(start.In(bkShanghai))
	for _, s := range f.slots(t, f.sz, kind, day, day) {
		if s.Start.Equal(start) {
			return s.SeatsLeft
		}
	}
	return -1
}

// call sends a booking mutation with its input.
func (f *bkFixture) call(t testing.TB, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc, ok := bkDocs[field]
	if !ok {
		t.Fatalf("no document for %s", field)
	}
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// ok runs a mutation that must be accepted and returns its payload.
func (f *bkFixture) ok(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return p
}

// appt runs an appointment mutation that must be accepted and returns the
// appointment.
func (f *bkFixture) appt(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	a, _ := f.ok(t, token, field, input)["appointment"].(map[string]any)
	if a == nil {
		t.Fatalf("%s(%v) accepted without an appointment", field, input)
	}
	return a
}

// refused runs a mutation that must be refused with code as a userError
// (on the input field when given), with no result.
func (f *bkFixture) refused(t testing.TB, token, field string, input map[string]any, code string, on ...string) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if len(on) > 0 {
		e2eWantUserError(t, p, code, append([]string{"input"}, on...)...)
	} else {
		expectUserError(t, p, code)
	}
	if m, _ := dig(p, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("%s: userError %s without a message", field, code)
	}
	for _, k := range []string{"appointment", "repairOrder", "calendar"} {
		if p[k] != nil {
			t.Fatalf("%s refused with %s but returned %s: %v", field, code, k, p)
		}
	}
	return p
}

// denied runs a mutation the API must deny with a GraphQL error code.
func (f *bkFixture) denied(t testing.TB, token, field string, input map[string]any, code string) {
	t.Helper()
	r := f.call(t, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Data)
	}
}

// bookIn is a bookAppointment input at SZ01.
func (f *bkFixture) bookIn(car wkCar, kind string, start time.Time, extra map[string]any) map[string]any {
	in := map[string]any{"storeId": f.sz, "vehicleId": car.ID, "kind": kind, "slotStart": bkTS(start)}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// book books start for an owner's own car, which must be accepted.
func (f *bkFixture) book(t testing.TB, car wkCar, kind string, start time.Time) map[string]any {
	t.Helper()
	return f.appt(t, car.OwnerToken, "bookAppointment", f.bookIn(car, kind, start, nil))
}

func bkID(in map[string]any) map[string]any { return map[string]any{"appointmentId": in["id"]} }

func bkMove(id any, start time.Time) map[string]any {
	return map[string]any{"appointmentId": id, "slotStart": bkTS(start)}
}

// setDaySeats gives kind seats per slot on day at SZ01 (a date override by
// the manager), which must be accepted.
func (f *bkFixture) setDaySeats(t testing.TB, day models.Date, kind string, seats int) {
	t.Helper()
	f.ok(t, f.staff(t, "manager.sz01"), "setCalendarOverride",
		map[string]any{"storeId": f.sz, "date": day.String(), "kind": kind, "seats": seats, "note": "e2e booking test"})
}

// bkCounts reads a slot's counter and its BOOKED appointments straight from
// the database.
func bkCounts(t testing.TB, db *models.DB, store uuid.UUID, kind string, start time.Time) (counter, booked int64) {
	t.Helper()
	conn := db.Conn(context.Background())
	var c []int64
	if err := conn.Raw(`SELECT booked FROM slot_bookings WHERE store_id = ? AND kind = ? AND slot_start = ?`,
		store, kind, start.UTC()).Scan(&c).Error; err != nil {
		t.Fatal(err)
	}
	if len(c) == 1 {
		counter = c[0]
	}
	if err := conn.Raw(`SELECT COUNT(*) FROM appointments WHERE store_id = ? AND kind = ? AND slot_start = ? AND status = 'BOOKED'`,
		store, kind, start.UTC()).Scan(&booked).Error; err != nil {
		t.Fatal(err)
	}
	return counter, booked
}

// bkWantCounts checks a slot's counter equals its BOOKED appointments and is n.
func bkWantCounts(t testing.TB, db *models.DB, store uuid.UUID, kind string, start time.Time, n int64) {
	t.Helper()
	counter, booked := bkCounts(t, db, store, kind, start)
	if counter != booked || booked != n {
		t.Fatalf("slot %s %s: counter %d, BOOKED appointments %d, want %d", kind, start.In(bkShanghai), counter, booked, n)
	}
}

// bkStored reads an appointment's status and slot from the database.
func bkStored(t testing.TB, db *models.DB, gid any) (status string, start time.Time) {
	t.Helper()
	_, id, ok := bkParseID(gid)
	if !ok {
		t.Fatalf("not an appointment id: %v", gid)
	}
	var row struct {
		Status    string
		SlotStart time.Time
	}
	if err := db.Conn(context.Background()).Raw(`SELECT status, slot_start FROM appointments WHERE id = ?`, id).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.Status, row.SlotStart.UTC()
}

// bkParseID decodes a global id (the tests need the key for SQL).
func bkParseID(gid any) (string, uuid.UUID, bool) {
	s, _ := gid.(string)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", uuid.Nil, false
	}
	typ, key, ok := strings.Cut(string(raw), ":")
	id, err := uuid.Parse(key)
	return typ, id, ok && err == nil
}

// mine lists the owner's appointments (me.appointments), optionally of one
// status.
func (f *bkFixture) mine(t testing.TB, token string, status string) []map[string]any {
	t.Helper()
	vars := map[string]any{}
	if status != "" {
		vars["st"] = status
	}
	edges, _ := dig(f.gql(t, token, bkMineDoc, vars), "me", "appointments", "edges").([]any)
	out := make([]map[string]any, len(edges))
	for i, e := range edges {
		out[i], _ = dig(e, "node").(map[string]any)
	}
	return out
}

func bkIDs(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i], _ = a["id"].(string)
	}
	return out
}

// schedule reads SZ01's day as token's holder.
func (f *bkFixture) schedule(t testing.TB, token string, day models.Date) map[string]any {
	t.Helper()
	d, _ := f.gql(t, token, bkScheduleDoc, map[string]any{"s": f.sz, "d": day.String()})["appointments"].(map[string]any)
	return d
}

// bkScheduled finds an appointment on a schedule: its slot and itself.
func bkScheduled(day map[string]any, id string) (slot, appt map[string]any) {
	slots, _ := dig(day, "slots").([]any)
	for _, s := range slots {
		list, _ := dig(s, "appointments").([]any)
		for _, a := range list {
			if dig(a, "id") == id {
				return s.(map[string]any), a.(map[string]any)
			}
		}
	}
	return nil, nil
}

// stats reads SZ01's bookingStats of one day as the manager.
func (f *bkFixture) stats(t testing.TB, day models.Date) map[string]int {
	t.Helper()
	d := f.gql(t, f.staff(t, "manager.sz01"), bkStatsDoc, map[string]any{"s": f.sz, "from": day.String(), "to": day.String()})
	list, _ := d["bookingStats"].([]any)
	if len(list) != 1 || dig(list, 0, "date") != day.String() {
		t.Fatalf("bookingStats of %s: %v", day, d)
	}
	out := map[string]int{}
	for _, k := range []string{"booked", "arrived", "noShow", "cancelled"} {
		n, _ := dig(list, 0, k).(float64)
		out[k] = int(n)
	}
	return out
}

// ---------------------------------------------------------------------------
// Owners

func TestBookingOwnerFlow(t *testing.T) {
	f := newBooking(t)
	day := bkDay(bkDayOwnerFlow)
	f.setDaySeats(t, day, bkKind, 3)
	car := f.newCar(t, "")
	ownerGID := e2eGlobalID("Owner", car.Owner.ID)

	// 30 days of slots in one request: each with start, end and seats left,
	// in order, on the store's grid, within the booking window.
	cal := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.sz})
	perDay := map[int]int{} // weekday -> slots a day
	for _, h := range dig(cal, "storeCalendar", "openingHours").([]any) {
		o, c := bkClock(t, dig(h, "opens")), bkClock(t, dig(h, "closes"))
		perDay[int(dig(h, "weekday").(float64))] = (c - o) / 60
	}
	// Days closed for DETAILING (the demo stores close for stocktaking).
	closedOn := map[string]bool{}
	for _, o := range dig(cal, "storeCalendar", "overrides").([]any) {
		if dig(o, "closed") == true && (dig(o, "kind") == nil || dig(o, "kind") == bkKind) {
			closedOn[dig(o, "date").(string)] = true
		}
	}
	if dig(cal, "storeCalendar", "slotMinutes") != float64(60) || len(perDay) != 7 {
		t.Fatalf("SZ01 calendar: %v", cal)
	}
	before := time.Now()
	before0 := f.DB.Statements()
	all := f.slots(t, f.sz, bkKind, bkDay(0), bkDay(29))
	if n := f.DB.Statements() - before0; n > 6 {
		t.Fatalf("availableSlots for 30 days took %d statements", n)
	}
	after := time.Now()
	if len(all) < 28*8 {
		t.Fatalf("only %d slots in 30 days", len(all))
	}
	count := map[models.Date]int{}
	for i, s := range all {
		local := s.Start.In(bkShanghai)
		switch {
		case s.End.Sub(s.Start) != time.Hour:
			t.Fatalf("slot %v: not 60 minutes", s)
		case i > 0 && !all[i-1].Start.Before(s.Start):
			t.Fatalf("slots out of order at %d: %v then %v", i, all[i-1], s)
		case s.Start.Before(before.Add(2 * time.Hour)):
			t.Fatalf("slot %v starts less than 2 hours ahead", s)
		case s.Start.After(after.Add(30 * 24 * time.Hour)):
			t.Fatalf("slot %v starts more than 30 days ahead", s)
		case s.SeatsLeft < 0 || s.SeatsLeft > 100:
			t.Fatalf("slot %v: seatsLeft", s)
		case local.Weekday() != time.Sunday && local.Minute() != 30, local.Weekday() == time.Sunday && local.Minute() != 0:
			t.Fatalf("slot %v is off SZ01's grid", local)
		}
		count[models.DateOf(local)]++
	}
	for n := 1; n <= 29; n++ {
		d := bkDay(n)
		want := perDay[int(d.Time().Weekday())]
		if closedOn[d.String()] {
			want = 0
		}
		if count[d] != want {
			t.Fatalf("%d slots on %s (%s), want %d", count[d], d, d.Time().Weekday(), want)
		}
	}
	ds := f.daySlots(t, bkKind, day)
	for _, s := range ds {
		if s.SeatsLeft != 3 {
			t.Fatalf("day override of 3 seats: %v", ds)
		}
		if i := slices.IndexFunc(all, func(a bkSlot) bool { return a.Start.Equal(s.Start) }); i < 0 || all[i] != s {
			t.Fatalf("one day and 30 days disagree on %v", s)
		}
	}
	s0, s1 := ds[0].Start, ds[1].Start

	// Book for the owner's own car.
	a := f.appt(t, car.OwnerToken, "bookAppointment", f.bookIn(car, bkKind, s0, map[string]any{"note": "  内饰深度清洁  "}))
	id := a["id"].(string)
	if a["status"] != "BOOKED" || a["source"] != "APP" || a["kind"] != bkKind || a["note"] != "内饰深度清洁" ||
		!bkTime(t, a["slotStart"]).Equal(s0) || !bkTime(t, a["slotEnd"]).Equal(s0.Add(time.Hour)) ||
		dig(a, "store", "code") != "SZ01" || dig(a, "vehicle", "id") != car.ID || a["repairOrder"] != nil {
		t.Fatalf("booked: %v", a)
	}
	if f.seatsLeft(t, bkKind, s0) != 2 || f.seatsLeft(t, bkKind, s1) != 3 {
		t.Fatal("the booking did not take a seat")
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, s0, 1)
	mine := f.mine(t, car.OwnerToken, "")
	if len(mine) != 1 || mine[0]["id"] != id || mine[0]["status"] != "BOOKED" || dig(mine[0], "owner", "id") != ownerGID {
		t.Fatalf("me.appointments: %v", mine)
	}
	if len(f.mine(t, car.OwnerToken, "CANCELLED")) != 0 {
		t.Fatal("a BOOKED appointment is listed as CANCELLED")
	}
	if n := f.gql(t, car.OwnerToken, bkNodeDoc, map[string]any{"id": id}); dig(n, "node", "id") != id || dig(n, "node", "__typename") != "Appointment" {
		t.Fatalf("node(id) of an own appointment: %v", n)
	}

	// Reschedule: the new seat taken, the old one given back, one
	// appointment; the same slot again changes nothing.
	m := f.appt(t, car.OwnerToken, "rescheduleAppointment", bkMove(id, s1))
	if m["id"] != id || m["status"] != "BOOKED" || !bkTime(t, m["slotStart"]).Equal(s1) || !bkTime(t, m["slotEnd"]).Equal(s1.Add(time.Hour)) {
		t.Fatalf("rescheduled: %v", m)
	}
	if f.seatsLeft(t, bkKind, s0) != 3 || f.seatsLeft(t, bkKind, s1) != 2 {
		t.Fatal("reschedule did not move the seat")
	}
	f.appt(t, car.OwnerToken, "rescheduleAppointment", bkMove(id, s1))
	bkWantCounts(t, f.DB, f.szID, bkKind, s0, 0)
	bkWantCounts(t, f.DB, f.szID, bkKind, s1, 1)

	// Cancel: the seat given back; a cancelled appointment does not change.
	c := f.appt(t, car.OwnerToken, "cancelAppointment", bkID(a))
	if c["id"] != id || c["status"] != "CANCELLED" {
		t.Fatalf("cancelled: %v", c)
	}
	if f.seatsLeft(t, bkKind, s1) != 3 {
		t.Fatal("cancel did not give the seat back")
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, s1, 0)
	f.refused(t, car.OwnerToken, "cancelAppointment", bkID(a), "NOT_BOOKED")
	f.refused(t, car.OwnerToken, "rescheduleAppointment", bkMove(id, s0), "NOT_BOOKED")
	if ids := bkIDs(f.mine(t, car.OwnerToken, "CANCELLED")); !slices.Equal(ids, []string{id}) {
		t.Fatalf("cancelled list: %v", ids)
	}
	if len(f.mine(t, car.OwnerToken, "BOOKED")) != 0 {
		t.Fatal("the cancelled appointment is still listed as BOOKED")
	}

	// The car may be booked again; MINI_PROGRAM is an owner's source too.
	again := f.appt(t, car.OwnerToken, "bookAppointment", f.bookIn(car, bkKind, s0, map[string]any{"source": "MINI_PROGRAM"}))
	if again["id"] == id || again["source"] != "MINI_PROGRAM" {
		t.Fatalf("booked again: %v", again)
	}
	if ids := bkIDs(f.mine(t, car.OwnerToken, "")); !slices.Equal(ids, []string{again["id"].(string), id}) {
		t.Fatalf("me.appointments, newest first: %v", ids)
	}
	f.appt(t, car.OwnerToken, "cancelAppointment", bkID(again))
	bkWantCounts(t, f.DB, f.szID, bkKind, s0, 0)
}

func bkClock(t testing.TB, v any) int {
	t.Helper()
	s, _ := v.(string)
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
		t.Fatalf("not HH:MM: %v", v)
	}
	return h*60 + m
}

func TestBookingOwnerRefusals(t *testing.T) {
	f := newBooking(t)
	day := bkDay(bkDayRefusals)
	f.setDaySeats(t, day, bkKind, 1)
	ds := f.daySlots(t, bkKind, day)
	alice, bob := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")

	// SLOT_FULL: one seat, two owners.
	a := f.book(t, alice, bkKind, ds[0].Start)
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[0].Start, nil), "SLOT_FULL", "slotStart")
	if f.seatsLeft(t, bkKind, ds[0].Start) != 0 {
		t.Fatal("a full slot is not shown with 0 seats left")
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[0].Start, 1)

	// VEHICLE_ALREADY_BOOKED: one active appointment per car.
	f.refused(t, alice.OwnerToken, "bookAppointment", f.bookIn(alice, bkKind, ds[1].Start, nil), "VEHICLE_ALREADY_BOOKED", "vehicleId")
	f.refused(t, alice.OwnerToken, "bookAppointment", f.bookIn(alice, "WARRANTY", ds[1].Start, nil), "VEHICLE_ALREADY_BOOKED", "vehicleId")

	// TOO_LATE: an hour from now, whatever the hour (the window is checked
	// before the grid).
	soon := time.Now().Add(time.Hour).Truncate(time.Minute)
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, soon, nil), "TOO_LATE", "slotStart")
	// And a real slot of the grid less than 2 hours ahead, by the booking
	// clock: it is not listed, and booking it is TOO_LATE.
	carol := f.quickCar(t, "SZ01")
	c := f.book(t, carol, bkKind, ds[6].Start)
	f.setClock(ds[2].Start.Add(-119 * time.Minute))
	if f.seatsLeft(t, bkKind, ds[2].Start) != -1 || f.seatsLeft(t, bkKind, ds[3].Start) != 1 {
		t.Fatal("a slot less than 2 hours ahead is listed, or one 3 hours ahead is not")
	}
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, nil), "TOO_LATE", "slotStart")
	f.refused(t, carol.OwnerToken, "rescheduleAppointment", bkMove(c["id"], ds[2].Start), "TOO_LATE", "slotStart")
	f.setClock(time.Time{})
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 0)
	f.appt(t, carol.OwnerToken, "cancelAppointment", bkID(c))

	// TOO_FAR_AHEAD: more than 30 days ahead, on the grid (the first slot
	// of the same weekday two weeks after the day).
	far := ds[0].Start.AddDate(0, 0, 7*((31-bkDayRefusals)/7+1))
	if far.Before(time.Now().Add(31 * 24 * time.Hour)) {
		t.Fatalf("test slot %v is not 31 days ahead", far)
	}
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, far, nil), "TOO_FAR_AHEAD", "slotStart")
	f.refused(t, alice.OwnerToken, "rescheduleAppointment", bkMove(a["id"], far), "TOO_FAR_AHEAD", "slotStart")

	// INVALID_SLOT: within opening hours, off the slot grid.
	for _, off := range []time.Duration{15 * time.Minute, 30 * time.Second, time.Millisecond} {
		f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[1].Start.Add(off), nil), "INVALID_SLOT", "slotStart")
	}
	f.refused(t, alice.OwnerToken, "rescheduleAppointment", bkMove(a["id"], ds[1].Start.Add(20*time.Minute)), "INVALID_SLOT", "slotStart")

	// STORE_CLOSED: outside opening hours, and a day the manager closed.
	night := time.Date(day.Year, day.Month, day.Day, 20, 0, 0, 0, bkShanghai)
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, night, nil), "STORE_CLOSED", "slotStart")
	closed := bkDay(bkDayClosed)
	cs := f.daySlots(t, "MAINTENANCE", closed)
	manager := f.staff(t, "manager.sz01")
	p := f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": closed.String(), "closed": true, "note": "员工培训"})
	t.Cleanup(func() {
		f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": closed.String(), "closed": false})
	})
	if !bkHasOverride(dig(p, "calendar", "overrides"), closed, nil, true) {
		t.Fatalf("closed day not in the calendar: %v", p)
	}
	if got := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.sz}); !bkHasOverride(dig(got, "storeCalendar", "overrides"), closed, nil, true) {
		t.Fatalf("storeCalendar does not list the closed day: %v", got)
	}
	for _, k := range []string{"MAINTENANCE", bkKind} {
		if s := f.slots(t, f.sz, k, closed, closed); len(s) != 0 {
			t.Fatalf("%d %s slots on a closed day", len(s), k)
		}
	}
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, "MAINTENANCE", cs[2].Start, nil), "STORE_CLOSED", "slotStart")
	f.refused(t, alice.OwnerToken, "rescheduleAppointment", bkMove(a["id"], cs[2].Start), "STORE_CLOSED", "slotStart")
	// The days around it stay open: the closure is the store-local day.
	around := f.slots(t, f.sz, "MAINTENANCE", closed.AddDate(0, 0, -1), closed.AddDate(0, 0, 1))
	for _, sl := range around {
		if models.DateOf(sl.Start.In(bkShanghai)) == closed {
			t.Fatalf("a slot on the closed day: %v", sl)
		}
	}
	if len(around) < 16 {
		t.Fatalf("closing a day hid the days around it: %d slots", len(around))
	}
	// A kind closed on a day.
	f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "kind": "ACCIDENT", "closed": true})
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, "ACCIDENT", ds[1].Start, nil), "STORE_CLOSED", "slotStart")
	if len(f.slots(t, f.sz, "ACCIDENT", day, day)) != 0 || len(f.slots(t, f.sz, "WARRANTY", day, day)) == 0 {
		t.Fatal("closing a kind for a day")
	}

	// A reschedule that is refused keeps the old slot.
	if st, at := bkStored(t, f.DB, a["id"]); st != "BOOKED" || !at.Equal(ds[0].Start) {
		t.Fatalf("refused reschedules moved the appointment: %s %v", st, at)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[0].Start, 1)

	// TOO_MANY_APPOINTMENTS: the 4th active appointment of an owner with 4
	// cars; cancelling one makes room.
	fleet := []wkCar{f.newCar(t, "")}
	phone := fleet[0].Owner.Phone
	for range 3 {
		fleet = append(fleet, f.newCar(t, phone))
	}
	var held []map[string]any
	for i, c := range fleet[:3] {
		if c.Owner.ID != fleet[0].Owner.ID {
			t.Fatal("the fleet has two owners")
		}
		held = append(held, f.book(t, c, bkKind, ds[4+i].Start))
	}
	f.refused(t, fleet[3].OwnerToken, "bookAppointment", f.bookIn(fleet[3], bkKind, ds[1].Start, nil), "TOO_MANY_APPOINTMENTS")
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[1].Start, 0)
	f.appt(t, fleet[0].OwnerToken, "cancelAppointment", bkID(held[0]))
	f.book(t, fleet[3], bkKind, ds[1].Start)

	// Another owner's car: not found, nothing written.
	f.denied(t, alice.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, nil), "NOT_FOUND")
	_, bobCar, _ := bkParseID(bob.ID)
	if n := e2eCount(t, f.testServer, &bkAppointmentRow{}, "vehicle_id = ?", bobCar); n != 0 {
		t.Fatal("a booking for another owner's car was written")
	}
	// A car that does not exist, a store that does not exist.
	ghost := bob
	ghost.ID = e2eGlobalID("Vehicle", uuid.New())
	f.denied(t, bob.OwnerToken, "bookAppointment", f.bookIn(ghost, bkKind, ds[2].Start, nil), "NOT_FOUND")
	in := f.bookIn(bob, bkKind, ds[2].Start, nil)
	in["storeId"] = e2eGlobalID("Store", uuid.New())
	f.denied(t, bob.OwnerToken, "bookAppointment", in, "NOT_FOUND")
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 0)

	// Another owner's appointment: not found to reschedule, cancel or read.
	f.denied(t, bob.OwnerToken, "rescheduleAppointment", bkMove(a["id"], ds[2].Start), "NOT_FOUND")
	f.denied(t, bob.OwnerToken, "cancelAppointment", bkID(a), "NOT_FOUND")
	if n := f.gql(t, bob.OwnerToken, bkNodeDoc, map[string]any{"id": a["id"]}); n["node"] != nil {
		t.Fatalf("node(id) of another owner's appointment: %v", n)
	}
	if n := f.gql(t, f.staff(t, "advisor.gz01"), bkNodeDoc, map[string]any{"id": a["id"]}); n["node"] != nil {
		t.Fatalf("node(id) of another store's appointment: %v", n)
	}
	if n := f.gql(t, f.staff(t, "advisor.sz01"), bkNodeDoc, map[string]any{"id": a["id"]}); dig(n, "node", "id") != a["id"] {
		t.Fatalf("the store's advisor cannot read its appointment: %v", n)
	}
	if len(f.mine(t, bob.OwnerToken, "")) != 0 {
		t.Fatal("another owner's appointment in me.appointments")
	}
	if st, at := bkStored(t, f.DB, a["id"]); st != "BOOKED" || !at.Equal(ds[0].Start) {
		t.Fatalf("another owner changed the appointment: %s %v", st, at)
	}

	// No token.
	r := f.call(t, "", "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, nil))
	e2eWantGQLError(t, r, "UNAUTHENTICATED")
	e2eWantGQLError(t, f.call(t, "", "cancelAppointment", bkID(a)), "UNAUTHENTICATED")
	e2eWantGQLError(t, f.do(t, req{Query: bkMineDoc}), "UNAUTHENTICATED")

	// Bad input.
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"source": "PHONE"}), "INVALID_ARGUMENT", "source")
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"note": strings.Repeat("长", 2001)}), "INVALID_ARGUMENT", "note")
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"note": "a\x07b"}), "INVALID_ARGUMENT", "note")
	in = f.bookIn(bob, bkKind, ds[2].Start, nil)
	in["vehicleId"] = f.sz
	e2eWantGQLError(t, f.call(t, bob.OwnerToken, "bookAppointment", in), "INVALID_ARGUMENT")
	in = f.bookIn(bob, "OIL", ds[2].Start, nil)
	if r := f.call(t, bob.OwnerToken, "bookAppointment", in); len(r.Errors) == 0 || r.Data["bookAppointment"] != nil {
		t.Fatalf("an unknown kind was accepted: %s", r.Raw)
	}
	in = f.bookIn(bob, bkKind, ds[2].Start, nil)
	in["slotStart"] = "tomorrow"
	if r := f.call(t, bob.OwnerToken, "bookAppointment", in); len(r.Errors) == 0 || r.Data["bookAppointment"] != nil {
		t.Fatalf("a bad slotStart was accepted: %s", r.Raw)
	}
	e2eWantGQLError(t, f.call(t, bob.OwnerToken, "cancelAppointment", map[string]any{"appointmentId": "nonsense"}), "INVALID_ARGUMENT")
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 0)

	// availableSlots: at most 31 days; to not before from; a known store.
	if s := f.slots(t, f.sz, bkKind, bkDay(1), bkDay(31)); len(s) == 0 {
		t.Fatal("31 days of slots refused")
	}
	for _, c := range []struct{ from, to models.Date }{{bkDay(0), bkDay(31)}, {bkDay(3), bkDay(2)}} {
		r := f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": f.sz, "k": bkKind, "from": c.from.String(), "to": c.to.String()}})
		e2eWantGQLError(t, r, "INVALID_ARGUMENT")
		if r.Errors[0].Extensions["reason"] != nil || r.Errors[0].Extensions["field"] != "to" || r.Data != nil {
			t.Fatalf("availableSlots %s..%s: %s", c.from, c.to, r.Raw)
		}
	}
	r = f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": e2eGlobalID("Store", uuid.New()), "k": bkKind, "from": day.String(), "to": day.String()}})
	e2eWantGQLError(t, r, "NOT_FOUND")
	r = f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": f.sz, "k": bkKind, "from": "2026-02-30", "to": day.String()}})
	if r.Code() != "INVALID_ARGUMENT" {
		t.Fatalf("a bad date: %s", r.Raw)
	}
}

// bkHasOverride reports whether a calendar's overrides hold one of day for
// kind (nil: the whole day).
func bkHasOverride(list any, day models.Date, kind *string, closed bool) bool {
	items, _ := list.([]any)
	for _, o := range items {
		k, _ := dig(o, "kind").(string)
		if dig(o, "date") == day.String() && dig(o, "closed") == closed && ((kind == nil && dig(o, "kind") == nil) || (kind != nil && k == *kind)) {
			return true
		}
	}
	return false
}

// TestBookingChangeDeadlines moves the booking clock to the last hours
// before a slot: owners may no longer cancel or move out of it, staff may
// until it starts; a no-show only once it started.
func TestBookingChangeDeadlines(t *testing.T) {
	f := newBooking(t)
	t.Cleanup(func() { f.setClock(time.Time{}) })
	day := bkDay(bkDayClock)
	f.setDaySeats(t, day, bkKind, 2)
	ds := f.daySlots(t, bkKind, day)
	advisor, crm := f.staff(t, "advisor.sz01"), f.staff(t, "crm.sz01")
	start := ds[3].Start
	cars := []wkCar{f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")}
	a := f.book(t, cars[0], bkKind, start)
	b := f.book(t, cars[1], bkKind, start)

	// Two hours and a minute before: the owner still may.
	f.setClock(start.Add(-121 * time.Minute))
	f.appt(t, cars[0].OwnerToken, "rescheduleAppointment", bkMove(a["id"], ds[5].Start))
	f.appt(t, cars[0].OwnerToken, "rescheduleAppointment", bkMove(a["id"], start))

	// An hour before: owners are TOO_LATE to cancel or move out; staff may.
	f.setClock(start.Add(-time.Hour))
	f.refused(t, cars[0].OwnerToken, "cancelAppointment", bkID(a), "TOO_LATE")
	f.refused(t, cars[0].OwnerToken, "rescheduleAppointment", bkMove(a["id"], ds[6].Start), "TOO_LATE")
	f.refused(t, advisor, "markNoShow", bkID(a), "TOO_EARLY")
	bkWantCounts(t, f.DB, f.szID, bkKind, start, 2)
	m := f.appt(t, advisor, "rescheduleAppointment", bkMove(b["id"], ds[6].Start))
	if !bkTime(t, m["slotStart"]).Equal(ds[6].Start) {
		t.Fatalf("staff reschedule: %v", m)
	}
	if c := f.appt(t, crm, "cancelAppointment", bkID(b)); c["status"] != "CANCELLED" {
		t.Fatalf("staff cancel: %v", c)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[6].Start, 0)
	// Nobody books into it any more.
	f.refused(t, cars[2].OwnerToken, "bookAppointment", f.bookIn(cars[2], bkKind, start, nil), "TOO_LATE", "slotStart")
	f.refused(t, advisor, "bookAppointment", f.bookIn(cars[2], bkKind, start, nil), "TOO_LATE", "slotStart")

	// Once the slot started: staff are TOO_LATE too, and a no-show may be
	// recorded, giving the seat back.
	f.setClock(start.Add(10 * time.Minute))
	f.refused(t, advisor, "cancelAppointment", bkID(a), "TOO_LATE")
	f.refused(t, advisor, "rescheduleAppointment", bkMove(a["id"], ds[7].Start), "TOO_LATE")
	n := f.appt(t, crm, "markNoShow", bkID(a))
	if n["status"] != "NO_SHOW" {
		t.Fatalf("no-show: %v", n)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, start, 0)
	f.refused(t, advisor, "markNoShow", bkID(a), "NOT_BOOKED")
	f.refused(t, advisor, "cancelAppointment", bkID(a), "NOT_BOOKED")

	// A slot the owner never came to does not keep their car booked: once
	// it is over, booking again closes it as NO_SHOW.
	c := f.book(t, cars[3], bkKind, ds[7].Start)
	f.setClock(ds[7].Start.Add(90 * time.Minute))
	later := bkDay(bkDayClock + 1)
	next := f.book(t, cars[3], bkKind, f.daySlots(t, bkKind, later)[1].Start)
	if st, _ := bkStored(t, f.DB, c["id"]); st != "NO_SHOW" {
		t.Fatalf("the missed appointment is %s", st)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[7].Start, 0)
	f.setClock(time.Time{})
	f.appt(t, cars[3].OwnerToken, "cancelAppointment", bkID(next))
}

// TestBookingReminders runs the reminder job (as the hourly upkeep does) at
// chosen times around the store's midnight: the owner of a BOOKED
// appointment finds one reminder in the inbox the store-local day before,
// however often and however concurrently the job runs; a cancelled
// appointment gets none.
func TestBookingReminders(t *testing.T) {
	f := newBooking(t)
	ctx := context.Background()
	const kind = "WARRANTY"
	day := bkDay(bkDayOwnerFlow)
	ds := f.daySlots(t, kind, day)
	car, other := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	a := f.book(t, car, kind, ds[3].Start)
	c := f.book(t, other, kind, ds[4].Start)
	f.appt(t, other.OwnerToken, "cancelAppointment", bkID(c))
	const inboxDoc = `{ me { notifications(first: 50) { edges { node { kind title body link } } } } }`
	reminders := func(token string) []map[string]any {
		var out []map[string]any
		for _, e := range dig(f.gql(t, token, inboxDoc, nil), "me", "notifications", "edges").([]any) {
			if n, _ := dig(e, "node").(map[string]any); n["kind"] == "APPOINTMENT_REMINDER" {
				out = append(out, n)
			}
		}
		return out
	}
	local := func(d models.Date, h, m int) time.Time {
		return time.Date(d.Year, d.Month, d.Day, h, m, 0, 0, bkShanghai)
	}
	// Two days before, and just after the store's midnight of the day
	// itself (still the day before in UTC): not yet, not any more.
	for _, at := range []time.Time{local(day.AddDate(0, 0, -2), 23, 30), local(day, 0, 30)} {
		if _, err := f.App.Booking.SendReminders(ctx, at); err != nil {
			t.Fatal(err)
		}
		if r := reminders(car.OwnerToken); len(r) != 0 {
			t.Fatalf("reminder sent at %v: %v", at, r)
		}
	}
	// At 23:30 the day before (15:30 UTC): once, however often.
	eve := local(day.AddDate(0, 0, -1), 23, 30)
	var created atomic.Int64
	for range 2 {
		n, err := f.App.Booking.SendReminders(ctx, eve)
		if err != nil {
			t.Fatal(err)
		}
		created.Add(int64(n))
	}
	e2eConcurrently(4, func(int) *gqlResponse {
		n, err := f.App.Booking.SendReminders(ctx, eve)
		if err != nil {
			t.Error(err)
		}
		created.Add(int64(n))
		return &gqlResponse{}
	})
	r := reminders(car.OwnerToken)
	if len(r) != 1 || r[0]["link"] != a["id"] || !strings.Contains(r[0]["body"].(string), car.Plate) ||
		!strings.Contains(r[0]["body"].(string), ds[3].Start.In(bkShanghai).Format("15:04")) {
		t.Fatalf("reminders: %v", r)
	}
	if created.Load() < 1 {
		t.Fatalf("the job reported %d reminders", created.Load())
	}
	if r := reminders(other.OwnerToken); len(r) != 0 {
		t.Fatalf("a cancelled appointment was reminded: %v", r)
	}
	f.appt(t, car.OwnerToken, "cancelAppointment", bkID(a))
}

// ---------------------------------------------------------------------------
// Staff

func TestBookingStaff(t *testing.T) {
	f := newBooking(t)
	t.Cleanup(func() { f.setClock(time.Time{}) })
	day := bkDay(bkDayStaff)
	f.setDaySeats(t, day, bkKind, 3)
	ds := f.daySlots(t, bkKind, day)
	advisor, manager := f.staff(t, "advisor.sz01"), f.staff(t, "manager.sz01")
	tech, crm := f.staff(t, "technician1.sz01"), f.staff(t, "crm.sz01")
	gzAdvisor, gzManager := f.staff(t, "advisor.gz01"), f.staff(t, "manager.gz01")
	car1, car2, car3 := f.newCar(t, ""), f.newCar(t, ""), f.quickCar(t, "GZ01")
	statsBefore := f.stats(t, day)

	// The advisor books on the phone for an owner (PHONE is the default),
	// and at the counter (WALK_IN) for a customer of another store.
	note := "前保险杠划痕，顺便洗车"
	a1 := f.appt(t, advisor, "bookAppointment", f.bookIn(car1, bkKind, ds[1].Start, map[string]any{"note": note}))
	if a1["source"] != "PHONE" || a1["status"] != "BOOKED" || a1["note"] != note || dig(a1, "vehicle", "id") != car1.ID {
		t.Fatalf("staff booking: %v", a1)
	}
	a2 := f.appt(t, crm, "bookAppointment", f.bookIn(car2, bkKind, ds[1].Start, map[string]any{"source": "WALK_IN"}))
	if a2["source"] != "WALK_IN" {
		t.Fatalf("walk-in: %v", a2)
	}
	a3 := f.appt(t, advisor, "bookAppointment", f.bookIn(car3, bkKind, ds[2].Start, nil))
	car4, car5 := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	a4 := f.appt(t, advisor, "bookAppointment", f.bookIn(car4, bkKind, ds[2].Start, nil))
	a5 := f.appt(t, manager, "bookAppointment", f.bookIn(car5, bkKind, ds[2].Start, map[string]any{"note": "车门异响"}))
	f.refused(t, advisor, "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, map[string]any{"source": "APP"}), "INVALID_ARGUMENT", "source")
	// The owner sees it.
	if mine := f.mine(t, car1.OwnerToken, ""); len(mine) != 1 || mine[0]["id"] != a1["id"] || mine[0]["source"] != "PHONE" {
		t.Fatalf("the owner's list: %v", mine)
	}
	// Staff of another store may not book here; technicians may not book.
	f.denied(t, gzAdvisor, "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, nil), "FORBIDDEN")
	f.denied(t, tech, "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, nil), "FORBIDDEN")

	// The day's schedule: every slot of every kind with seats, the
	// appointments with owner, vehicle, kind, note and status.
	sch := f.schedule(t, advisor, day)
	if sch["date"] != day.String() || sch["closed"] != false {
		t.Fatalf("schedule: %v", sch)
	}
	slot, got := bkScheduled(sch, a1["id"].(string))
	if got == nil || slot["kind"] != bkKind || !bkTime(t, slot["start"]).Equal(ds[1].Start) || !bkTime(t, slot["end"]).Equal(ds[1].End) ||
		slot["seats"] != float64(3) || slot["booked"] != float64(2) || len(slot["appointments"].([]any)) != 2 {
		t.Fatalf("a1's slot: %v", slot)
	}
	if got["note"] != note || got["status"] != "BOOKED" || got["source"] != "PHONE" || got["kind"] != bkKind ||
		dig(got, "owner", "id") != e2eGlobalID("Owner", car1.Owner.ID) || dig(got, "owner", "phone") != car1.Owner.Phone ||
		dig(got, "vehicle", "plate") != car1.Plate || dig(got, "vehicle", "vin") != car1.VIN || dig(got, "store", "code") != "SZ01" {
		t.Fatalf("a1 on the schedule: %v", got)
	}
	if _, g3 := bkScheduled(sch, a3["id"].(string)); g3 == nil || dig(g3, "vehicle", "plate") != car3.Plate {
		t.Fatalf("a3 (a GZ01 customer) not on SZ01's schedule: %v", g3)
	}
	kinds := map[string]int{}
	for _, s := range sch["slots"].([]any) {
		kinds[dig(s, "kind").(string)]++
	}
	if kinds[bkKind] != len(ds) || kinds["MAINTENANCE"] != len(ds) {
		t.Fatalf("schedule slots per kind: %v (want %d each)", kinds, len(ds))
	}
	// Other roles of the store read it; technicians without the owners.
	f.gql(t, manager, bkScheduleDoc, map[string]any{"s": f.sz, "d": day.String()})
	if d := f.gql(t, tech, bkScheduleNoOwnerDoc, map[string]any{"s": f.sz, "d": day.String()}); dig(d, "appointments", "date") != day.String() {
		t.Fatalf("technician's schedule: %v", d)
	}
	r := f.do(t, req{Query: bkScheduleDoc, Vars: map[string]any{"s": f.sz, "d": day.String()}, Token: tech})
	if r.Code() != "FORBIDDEN" || !strings.Contains(fmt.Sprint(r.Errors[0].Path), "owner") {
		t.Fatalf("a technician read owners on the schedule: %s", r.Raw)
	}
	// Staff of another store, owners and nobody: refused.
	for _, c := range []struct{ token, code string }{{gzAdvisor, "FORBIDDEN"}, {gzManager, "FORBIDDEN"}, {car1.OwnerToken, "FORBIDDEN"}, {"", "UNAUTHENTICATED"}} {
		r := f.do(t, req{Query: bkScheduleDoc, Vars: map[string]any{"s": f.sz, "d": day.String()}, Token: c.token})
		e2eWantGQLError(t, r, c.code)
		if r.Data != nil {
			t.Fatalf("refused schedule with data: %s", r.Raw)
		}
	}
	// node(id) and arrival of another store's appointment: not found.
	if n := f.gql(t, gzAdvisor, bkNodeDoc, map[string]any{"id": a1["id"]}); n["node"] != nil {
		t.Fatalf("GZ01 reads SZ01's appointment: %v", n)
	}
	f.denied(t, gzAdvisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "NOT_FOUND")
	f.denied(t, gzAdvisor, "markNoShow", bkID(a1), "NOT_FOUND")
	f.denied(t, gzAdvisor, "cancelAppointment", bkID(a1), "NOT_FOUND")

	// Too early: no arrival before the slot's day, no no-show before the slot.
	f.refused(t, advisor, "markNoShow", bkID(a2), "TOO_EARLY")
	f.refused(t, advisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "TOO_EARLY")
	// Roles: technicians neither; CRM may record no-shows, not arrivals.
	f.denied(t, tech, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "FORBIDDEN")
	f.denied(t, tech, "markNoShow", bkID(a2), "FORBIDDEN")
	f.denied(t, crm, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "FORBIDDEN")
	f.denied(t, car1.OwnerToken, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "FORBIDDEN")
	f.denied(t, "", "markNoShow", bkID(a2), "UNAUTHENTICATED")

	// The day comes: a1 arrives (its repair order opened from it), a2 does
	// not show, a3 is cancelled by staff.
	f.appt(t, advisor, "cancelAppointment", bkID(a3))
	// Arrivals are taken from the store's midnight of the slot's day (the
	// UTC date before), no-shows only once the slot started.
	midnight := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, bkShanghai)
	f.setClock(midnight.Add(-5 * time.Minute))
	f.refused(t, advisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "TOO_EARLY")
	f.setClock(midnight.Add(5 * time.Minute))
	f.refused(t, advisor, "markNoShow", bkID(a2), "TOO_EARLY")
	f.refused(t, advisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": -1}, "INVALID_ARGUMENT", "mileageIn")
	p := f.ok(t, advisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000})
	arrived, _ := p["appointment"].(map[string]any)
	ro, _ := p["repairOrder"].(map[string]any)
	if arrived == nil || ro == nil || arrived["status"] != "ARRIVED" || dig(arrived, "repairOrder", "id") != ro["id"] {
		t.Fatalf("markArrived: %v", p)
	}
	if dig(ro, "vehicle", "id") != car1.ID || ro["concern"] != note || ro["kind"] != bkKind || ro["mileageIn"] != float64(20000) ||
		dig(ro, "store", "code") != "SZ01" || !wkNumber.MatchString(fmt.Sprint(ro["number"])) {
		t.Fatalf("the repair order from the appointment: %v", ro)
	}
	_, roKey, _ := bkParseID(ro["id"])
	_, aKey, _ := bkParseID(a1["id"])
	var link []string
	if err := f.DB.Conn(context.Background()).Raw(`SELECT CAST(appointment_id AS TEXT) FROM repair_orders WHERE id = ?`, roKey).Scan(&link).Error; err != nil {
		t.Fatal(err)
	}
	if len(link) != 1 || !strings.EqualFold(link[0], aKey.String()) {
		t.Fatalf("the repair order does not link the appointment: %v", link)
	}
	if o := f.order(t, car1.OwnerToken, ro["id"].(string)); o == nil || o["concern"] != note {
		t.Fatalf("the owner does not see the repair order: %v", o)
	}
	if n := f.gql(t, car1.OwnerToken, bkNodeDoc, map[string]any{"id": a1["id"]}); dig(n, "node", "status") != "ARRIVED" || dig(n, "node", "repairOrder", "id") != ro["id"] {
		t.Fatalf("the owner's view of the arrived appointment: %v", n)
	}
	f.refused(t, advisor, "markArrived", map[string]any{"appointmentId": a1["id"], "mileageIn": 20000}, "NOT_BOOKED")
	f.refused(t, car1.OwnerToken, "cancelAppointment", bkID(a1), "NOT_BOOKED")
	f.setClock(ds[1].Start.Add(5 * time.Minute))
	if ns := f.appt(t, advisor, "markNoShow", bkID(a2)); ns["status"] != "NO_SHOW" || ns["repairOrder"] != nil {
		t.Fatalf("markNoShow: %v", ns)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[1].Start, 0)

	// The workshop's refusals of the repair order leave the appointment
	// BOOKED with its seat: a lower mileage than known, a car already in
	// the workshop.
	f.refused(t, advisor, "markArrived", map[string]any{"appointmentId": a4["id"], "mileageIn": 500}, "MILEAGE_DECREASED", "mileageIn")
	f.wkFixture.open(t, advisor, f.sz, car4.VIN, 1500, "REPAIR", nil)
	p = e2ePayload(t, f.call(t, advisor, "markArrived", map[string]any{"appointmentId": a4["id"], "mileageIn": 1600}), "markArrived")
	if c := userErrorCodes(p); len(c) != 1 || c[0] != "VEHICLE_IN_WORKSHOP" || p["appointment"] != nil || p["repairOrder"] != nil {
		t.Fatalf("arrival of a car in the workshop: %v", p)
	}
	if st, _ := bkStored(t, f.DB, a4["id"]); st != "BOOKED" {
		t.Fatalf("a refused arrival left the appointment %s", st)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 2)
	// Staff may still cancel it before its slot starts.
	f.appt(t, manager, "cancelAppointment", bkID(a4))
	// Two advisors marking one arrival at once: one repair order.
	rs := e2eConcurrently(6, func(i int) *gqlResponse {
		return f.call(t, []string{advisor, manager}[i%2], "markArrived", map[string]any{"appointmentId": a5["id"], "mileageIn": 3000})
	})
	won := 0
	for _, r := range rs {
		p := e2ePayload(t, r, "markArrived")
		switch c := userErrorCodes(p); {
		case len(c) == 0 && dig(p, "appointment", "status") == "ARRIVED" && dig(p, "repairOrder", "concern") == "车门异响":
			won++
		case len(c) == 1 && c[0] == "NOT_BOOKED":
		default:
			t.Fatalf("concurrent arrival: %v", p)
		}
	}
	_, a5Key, _ := bkParseID(a5["id"])
	var orders int64
	if err := f.DB.Conn(context.Background()).Raw(`SELECT COUNT(*) FROM repair_orders WHERE appointment_id = ?`, a5Key).Scan(&orders).Error; err != nil {
		t.Fatal(err)
	}
	if won != 1 || orders != 1 {
		t.Fatalf("concurrent arrivals: %d accepted, %d repair orders", won, orders)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 0)
	f.setClock(time.Time{})

	// The schedule keeps arrivals and no-shows, not cancellations.
	sch = f.schedule(t, advisor, day)
	if s, g := bkScheduled(sch, a1["id"].(string)); g == nil || g["status"] != "ARRIVED" || dig(g, "repairOrder", "id") != ro["id"] || s["booked"] != float64(0) {
		t.Fatalf("arrived on the schedule: %v / %v", s, g)
	}
	if _, g := bkScheduled(sch, a2["id"].(string)); g == nil || g["status"] != "NO_SHOW" {
		t.Fatalf("no-show on the schedule: %v", g)
	}
	if _, g := bkScheduled(sch, a3["id"].(string)); g != nil {
		t.Fatalf("cancelled on the schedule: %v", g)
	}

	// Booking figures per day: the manager's.
	after := f.stats(t, day)
	want := map[string]int{"booked": statsBefore["booked"] + 5, "arrived": statsBefore["arrived"] + 2,
		"noShow": statsBefore["noShow"] + 1, "cancelled": statsBefore["cancelled"] + 2}
	for k, v := range want {
		if after[k] != v {
			t.Fatalf("bookingStats %s: before %v, after %v, want %v", k, statsBefore, after, want)
		}
	}
	d := f.gql(t, manager, bkStatsDoc, map[string]any{"s": f.sz, "from": bkDay(0).String(), "to": bkDay(91).String()})
	if list := d["bookingStats"].([]any); len(list) != 92 || dig(list, 0, "date") != bkDay(0).String() ||
		dig(list, bkDayStaff, "arrived") != float64(after["arrived"]) {
		t.Fatalf("92 days of figures: %d days", len(list))
	}
	r = f.do(t, req{Query: bkStatsDoc, Vars: map[string]any{"s": f.sz, "from": bkDay(0).String(), "to": bkDay(92).String()}, Token: manager})
	if r.Code() != "INVALID_ARGUMENT" || r.Errors[0].Extensions["reason"] != nil {
		t.Fatalf("93 days of figures: %s", r.Raw)
	}
	for _, c := range []struct{ token, code string }{{advisor, "FORBIDDEN"}, {tech, "FORBIDDEN"}, {gzManager, "FORBIDDEN"}, {car1.OwnerToken, "FORBIDDEN"}, {"", "UNAUTHENTICATED"}} {
		r := f.do(t, req{Query: bkStatsDoc, Vars: map[string]any{"s": f.sz, "from": day.String(), "to": day.String()}, Token: c.token})
		e2eWantGQLError(t, r, c.code)
	}
}

func TestBookingCalendar(t *testing.T) {
	f := newBooking(t)
	const kind = "BODY_PAINT"
	day := bkDay(bkDayCalendar)
	manager, advisor := f.staff(t, "manager.sz01"), f.staff(t, "advisor.sz01")
	seatsOf := func(cal any) int {
		for _, s := range dig(cal, "seats").([]any) {
			if dig(s, "kind") == kind {
				return int(dig(s, "seats").(float64))
			}
		}
		t.Fatalf("no %s seats in %v", kind, cal)
		return 0
	}
	readCal := func() map[string]any {
		c, _ := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.sz})["storeCalendar"].(map[string]any)
		return c
	}
	orig := readCal()
	if len(dig(orig, "seats").([]any)) != 6 || len(dig(orig, "openingHours").([]any)) != 7 {
		t.Fatalf("SZ01 calendar: %v", orig)
	}
	origSeats := seatsOf(orig)
	setSeats := func(token string, n int, force bool) map[string]any {
		return map[string]any{"storeId": f.sz, "seats": []any{map[string]any{"kind": kind, "seats": n}}, "force": force}
	}
	t.Cleanup(func() { f.ok(t, manager, "setStoreCalendar", setSeats(manager, origSeats, true)) })

	p := f.ok(t, manager, "setStoreCalendar", setSeats(manager, 2, false))
	if seatsOf(p["calendar"]) != 2 || len(p["conflicts"].([]any)) != 0 || dig(p, "calendar", "slotMinutes") != float64(60) ||
		len(dig(p, "calendar", "openingHours").([]any)) != 7 {
		t.Fatalf("setStoreCalendar: %v", p)
	}
	ds := f.daySlots(t, kind, day)
	if ds[0].SeatsLeft != 2 {
		t.Fatalf("the week's seats do not reach the slots: %v", ds[0])
	}
	cars := []wkCar{f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")}
	first := f.book(t, cars[0], kind, ds[0].Start)
	second := f.book(t, cars[1], kind, ds[0].Start)

	// Lowering below what is booked: refused with the number that would
	// not fit, nothing changed.
	p = f.refused(t, manager, "setStoreCalendar", setSeats(manager, 1, false), "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 1 ") {
		t.Fatalf("the refusal does not say 1 booking would not fit: %q", msg)
	}
	if len(p["conflicts"].([]any)) != 0 {
		t.Fatalf("a refused change lists conflicts: %v", p)
	}
	if seatsOf(readCal()) != 2 || f.seatsLeft(t, kind, ds[0].Start) != 0 {
		t.Fatal("a refused calendar change changed something")
	}
	p = f.refused(t, manager, "setStoreCalendar", setSeats(manager, 0, false), "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 2 ") {
		t.Fatalf("the refusal does not say 2 bookings would not fit: %q", msg)
	}
	bkWantCounts(t, f.DB, f.szID, kind, ds[0].Start, 2)

	// Forced: applied, and the bookings that no longer fit listed (the
	// latest made), still BOOKED for staff to move.
	p = f.ok(t, manager, "setStoreCalendar", setSeats(manager, 1, true))
	conflicts := p["conflicts"].([]any)
	if seatsOf(p["calendar"]) != 1 || seatsOf(readCal()) != 1 || len(conflicts) != 1 || dig(conflicts, 0, "id") != second["id"] ||
		dig(conflicts, 0, "status") != "BOOKED" || !bkTime(t, dig(conflicts, 0, "slotStart")).Equal(ds[0].Start) {
		t.Fatalf("forced change: %v", p)
	}
	// Never overbooked: nobody else gets in; the schedule shows 2 of 1.
	f.refused(t, cars[2].OwnerToken, "bookAppointment", f.bookIn(cars[2], kind, ds[0].Start, nil), "SLOT_FULL", "slotStart")
	if f.seatsLeft(t, kind, ds[0].Start) != 0 {
		t.Fatal("seats left in an overfull slot")
	}
	sch := f.schedule(t, advisor, day)
	if s, _ := bkScheduled(sch, second["id"].(string)); s == nil || s["seats"] != float64(1) || s["booked"] != float64(2) {
		t.Fatalf("the overfull slot on the schedule: %v", s)
	}
	bkWantCounts(t, f.DB, f.szID, kind, ds[0].Start, 2)

	// A date override below the bookings: refused, then forced.
	ov := map[string]any{"storeId": f.sz, "date": day.String(), "kind": kind, "seats": 0, "note": "喷漆房检修"}
	p = f.refused(t, manager, "setCalendarOverride", ov, "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 2 ") {
		t.Fatalf("override refusal: %q", msg)
	}
	if k := kind; bkHasOverride(dig(readCal(), "overrides"), day, &k, false) {
		t.Fatal("a refused override was saved")
	}
	// Closing the day is refused the same way.
	f.refused(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": true}, "CAPACITY_BELOW_BOOKINGS")
	ov["force"] = true
	p = f.ok(t, manager, "setCalendarOverride", ov)
	if ids := e2eStrings(p["conflicts"], "id"); !slices.Equal(ids, []string{second["id"].(string), first["id"].(string)}) {
		t.Fatalf("forced override conflicts: %v", p["conflicts"])
	}
	if k := kind; !bkHasOverride(dig(p, "calendar", "overrides"), day, &k, false) {
		t.Fatalf("override not in the calendar: %v", p)
	}
	// Staff move the conflicts to another day; then the override can go.
	next := f.daySlots(t, kind, day.AddDate(0, 0, 1))
	f.appt(t, advisor, "rescheduleAppointment", bkMove(second["id"], next[0].Start))
	f.appt(t, advisor, "rescheduleAppointment", bkMove(first["id"], next[1].Start))
	bkWantCounts(t, f.DB, f.szID, kind, ds[0].Start, 0)
	f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "kind": kind})
	if k := kind; bkHasOverride(dig(readCal(), "overrides"), day, &k, false) {
		t.Fatal("removed override still listed")
	}
	// Closing a day without bookings, and opening it again.
	p = f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": true, "note": "国庆"})
	if !bkHasOverride(dig(p, "calendar", "overrides"), day, nil, true) || len(f.slots(t, f.sz, kind, day, day)) != 0 {
		t.Fatalf("closing a day: %v", p)
	}
	sch = f.schedule(t, advisor, day)
	if sch["closed"] != true || len(sch["slots"].([]any)) != 0 {
		t.Fatalf("the closed day's schedule: %v", sch)
	}
	f.ok(t, manager, "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": false})
	if len(f.slots(t, f.sz, kind, day, day)) != len(ds) {
		t.Fatal("reopened day has other slots")
	}
	for _, a := range []map[string]any{first, second} {
		f.appt(t, advisor, "cancelAppointment", bkID(a))
	}

	// Bad input and who may.
	bad := []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"storeId": f.sz, "slotMinutes": 5}, "slotMinutes"},
		{map[string]any{"storeId": f.sz, "seats": []any{map[string]any{"kind": kind, "seats": 101}}}, "seats[0].seats"},
		{map[string]any{"storeId": f.sz, "seats": []any{map[string]any{"kind": kind, "seats": 1}, map[string]any{"kind": kind, "seats": 2}}}, "seats[1].kind"},
		{map[string]any{"storeId": f.sz, "openingHours": []any{map[string]any{"weekday": 1, "opens": "08:30", "closes": "18:00"}}}, "openingHours"},
	}
	for _, c := range bad {
		f.refused(t, manager, "setStoreCalendar", c.in, "INVALID_ARGUMENT", c.field)
	}
	badOv := []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"storeId": f.sz, "date": bkDay(-1).String(), "closed": true}, "date"},
		{map[string]any{"storeId": f.sz, "date": bkDay(400).String(), "closed": true}, "date"},
		{map[string]any{"storeId": f.sz, "date": day.String(), "seats": 3}, "seats"},
		{map[string]any{"storeId": f.sz, "date": day.String(), "kind": kind, "closed": true, "seats": 3}, "seats"},
	}
	for _, c := range badOv {
		f.refused(t, manager, "setCalendarOverride", c.in, "INVALID_ARGUMENT", c.field)
	}
	for _, who := range []string{"advisor.sz01", "technician1.sz01", "crm.sz01"} {
		f.denied(t, f.staff(t, who), "setStoreCalendar", setSeats("", 5, true), "FORBIDDEN")
		f.denied(t, f.staff(t, who), "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": true}, "FORBIDDEN")
	}
	f.denied(t, f.staff(t, "manager.gz01"), "setStoreCalendar", setSeats("", 5, true), "FORBIDDEN")
	f.denied(t, f.staff(t, "manager.gz01"), "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": true}, "FORBIDDEN")
	f.denied(t, cars[0].OwnerToken, "setStoreCalendar", setSeats("", 5, true), "FORBIDDEN")
	f.denied(t, "", "setCalendarOverride", map[string]any{"storeId": f.sz, "date": day.String(), "closed": true}, "UNAUTHENTICATED")
	if seatsOf(readCal()) != 1 || !slices.Equal(e2eStrings(dig(readCal(), "openingHours"), "opens"), e2eStrings(dig(orig, "openingHours"), "opens")) {
		t.Fatal("refused changes changed the calendar")
	}
}

// ---------------------------------------------------------------------------
// Concurrency

// bkOutcomes tallies the results of concurrent appointment mutations: the
// code of each refusal, "OK" for each acceptance; anything else fails.
func bkOutcomes(t testing.TB, field string, rs []*gqlResponse) (map[string]int, []map[string]any) {
	t.Helper()
	out := map[string]int{}
	var accepted []map[string]any
	for _, r := range rs {
		p := e2ePayload(t, r, field)
		codes := userErrorCodes(p)
		switch a, _ := p["appointment"].(map[string]any); {
		case len(codes) == 0 && a != nil:
			out["OK"]++
			accepted = append(accepted, a)
		case len(codes) == 1 && a == nil:
			out[codes[0]]++
		default:
			t.Fatalf("%s: %v", field, p)
		}
	}
	return out, accepted
}

// race books one slot with exactly 3 seats left for 50 fresh owners at
// once, spread over the servers, and checks exactly 3 get in.
func bkRace(t *testing.T, servers []*bkFixture, day models.Date) {
	t.Helper()
	f := servers[0]
	f.setDaySeats(t, day, bkKind, 5)
	ds := f.daySlots(t, bkKind, day)
	start := ds[2].Start
	for range 2 {
		f.book(t, f.quickCar(t, "SZ01"), bkKind, start)
	}
	if left := f.seatsLeft(t, bkKind, start); left != 3 {
		t.Fatalf("%d seats left, want 3", left)
	}
	const owners = 50
	cars := make([]wkCar, owners)
	for i := range cars {
		cars[i] = f.quickCar(t, "SZ01")
	}
	rs := e2eConcurrently(owners, func(i int) *gqlResponse {
		s := servers[i%len(servers)]
		return s.call(t, cars[i].OwnerToken, "bookAppointment", s.bookIn(cars[i], bkKind, start, nil))
	})
	got, won := bkOutcomes(t, "bookAppointment", rs)
	if got["OK"] != 3 || got["SLOT_FULL"] != owners-3 || len(got) != 2 {
		t.Fatalf("50 owners for 3 seats: %v", got)
	}
	for _, a := range won {
		if a["status"] != "BOOKED" || !bkTime(t, a["slotStart"]).Equal(start) {
			t.Fatalf("winner: %v", a)
		}
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, start, 5)
	if left := f.seatsLeft(t, bkKind, start); left != 0 {
		t.Fatalf("%d seats left after the race", left)
	}
	var rows int64
	if err := f.DB.Conn(context.Background()).Raw(`SELECT COUNT(*) FROM appointments WHERE store_id = ? AND slot_start = ? AND kind = ?`,
		f.szID, start.UTC(), bkKind).Scan(&rows).Error; err != nil || rows != 5 {
		t.Fatalf("%d appointments in the slot (%v), want 5", rows, err)
	}
}

func TestBookingRaceForLastSeats(t *testing.T) {
	f := newBooking(t)
	bkRace(t, []*bkFixture{f}, bkDay(bkDayRace))
}

// TestBookingRaceTwoInstances runs the race against two servers, each with
// its own connection pool, on one PostgreSQL database: the seats are counted
// in the database, not in a server.
func TestBookingRaceTwoInstances(t *testing.T) {
	if !onPostgres() {
		t.Skip("two server instances on one database need PostgreSQL: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	db1, db2 := demoInstances(t)
	s1 := newBooking(t, func(_ *Config, d *Deps) { d.DB = db1 })
	s2 := newBooking(t, func(_ *Config, d *Deps) { d.DB = db2 })
	var shared models.Store
	if err := sharedDB.Conn(ctx).Where("code = ?", "SZ01").Take(&shared).Error; err != nil {
		t.Fatal(err)
	}
	if s1.szID != s2.szID || s1.szID == shared.ID {
		t.Fatal("the two instances do not share their own database")
	}
	before := db2.Statements()
	bkRace(t, []*bkFixture{s1, s2}, bkDay(bkDayRace))
	if db2.Statements()-before < 25 {
		t.Fatal("the second instance served no bookings")
	}
}

// TestBookingConcurrentChanges moves and cancels appointments at once, and
// books into the seats they free: every slot's counter stays equal to its
// BOOKED appointments and within its seats, and a refused move keeps its
// old slot.
func TestBookingConcurrentChanges(t *testing.T) {
	f := newBooking(t)
	day := bkDay(bkDayChanges)
	const seats = 4
	f.setDaySeats(t, day, bkKind, seats)
	ds := f.daySlots(t, bkKind, day)
	s0, s1, s2 := ds[0].Start, ds[1].Start, ds[2].Start
	newCars := func(n int) []wkCar {
		out := make([]wkCar, n)
		for i := range out {
			out[i] = f.quickCar(t, "SZ01")
		}
		return out
	}
	movers, cancellers, fillers, walkIns := newCars(seats), newCars(seats), newCars(2), newCars(2*seats)
	var moving, cancelling []map[string]any
	for _, c := range movers {
		moving = append(moving, f.book(t, c, bkKind, s0))
	}
	for _, c := range cancellers {
		cancelling = append(cancelling, f.book(t, c, bkKind, s1))
	}
	for _, c := range fillers {
		f.book(t, c, bkKind, s2)
	}
	// s0 and s1 are full, s2 has 2 seats left. At once: the 4 of s0 move to
	// s2 (2 fit), the 4 of s1 cancel, and 8 new owners book s0 or s1.
	type op struct {
		field string
		token string
		in    map[string]any
	}
	var ops []op
	for i, a := range moving {
		ops = append(ops, op{"rescheduleAppointment", movers[i].OwnerToken, bkMove(a["id"], s2)})
	}
	for i, a := range cancelling {
		ops = append(ops, op{"cancelAppointment", cancellers[i].OwnerToken, bkID(a)})
	}
	for i, c := range walkIns {
		ops = append(ops, op{"bookAppointment", c.OwnerToken, f.bookIn(c, bkKind, []time.Time{s0, s1}[i%2], nil)})
	}
	rs := e2eConcurrently(len(ops), func(i int) *gqlResponse { return f.call(t, ops[i].token, ops[i].field, ops[i].in) })
	moved, _ := bkOutcomes(t, "rescheduleAppointment", rs[:seats])
	cancelled, _ := bkOutcomes(t, "cancelAppointment", rs[seats:2*seats])
	booked, _ := bkOutcomes(t, "bookAppointment", rs[2*seats:])
	t.Logf("moves %v, cancels %v, bookings %v", moved, cancelled, booked)
	if moved["OK"] != 2 || moved["SLOT_FULL"] != 2 || cancelled["OK"] != seats || booked["OK"]+booked["SLOT_FULL"] != len(walkIns) {
		t.Fatalf("moves %v, cancels %v, bookings %v", moved, cancelled, booked)
	}
	// Each answer is what the database holds: a move refused kept s0.
	for i, a := range moving {
		st, at := bkStored(t, f.DB, a["id"])
		p := e2ePayload(t, rs[i], "rescheduleAppointment")
		want := s2
		if len(userErrorCodes(p)) > 0 {
			want = s0
		}
		if st != "BOOKED" || !at.Equal(want) {
			t.Fatalf("mover %d: %s at %v, answer %v", i, st, at, p)
		}
	}
	var total int64
	for _, s := range []time.Time{s0, s1, s2} {
		counter, n := bkCounts(t, f.DB, f.szID, bkKind, s)
		if counter != n || n > seats {
			t.Fatalf("slot %v: counter %d, BOOKED %d, seats %d", s.In(bkShanghai), counter, n, seats)
		}
		total += n
	}
	// 2 moved + 2 kept in s0, 2 fillers, plus the new bookings.
	if total != int64(2+2+2+booked["OK"]) {
		t.Fatalf("%d BOOKED in the three slots, want %d", total, 6+booked["OK"])
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, s2, seats)

	// One owner, one appointment, conflicting changes at once: moves to two
	// slots and a cancel. Whatever order they ran in, it holds one seat or
	// none, and the counters agree.
	car := f.quickCar(t, "SZ01")
	a := f.book(t, car, bkKind, ds[4].Start)
	targets := []time.Time{ds[5].Start, ds[6].Start, ds[7].Start}
	rs = e2eConcurrently(9, func(i int) *gqlResponse {
		if i == 8 {
			return f.call(t, car.OwnerToken, "cancelAppointment", bkID(a))
		}
		return f.call(t, car.OwnerToken, "rescheduleAppointment", bkMove(a["id"], targets[i%3]))
	})
	for _, r := range rs[:8] {
		p := e2ePayload(t, r, "rescheduleAppointment")
		if c := userErrorCodes(p); len(c) > 0 && c[0] != "NOT_BOOKED" {
			t.Fatalf("concurrent reschedule: %v", p)
		}
	}
	if c, _ := bkOutcomes(t, "cancelAppointment", rs[8:]); c["OK"] != 1 {
		t.Fatalf("the cancel: %v", c)
	}
	if st, _ := bkStored(t, f.DB, a["id"]); st != "CANCELLED" {
		t.Fatalf("after the cancel: %s", st)
	}
	for _, s := range append(targets, ds[4].Start) {
		bkWantCounts(t, f.DB, f.szID, bkKind, s, 0)
	}

	// The manager lowers a slot's seats while owners book it: the change
	// either waits for the bookings and is refused if they no longer fit,
	// or goes first and the bookings after it see the lower seats. Never
	// more booked than the seats in force.
	const kind = "ACCIDENT"
	f.setDaySeats(t, day, kind, 10)
	start := ds[3].Start
	racers := newCars(10)
	manager := f.staff(t, "manager.sz01")
	lower := map[string]any{"storeId": f.sz, "date": day.String(), "kind": kind, "seats": 4}
	ops = nil
	for i, c := range racers {
		if i%4 == 2 {
			ops = append(ops, op{"setCalendarOverride", manager, lower})
		}
		ops = append(ops, op{"bookAppointment", c.OwnerToken, f.bookIn(c, kind, start, nil)})
	}
	rs = e2eConcurrently(len(ops), func(i int) *gqlResponse { return f.call(t, ops[i].token, ops[i].field, ops[i].in) })
	applied, refusedChanges, bookedOK, full := 0, 0, 0, 0
	for i, r := range rs {
		p := e2ePayload(t, r, ops[i].field)
		codes := userErrorCodes(p)
		switch {
		case ops[i].field == "setCalendarOverride" && len(codes) == 0:
			applied++
		case ops[i].field == "setCalendarOverride" && len(codes) == 1 && codes[0] == "CAPACITY_BELOW_BOOKINGS":
			refusedChanges++
		case ops[i].field == "bookAppointment" && len(codes) == 0:
			bookedOK++
		case ops[i].field == "bookAppointment" && len(codes) == 1 && codes[0] == "SLOT_FULL":
			full++
		default:
			t.Fatalf("%s during a capacity change: %v", ops[i].field, p)
		}
	}
	inForce := 10
	if applied > 0 {
		inForce = 4
	}
	counter, n := bkCounts(t, f.DB, f.szID, kind, start)
	t.Logf("capacity change vs bookings: %d applied, %d refused; %d booked, %d SLOT_FULL", applied, refusedChanges, bookedOK, full)
	if counter != n || n != int64(bookedOK) || bookedOK > inForce || (applied == 0 && bookedOK != len(racers)) {
		t.Fatalf("capacity change vs bookings: %d applied, %d refused; %d booked, %d SLOT_FULL; counter %d, BOOKED %d",
			applied, refusedChanges, bookedOK, full, counter, n)
	}
	if left := f.seatsLeft(t, kind, start); left != inForce-bookedOK {
		t.Fatalf("%d seats left, want %d", left, inForce-bookedOK)
	}
}

// TestBookingOwnerRulesUnderConcurrency books at once what the rules allow
// only once: one car into many slots (by its owner and by staff), and one
// owner's five cars.
func TestBookingOwnerRulesUnderConcurrency(t *testing.T) {
	f := newBooking(t)
	const kind = "ACCIDENT"
	day := bkDay(bkDayIdempotency)
	f.setDaySeats(t, day, kind, 5)
	ds := f.daySlots(t, kind, day)
	advisor := f.staff(t, "advisor.sz01")

	car := f.quickCar(t, "SZ01")
	rs := e2eConcurrently(len(ds), func(i int) *gqlResponse {
		token := car.OwnerToken
		if i%3 == 2 {
			token = advisor
		}
		return f.call(t, token, "bookAppointment", f.bookIn(car, kind, ds[i].Start, nil))
	})
	got, _ := bkOutcomes(t, "bookAppointment", rs)
	if got["OK"] != 1 || got["VEHICLE_ALREADY_BOOKED"] != len(ds)-1 {
		t.Fatalf("one car into %d slots at once: %v", len(ds), got)
	}
	_, vKey, _ := bkParseID(car.ID)
	if n := e2eCount(t, f.testServer, &bkAppointmentRow{}, "vehicle_id = ? AND status = 'BOOKED'", vKey); n != 1 {
		t.Fatalf("%d active appointments for one car", n)
	}
	var total int64
	for _, s := range ds {
		c, n := bkCounts(t, f.DB, f.szID, kind, s.Start)
		if c != n {
			t.Fatalf("slot %v: counter %d, BOOKED %d", s.Start, c, n)
		}
		total += c
	}
	if total != 1 {
		t.Fatalf("%d seats taken for one booking", total)
	}

	fleet := []wkCar{f.newCar(t, "")}
	for range 4 {
		fleet = append(fleet, f.newCar(t, fleet[0].Owner.Phone))
	}
	start := ds[len(ds)-1].Start
	rs = e2eConcurrently(len(fleet), func(i int) *gqlResponse {
		return f.call(t, fleet[i].OwnerToken, "bookAppointment", f.bookIn(fleet[i], kind, start, nil))
	})
	got, _ = bkOutcomes(t, "bookAppointment", rs)
	if got["OK"] != 3 || got["TOO_MANY_APPOINTMENTS"] != 2 {
		t.Fatalf("one owner's 5 cars at once: %v", got)
	}
	if n := e2eCount(t, f.testServer, &bkAppointmentRow{}, "owner_id = ? AND status = 'BOOKED'", fleet[0].Owner.ID); n != 3 {
		t.Fatalf("the owner holds %d active appointments", n)
	}
	c, n := bkCounts(t, f.DB, f.szID, kind, start)
	if c != n || c > 5 {
		t.Fatalf("slot: counter %d, BOOKED %d", c, n)
	}
}

// TestBookingIdempotentRetries sends one booking 20 times at once with one
// idempotency key: one appointment, the same answer to all.
func TestBookingIdempotentRetries(t *testing.T) {
	f := newBooking(t)
	day := bkDay(bkDayIdempotency)
	f.setDaySeats(t, day, bkKind, 3)
	ds := f.daySlots(t, bkKind, day)
	car := f.quickCar(t, "SZ01")
	key := fmt.Sprintf("bk-retry-%d", e2eNext())
	in := f.bookIn(car, bkKind, ds[0].Start, map[string]any{"idempotencyKey": key, "note": "重试"})
	rs := e2eConcurrently(20, func(int) *gqlResponse { return f.call(t, car.OwnerToken, "bookAppointment", in) })
	got, accepted := bkOutcomes(t, "bookAppointment", rs)
	if got["OK"] != 20 {
		t.Fatalf("20 retries: %v", got)
	}
	id := accepted[0]["id"]
	for _, a := range accepted {
		if a["id"] != id || a["status"] != "BOOKED" {
			t.Fatalf("retries answered differently: %v vs %v", a, accepted[0])
		}
	}
	_, vKey, _ := bkParseID(car.ID)
	if n := e2eCount(t, f.testServer, &bkAppointmentRow{}, "vehicle_id = ?", vKey); n != 1 {
		t.Fatalf("%d appointments for one idempotent booking", n)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[0].Start, 1)

	// The key with other parameters: refused. A later retry: the
	// appointment as it is now.
	other := f.bookIn(car, bkKind, ds[1].Start, map[string]any{"idempotencyKey": key, "note": "重试"})
	f.refused(t, car.OwnerToken, "bookAppointment", other, "IDEMPOTENCY_KEY_REUSED")
	// Another owner with the same key books for themselves.
	car2 := f.quickCar(t, "SZ01")
	b := f.appt(t, car2.OwnerToken, "bookAppointment", f.bookIn(car2, bkKind, ds[0].Start, map[string]any{"idempotencyKey": key, "note": "重试"}))
	if b["id"] == id {
		t.Fatal("two owners' keys met")
	}

	// Idempotent reschedules at once: moved once, one seat.
	mkey := fmt.Sprintf("bk-move-%d", e2eNext())
	mv := bkMove(id, ds[2].Start)
	mv["idempotencyKey"] = mkey
	rs = e2eConcurrently(10, func(int) *gqlResponse { return f.call(t, car.OwnerToken, "rescheduleAppointment", mv) })
	got, accepted = bkOutcomes(t, "rescheduleAppointment", rs)
	if got["OK"] != 10 {
		t.Fatalf("10 reschedule retries: %v", got)
	}
	for _, a := range accepted {
		if a["id"] != id || !bkTime(t, a["slotStart"]).Equal(ds[2].Start) {
			t.Fatalf("reschedule retry: %v", a)
		}
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[0].Start, 1) // car2's
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[2].Start, 1)
	// After a cancel, a retry of the booking replays it: no second booking.
	f.appt(t, car.OwnerToken, "cancelAppointment", map[string]any{"appointmentId": id})
	again := f.appt(t, car.OwnerToken, "bookAppointment", in)
	if again["id"] != id || again["status"] != "CANCELLED" {
		t.Fatalf("a retry after the cancel: %v", again)
	}
	bkWantCounts(t, f.DB, f.szID, bkKind, ds[0].Start, 1)
}

// bkAppointmentRow is the appointments table, for counting rows.
type bkAppointmentRow struct{}

func (bkAppointmentRow) TableName() string { return "appointments" }

// ---------------------------------------------------------------------------
// Statements

func TestBookingNoNPlusOne(t *testing.T) {
	f := newBooking(t)
	vars := func(from, to models.Date) map[string]any {
		return map[string]any{"s": f.sz, "k": bkKind, "from": from.String(), "to": to.String()}
	}
	one, d1 := minStatements(t, f.testServer, "", bkSlotsDoc, vars(bkDay(3), bkDay(3)))
	thirty, d30 := minStatements(t, f.testServer, "", bkSlotsDoc, vars(bkDay(0), bkDay(29)))
	n1, n30 := len(d1["availableSlots"].([]any)), len(d30["availableSlots"].([]any))
	t.Logf("availableSlots: %d statements for 1 day (%d slots), %d for 30 days (%d slots)", one, n1, thirty, n30)
	if one != thirty || n30 < 20*n1 || thirty > 5 {
		t.Fatalf("availableSlots: %d statements for 1 day, %d for 30 days", one, thirty)
	}

	day := bkDay(bkDayStatements)
	f.setDaySeats(t, day, bkKind, 10)
	ds := f.daySlots(t, bkKind, day)
	advisor := f.staff(t, "advisor.sz01")
	sv := map[string]any{"s": f.sz, "d": day.String()}
	count := func(d map[string]any) int {
		n := 0
		for _, s := range dig(d, "appointments", "slots").([]any) {
			for _, a := range dig(s, "appointments").([]any) {
				if dig(a, "owner", "name") == nil || dig(a, "vehicle", "plate") == nil || dig(a, "store", "code") != "SZ01" {
					t.Fatalf("schedule entry: %v", a)
				}
				n++
			}
		}
		return n
	}
	base := count(f.gql(t, advisor, bkScheduleDoc, sv))
	f.appt(t, advisor, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[0].Start, map[string]any{"note": "1"}))
	few, dFew := minStatements(t, f.testServer, advisor, bkScheduleDoc, sv)
	for i := range 9 {
		f.appt(t, advisor, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[i%3].Start, map[string]any{"note": fmt.Sprint(i + 2)}))
	}
	many, dMany := minStatements(t, f.testServer, advisor, bkScheduleDoc, sv)
	t.Logf("appointments(storeId, date): %d statements with %d bookings, %d with %d", few, count(dFew), many, count(dMany))
	if count(dFew) != base+1 || count(dMany) != base+10 {
		t.Fatalf("bookings on the schedule: %d, %d (base %d)", count(dFew), count(dMany), base)
	}
	if many != few || many > 10 {
		t.Fatalf("N+1: %d statements with 1 booking, %d with 10", few, many)
	}

	// me.appointments: one owner with 1 vs 3.
	fleet := []wkCar{f.newCar(t, "")}
	for range 2 {
		fleet = append(fleet, f.newCar(t, fleet[0].Owner.Phone))
	}
	f.book(t, fleet[0], bkKind, ds[5].Start)
	mFew, _ := minStatements(t, f.testServer, fleet[0].OwnerToken, bkMineDoc, nil)
	f.book(t, fleet[1], bkKind, ds[6].Start)
	f.book(t, fleet[2], bkKind, ds[7].Start)
	mMany, dm := minStatements(t, f.testServer, fleet[0].OwnerToken, bkMineDoc, nil)
	if len(dig(dm, "me", "appointments", "edges").([]any)) != 3 || mMany != mFew {
		t.Fatalf("me.appointments: %d statements for 1, %d for 3", mFew, mMany)
	}
}

// ---------------------------------------------------------------------------
// Time zones

// newStore adds a store of its own for a test (Asia/Shanghai, 2 bays,
// 60-minute slots, open every day from opens to closes) with a manager, and
// removes it when the test ends. It returns the store's global id and the
// manager's token.
func (f *bkFixture) newStore(t *testing.T, opens, closes string) (string, string) {
	t.Helper()
	ctx := context.Background()
	code := fmt.Sprintf("BK%d", e2eNext()%100000)
	now := testdb.Now()
	store := &models.Store{ID: models.NewID(), Code: code, Name: "预约测试店", City: "深圳", Timezone: "Asia/Shanghai",
		ServiceBays: 2, SlotMinutes: 60, CreatedAt: now, UpdatedAt: now}
	for wd := range 7 {
		store.Hours = append(store.Hours, models.StoreHours{StoreID: store.ID, Weekday: wd, Opens: opens, Closes: closes})
	}
	if err := f.DB.Conn(ctx).Create(store).Error; err != nil {
		t.Fatal(err)
	}
	manager := e2eInsertStaff(t, f.testServer, "bk-store-pass", true, []string{code}, "MANAGER")
	t.Cleanup(func() {
		conn := f.DB.Conn(ctx)
		for _, table := range []string{"appointments", "slot_bookings", "calendar_overrides", "slot_capacities", "staff_stores", "store_hours"} {
			if err := conn.Exec("DELETE FROM "+table+" WHERE store_id = ?", store.ID).Error; err != nil {
				t.Error(err)
			}
		}
		if err := conn.Exec("DELETE FROM stores WHERE id = ?", store.ID).Error; err != nil {
			t.Error(err)
		}
	})
	return e2eGlobalID("Store", store.ID), e2eStaffToken(t, f.testServer, manager)
}

// TestBookingSlotLengthChange shortens a store's slots from 60 to 30 minutes
// while a 60-minute appointment is booked in a slot with one seat.
func TestBookingSlotLengthChange(t *testing.T) {
	f := newBooking(t)
	gid, mgr := f.newStore(t, "08:00", "18:00")
	day := bkDay(5)
	slots := f.slots(t, gid, bkKind, day, day)
	nine := slots[1].Start // 09:00-10:00, the only DETAILING seat (2 bays)
	car1, car2 := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	f.appt(t, car1.OwnerToken, "bookAppointment", map[string]any{"storeId": gid, "vehicleId": car1.ID, "kind": bkKind, "slotStart": bkTS(nine)})
	half := nine.Add(30 * time.Minute)
	p := e2ePayload(t, f.call(t, mgr, "setStoreCalendar", map[string]any{"storeId": gid, "slotMinutes": 30}), "setStoreCalendar")
	if c := userErrorCodes(p); len(c) == 1 && c[0] == "CAPACITY_BELOW_BOOKINGS" {
		return // refused: nothing overbooked
	}
	for _, s := range f.slots(t, gid, bkKind, day, day) {
		if s.Start.Equal(half) && s.SeatsLeft != 0 {
			t.Errorf("09:30-10:00 offered with %d seat(s) while the 09:00-10:00 appointment holds the only one", s.SeatsLeft)
		}
	}
	r := e2ePayload(t, f.call(t, car2.OwnerToken, "bookAppointment",
		map[string]any{"storeId": gid, "vehicleId": car2.ID, "kind": bkKind, "slotStart": bkTS(half)}), "bookAppointment")
	if c := userErrorCodes(r); len(c) != 1 || c[0] != "SLOT_FULL" {
		t.Fatalf("a second car booked into the one seat at 09:30: %v", r)
	}
}

// TestBookingMidnight books at a store open around the clock in
// Asia/Shanghai (UTC+8): its first slot of a day starts at 16:00 UTC of the
// day before. Slots, schedules, figures and closed dates follow the store's
// day, not UTC's.
func TestBookingMidnight(t *testing.T) {
	f := newBooking(t)
	gid, mgr := f.newStore(t, "00:00", "24:00")
	d := bkDay(3)
	slots := f.slots(t, gid, bkKind, d, d)
	dayStart := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, bkShanghai)
	if len(slots) != 24 || !slots[0].Start.Equal(dayStart) || !slots[23].End.Equal(dayStart.AddDate(0, 0, 1)) {
		t.Fatalf("a day around the clock: %d slots, %v .. %v", len(slots), slots[0], slots[len(slots)-1])
	}
	if slots[0].Start.UTC().Day() == d.Day {
		t.Fatalf("the store's midnight %v is on the same UTC date", slots[0].Start.UTC())
	}
	late, early := slots[23].Start, dayStart.AddDate(0, 0, 1) // 23:00 on d, 00:00 on d+1
	car1, car2 := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	book := func(c wkCar, at time.Time) map[string]any {
		return f.appt(t, c.OwnerToken, "bookAppointment", map[string]any{"storeId": gid, "vehicleId": c.ID, "kind": bkKind, "slotStart": bkTS(at)})
	}
	a := book(car1, late)
	b := book(car2, early)
	schedule := func(day models.Date) map[string]any {
		s, _ := f.gql(t, mgr, bkScheduleDoc, map[string]any{"s": gid, "d": day.String()})["appointments"].(map[string]any)
		return s
	}
	if _, g := bkScheduled(schedule(d), a["id"].(string)); g == nil {
		t.Fatal("23:00 is not on its day's schedule")
	}
	if _, g := bkScheduled(schedule(d), b["id"].(string)); g != nil {
		t.Fatal("00:00 of the next day is on the day before's schedule")
	}
	if _, g := bkScheduled(schedule(d.AddDate(0, 0, 1)), b["id"].(string)); g == nil {
		t.Fatal("00:00 is not on its day's schedule")
	}
	st := f.gql(t, mgr, bkStatsDoc, map[string]any{"s": gid, "from": d.String(), "to": d.AddDate(0, 0, 1).String()})
	if dig(st, "bookingStats", 0, "booked") != float64(1) || dig(st, "bookingStats", 1, "booked") != float64(1) {
		t.Fatalf("figures by the store's day: %v", st)
	}
	// Closing d+1 closes its 00:00 slot (the UTC date of d): refused while
	// booked, then applied once it is cancelled.
	closeNext := map[string]any{"storeId": gid, "date": d.AddDate(0, 0, 1).String(), "closed": true}
	f.refused(t, mgr, "setCalendarOverride", closeNext, "CAPACITY_BELOW_BOOKINGS")
	f.appt(t, car2.OwnerToken, "cancelAppointment", bkID(b))
	f.ok(t, mgr, "setCalendarOverride", closeNext)
	two := f.slots(t, gid, bkKind, d, d.AddDate(0, 0, 1))
	if len(two) != 24 || !two[23].Start.Equal(late) {
		t.Fatalf("closed next day: %d slots", len(two))
	}
	f.refused(t, car2.OwnerToken, "bookAppointment", map[string]any{"storeId": gid, "vehicleId": car2.ID, "kind": bkKind, "slotStart": bkTS(early)}, "STORE_CLOSED", "slotStart")
	// 23:00 of d is still open (full: one DETAILING seat per slot at 2 bays).
	f.refused(t, car2.OwnerToken, "bookAppointment", map[string]any{"storeId": gid, "vehicleId": car2.ID, "kind": bkKind, "slotStart": bkTS(late)}, "SLOT_FULL", "slotStart")
	f.appt(t, car1.OwnerToken, "cancelAppointment", bkID(a))
}

package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// The no-overbooking invariant under concurrency: races for the last seats
// (also across two server instances on one PostgreSQL), moves, cancels and
// capacity changes at once, the owner's rules at once, idempotent retries.

// bkOp is one mutation of a concurrent batch.
type bkOp struct {
	field string
	token string
	in    map[string]any
}

// bkCars inserts n new owners' cars.
func (f *bkFixture) bkCars(t testing.TB, n int) []wkCar {
	t.Helper()
	out := make([]wkCar, n)
	for i := range out {
		out[i] = f.quickCar(t, "SZ01")
	}
	return out
}

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
	bkWantCounts(t, f.DB, f.storeID, bkKind, start, 5)
	if left := f.seatsLeft(t, bkKind, start); left != 0 {
		t.Fatalf("%d seats left after the race", left)
	}
	var rows int64
	if err := f.DB.Conn(context.Background()).Raw(`SELECT COUNT(*) FROM appointments WHERE store_id = ? AND slot_start = ? AND kind = ?`,
		f.storeID, start.UTC(), bkKind).Scan(&rows).Error; err != nil || rows != 5 {
		t.Fatalf("%d appointments in the slot (%v), want 5", rows, err)
	}
}

func TestBookingRaceForLastSeats(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	bkRace(t, []*bkFixture{f}, bkDay(bkAhead))
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
	s2 := newBookingServer(t, func(_ *Config, d *Deps) { d.DB = db2 })
	s2.bkStore = s1.bkStore // one store, added through the first instance
	var shared models.Store
	if err := sharedDB.Conn(ctx).Where("code = ?", "SZ01").Take(&shared).Error; err != nil {
		t.Fatal(err)
	}
	if e2eStoreID(t, s1.testServer, "SZ01") != e2eStoreID(t, s2.testServer, "SZ01") || e2eStoreID(t, s1.testServer, "SZ01") == shared.ID {
		t.Fatal("the two instances do not share their own database")
	}
	if got := e2eStoreNodeID(t, s2.testServer, s1.code); got != s2.store {
		t.Fatalf("the second instance does not see the store: %s", got)
	}
	before := db2.Statements()
	bkRace(t, []*bkFixture{s1, s2}, bkDay(bkAhead))
	if db2.Statements()-before < 25 {
		t.Fatal("the second instance served no bookings")
	}
}

// TestBookingConcurrentChanges moves and cancels appointments at once, and
// books into the seats they free: every slot's counter stays equal to its
// BOOKED appointments and within its seats, and a refused move keeps its
// old slot.
func TestBookingConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	const seats = 4
	_, ds := f.dayWithSeats(t, bkKind, seats)
	s0, s1, s2 := ds[0].Start, ds[1].Start, ds[2].Start
	movers, cancellers, fillers, walkIns := f.bkCars(t, seats), f.bkCars(t, seats), f.bkCars(t, 2), f.bkCars(t, 2*seats)
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
	var ops []bkOp
	for i, a := range moving {
		ops = append(ops, bkOp{"rescheduleAppointment", movers[i].OwnerToken, bkMove(a["id"], s2)})
	}
	for i, a := range cancelling {
		ops = append(ops, bkOp{"cancelAppointment", cancellers[i].OwnerToken, bkID(a)})
	}
	for i, c := range walkIns {
		ops = append(ops, bkOp{"bookAppointment", c.OwnerToken, f.bookIn(c, bkKind, []time.Time{s0, s1}[i%2], nil)})
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
		counter, n := bkCounts(t, f.DB, f.storeID, bkKind, s)
		if counter != n || n > seats {
			t.Fatalf("slot %v: counter %d, BOOKED %d, seats %d", s.In(bkShanghai), counter, n, seats)
		}
		total += n
	}
	// 2 moved + 2 kept in s0, 2 fillers, plus the new bookings.
	if total != int64(2+2+2+booked["OK"]) {
		t.Fatalf("%d BOOKED in the three slots, want %d", total, 6+booked["OK"])
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, s2, seats)
}

// TestBookingConflictingChanges: one owner, one appointment, conflicting
// changes at once: moves to two slots and a cancel. Whatever order they ran
// in, it holds one seat or none, and the counters agree.
func TestBookingConflictingChanges(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	_, ds := f.dayWithSeats(t, bkKind, 4)
	car := f.quickCar(t, "SZ01")
	a := f.book(t, car, bkKind, ds[4].Start)
	targets := []time.Time{ds[5].Start, ds[6].Start, ds[7].Start}
	rs := e2eConcurrently(9, func(i int) *gqlResponse {
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
		bkWantCounts(t, f.DB, f.storeID, bkKind, s, 0)
	}
}

// TestBookingCapacityChangeWhileBooking: the manager lowers a slot's seats
// while owners book it: the change either waits for the bookings and is
// refused if they no longer fit, or goes first and the bookings after it
// see the lower seats. Never more booked than the seats in force.
func TestBookingCapacityChangeWhileBooking(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day := bkDay(bkAhead)
	ds := f.daySlots(t, bkKind, day)
	const kind = "ACCIDENT"
	f.setDaySeats(t, day, kind, 10)
	start := ds[3].Start
	racers := f.bkCars(t, 10)
	manager := f.manager
	lower := map[string]any{"storeId": f.store, "date": day.String(), "kind": kind, "seats": 4}
	var ops []bkOp
	for i, c := range racers {
		if i%4 == 2 {
			ops = append(ops, bkOp{"setCalendarOverride", manager, lower})
		}
		ops = append(ops, bkOp{"bookAppointment", c.OwnerToken, f.bookIn(c, kind, start, nil)})
	}
	rs := e2eConcurrently(len(ops), func(i int) *gqlResponse { return f.call(t, ops[i].token, ops[i].field, ops[i].in) })
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
	counter, n := bkCounts(t, f.DB, f.storeID, kind, start)
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
	t.Parallel()
	f := newBooking(t)
	const kind = "ACCIDENT"
	_, ds := f.dayWithSeats(t, kind, 5)
	advisor := f.advisor

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
		c, n := bkCounts(t, f.DB, f.storeID, kind, s.Start)
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
	c, n := bkCounts(t, f.DB, f.storeID, kind, start)
	if c != n || c > 5 {
		t.Fatalf("slot: counter %d, BOOKED %d", c, n)
	}
}

// TestBookingIdempotentRetries sends one booking 20 times at once with one
// idempotency key: one appointment, the same answer to all.
func TestBookingIdempotentRetries(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	_, ds := f.dayWithSeats(t, bkKind, 3)
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[0].Start, 1)

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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[0].Start, 1) // car2's
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 1)
	// After a cancel, a retry of the booking replays it: no second booking.
	f.appt(t, car.OwnerToken, "cancelAppointment", map[string]any{"appointmentId": id})
	again := f.appt(t, car.OwnerToken, "bookAppointment", in)
	if again["id"] != id || again["status"] != "CANCELLED" {
		t.Fatalf("a retry after the cancel: %v", again)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[0].Start, 1)
}

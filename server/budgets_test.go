package main

import (
	"fmt"
	"testing"
)

// Statement budgets of the staff's lists: the same number of statements for
// 2 items as for 20. Not in parallel: they count the shared database's
// statements (minStatements takes the fewest of three runs).

const evDayBudget = 171

// A store's day schedule with 2 bookings and with 20, every booking with
// its owner, car, store and repair order.
func TestBudgetStaffSchedule(t *testing.T) {
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 10)
	if len(ds) < 4 {
		t.Fatalf("%d slots on the test day", len(ds))
	}
	sv := map[string]any{"s": f.store, "d": day.String()}
	count := func(d map[string]any) int { return bkScheduleCount(t, d, f.code) }
	book := func(i int) {
		f.appt(t, f.advisor, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[i%4].Start, map[string]any{"note": fmt.Sprint(i)}))
	}
	for i := range 2 {
		book(i)
	}
	two, d2 := minStatements(t, f.testServer, f.advisor, bkScheduleDoc, sv)
	for i := 2; i < 20; i++ {
		book(i)
	}
	twenty, d20 := minStatements(t, f.testServer, f.advisor, bkScheduleDoc, sv)
	t.Logf("day schedule: %d statements for %d bookings, %d for %d", two, count(d2), twenty, count(d20))
	if count(d2) != 2 || count(d20) != 20 {
		t.Fatalf("bookings on the schedule: %d, %d", count(d2), count(d20))
	}
	if two != twenty {
		t.Fatalf("the schedule's statements grew with its bookings: %d for 2, %d for 20", two, twenty)
	}
}

// A store's board with 2 orders and with 20, over REST (rendered) and
// GraphQL.
func TestBudgetBoard(t *testing.T) {
	f := newBooking(t) // a store of its own, empty
	code := f.code
	rest := func() (int64, int) {
		best, cards := int64(-1), 0
		for range 3 {
			before := f.DB.Statements()
			_, b, _ := bdFull(t, f.testServer, code, f.advisor)
			if n := f.DB.Statements() - before; best < 0 || n < best {
				best, cards = n, bdCardCount(b)
			}
		}
		return best, cards
	}
	gql := func() (int64, int) {
		n, d := minStatements(t, f.testServer, f.advisor, bdBoardDoc, map[string]any{"s": f.store})
		return n, bdCardCount(d["workshopBoard"])
	}
	open := func(n int) {
		for i := range n {
			f.open(t, f.advisor, f.store, f.quickCar(t, "SZ01").Plate, 2000+i, "MAINTENANCE", nil,
				wkItem("PART", "OIL-0W20", "机油", 4, 9800, false))
		}
	}
	open(2)
	r2, c2 := rest()
	g2, gc2 := gql()
	open(18)
	r20, c20 := rest()
	g20, gc20 := gql()
	t.Logf("board: REST %d statements for %d cards, %d for %d; GraphQL %d for %d, %d for %d", r2, c2, r20, c20, g2, gc2, g20, gc20)
	if c2 != 2 || c20 != 20 || gc2 != 2 || gc20 != 20 {
		t.Fatalf("cards: REST %d, %d; GraphQL %d, %d", c2, c20, gc2, gc20)
	}
	if r2 != r20 || g2 != g20 {
		t.Fatalf("the board's statements grew with its orders: REST %d -> %d, GraphQL %d -> %d", r2, r20, g2, g20)
	}
}

// An event's roster with 2 registrations and with 20, each with its owner
// and car.
func TestBudgetEventRoster(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayBudget)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 30, "vehicleRequired": true}))
	f.at(start.AddDate(0, 0, -2)) // registration is open
	register := func(n int) {
		for range n {
			c := f.quickCar(t, "SZ01")
			f.register(t, c, ev["id"], map[string]any{"vehicleId": c.ID})
		}
	}
	lines := func(d map[string]any) int {
		edges := dig(d, "eventRoster", "edges").([]any)
		for _, e := range edges {
			if dig(e, "node", "name") == nil || dig(e, "node", "plate") == nil || dig(e, "node", "registration", "status") != "CONFIRMED" {
				t.Fatalf("roster line: %v", e)
			}
		}
		return len(edges)
	}
	register(2)
	two, d2 := minStatements(t, f.testServer, staff, evRosterDoc, map[string]any{"e": ev["id"]})
	register(18)
	twenty, d20 := minStatements(t, f.testServer, staff, evRosterDoc, map[string]any{"e": ev["id"]})
	t.Logf("event roster: %d statements for %d, %d for %d", two, lines(d2), twenty, lines(d20))
	if lines(d2) != 2 || lines(d20) != 20 {
		t.Fatalf("roster lines: %d, %d", lines(d2), lines(d20))
	}
	if two != twenty {
		t.Fatalf("the roster's statements grew with its registrations: %d for 2, %d for 20", two, twenty)
	}
}

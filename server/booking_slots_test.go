package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Free slots as owners list them, and the statements the read screens take.

// TestBookingSlots reads 30 days of slots in one request: each with start,
// end and seats left, in order, on the store's grid, within the booking
// window, none on closed days; one day's slots agree with them. Not in
// parallel: it counts the shared database's statements.
func TestBookingSlots(t *testing.T) {
	f := newBooking(t)
	day := bkDay(bkAhead)
	f.setDaySeats(t, day, bkKind, 3)
	// Days closed as the demo stores close them: the whole store (for
	// stocktaking), and one kind.
	stocktaking, noDetailing := bkDay(12), bkDay(13)
	f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": stocktaking.String(), "closed": true, "note": "盘点"})
	f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": noDetailing.String(), "kind": bkKind, "closed": true})

	cal := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.store})
	perDay := map[int]int{} // weekday -> slots a day
	for _, h := range dig(cal, "storeCalendar", "openingHours").([]any) {
		o, c := bkClock(t, dig(h, "opens")), bkClock(t, dig(h, "closes"))
		perDay[int(dig(h, "weekday").(float64))] = (c - o) / 60
	}
	// Days closed for DETAILING.
	closedOn := map[string]bool{}
	for _, o := range dig(cal, "storeCalendar", "overrides").([]any) {
		if dig(o, "closed") == true && (dig(o, "kind") == nil || dig(o, "kind") == bkKind) {
			closedOn[dig(o, "date").(string)] = true
		}
	}
	if dig(cal, "storeCalendar", "slotMinutes") != float64(60) || len(perDay) != 7 || !closedOn[stocktaking.String()] || !closedOn[noDetailing.String()] {
		t.Fatalf("%s calendar: %v", f.code, cal)
	}
	before := time.Now()
	before0 := f.DB.Statements()
	all := f.slots(t, f.store, bkKind, bkDay(0), bkDay(29))
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
			t.Fatalf("slot %v is off the store's grid (SZ01's)", local)
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
	// Another kind is open on the day closed for DETAILING only.
	if len(f.slots(t, f.store, "MAINTENANCE", noDetailing, noDetailing)) == 0 {
		t.Fatal("closing a kind for a day closed the others")
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
}

// TestBookingSlotsBadInput: availableSlots takes at most 31 days, to not
// before from, a known store and real dates.
func TestBookingSlotsBadInput(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day := bkDay(bkAhead)
	if s := f.slots(t, f.store, bkKind, bkDay(1), bkDay(31)); len(s) == 0 {
		t.Fatal("31 days of slots refused")
	}
	for _, c := range []struct{ from, to models.Date }{{bkDay(0), bkDay(31)}, {bkDay(3), bkDay(2)}} {
		r := f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": f.store, "k": bkKind, "from": c.from.String(), "to": c.to.String()}})
		e2eWantGQLError(t, r, "INVALID_ARGUMENT")
		if r.Errors[0].Extensions["reason"] != nil || r.Errors[0].Extensions["field"] != "to" || r.Data != nil {
			t.Fatalf("availableSlots %s..%s: %s", c.from, c.to, r.Raw)
		}
	}
	r := f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": e2eGlobalID("Store", uuid.New()), "k": bkKind, "from": day.String(), "to": day.String()}})
	e2eWantGQLError(t, r, "NOT_FOUND")
	r = f.do(t, req{Query: bkSlotsDoc, Vars: map[string]any{"s": f.store, "k": bkKind, "from": "2026-02-30", "to": day.String()}})
	if r.Code() != "INVALID_ARGUMENT" {
		t.Fatalf("a bad date: %s", r.Raw)
	}
}

// TestBookingNoNPlusOne: availableSlots, a day's schedule and
// me.appointments take as many statements for many rows as for few. Not in
// parallel: it counts the shared database's statements.
func TestBookingNoNPlusOne(t *testing.T) {
	f := newBooking(t)
	vars := func(from, to models.Date) map[string]any {
		return map[string]any{"s": f.store, "k": bkKind, "from": from.String(), "to": to.String()}
	}
	one, d1 := minStatements(t, f.testServer, "", bkSlotsDoc, vars(bkDay(3), bkDay(3)))
	thirty, d30 := minStatements(t, f.testServer, "", bkSlotsDoc, vars(bkDay(0), bkDay(29)))
	n1, n30 := len(d1["availableSlots"].([]any)), len(d30["availableSlots"].([]any))
	t.Logf("availableSlots: %d statements for 1 day (%d slots), %d for 30 days (%d slots)", one, n1, thirty, n30)
	if one != thirty || n30 < 20*n1 || thirty > 5 {
		t.Fatalf("availableSlots: %d statements for 1 day, %d for 30 days", one, thirty)
	}

	day, ds := f.dayWithSeats(t, bkKind, 10)
	advisor := f.advisor
	sv := map[string]any{"s": f.store, "d": day.String()}
	count := func(d map[string]any) int { return bkScheduleCount(t, d, f.code) }
	if base := count(f.gql(t, advisor, bkScheduleDoc, sv)); base != 0 {
		t.Fatalf("a new store's schedule holds %d bookings", base)
	}
	f.appt(t, advisor, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[0].Start, map[string]any{"note": "1"}))
	few, dFew := minStatements(t, f.testServer, advisor, bkScheduleDoc, sv)
	for i := range 9 {
		f.appt(t, advisor, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[i%3].Start, map[string]any{"note": fmt.Sprint(i + 2)}))
	}
	many, dMany := minStatements(t, f.testServer, advisor, bkScheduleDoc, sv)
	t.Logf("appointments(storeId, date): %d statements with %d bookings, %d with %d", few, count(dFew), many, count(dMany))
	if count(dFew) != 1 || count(dMany) != 10 {
		t.Fatalf("bookings on the schedule: %d, %d", count(dFew), count(dMany))
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

// bkScheduleCount counts the bookings on a day schedule (bkScheduleDoc's
// answer), each of which must show its owner, car and store.
func bkScheduleCount(t *testing.T, d map[string]any, code string) int {
	t.Helper()
	n := 0
	for _, s := range dig(d, "appointments", "slots").([]any) {
		for _, a := range dig(s, "appointments").([]any) {
			if dig(a, "owner", "name") == nil || dig(a, "vehicle", "plate") == nil || dig(a, "store", "code") != code {
				t.Fatalf("schedule entry: %v", a)
			}
			n++
		}
	}
	return n
}

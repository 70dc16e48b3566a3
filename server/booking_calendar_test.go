package main

import (
	"slices"
	"strings"
	"testing"
)

// The store's calendar as its manager changes it: the week's seats, date
// overrides and closed days, never below what is booked unless forced.

// bkCalKind is the kind whose seats the calendar tests change.
const bkCalKind = "BODY_PAINT"

// calendar reads the test store's calendar, publicly.
func (f *bkFixture) calendar(t testing.TB) map[string]any {
	t.Helper()
	c, _ := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.store})["storeCalendar"].(map[string]any)
	return c
}

// bkSeatsOf is a calendar's week seats of bkCalKind.
func bkSeatsOf(t testing.TB, cal any) int {
	t.Helper()
	for _, s := range dig(cal, "seats").([]any) {
		if dig(s, "kind") == bkCalKind {
			return int(dig(s, "seats").(float64))
		}
	}
	t.Fatalf("no %s seats in %v", bkCalKind, cal)
	return 0
}

// bkWeekSeats is a setStoreCalendar input giving bkCalKind n seats a slot.
func (f *bkFixture) bkWeekSeats(n int, force bool) map[string]any {
	return map[string]any{"storeId": f.store, "seats": []any{map[string]any{"kind": bkCalKind, "seats": n}}, "force": force}
}

// twoInOneSlot gives bkCalKind 2 seats a week and books both in the first
// slot of the day the tests book on: first, then second.
func (f *bkFixture) twoInOneSlot(t *testing.T) (ds []bkSlot, first, second map[string]any) {
	t.Helper()
	p := f.ok(t, f.manager, "setStoreCalendar", f.bkWeekSeats(2, false))
	if bkSeatsOf(t, p["calendar"]) != 2 || len(p["conflicts"].([]any)) != 0 || dig(p, "calendar", "slotMinutes") != float64(60) ||
		len(dig(p, "calendar", "openingHours").([]any)) != 7 {
		t.Fatalf("setStoreCalendar: %v", p)
	}
	ds = f.daySlots(t, bkCalKind, bkDay(bkAhead))
	if ds[0].SeatsLeft != 2 {
		t.Fatalf("the week's seats do not reach the slots: %v", ds[0])
	}
	first = f.book(t, f.quickCar(t, "SZ01"), bkCalKind, ds[0].Start)
	second = f.book(t, f.quickCar(t, "SZ01"), bkCalKind, ds[0].Start)
	return ds, first, second
}

// TestBookingCalendarWeekSeats lowers the week's seats below what is booked:
// refused with the number that would not fit, nothing changed; forced, it
// is applied and lists the bookings that no longer fit (the latest made),
// still BOOKED for staff to move, and nobody else gets in.
func TestBookingCalendarWeekSeats(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	orig := f.calendar(t)
	if len(dig(orig, "seats").([]any)) != 6 || len(dig(orig, "openingHours").([]any)) != 7 {
		t.Fatalf("%s calendar (SZ01's week): %v", f.code, orig)
	}
	ds, _, second := f.twoInOneSlot(t)
	day := bkDay(bkAhead)

	p := f.refused(t, f.manager, "setStoreCalendar", f.bkWeekSeats(1, false), "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 1 ") {
		t.Fatalf("the refusal does not say 1 booking would not fit: %q", msg)
	}
	if len(p["conflicts"].([]any)) != 0 {
		t.Fatalf("a refused change lists conflicts: %v", p)
	}
	if bkSeatsOf(t, f.calendar(t)) != 2 || f.seatsLeft(t, bkCalKind, ds[0].Start) != 0 {
		t.Fatal("a refused calendar change changed something")
	}
	p = f.refused(t, f.manager, "setStoreCalendar", f.bkWeekSeats(0, false), "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 2 ") {
		t.Fatalf("the refusal does not say 2 bookings would not fit: %q", msg)
	}
	bkWantCounts(t, f.DB, f.storeID, bkCalKind, ds[0].Start, 2)

	// Forced: applied, and the bookings that no longer fit listed.
	p = f.ok(t, f.manager, "setStoreCalendar", f.bkWeekSeats(1, true))
	conflicts := p["conflicts"].([]any)
	if bkSeatsOf(t, p["calendar"]) != 1 || bkSeatsOf(t, f.calendar(t)) != 1 || len(conflicts) != 1 || dig(conflicts, 0, "id") != second["id"] ||
		dig(conflicts, 0, "status") != "BOOKED" || !bkTime(t, dig(conflicts, 0, "slotStart")).Equal(ds[0].Start) {
		t.Fatalf("forced change: %v", p)
	}
	// Never overbooked: nobody else gets in; the schedule shows 2 of 1.
	third := f.quickCar(t, "SZ01")
	f.refused(t, third.OwnerToken, "bookAppointment", f.bookIn(third, bkCalKind, ds[0].Start, nil), "SLOT_FULL", "slotStart")
	if f.seatsLeft(t, bkCalKind, ds[0].Start) != 0 {
		t.Fatal("seats left in an overfull slot")
	}
	sch := f.schedule(t, f.advisor, day)
	if s, _ := bkScheduled(sch, second["id"].(string)); s == nil || s["seats"] != float64(1) || s["booked"] != float64(2) {
		t.Fatalf("the overfull slot on the schedule: %v", s)
	}
	bkWantCounts(t, f.DB, f.storeID, bkCalKind, ds[0].Start, 2)
}

// TestBookingCalendarOverrideBelowBookings: a date override below the
// bookings, or closing the day, is refused, then forced; staff move the
// conflicts to another day, and the override can go.
func TestBookingCalendarOverrideBelowBookings(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	ds, first, second := f.twoInOneSlot(t)
	day := bkDay(bkAhead)
	ov := map[string]any{"storeId": f.store, "date": day.String(), "kind": bkCalKind, "seats": 0, "note": "喷漆房检修"}
	p := f.refused(t, f.manager, "setCalendarOverride", ov, "CAPACITY_BELOW_BOOKINGS")
	if msg := dig(p, "userErrors", 0, "message").(string); !strings.Contains(msg, " 2 ") {
		t.Fatalf("override refusal: %q", msg)
	}
	if k := bkCalKind; bkHasOverride(dig(f.calendar(t), "overrides"), day, &k, false) {
		t.Fatal("a refused override was saved")
	}
	// Closing the day is refused the same way.
	f.refused(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": day.String(), "closed": true}, "CAPACITY_BELOW_BOOKINGS")
	ov["force"] = true
	p = f.ok(t, f.manager, "setCalendarOverride", ov)
	if ids := e2eStrings(p["conflicts"], "id"); !slices.Equal(ids, []string{second["id"].(string), first["id"].(string)}) {
		t.Fatalf("forced override conflicts: %v", p["conflicts"])
	}
	if k := bkCalKind; !bkHasOverride(dig(p, "calendar", "overrides"), day, &k, false) {
		t.Fatalf("override not in the calendar: %v", p)
	}
	// Staff move the conflicts to another day; then the override can go.
	next := f.daySlots(t, bkCalKind, day.AddDate(0, 0, 1))
	f.appt(t, f.advisor, "rescheduleAppointment", bkMove(second["id"], next[0].Start))
	f.appt(t, f.advisor, "rescheduleAppointment", bkMove(first["id"], next[1].Start))
	bkWantCounts(t, f.DB, f.storeID, bkCalKind, ds[0].Start, 0)
	f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": day.String(), "kind": bkCalKind})
	if k := bkCalKind; bkHasOverride(dig(f.calendar(t), "overrides"), day, &k, false) {
		t.Fatal("removed override still listed")
	}
}

// TestBookingCalendarCloseDay closes a day without bookings and opens it
// again.
func TestBookingCalendarCloseDay(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day := bkDay(bkAhead)
	ds := f.daySlots(t, bkCalKind, day)
	p := f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": day.String(), "closed": true, "note": "国庆"})
	if !bkHasOverride(dig(p, "calendar", "overrides"), day, nil, true) || len(f.slots(t, f.store, bkCalKind, day, day)) != 0 {
		t.Fatalf("closing a day: %v", p)
	}
	sch := f.schedule(t, f.advisor, day)
	if sch["closed"] != true || len(sch["slots"].([]any)) != 0 {
		t.Fatalf("the closed day's schedule: %v", sch)
	}
	f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": day.String(), "closed": false})
	if len(f.slots(t, f.store, bkCalKind, day, day)) != len(ds) {
		t.Fatal("reopened day has other slots")
	}
}

// TestBookingCalendarRefusals: bad input, and only the store's manager may
// change its calendar; refused changes change nothing.
func TestBookingCalendarRefusals(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day := bkDay(bkAhead)
	orig := f.calendar(t)
	bad := []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"storeId": f.store, "slotMinutes": 5}, "slotMinutes"},
		{map[string]any{"storeId": f.store, "seats": []any{map[string]any{"kind": bkCalKind, "seats": 101}}}, "seats[0].seats"},
		{map[string]any{"storeId": f.store, "seats": []any{map[string]any{"kind": bkCalKind, "seats": 1}, map[string]any{"kind": bkCalKind, "seats": 2}}}, "seats[1].kind"},
		{map[string]any{"storeId": f.store, "openingHours": []any{map[string]any{"weekday": 1, "opens": "08:30", "closes": "18:00"}}}, "openingHours"},
	}
	for _, c := range bad {
		f.refused(t, f.manager, "setStoreCalendar", c.in, "INVALID_ARGUMENT", c.field)
	}
	badOv := []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"storeId": f.store, "date": bkDay(-1).String(), "closed": true}, "date"},
		{map[string]any{"storeId": f.store, "date": bkDay(400).String(), "closed": true}, "date"},
		{map[string]any{"storeId": f.store, "date": day.String(), "seats": 3}, "seats"},
		{map[string]any{"storeId": f.store, "date": day.String(), "kind": bkCalKind, "closed": true, "seats": 3}, "seats"},
	}
	for _, c := range badOv {
		f.refused(t, f.manager, "setCalendarOverride", c.in, "INVALID_ARGUMENT", c.field)
	}
	closeDay := map[string]any{"storeId": f.store, "date": day.String(), "closed": true}
	for _, who := range []string{f.advisor, f.tech, f.crm, f.staff(t, "manager.gz01")} {
		f.denied(t, who, "setStoreCalendar", f.bkWeekSeats(5, true), "FORBIDDEN")
		f.denied(t, who, "setCalendarOverride", closeDay, "FORBIDDEN")
	}
	f.denied(t, f.quickCar(t, "SZ01").OwnerToken, "setStoreCalendar", f.bkWeekSeats(5, true), "FORBIDDEN")
	f.denied(t, "", "setCalendarOverride", closeDay, "UNAUTHENTICATED")
	now := f.calendar(t)
	if bkSeatsOf(t, now) != bkSeatsOf(t, orig) || !slices.Equal(e2eStrings(dig(now, "openingHours"), "opens"), e2eStrings(dig(orig, "openingHours"), "opens")) ||
		len(dig(now, "overrides").([]any)) != 0 {
		t.Fatal("refused changes changed the calendar")
	}
}

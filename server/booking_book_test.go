package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Owners booking, moving and cancelling their own appointments, and every
// refusal they meet.

// TestBookingOwnerFlow books for the owner's own car, moves the booking,
// cancels it and books again: seats taken and given back, the owner's list.
func TestBookingOwnerFlow(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	_, ds := f.dayWithSeats(t, bkKind, 3)
	car := f.newCar(t, "")
	ownerGID := e2eGlobalID("Owner", car.Owner.ID)
	s0, s1 := ds[0].Start, ds[1].Start

	// Book for the owner's own car.
	a := f.appt(t, car.OwnerToken, "bookAppointment", f.bookIn(car, bkKind, s0, map[string]any{"note": "  内饰深度清洁  "}))
	id := a["id"].(string)
	if a["status"] != "BOOKED" || a["source"] != "APP" || a["kind"] != bkKind || a["note"] != "内饰深度清洁" ||
		!bkTime(t, a["slotStart"]).Equal(s0) || !bkTime(t, a["slotEnd"]).Equal(s0.Add(time.Hour)) ||
		dig(a, "store", "code") != f.code || dig(a, "vehicle", "id") != car.ID || a["repairOrder"] != nil {
		t.Fatalf("booked: %v", a)
	}
	if f.seatsLeft(t, bkKind, s0) != 2 || f.seatsLeft(t, bkKind, s1) != 3 {
		t.Fatal("the booking did not take a seat")
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, s0, 1)
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, s0, 0)
	bkWantCounts(t, f.DB, f.storeID, bkKind, s1, 1)

	// Cancel: the seat given back; a cancelled appointment does not change.
	c := f.appt(t, car.OwnerToken, "cancelAppointment", bkID(a))
	if c["id"] != id || c["status"] != "CANCELLED" {
		t.Fatalf("cancelled: %v", c)
	}
	if f.seatsLeft(t, bkKind, s1) != 3 {
		t.Fatal("cancel did not give the seat back")
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, s1, 0)
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, s0, 0)
}

// bkOwnerDay is a day with one DETAILING seat per slot, its slots, and an
// appointment of alice's in the first of them.
type bkOwnerDay struct {
	day        models.Date
	ds         []bkSlot
	alice, bob wkCar
	a          map[string]any // alice's appointment at ds[0]
}

func (f *bkFixture) ownerDay(t *testing.T) bkOwnerDay {
	t.Helper()
	o := bkOwnerDay{day: bkDay(bkAhead)}
	f.setDaySeats(t, o.day, bkKind, 1)
	o.ds = f.daySlots(t, bkKind, o.day)
	o.alice, o.bob = f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	o.a = f.book(t, o.alice, bkKind, o.ds[0].Start)
	return o
}

// keptSlot checks that alice's appointment is still BOOKED at ds[0] with its
// seat: refused reschedules and others' attempts change nothing.
func (f *bkFixture) keptSlot(t *testing.T, o bkOwnerDay) {
	t.Helper()
	if st, at := bkStored(t, f.DB, o.a["id"]); st != "BOOKED" || !at.Equal(o.ds[0].Start) {
		t.Fatalf("the appointment was changed: %s %v", st, at)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, o.ds[0].Start, 1)
}

// TestBookingSlotFull: one seat, two owners; one active appointment per car.
func TestBookingSlotFull(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	ds, alice, bob := o.ds, o.alice, o.bob

	// SLOT_FULL: one seat, two owners.
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[0].Start, nil), "SLOT_FULL", "slotStart")
	if f.seatsLeft(t, bkKind, ds[0].Start) != 0 {
		t.Fatal("a full slot is not shown with 0 seats left")
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[0].Start, 1)

	// VEHICLE_ALREADY_BOOKED: one active appointment per car.
	f.refused(t, alice.OwnerToken, "bookAppointment", f.bookIn(alice, bkKind, ds[1].Start, nil), "VEHICLE_ALREADY_BOOKED", "vehicleId")
	f.refused(t, alice.OwnerToken, "bookAppointment", f.bookIn(alice, "WARRANTY", ds[1].Start, nil), "VEHICLE_ALREADY_BOOKED", "vehicleId")
	f.keptSlot(t, o)
}

// TestBookingWindow: TOO_LATE less than 2 hours ahead (by the booking
// clock), TOO_FAR_AHEAD more than 30 days, INVALID_SLOT off the grid.
func TestBookingWindow(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	ds, alice, bob, a := o.ds, o.alice, o.bob, o.a

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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 0)
	f.appt(t, carol.OwnerToken, "cancelAppointment", bkID(c))

	// TOO_FAR_AHEAD: more than 30 days ahead, on the grid (the first slot
	// of the same weekday two weeks after the day).
	far := ds[0].Start.AddDate(0, 0, 7*((31-bkAhead)/7+1))
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
	// A reschedule that is refused keeps the old slot.
	f.keptSlot(t, o)
}

// TestBookingStoreClosed: STORE_CLOSED outside opening hours, on a day the
// manager closed (the store-local day, not the days around it), and for a
// kind closed on a day.
func TestBookingStoreClosed(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	day, ds, alice, bob, a := o.day, o.ds, o.alice, o.bob, o.a

	night := time.Date(day.Year, day.Month, day.Day, 20, 0, 0, 0, bkShanghai)
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, night, nil), "STORE_CLOSED", "slotStart")
	closed := day.AddDate(0, 0, 1)
	cs := f.daySlots(t, "MAINTENANCE", closed)
	p := f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": closed.String(), "closed": true, "note": "员工培训"})
	if !bkHasOverride(dig(p, "calendar", "overrides"), closed, nil, true) {
		t.Fatalf("closed day not in the calendar: %v", p)
	}
	if got := f.gql(t, "", bkCalendarDoc, map[string]any{"s": f.store}); !bkHasOverride(dig(got, "storeCalendar", "overrides"), closed, nil, true) {
		t.Fatalf("storeCalendar does not list the closed day: %v", got)
	}
	for _, k := range []string{"MAINTENANCE", bkKind} {
		if s := f.slots(t, f.store, k, closed, closed); len(s) != 0 {
			t.Fatalf("%d %s slots on a closed day", len(s), k)
		}
	}
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, "MAINTENANCE", cs[2].Start, nil), "STORE_CLOSED", "slotStart")
	f.refused(t, alice.OwnerToken, "rescheduleAppointment", bkMove(a["id"], cs[2].Start), "STORE_CLOSED", "slotStart")
	// The days around it stay open: the closure is the store-local day.
	around := f.slots(t, f.store, "MAINTENANCE", closed.AddDate(0, 0, -1), closed.AddDate(0, 0, 1))
	for _, sl := range around {
		if models.DateOf(sl.Start.In(bkShanghai)) == closed {
			t.Fatalf("a slot on the closed day: %v", sl)
		}
	}
	if len(around) < 16 {
		t.Fatalf("closing a day hid the days around it: %d slots", len(around))
	}
	// A kind closed on a day.
	f.ok(t, f.manager, "setCalendarOverride", map[string]any{"storeId": f.store, "date": day.String(), "kind": "ACCIDENT", "closed": true})
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, "ACCIDENT", ds[1].Start, nil), "STORE_CLOSED", "slotStart")
	if len(f.slots(t, f.store, "ACCIDENT", day, day)) != 0 || len(f.slots(t, f.store, "WARRANTY", day, day)) == 0 {
		t.Fatal("closing a kind for a day")
	}
	// A reschedule that is refused keeps the old slot.
	f.keptSlot(t, o)
}

// TestBookingTooManyAppointments: the 4th active appointment of an owner
// with 4 cars is refused; cancelling one makes room.
func TestBookingTooManyAppointments(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	ds := o.ds
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[1].Start, 0)
	f.appt(t, fleet[0].OwnerToken, "cancelAppointment", bkID(held[0]))
	f.book(t, fleet[3], bkKind, ds[1].Start)
}

// TestBookingOthersCarsAndAppointments: another owner's car or appointment,
// a car or store that does not exist: NOT_FOUND, nothing written; who may
// read an appointment; no token.
func TestBookingOthersCarsAndAppointments(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	ds, alice, bob, a := o.ds, o.alice, o.bob, o.a

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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 0)

	// Another owner's appointment: not found to reschedule, cancel or read.
	f.denied(t, bob.OwnerToken, "rescheduleAppointment", bkMove(a["id"], ds[2].Start), "NOT_FOUND")
	f.denied(t, bob.OwnerToken, "cancelAppointment", bkID(a), "NOT_FOUND")
	if n := f.gql(t, bob.OwnerToken, bkNodeDoc, map[string]any{"id": a["id"]}); n["node"] != nil {
		t.Fatalf("node(id) of another owner's appointment: %v", n)
	}
	if n := f.gql(t, f.staff(t, "advisor.gz01"), bkNodeDoc, map[string]any{"id": a["id"]}); n["node"] != nil {
		t.Fatalf("node(id) of another store's appointment: %v", n)
	}
	if n := f.gql(t, f.advisor, bkNodeDoc, map[string]any{"id": a["id"]}); dig(n, "node", "id") != a["id"] {
		t.Fatalf("the store's advisor cannot read its appointment: %v", n)
	}
	if len(f.mine(t, bob.OwnerToken, "")) != 0 {
		t.Fatal("another owner's appointment in me.appointments")
	}
	f.keptSlot(t, o)

	// No token.
	r := f.call(t, "", "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, nil))
	e2eWantGQLError(t, r, "UNAUTHENTICATED")
	e2eWantGQLError(t, f.call(t, "", "cancelAppointment", bkID(a)), "UNAUTHENTICATED")
	e2eWantGQLError(t, f.do(t, req{Query: bkMineDoc}), "UNAUTHENTICATED")
}

// TestBookingBadInput: an owner's bad source, note, ids, kind and slot.
func TestBookingBadInput(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	o := f.ownerDay(t)
	ds, bob := o.ds, o.bob

	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"source": "PHONE"}), "INVALID_ARGUMENT", "source")
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"note": strings.Repeat("长", 2001)}), "INVALID_ARGUMENT", "note")
	f.refused(t, bob.OwnerToken, "bookAppointment", f.bookIn(bob, bkKind, ds[2].Start, map[string]any{"note": "a\x07b"}), "INVALID_ARGUMENT", "note")
	in := f.bookIn(bob, bkKind, ds[2].Start, nil)
	in["vehicleId"] = f.store
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 0)
	f.keptSlot(t, o)
}

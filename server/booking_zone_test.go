package main

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// Stores of other shapes: a slot length changed under a booking, and a store
// open around the clock, whose days are not UTC's.

// TestBookingSlotLengthChange shortens a store's slots from 60 to 30 minutes
// while a 60-minute appointment is booked in a slot with one seat.
func TestBookingSlotLengthChange(t *testing.T) {
	t.Parallel()
	f := newBookingServer(t)
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
	t.Parallel()
	f := newBookingServer(t)
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

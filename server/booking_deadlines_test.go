package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// The booking clock: until when owners and staff may change an appointment,
// when a no-show may be recorded, and the reminder the day before.

// TestBookingChangeDeadlines moves the booking clock to the last hours
// before a slot: owners may no longer cancel or move out of it, staff may
// until it starts; a no-show only once it started.
func TestBookingChangeDeadlines(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 2)
	advisor, crm := f.advisor, f.crm
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, start, 2)
	m := f.appt(t, advisor, "rescheduleAppointment", bkMove(b["id"], ds[6].Start))
	if !bkTime(t, m["slotStart"]).Equal(ds[6].Start) {
		t.Fatalf("staff reschedule: %v", m)
	}
	if c := f.appt(t, crm, "cancelAppointment", bkID(b)); c["status"] != "CANCELLED" {
		t.Fatalf("staff cancel: %v", c)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[6].Start, 0)
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, start, 0)
	f.refused(t, advisor, "markNoShow", bkID(a), "NOT_BOOKED")
	f.refused(t, advisor, "cancelAppointment", bkID(a), "NOT_BOOKED")

	// A slot the owner never came to does not keep their car booked: once
	// it is over, booking again closes it as NO_SHOW.
	c := f.book(t, cars[3], bkKind, ds[7].Start)
	f.setClock(ds[7].Start.Add(90 * time.Minute))
	later := day.AddDate(0, 0, 1)
	next := f.book(t, cars[3], bkKind, f.daySlots(t, bkKind, later)[1].Start)
	if st, _ := bkStored(t, f.DB, c["id"]); st != "NO_SHOW" {
		t.Fatalf("the missed appointment is %s", st)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[7].Start, 0)
	f.setClock(time.Time{})
	f.appt(t, cars[3].OwnerToken, "cancelAppointment", bkID(next))
}

// TestBookingReminders runs the reminder job (as the hourly upkeep does) at
// chosen times around the store's midnight: the owner of a BOOKED
// appointment finds one reminder in the inbox the store-local day before,
// however often and however concurrently the job runs; a cancelled
// appointment gets none.
func TestBookingReminders(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	ctx := context.Background()
	const kind = "WARRANTY"
	day := bkDay(bkAhead)
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

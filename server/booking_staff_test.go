package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Staff at the store: booking for owners, the day's schedule, arrivals
// (which open the repair order), no-shows and the daily figures; who may.

// bkStaffNote is what the advisor notes on the phone booking.
const bkStaffNote = "前保险杠划痕，顺便洗车"

// staffBookings books, as staff, a1 for car1 (a new owner's, on the phone
// with a note) and a2 for car2 (at the counter) in ds[1], and a3 for a
// customer of GZ01 in ds[2].
func (f *bkFixture) staffBookings(t *testing.T, ds []bkSlot) (cars []wkCar, a1, a2, a3 map[string]any) {
	t.Helper()
	cars = []wkCar{f.newCar(t, ""), f.newCar(t, ""), f.quickCar(t, "GZ01")}
	a1 = f.appt(t, f.advisor, "bookAppointment", f.bookIn(cars[0], bkKind, ds[1].Start, map[string]any{"note": bkStaffNote}))
	a2 = f.appt(t, f.crm, "bookAppointment", f.bookIn(cars[1], bkKind, ds[1].Start, map[string]any{"source": "WALK_IN"}))
	a3 = f.appt(t, f.advisor, "bookAppointment", f.bookIn(cars[2], bkKind, ds[2].Start, nil))
	return cars, a1, a2, a3
}

// arrive is a markArrived input.
func bkArrive(a map[string]any, mileage int) map[string]any {
	return map[string]any{"appointmentId": a["id"], "mileageIn": mileage}
}

// TestBookingStaffBooks: advisors, CRM and managers book for owners on the
// phone (the default source) or at the counter, for customers of any store;
// not as the app; not staff of another store, not technicians.
func TestBookingStaffBooks(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	_, ds := f.dayWithSeats(t, bkKind, 3)
	cars, a1, a2, a3 := f.staffBookings(t, ds)
	if a1["source"] != "PHONE" || a1["status"] != "BOOKED" || a1["note"] != bkStaffNote || dig(a1, "vehicle", "id") != cars[0].ID {
		t.Fatalf("staff booking: %v", a1)
	}
	if a2["source"] != "WALK_IN" {
		t.Fatalf("walk-in: %v", a2)
	}
	if a3["status"] != "BOOKED" || dig(a3, "vehicle", "id") != cars[2].ID {
		t.Fatalf("booking for a GZ01 customer: %v", a3)
	}
	car5 := f.quickCar(t, "SZ01")
	if a5 := f.appt(t, f.manager, "bookAppointment", f.bookIn(car5, bkKind, ds[2].Start, map[string]any{"note": "车门异响"})); a5["source"] != "PHONE" {
		t.Fatalf("the manager's booking: %v", a5)
	}
	car3 := cars[2] // booked already: the source is refused first
	f.refused(t, f.advisor, "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, map[string]any{"source": "APP"}), "INVALID_ARGUMENT", "source")
	// The owner sees it.
	if mine := f.mine(t, cars[0].OwnerToken, ""); len(mine) != 1 || mine[0]["id"] != a1["id"] || mine[0]["source"] != "PHONE" {
		t.Fatalf("the owner's list: %v", mine)
	}
	// Staff of another store may not book here; technicians may not book.
	f.denied(t, f.staff(t, "advisor.gz01"), "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, nil), "FORBIDDEN")
	f.denied(t, f.tech, "bookAppointment", f.bookIn(car3, bkKind, ds[3].Start, nil), "FORBIDDEN")
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[3].Start, 0)
}

// TestBookingStaffSchedule reads a day's schedule: every slot of every kind
// with seats, the appointments with owner, vehicle, kind, note and status;
// technicians without the owners; nobody outside the store.
func TestBookingStaffSchedule(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 3)
	cars, a1, _, a3 := f.staffBookings(t, ds)
	car1, car3 := cars[0], cars[2]
	gzAdvisor, gzManager := f.staff(t, "advisor.gz01"), f.staff(t, "manager.gz01")

	sch := f.schedule(t, f.advisor, day)
	if sch["date"] != day.String() || sch["closed"] != false {
		t.Fatalf("schedule: %v", sch)
	}
	slot, got := bkScheduled(sch, a1["id"].(string))
	if got == nil || slot["kind"] != bkKind || !bkTime(t, slot["start"]).Equal(ds[1].Start) || !bkTime(t, slot["end"]).Equal(ds[1].End) ||
		slot["seats"] != float64(3) || slot["booked"] != float64(2) || len(slot["appointments"].([]any)) != 2 {
		t.Fatalf("a1's slot: %v", slot)
	}
	if got["note"] != bkStaffNote || got["status"] != "BOOKED" || got["source"] != "PHONE" || got["kind"] != bkKind ||
		dig(got, "owner", "id") != e2eGlobalID("Owner", car1.Owner.ID) || dig(got, "owner", "phone") != car1.Owner.Phone ||
		dig(got, "vehicle", "plate") != car1.Plate || dig(got, "vehicle", "vin") != car1.VIN || dig(got, "store", "code") != f.code {
		t.Fatalf("a1 on the schedule: %v", got)
	}
	if _, g3 := bkScheduled(sch, a3["id"].(string)); g3 == nil || dig(g3, "vehicle", "plate") != car3.Plate {
		t.Fatalf("a3 (a GZ01 customer) not on the store's schedule: %v", g3)
	}
	kinds := map[string]int{}
	for _, s := range sch["slots"].([]any) {
		kinds[dig(s, "kind").(string)]++
	}
	if kinds[bkKind] != len(ds) || kinds["MAINTENANCE"] != len(ds) {
		t.Fatalf("schedule slots per kind: %v (want %d each)", kinds, len(ds))
	}
	// Other roles of the store read it; technicians without the owners.
	f.gql(t, f.manager, bkScheduleDoc, map[string]any{"s": f.store, "d": day.String()})
	if d := f.gql(t, f.tech, bkScheduleNoOwnerDoc, map[string]any{"s": f.store, "d": day.String()}); dig(d, "appointments", "date") != day.String() {
		t.Fatalf("technician's schedule: %v", d)
	}
	r := f.do(t, req{Query: bkScheduleDoc, Vars: map[string]any{"s": f.store, "d": day.String()}, Token: f.tech})
	if r.Code() != "FORBIDDEN" || !strings.Contains(fmt.Sprint(r.Errors[0].Path), "owner") {
		t.Fatalf("a technician read owners on the schedule: %s", r.Raw)
	}
	// Staff of another store, owners and nobody: refused.
	for _, c := range []struct{ token, code string }{{gzAdvisor, "FORBIDDEN"}, {gzManager, "FORBIDDEN"}, {car1.OwnerToken, "FORBIDDEN"}, {"", "UNAUTHENTICATED"}} {
		r := f.do(t, req{Query: bkScheduleDoc, Vars: map[string]any{"s": f.store, "d": day.String()}, Token: c.token})
		e2eWantGQLError(t, r, c.code)
		if r.Data != nil {
			t.Fatalf("refused schedule with data: %s", r.Raw)
		}
	}
	// node(id) and arrival of another store's appointment: not found.
	if n := f.gql(t, gzAdvisor, bkNodeDoc, map[string]any{"id": a1["id"]}); n["node"] != nil {
		t.Fatalf("GZ01 reads another store's appointment: %v", n)
	}
	f.denied(t, gzAdvisor, "markArrived", bkArrive(a1, 20000), "NOT_FOUND")
	f.denied(t, gzAdvisor, "markNoShow", bkID(a1), "NOT_FOUND")
	f.denied(t, gzAdvisor, "cancelAppointment", bkID(a1), "NOT_FOUND")
	if st, _ := bkStored(t, f.DB, a1["id"]); st != "BOOKED" {
		t.Fatalf("another store's staff changed the appointment: %s", st)
	}
}

// TestBookingArrivalAndNoShow: on the day, a1 arrives (its repair order
// opened from it), a2 does not show, a3 is cancelled by staff; not too
// early, not by the wrong roles. The schedule keeps arrivals and no-shows,
// and the manager reads the day's figures.
func TestBookingArrivalAndNoShow(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 3)
	cars, a1, a2, a3 := f.staffBookings(t, ds)
	car1 := cars[0]
	advisor := f.advisor
	gzManager := f.staff(t, "manager.gz01")

	// Too early: no arrival before the slot's day, no no-show before the slot.
	f.refused(t, advisor, "markNoShow", bkID(a2), "TOO_EARLY")
	f.refused(t, advisor, "markArrived", bkArrive(a1, 20000), "TOO_EARLY")
	// Roles: technicians neither; CRM may record no-shows, not arrivals.
	f.denied(t, f.tech, "markArrived", bkArrive(a1, 20000), "FORBIDDEN")
	f.denied(t, f.tech, "markNoShow", bkID(a2), "FORBIDDEN")
	f.denied(t, f.crm, "markArrived", bkArrive(a1, 20000), "FORBIDDEN")
	f.denied(t, car1.OwnerToken, "markArrived", bkArrive(a1, 20000), "FORBIDDEN")
	f.denied(t, "", "markNoShow", bkID(a2), "UNAUTHENTICATED")

	f.appt(t, advisor, "cancelAppointment", bkID(a3))
	// Arrivals are taken from the store's midnight of the slot's day (the
	// UTC date before), no-shows only once the slot started.
	midnight := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, bkShanghai)
	f.setClock(midnight.Add(-5 * time.Minute))
	f.refused(t, advisor, "markArrived", bkArrive(a1, 20000), "TOO_EARLY")
	f.setClock(midnight.Add(5 * time.Minute))
	f.refused(t, advisor, "markNoShow", bkID(a2), "TOO_EARLY")
	f.refused(t, advisor, "markArrived", bkArrive(a1, -1), "INVALID_ARGUMENT", "mileageIn")
	p := f.ok(t, advisor, "markArrived", bkArrive(a1, 20000))
	arrived, _ := p["appointment"].(map[string]any)
	ro, _ := p["repairOrder"].(map[string]any)
	if arrived == nil || ro == nil || arrived["status"] != "ARRIVED" || dig(arrived, "repairOrder", "id") != ro["id"] {
		t.Fatalf("markArrived: %v", p)
	}
	if dig(ro, "vehicle", "id") != car1.ID || ro["concern"] != bkStaffNote || ro["kind"] != bkKind || ro["mileageIn"] != float64(20000) ||
		dig(ro, "store", "code") != f.code || !f.bkOrderNumber().MatchString(fmt.Sprint(ro["number"])) {
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
	if o := f.order(t, car1.OwnerToken, ro["id"].(string)); o == nil || o["concern"] != bkStaffNote {
		t.Fatalf("the owner does not see the repair order: %v", o)
	}
	if n := f.gql(t, car1.OwnerToken, bkNodeDoc, map[string]any{"id": a1["id"]}); dig(n, "node", "status") != "ARRIVED" || dig(n, "node", "repairOrder", "id") != ro["id"] {
		t.Fatalf("the owner's view of the arrived appointment: %v", n)
	}
	f.refused(t, advisor, "markArrived", bkArrive(a1, 20000), "NOT_BOOKED")
	f.refused(t, car1.OwnerToken, "cancelAppointment", bkID(a1), "NOT_BOOKED")
	f.setClock(ds[1].Start.Add(5 * time.Minute))
	if ns := f.appt(t, advisor, "markNoShow", bkID(a2)); ns["status"] != "NO_SHOW" || ns["repairOrder"] != nil {
		t.Fatalf("markNoShow: %v", ns)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[1].Start, 0)
	f.setClock(time.Time{})

	// The schedule keeps arrivals and no-shows, not cancellations.
	sch := f.schedule(t, advisor, day)
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
	want := map[string]int{"booked": 3, "arrived": 1, "noShow": 1, "cancelled": 1}
	for k, v := range want {
		if after[k] != v {
			t.Fatalf("bookingStats %s: %v, want %v", k, after, want)
		}
	}
	d := f.gql(t, f.manager, bkStatsDoc, map[string]any{"s": f.store, "from": bkDay(0).String(), "to": bkDay(91).String()})
	if list := d["bookingStats"].([]any); len(list) != 92 || dig(list, 0, "date") != bkDay(0).String() ||
		dig(list, bkAhead, "arrived") != float64(after["arrived"]) {
		t.Fatalf("92 days of figures: %d days", len(list))
	}
	r := f.do(t, req{Query: bkStatsDoc, Vars: map[string]any{"s": f.store, "from": bkDay(0).String(), "to": bkDay(92).String()}, Token: f.manager})
	if r.Code() != "INVALID_ARGUMENT" || r.Errors[0].Extensions["reason"] != nil {
		t.Fatalf("93 days of figures: %s", r.Raw)
	}
	for _, c := range []struct{ token, code string }{{advisor, "FORBIDDEN"}, {f.tech, "FORBIDDEN"}, {gzManager, "FORBIDDEN"}, {car1.OwnerToken, "FORBIDDEN"}, {"", "UNAUTHENTICATED"}} {
		r := f.do(t, req{Query: bkStatsDoc, Vars: map[string]any{"s": f.store, "from": day.String(), "to": day.String()}, Token: c.token})
		e2eWantGQLError(t, r, c.code)
	}
}

// TestBookingArrivalRefusedByWorkshop: the workshop's refusals of the repair
// order (a lower mileage than known, a car already in the workshop) leave
// the appointment BOOKED with its seat.
func TestBookingArrivalRefusedByWorkshop(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 3)
	car4 := f.quickCar(t, "SZ01") // 1,000 km
	a4 := f.appt(t, f.advisor, "bookAppointment", f.bookIn(car4, bkKind, ds[2].Start, nil))
	f.setClock(time.Date(day.Year, day.Month, day.Day, 0, 5, 0, 0, bkShanghai))

	f.refused(t, f.advisor, "markArrived", bkArrive(a4, 500), "MILEAGE_DECREASED", "mileageIn")
	f.wkFixture.open(t, f.advisor, f.store, car4.VIN, 1500, "REPAIR", nil)
	p := e2ePayload(t, f.call(t, f.advisor, "markArrived", bkArrive(a4, 1600)), "markArrived")
	if c := userErrorCodes(p); len(c) != 1 || c[0] != "VEHICLE_IN_WORKSHOP" || p["appointment"] != nil || p["repairOrder"] != nil {
		t.Fatalf("arrival of a car in the workshop: %v", p)
	}
	if st, _ := bkStored(t, f.DB, a4["id"]); st != "BOOKED" {
		t.Fatalf("a refused arrival left the appointment %s", st)
	}
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 1)
	// Staff may still cancel it before its slot starts.
	f.appt(t, f.manager, "cancelAppointment", bkID(a4))
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 0)
}

// TestBookingConcurrentArrivals: two advisors marking one arrival at once
// open one repair order.
func TestBookingConcurrentArrivals(t *testing.T) {
	t.Parallel()
	f := newBooking(t)
	day, ds := f.dayWithSeats(t, bkKind, 3)
	a5 := f.appt(t, f.manager, "bookAppointment", f.bookIn(f.quickCar(t, "SZ01"), bkKind, ds[2].Start, map[string]any{"note": "车门异响"}))
	f.setClock(time.Date(day.Year, day.Month, day.Day, 0, 5, 0, 0, bkShanghai))
	rs := e2eConcurrently(6, func(i int) *gqlResponse {
		return f.call(t, []string{f.advisor, f.manager}[i%2], "markArrived", bkArrive(a5, 3000))
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
	bkWantCounts(t, f.DB, f.storeID, bkKind, ds[2].Start, 0)
}

package booking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
)

func TestBookHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(1, "10:00") // Tuesday 10:00 local
	a, err := e.svc.Book(e.ctx, c.p, e.in(c, start, func(in *booking.BookInput) { in.Note = "  换机油，检查刹车  " }))
	must(t, err)
	if a.Status != booking.Booked || a.Source != booking.App || a.OwnerID != c.owner.ID || a.VehicleID != c.car().ID ||
		a.StoreID != e.store.ID || a.Kind != "MAINTENANCE" || a.Note != "换机油，检查刹车" || a.BookedBy != nil {
		t.Fatalf("appointment = %+v", a)
	}
	if !a.SlotStart.Equal(start) || !a.SlotEnd.Equal(start.Add(time.Hour)) || a.SlotStart.Location() != time.UTC {
		t.Fatalf("slot %v-%v; want %v-%v in UTC", a.SlotStart, a.SlotEnd, start, start.Add(time.Hour))
	}
	if got := e.taken("MAINTENANCE", start); got != 1 {
		t.Fatalf("counter = %d; want 1", got)
	}
	// The owner sees it; the mini-program books too.
	got, err := e.svc.AppointmentFor(e.ctx, c.p, a.ID)
	if err != nil || got.ID != a.ID {
		t.Fatalf("AppointmentFor = %v, %v", got, err)
	}
	c2 := e.customer()
	b, err := e.svc.Book(e.ctx, c2.p, e.in(c2, start, func(in *booking.BookInput) { in.Source = booking.MiniProgram }))
	if err != nil || b.Source != booking.MiniProgram {
		t.Fatalf("mini-program booking = %+v, %v", b, err)
	}
	if got := e.taken("MAINTENANCE", start); got != 2 {
		t.Fatalf("counter = %d; want 2", got)
	}
}

func TestBookByStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(2, "14:00")
	for _, who := range []string{"advisor", "crm", "manager"} {
		c := e.customer()
		a, err := e.svc.Book(e.ctx, e.who(who), e.in(c, start))
		if who == "manager" {
			// MAINTENANCE has two seats: the third booking finds it full.
			wantCode(t, err, booking.CodeSlotFull, "slotStart")
			continue
		}
		must(t, err)
		if a.Source != booking.Phone || a.BookedBy == nil || *a.BookedBy != e.who(who).ID || a.OwnerID != c.owner.ID {
			t.Fatalf("%s booked %+v", who, a)
		}
	}
	a, err := e.svc.Book(e.ctx, e.who("advisor"), e.in(c, start, kind("REPAIR"), func(in *booking.BookInput) { in.Source = booking.WalkIn }))
	if err != nil || a.Source != booking.WalkIn {
		t.Fatalf("walk-in = %+v, %v", a, err)
	}
	// The group admin books anywhere, for cars of customers of any store.
	d := e.customer()
	if _, err := e.svc.Book(e.ctx, e.who("admin"), e.in(d, start, kind("WARRANTY"))); err != nil {
		t.Fatal(err)
	}
	// Staff see the owner's appointment at their store.
	if _, err := e.svc.AppointmentFor(e.ctx, e.who("technician"), a.ID); err != nil {
		t.Fatal(err)
	}
}

func TestBookInputRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(1, "10:00")
	long := make([]rune, booking.MaxNoteRunes+1)
	for i := range long {
		long[i] = '字'
	}
	cases := []struct {
		name  string
		actor *auth.Principal
		mod   func(*booking.BookInput)
		code  models.Code
		field string
	}{
		{"unknown kind", c.p, kind("OIL"), models.CodeInvalidArgument, "kind"},
		{"owner as phone", c.p, func(in *booking.BookInput) { in.Source = booking.Phone }, models.CodeInvalidArgument, "source"},
		{"staff as app", e.who("advisor"), func(in *booking.BookInput) { in.Source = booking.App }, models.CodeInvalidArgument, "source"},
		{"unknown source", c.p, func(in *booking.BookInput) { in.Source = "FAX" }, models.CodeInvalidArgument, "source"},
		{"no slot", c.p, func(in *booking.BookInput) { in.SlotStart = time.Time{} }, models.CodeInvalidArgument, "slotStart"},
		{"long note", c.p, func(in *booking.BookInput) { in.Note = string(long) }, models.CodeInvalidArgument, "note"},
		{"control in note", c.p, func(in *booking.BookInput) { in.Note = "a\x00b" }, models.CodeInvalidArgument, "note"},
		{"long key", c.p, func(in *booking.BookInput) { in.IdempotencyKey = string(make([]byte, 200)) }, models.CodeInvalidArgument, "idempotencyKey"},
		{"unknown store", c.p, func(in *booking.BookInput) { in.StoreID = models.NewID() }, models.CodeNotFound, "storeId"},
		{"unknown vehicle", c.p, func(in *booking.BookInput) { in.VehicleID = models.NewID() }, models.CodeNotFound, "vehicleId"},
		{"technician", e.who("technician"), nil, models.CodeForbidden, ""},
		{"other store's advisor", e.who("advisor.sz01"), nil, models.CodeForbidden, "storeId"},
		{"screen", &auth.Principal{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.store.ID}}, nil, models.CodeForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := e.in(c, start)
			if tc.mod != nil {
				tc.mod(&in)
			}
			_, err := e.svc.Book(e.ctx, tc.actor, in)
			wantCode(t, err, tc.code, tc.field)
		})
	}
	if _, err := e.svc.Book(e.ctx, nil, e.in(c, start)); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous Book = %v", err)
	}
	if n := e.taken("MAINTENANCE", start); n != 0 {
		t.Fatalf("refusals took %d seats", n)
	}
}

// An owner books only their own cars: another owner's car is not found.
func TestBookOtherOwnersVehicle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, other := e.customer(), e.customer()
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, e.at(1, "10:00"), vehicle(other.car())))
	wantCode(t, err, models.CodeNotFound, "vehicleId")
}

func TestBookWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Now is Monday 08:00. 09:00 is an hour away; 10:00 exactly two.
	c := e.customer()
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, e.at(0, "09:00")))
	wantCode(t, err, booking.CodeTooLate, "slotStart")
	e.clock.Set(e.at(0, "08:00").Add(time.Second))
	_, err = e.svc.Book(e.ctx, c.p, e.in(c, e.at(0, "10:00")))
	wantCode(t, err, booking.CodeTooLate, "slotStart")
	e.clock.Set(e.at(0, "08:00"))
	a := e.book(c, e.at(0, "10:00"))
	_, err = e.svc.Cancel(e.ctx, e.who("advisor"), a.ID, "")
	must(t, err)

	// 30 days ahead: Wednesday 2031-04-02 08:00 is the last bookable instant.
	_, err = e.svc.Book(e.ctx, c.p, e.in(c, e.at(30, "09:00")))
	wantCode(t, err, booking.CodeTooFarAhead, "slotStart")
	e.clock.Set(e.at(0, "09:00"))
	a = e.book(c, e.at(30, "09:00"))
	if !a.SlotStart.Equal(e.at(30, "09:00")) {
		t.Fatalf("booked %v", a.SlotStart)
	}
	// The past is too late as well.
	d := e.customer()
	_, err = e.svc.Book(e.ctx, d.p, e.in(d, e.at(-2, "10:00")))
	wantCode(t, err, booking.CodeTooLate, "slotStart")
}

func TestBookCalendarRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: e.day(3), Closed: true, Note: "盘点"})
	must(t, err)
	_, err = e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: e.day(4), Kind: ptr("BODY_PAINT"), Closed: true})
	must(t, err)
	_, err = e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: e.day(4), Kind: ptr("DETAILING"), Seats: ptr(0)})
	must(t, err)
	c := e.customer()
	cases := []struct {
		name  string
		start time.Time
		kind  string
		code  models.Code
	}{
		{"sunday", e.at(6, "10:00"), "MAINTENANCE", booking.CodeStoreClosed},
		{"before opening", e.at(1, "08:00"), "MAINTENANCE", booking.CodeStoreClosed},
		{"at closing", e.at(1, "18:00"), "MAINTENANCE", booking.CodeStoreClosed},
		{"after closing", e.at(1, "20:00"), "MAINTENANCE", booking.CodeStoreClosed},
		{"off the grid", e.at(1, "10:30"), "MAINTENANCE", booking.CodeInvalidSlot},
		{"seconds", e.at(1, "10:00").Add(time.Second), "MAINTENANCE", booking.CodeInvalidSlot},
		{"holiday", e.at(3, "10:00"), "MAINTENANCE", booking.CodeStoreClosed},
		{"kind closed", e.at(4, "10:00"), "BODY_PAINT", booking.CodeStoreClosed},
		{"no seats that day", e.at(4, "10:00"), "DETAILING", booking.CodeSlotFull},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Book(e.ctx, c.p, e.in(c, tc.start, kind(tc.kind)))
			wantCode(t, err, tc.code, "slotStart")
		})
	}
	// The same day is open for other kinds, and the last slot ends at closing.
	last := e.book(c, e.at(4, "17:00"), kind("REPAIR"))
	// The slot length changes only with no booking ahead, force or not.
	_, err = e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(30), Force: true})
	wantCode(t, err, booking.CodeCapacityBelowBookings, "slotMinutes")
	_, err = e.svc.Cancel(e.ctx, c.p, last.ID, "")
	must(t, err)
	// 30-minute slots: 10:30 is a slot now, and 17:30 the last.
	_, err = e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(30)})
	must(t, err)
	d := e.customer()
	a := e.book(d, e.at(1, "10:30"))
	if !a.SlotEnd.Equal(e.at(1, "11:00")) {
		t.Fatalf("30-minute slot ends %v", a.SlotEnd)
	}
	_, err = e.svc.Cancel(e.ctx, d.p, a.ID, "")
	must(t, err)
	// 40-minute slots from 09:00: 17:40 is on the grid but would end
	// after closing; 17:00 is the last slot.
	_, err = e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(40)})
	must(t, err)
	f := e.customer()
	_, err = e.svc.Book(e.ctx, f.p, e.in(f, e.at(1, "17:40")))
	wantCode(t, err, booking.CodeInvalidSlot, "slotStart")
	a = e.book(f, e.at(1, "17:00"))
	if !a.SlotEnd.Equal(e.at(1, "17:40")) {
		t.Fatalf("40-minute slot ends %v", a.SlotEnd)
	}
}

func TestBookOneActivePerVehicle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer(2)
	first := e.book(c, e.at(1, "10:00"))
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, e.at(2, "10:00")))
	wantCode(t, err, booking.CodeVehicleAlreadyBooked, "vehicleId")
	// Staff get the same answer; the other car is free.
	_, err = e.svc.Book(e.ctx, e.who("advisor"), e.in(c, e.at(2, "11:00")))
	wantCode(t, err, booking.CodeVehicleAlreadyBooked, "vehicleId")
	e.book(c, e.at(2, "10:00"), vehicle(c.cars[1]))
	// Once cancelled, the car can book again.
	_, err = e.svc.Cancel(e.ctx, c.p, first.ID, "")
	must(t, err)
	e.book(c, e.at(3, "10:00"))
}

func TestBookAtMostThreePerOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer(4)
	var booked []*booking.Appointment
	for i := range 3 {
		booked = append(booked, e.book(c, e.at(1+i, "10:00"), vehicle(c.cars[i])))
	}
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, e.at(5, "10:00"), vehicle(c.cars[3])))
	wantCode(t, err, booking.CodeTooManyAppointments, "")
	_, err = e.svc.Book(e.ctx, e.who("crm"), e.in(c, e.at(5, "10:00"), vehicle(c.cars[3])))
	wantCode(t, err, booking.CodeTooManyAppointments, "")
	// Arrived, no-show and cancelled appointments are not active.
	_, err = e.svc.Cancel(e.ctx, c.p, booked[0].ID, "")
	must(t, err)
	e.book(c, e.at(5, "10:00"), vehicle(c.cars[3]))
}

// A BOOKED appointment whose slot is over (staff never recorded the visit)
// does not block its car or count against its owner: booking again closes
// it as a no-show and gives its seat back.
func TestBookLapsesPastAppointments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	old := e.book(c, e.at(0, "10:00"))
	e.clock.Set(e.at(0, "11:00")) // the slot is over
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, e.at(1, "10:00")))
	must(t, err)
	if got := e.reload(old); got.Status != booking.NoShow {
		t.Fatalf("past appointment is %s; want NO_SHOW", got.Status)
	}
	if n := e.taken("MAINTENANCE", e.at(0, "10:00")); n != 0 {
		t.Fatalf("past slot counter %d", n)
	}
	// While the slot runs, it still blocks.
	d := e.customer()
	e.book(d, e.at(0, "14:00"))
	e.clock.Set(e.at(0, "14:30"))
	_, err = e.svc.Book(e.ctx, d.p, e.in(d, e.at(1, "11:00")))
	wantCode(t, err, booking.CodeVehicleAlreadyBooked, "vehicleId")
}

func TestBookSlotFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.at(1, "10:00")
	e.book(e.customer(), start, kind("REPAIR"))
	c := e.customer()
	_, err := e.svc.Book(e.ctx, c.p, e.in(c, start, kind("REPAIR")))
	wantCode(t, err, booking.CodeSlotFull, "slotStart")
	// Other kinds have their own seats.
	e.book(c, start, kind("WARRANTY"))
	// A kind with no seats at all takes no booking.
	_, err = e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "ACCIDENT", Seats: 0}}})
	must(t, err)
	d := e.customer()
	_, err = e.svc.Book(e.ctx, d.p, e.in(d, start, kind("ACCIDENT")))
	wantCode(t, err, booking.CodeSlotFull, "slotStart")
	if n := e.taken("ACCIDENT", start); n != 0 {
		t.Fatalf("ACCIDENT counter %d", n)
	}
}

func TestBookIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	in := e.in(c, e.at(1, "10:00"), func(in *booking.BookInput) { in.IdempotencyKey = "book-1" })
	a, err := e.svc.Book(e.ctx, c.p, in)
	must(t, err)
	b, err := e.svc.Book(e.ctx, c.p, in)
	must(t, err)
	if a.ID != b.ID || e.taken("MAINTENANCE", in.SlotStart) != 1 {
		t.Fatalf("retry booked %s after %s", b.ID, a.ID)
	}
	// The retry answers with the appointment as it is now.
	_, err = e.svc.Cancel(e.ctx, c.p, a.ID, "")
	must(t, err)
	b, err = e.svc.Book(e.ctx, c.p, in)
	if err != nil || b.ID != a.ID || b.Status != booking.Cancelled {
		t.Fatalf("retry after cancel = %+v, %v", b, err)
	}
	// The key with another request is refused.
	in.SlotStart = e.at(1, "11:00")
	_, err = e.svc.Book(e.ctx, c.p, in)
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
	// A refused request leaves the key free for a corrected retry.
	in.IdempotencyKey, in.SlotStart = "book-2", e.at(1, "10:30")
	_, err = e.svc.Book(e.ctx, c.p, in)
	wantCode(t, err, booking.CodeInvalidSlot, "slotStart")
	in.SlotStart = e.at(1, "11:00")
	if _, err := e.svc.Book(e.ctx, c.p, in); err != nil {
		t.Fatal(err)
	}
	// Keys belong to their caller: another owner's "book-1" is theirs.
	d := e.customer()
	if _, err := e.svc.Book(e.ctx, d.p, e.in(d, e.at(1, "10:00"), func(in *booking.BookInput) { in.IdempotencyKey = "book-1" })); err != nil {
		t.Fatal(err)
	}
}

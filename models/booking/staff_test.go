package booking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/workshop"
)

func TestMarkArrived(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(0, "10:00")
	a := e.book(c, start, func(in *booking.BookInput) { in.Note = "保养，空调有异味" })
	e.clock.Set(e.at(0, "09:40")) // a little early is fine

	for _, p := range []*auth.Principal{e.who("crm"), e.who("technician"), c.p} {
		_, _, err := e.svc.MarkArrived(e.ctx, p, a.ID, 10100)
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, _, err := e.svc.MarkArrived(e.ctx, e.who("advisor.sz01"), a.ID, 10100)
	wantCode(t, err, models.CodeNotFound, "")
	// Refusals of the workshop leave the appointment as it was.
	_, _, err = e.svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 9000)
	wantCode(t, err, models.CodeMileageDecreased, "mileageIn")
	if got := e.reload(a); got.Status != booking.Booked || got.RepairOrderID != nil || e.taken("MAINTENANCE", start) != 1 {
		t.Fatalf("after refusal %+v", got)
	}

	got, ro, err := e.svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 10100)
	must(t, err)
	if got.Status != booking.Arrived || got.RepairOrderID == nil || *got.RepairOrderID != ro.ID {
		t.Fatalf("appointment %+v", got)
	}
	if ro.AppointmentID == nil || *ro.AppointmentID != a.ID || ro.VehicleID != c.car().ID || ro.OwnerID != c.owner.ID ||
		ro.StoreID != e.store.ID || ro.Kind != workshop.Maintenance || ro.Concern != "保养，空调有异味" || ro.MileageIn != 10100 ||
		ro.Status != workshop.CheckedIn || ro.AdvisorID != e.who("advisor").ID {
		t.Fatalf("repair order %+v", ro)
	}
	if r := e.reload(a); r.Status != booking.Arrived || r.RepairOrderID == nil || *r.RepairOrderID != ro.ID {
		t.Fatalf("stored %+v", r)
	}
	if n := e.taken("MAINTENANCE", start); n != 0 {
		t.Fatalf("counter %d; the arrival uses the booking", n)
	}
	_, _, err = e.svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 10100)
	wantCode(t, err, booking.CodeNotBooked, "")
	_, err = e.svc.Cancel(e.ctx, e.who("advisor"), a.ID, "")
	wantCode(t, err, booking.CodeNotBooked, "")
}

func TestMarkArrivedRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Tomorrow's appointment cannot arrive today.
	c := e.customer()
	later := e.book(c, e.at(1, "10:00"), kind("REPAIR"))
	_, _, err := e.svc.MarkArrived(e.ctx, e.who("manager"), later.ID, 10100)
	wantCode(t, err, booking.CodeTooEarly, "")
	// From midnight of its day it can; without a note the concern says
	// what was booked.
	e.clock.Set(e.at(1, "00:00"))
	_, ro, err := e.svc.MarkArrived(e.ctx, e.who("manager"), later.ID, 10100)
	must(t, err)
	if ro.Concern != "预约维修" || ro.Kind != workshop.Repair {
		t.Fatalf("repair order %+v", ro)
	}
	// A car already in the workshop cannot check in twice.
	d := e.customer()
	a := e.book(d, e.at(1, "14:00"))
	_, err = e.ws.Open(e.ctx, e.who("advisor"), workshop.OpenInput{StoreID: e.store.ID, Vehicle: d.car().VIN, MileageIn: 10050, Kind: workshop.Repair, Concern: "异响"})
	must(t, err)
	_, _, err = e.svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 10100)
	wantCode(t, err, workshop.CodeVehicleInWorkshop, "vehicle")
	if got := e.reload(a); got.Status != booking.Booked || e.taken("MAINTENANCE", e.at(1, "14:00")) != 1 {
		t.Fatalf("after refusal %+v", got)
	}
	// Without the workshop service there is no arrival.
	svc := &booking.Service{DB: e.db, Clock: e.clock.Now}
	if _, _, err := svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 10100); err == nil {
		t.Fatal("arrival without a workshop")
	}
	if _, _, err := e.svc.MarkArrived(e.ctx, nil, a.ID, 10100); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
}

func TestMarkNoShow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.at(0, "10:00")
	a := e.book(e.customer(), start)
	e.clock.Set(start.Add(-time.Second))
	_, err := e.svc.MarkNoShow(e.ctx, e.who("crm"), a.ID, "")
	wantCode(t, err, booking.CodeTooEarly, "")
	e.clock.Set(start)
	for _, p := range []*auth.Principal{e.who("technician"), e.customer().p} {
		_, err := e.svc.MarkNoShow(e.ctx, p, a.ID, "")
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err = e.svc.MarkNoShow(e.ctx, e.who("crm.gz01"), a.ID, "")
	wantCode(t, err, models.CodeNotFound, "")
	got, err := e.svc.MarkNoShow(e.ctx, e.who("crm"), a.ID, "")
	if err != nil || got.Status != booking.NoShow || e.taken("MAINTENANCE", start) != 0 {
		t.Fatalf("no-show %+v, %v", got, err)
	}
	_, err = e.svc.MarkNoShow(e.ctx, e.who("advisor"), a.ID, "")
	wantCode(t, err, booking.CodeNotBooked, "")
	_, _, err = e.svc.MarkArrived(e.ctx, e.who("advisor"), a.ID, 10100)
	wantCode(t, err, booking.CodeNotBooked, "")
}

func TestDaySchedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tue := e.day(1)
	c, d, f := e.customer(), e.customer(), e.customer()
	a := e.book(c, e.at(1, "10:00"), func(in *booking.BookInput) { in.Note = "保养" })
	b := e.book(d, e.at(1, "10:00"))
	r := e.book(f, e.at(1, "15:00"), kind("REPAIR"))
	x := e.book(e.customer(), e.at(1, "16:00"))
	_, err := e.svc.Cancel(e.ctx, e.who("advisor"), x.ID, "")
	must(t, err)
	e.book(e.customer(), e.at(2, "10:00")) // another day

	s, err := e.svc.DaySchedule(e.ctx, e.who("technician"), e.store.ID, tue)
	must(t, err)
	if s.StoreID != e.store.ID || s.Day != tue || s.Closed || len(s.Slots) != 9*6 {
		t.Fatalf("schedule of %s closed=%v with %d slots; want 54 (9 slots, 6 kinds)", s.Day, s.Closed, len(s.Slots))
	}
	for i, sl := range s.Slots {
		if i > 0 && sl.Start.Before(s.Slots[i-1].Start) {
			t.Fatalf("slots out of order at %d", i)
		}
		local := sl.Start.In(e.loc).Format("15:04")
		want := 0
		switch {
		case local == "10:00" && sl.Kind == "MAINTENANCE":
			want = 2
			if sl.Seats != 2 || sl.Appointments[0].ID != a.ID || sl.Appointments[1].ID != b.ID || sl.Appointments[0].Note != "保养" {
				t.Fatalf("10:00 %+v", sl)
			}
		case local == "15:00" && sl.Kind == "REPAIR":
			want = 1
			if sl.Appointments[0].ID != r.ID {
				t.Fatalf("15:00 %+v", sl)
			}
		}
		if sl.Booked != want || len(sl.Appointments) != want {
			t.Fatalf("%s %s booked %d with %d appointments; want %d", local, sl.Kind, sl.Booked, len(sl.Appointments), want)
		}
	}
	if s.Slots[0].Kind != "MAINTENANCE" || s.Slots[1].Kind != "REPAIR" {
		t.Fatalf("kinds out of order: %s, %s", s.Slots[0].Kind, s.Slots[1].Kind)
	}

	// A day closed by force still shows who has to be moved.
	_, err = e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: tue, Closed: true, Force: true})
	must(t, err)
	s, err = e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, tue)
	must(t, err)
	if !s.Closed || len(s.Slots) != 2 || s.Slots[0].Seats != 0 || s.Slots[0].Booked != 2 || len(s.Slots[0].Appointments) != 2 || s.Slots[1].Appointments[0].ID != r.ID {
		t.Fatalf("closed day %+v", s)
	}
	// Sunday: closed, nothing booked.
	s, err = e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, e.day(6))
	if err != nil || !s.Closed || len(s.Slots) != 0 {
		t.Fatalf("Sunday %+v, %v", s, err)
	}

	for _, p := range []*auth.Principal{e.who("advisor.sz01"), c.p, {Kind: auth.KindScreen, ID: models.NewID()}} {
		_, err := e.svc.DaySchedule(e.ctx, p, e.store.ID, tue)
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err = e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, models.Date{})
	wantCode(t, err, models.CodeInvalidArgument, "date")
	if _, err := e.svc.DaySchedule(e.ctx, e.who("admin"), e.store.ID, tue); err != nil {
		t.Fatal(err)
	}
}

func TestDayStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHours("07:00", "24:00"))
	// Tuesday: five bookings; one arrives, one does not show, one is
	// cancelled, two are still booked. Its 07:00 slot starts on Monday in
	// UTC and its 23:00 slot ends at midnight: both Tuesday's.
	var tue []*booking.Appointment
	for _, hhmm := range []string{"07:00", "09:00", "10:00", "11:00", "23:00"} {
		tue = append(tue, e.book(e.customer(), e.at(1, hhmm)))
	}
	e.book(e.customer(), e.at(0, "23:00"))                 // Monday
	e.book(e.customer(), e.at(2, "07:00"), kind("REPAIR")) // Wednesday
	_, err := e.svc.Cancel(e.ctx, ownerOf(tue[3]), tue[3].ID, "")
	must(t, err)
	e.clock.Set(e.at(1, "10:05"))
	_, _, err = e.svc.MarkArrived(e.ctx, e.who("advisor"), tue[1].ID, 10100)
	must(t, err)
	_, err = e.svc.MarkNoShow(e.ctx, e.who("crm"), tue[2].ID, "")
	must(t, err)

	stats, err := e.svc.DayStats(e.ctx, e.who("manager"), e.store.ID, e.day(-1), e.day(3))
	must(t, err)
	want := []booking.DayStat{
		{Day: e.day(-1)},
		{Day: e.day(0), Booked: 1},
		{Day: e.day(1), Booked: 5, Arrived: 1, NoShow: 1, Cancelled: 1},
		{Day: e.day(2), Booked: 1},
		{Day: e.day(3)},
	}
	if len(stats) != len(want) {
		t.Fatalf("stats %+v", stats)
	}
	for i := range want {
		if stats[i] != want[i] {
			t.Fatalf("stats %+v; want %+v", stats, want)
		}
	}
	for _, p := range []*auth.Principal{e.who("advisor"), e.who("crm"), e.who("manager.sz01"), e.customer().p} {
		_, err := e.svc.DayStats(e.ctx, p, e.store.ID, e.day(0), e.day(1))
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err = e.svc.DayStats(e.ctx, e.who("manager"), e.store.ID, e.day(0), e.day(92))
	wantCode(t, err, models.CodeInvalidArgument, "to")
	stats, err = e.svc.DayStats(e.ctx, e.who("admin"), e.store.ID, e.day(0), e.day(91))
	if err != nil || len(stats) != 92 {
		t.Fatalf("92 days: %d, %v", len(stats), err)
	}
}

// ownerOf is the owner of an appointment as a principal.
func ownerOf(a *booking.Appointment) *auth.Principal {
	return &auth.Principal{Kind: auth.KindOwner, ID: a.OwnerID}
}

package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The demo calendars and appointments: seats and overrides at both stores,
// the demo owner's booking next week, counters that match, and past
// appointments linked to their repair orders.
func TestSeedBooking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	sum, err := demo.Seed(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	svc := &booking.Service{DB: db}
	var stores []*models.Store
	if err := db.Conn(ctx).Order("code").Find(&stores).Error; err != nil {
		t.Fatal(err)
	}
	today := testdb.Today()
	for _, s := range stores {
		cal, err := svc.Calendar(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cal.Seats[0].Kind != "MAINTENANCE" || cal.Seats[0].Seats < 3 || len(cal.Overrides) < 1 {
			t.Errorf("%s calendar %+v", s.Code, cal)
		}
		holiday := today.AddDate(0, 0, demo.StocktakingInDays)
		slots, err := svc.AvailableSlots(ctx, s.ID, "MAINTENANCE", holiday, holiday)
		if err != nil || len(slots) != 0 {
			t.Errorf("%s is open on its stocktaking day: %d slots, %v", s.Code, len(slots), err)
		}
		slots, err = svc.AvailableSlots(ctx, s.ID, "MAINTENANCE", today.AddDate(0, 0, 1), today.AddDate(0, 0, 10))
		if err != nil || len(slots) < 50 {
			t.Errorf("%s has %d slots in the coming days, %v", s.Code, len(slots), err)
		}
	}

	var appts []booking.Appointment
	if err := db.Conn(ctx).Find(&appts).Error; err != nil {
		t.Fatal(err)
	}
	count := map[booking.Status]int{}
	seats := map[string]int{}
	now := time.Now()
	for _, a := range appts {
		count[a.Status]++
		switch a.Status {
		case booking.Booked:
			if !a.SlotStart.After(now) {
				t.Errorf("BOOKED appointment in the past: %+v", a)
			}
			seats[a.StoreID.String()+a.Kind+a.SlotStart.UTC().String()]++
		case booking.Arrived:
			if a.RepairOrderID == nil || a.SlotStart.After(now) {
				t.Errorf("ARRIVED appointment %+v", a)
			}
		}
	}
	if count[booking.Booked] != sum.Appointments || sum.Appointments < 10 || count[booking.Arrived] < 20 ||
		count[booking.NoShow] < 2 || count[booking.Cancelled] < 4 {
		t.Fatalf("appointments by status %v, summary %d", count, sum.Appointments)
	}
	var counters []booking.SlotBooking
	if err := db.Conn(ctx).Where("booked > 0").Find(&counters).Error; err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counters {
		total += c.Booked
		if seats[c.StoreID.String()+c.Kind+c.SlotStart.UTC().String()] != c.Booked {
			t.Errorf("counter %+v does not match its appointments", c)
		}
	}
	if total != sum.Appointments {
		t.Errorf("counters hold %d seats for %d appointments", total, sum.Appointments)
	}

	// Arrivals and their repair orders point at each other.
	var linked int64
	if err := db.Conn(ctx).Model(&workshop.RepairOrder{}).Where("appointment_id IS NOT NULL").Count(&linked).Error; err != nil {
		t.Fatal(err)
	}
	if int(linked) != count[booking.Arrived] {
		t.Errorf("%d repair orders link an appointment; %d arrived", linked, count[booking.Arrived])
	}

	// The demo owner's bZ4X is booked for maintenance at SZ01 next week.
	var owner models.Owner
	if err := db.Conn(ctx).Where("phone = ?", demo.DemoOwnerPhone).Take(&owner).Error; err != nil {
		t.Fatal(err)
	}
	me := &auth.Principal{Kind: auth.KindOwner, ID: owner.ID}
	status := booking.Booked
	mine, _, err := svc.OwnerAppointments(ctx, me, owner.ID, models.Page{First: 10}, &status)
	if err != nil || len(mine) != 1 {
		t.Fatalf("demo owner's booked appointments: %v, %v", mine, err)
	}
	vs := vehiclesOf(t, db, owner.ID)
	a := mine[0]
	days := models.DateOf(a.SlotStart.In(stores[1].Location()))
	if a.VehicleID != vs[owner.ID][1].ID || a.Kind != "MAINTENANCE" || a.StoreID != stores[1].ID || days != today.AddDate(0, 0, 7) {
		t.Errorf("demo owner's appointment %+v on %s (stores %s, %s)", a, days, stores[0].Code, stores[1].Code)
	}

	// The managers' figures of the last two weeks have every kind of day.
	var admin models.Staff
	if err := db.Conn(ctx).Where("username = ?", demo.AdminUsername).Take(&admin).Error; err != nil {
		t.Fatal(err)
	}
	adminP := &auth.Principal{Kind: auth.KindStaff, ID: admin.ID, Roles: []auth.Role{auth.RoleGroupAdmin}}
	var sumStats booking.DayStat
	for _, s := range stores {
		stats, err := svc.DayStats(ctx, adminP, s.ID, today.AddDate(0, 0, -14), today)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range stats {
			sumStats.Booked += d.Booked
			sumStats.NoShow += d.NoShow
			sumStats.Cancelled += d.Cancelled
		}
	}
	if sumStats.NoShow < 2 || sumStats.Cancelled < 4 || sumStats.Booked < 7 {
		t.Errorf("last two weeks: %+v", sumStats)
	}
}

// Package reminders is the care loop's daily reminders: into each owner's
// inbox, once per due item, maintenance due (by date
// or by projected km), first free maintenance, insurance expiring, annual
// inspection due, birthday and purchase anniversary. Appointment reminders
// are booking's (APPOINTMENT_REMINDER), event reminders events'.
//
// Once per due item is the database's guarantee, not the job's: every
// reminder carries a dedupe key naming its item, and the inbox has a unique
// key on (owner, dedupe key). So the job may run twice, late, or on
// several instances at once.
package reminders

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Reminder kinds (the notification's kind).
const (
	KindMaintenanceDue       = "MAINTENANCE_DUE"
	KindFirstFreeMaintenance = "FIRST_FREE_MAINTENANCE"
	KindInsuranceExpiring    = "INSURANCE_EXPIRING"
	KindInspectionDue        = "INSPECTION_DUE"
	KindBirthday             = "BIRTHDAY"
	KindPurchaseAnniversary  = "PURCHASE_ANNIVERSARY"
)

// Marketing reports whether reminders of kind are marketing messages, sent
// only to owners who consented (PIPL): birthday and purchase anniversary
// greetings. Service messages about the owner's car (maintenance, first
// free maintenance, insurance, inspection; appointment and event reminders)
// are sent to every owner.
func Marketing(kind string) bool {
	return kind == KindBirthday || kind == KindPurchaseAnniversary
}

// When reminders fall due.
const (
	// MaintenanceLead: maintenance is reminded this long before it is due,
	// by date or by the day the projected mileage reaches the due km.
	MaintenanceLead = 14
	// MaintenanceStale: a due date passed by more than this many days is no
	// longer reminded (the car is serviced elsewhere).
	MaintenanceStale = 90
	// InsuranceWindow: insurance expiring within this many days (续保).
	InsuranceWindow = 60
	// InspectionWindow: annual inspection due within this many days.
	InspectionWindow = 30
	// CatchUp: a birthday or anniversary is still greeted this many days
	// late, so a day the job did not run loses nothing.
	CatchUp = 3
	// First free maintenance (首保) is free within FirstFreeMonths of the
	// purchase or FirstFreeKm, whichever comes first. It is reminded from
	// FirstFreeRemindMonths after the purchase, or earlier when the
	// projected mileage reaches FirstFreeKm - FirstFreeKmMargin within
	// MaintenanceLead days.
	FirstFreeMonths       = 6
	FirstFreeKm           = 5000
	FirstFreeRemindMonths = 4
	FirstFreeKmMargin     = 1000
	// minReadingDays: mileage readings must span this many days for a
	// km-per-day estimate.
	minReadingDays = 7
)

// Reading is an odometer reading: the vehicle's last known mileage, or the
// mileage in of one of its repair orders.
type Reading struct {
	At time.Time
	Km int
}

// KmPerDay estimates how far the car goes per day from its readings: the
// km between the earliest and the latest reading over the days between
// them. ok is false with fewer than two readings, a span shorter than a
// week, or no distance.
func KmPerDay(rs []Reading) (rate float64, ok bool) {
	if len(rs) < 2 {
		return 0, false
	}
	first, last := rs[0], rs[0]
	for _, r := range rs[1:] {
		if r.At.Before(first.At) {
			first = r
		}
		if r.At.After(last.At) {
			last = r
		}
	}
	days := last.At.Sub(first.At).Hours() / 24
	if days < minReadingDays || last.Km <= first.Km {
		return 0, false
	}
	return float64(last.Km-first.Km) / days, true
}

// latest is the newest reading.
func latest(rs []Reading) (Reading, bool) {
	if len(rs) == 0 {
		return Reading{}, false
	}
	l := rs[0]
	for _, r := range rs[1:] {
		if r.At.After(l.At) || (r.At.Equal(l.At) && r.Km > l.Km) {
			l = r
		}
	}
	return l, true
}

// KmDate projects the day the car reaches km from its readings: the
// latest reading's day when it already has, else the latest reading plus
// the remaining km at KmPerDay. ok is false when it cannot be projected.
func KmDate(rs []Reading, km int) (models.Date, bool) {
	l, ok := latest(rs)
	if !ok {
		return models.Date{}, false
	}
	if l.Km >= km {
		return models.DateOf(l.At.In(models.ChinaTime)), true
	}
	rate, ok := KmPerDay(rs)
	if !ok {
		return models.Date{}, false
	}
	days := float64(km-l.Km) / rate
	if days > 3650 {
		return models.Date{}, false
	}
	return models.DateOf(l.At.Add(time.Duration(days * float64(24*time.Hour))).In(models.ChinaTime)), true
}

// MaintenanceDue reports whether maintenance with the given next due date
// and/or km is to be reminded today: the date is within MaintenanceLead
// days (and not more than MaintenanceStale days past), or the projected
// day of reaching the km is.
func MaintenanceDue(today models.Date, date *models.Date, km *int, rs []Reading) bool {
	within := func(d models.Date) bool {
		return !today.AddDate(0, 0, MaintenanceLead).Before(d) && !d.Before(today.AddDate(0, 0, -MaintenanceStale))
	}
	if date != nil && within(*date) {
		return true
	}
	if km != nil {
		if d, ok := KmDate(rs, *km); ok && within(d) {
			return true
		}
	}
	return false
}

// FirstFreeDue reports whether a car bought on purchase that has not had
// its first free maintenance is to be reminded today: within the free
// window, and either FirstFreeRemindMonths old or about to reach the km.
func FirstFreeDue(today models.Date, purchase models.Date, rs []Reading) bool {
	if today.Before(purchase) || !today.Before(purchase.AddDate(0, FirstFreeMonths, 0)) {
		return false
	}
	if !today.Before(purchase.AddDate(0, FirstFreeRemindMonths, 0)) {
		return true
	}
	d, ok := KmDate(rs, FirstFreeKm-FirstFreeKmMargin)
	return ok && !today.AddDate(0, 0, MaintenanceLead).Before(d)
}

// Within reports whether d is from today to today+days.
func Within(today, d models.Date, days int) bool {
	return !d.Before(today) && !today.AddDate(0, 0, days).Before(d)
}

// Anniversary finds the anniversary of date (a birthday, a purchase) that
// falls from today-CatchUp to today: its year and how many years after
// date it is. A 29 February is kept on 28 February in other years.
func Anniversary(today, date models.Date) (year, years int, ok bool) {
	for _, y := range []int{today.Year, today.Year - 1} {
		m, d := date.Month, date.Day
		if m == time.February && d == 29 && !leap(y) {
			d = 28
		}
		a := models.Date{Year: y, Month: m, Day: d}
		if !a.Before(today.AddDate(0, 0, -CatchUp)) && !today.Before(a) && y > date.Year {
			return y, y - date.Year, true
		}
	}
	return 0, 0, false
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// BookLink is the app route that books a service kind for a vehicle at a
// store.
func BookLink(storeID, vehicleID uuid.UUID, kind string) models.Link {
	return models.Route("book",
		models.Param{Name: "storeId", Ref: models.RefTo(models.RefStore, storeID)},
		models.Param{Name: "vehicleId", Ref: models.RefTo(models.RefVehicle, vehicleID)},
		models.Param{Name: "kind", Value: kind})
}

// VehicleLink links the vehicle.
func VehicleLink(vehicleID uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefVehicle, vehicleID))
}

// MembershipLink is the app route of the owner's membership (birthday perks).
const MembershipLink models.Link = "membership"

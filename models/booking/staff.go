package booking

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// What staff do with bookings: the day's schedule,
// arrival (which opens the repair order), no-shows, and the daily figures.

// ScheduleSlot is one slot of a day for one kind, with its appointments.
type ScheduleSlot struct {
	Start, End time.Time
	Kind       string
	// Seats of the kind in the slot by today's calendar (0 when the slot is
	// no longer in the calendar, or closed, after a forced change).
	Seats int
	// Booked is the number of BOOKED appointments (seats taken).
	Booked int
	// Appointments of the slot and kind, in the order they were made:
	// BOOKED, ARRIVED and NO_SHOW (cancelled ones are not on the schedule).
	Appointments []*Appointment
}

// DaySchedule is a store's bookings of one day.
type DaySchedule struct {
	StoreID uuid.UUID
	Day     models.Date
	// Closed: the store is closed that day (weekday or holiday). Slots then
	// lists only those that still have appointments.
	Closed bool
	Slots  []ScheduleSlot
}

// DaySchedule is a store's day (in its zone) for staff: every slot of the
// calendar for every kind that has seats in it, plus any slot holding
// appointments that the calendar no longer has (after a forced change),
// ordered by start and then kind. Staff of any role at the store (and
// GROUP_ADMIN) see it. It reads the same six statements whatever the day
// holds.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not staff of the store), NOT_FOUND
// ("storeId"), INVALID_ARGUMENT ("date").
func (s *Service) DaySchedule(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, day models.Date) (*DaySchedule, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() {
		return nil, models.ErrForbidden
	}
	if !actor.CanAccessStore(storeID) {
		return nil, errNotYourStore
	}
	if day.IsZero() {
		return nil, models.Invalid("date", "请选择日期", "date is required")
	}
	cal, _, err := s.loadCalendar(ctx, storeID, day, day, noLock)
	if err != nil {
		return nil, err
	}
	from, to := cal.dayStart(day), cal.dayStart(day.AddDate(0, 0, 1))
	taken, err := s.seatsTaken(ctx, storeID, nil, from, to)
	if err != nil {
		return nil, err
	}
	var appts []*Appointment
	err = s.DB.Conn(ctx).Where("store_id = ? AND slot_start >= ? AND slot_start < ? AND status <> ?", storeID, from.UTC(), to.UTC(), Cancelled).
		Order("id ASC").Find(&appts).Error
	if err != nil {
		return nil, err
	}
	out := &DaySchedule{StoreID: storeID, Day: day, Closed: cal.dayClosed(day), Slots: []ScheduleSlot{}}
	index := map[seatKey]int{}
	add := func(kind string, start, end time.Time, seats int) int {
		k := seatKey{kind, start.UnixMicro()}
		if i, ok := index[k]; ok {
			return i
		}
		index[k] = len(out.Slots)
		out.Slots = append(out.Slots, ScheduleSlot{Start: start, End: end, Kind: kind, Seats: seats, Booked: taken[k], Appointments: []*Appointment{}})
		return index[k]
	}
	for _, kind := range Kinds {
		seats, closed := cal.seatsOn(day, kind)
		if closed || seats == 0 {
			continue
		}
		for _, sl := range cal.slotsOf(day) {
			add(kind, sl.start, sl.end, seats)
		}
	}
	for _, a := range appts {
		normalize(a)
		i := add(a.Kind, a.SlotStart, a.SlotEnd, cal.capacityAt(a.SlotStart, a.Kind))
		out.Slots[i].Appointments = append(out.Slots[i].Appointments, a)
	}
	sort.SliceStable(out.Slots, func(i, j int) bool {
		a, b := out.Slots[i], out.Slots[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return kindOrder(&a.Kind) < kindOrder(&b.Kind)
	})
	return out, nil
}

// MarkArrived records that the car of a BOOKED appointment came: in one
// transaction it opens the repair order through the workshop (vehicle and
// kind of the appointment, the note as the concern, the appointment
// linked, the caller as advisor), sets the appointment ARRIVED with the
// order's id, and gives the seat back (the booking is used). From the
// start of the slot's day (in the store's zone) on; late arrivals are fine.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not ADVISOR or MANAGER), NOT_FOUND
// (absent or another store's), NOT_BOOKED, TOO_EARLY, and the workshop's
// refusals of Open: VEHICLE_IN_WORKSHOP ("vehicle"), MILEAGE_DECREASED and
// INVALID_ARGUMENT ("mileageIn").
func (s *Service) MarkArrived(ctx context.Context, actor *auth.Principal, appointmentID uuid.UUID, mileageIn int) (*Appointment, *workshop.RepairOrder, error) {
	if actor == nil {
		return nil, nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesMarkArrived...) {
		return nil, nil, models.ErrForbidden
	}
	if s.Workshop == nil {
		return nil, nil, errNoWorkshop
	}
	var a *Appointment
	var ro *workshop.RepairOrder
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		var err error
		if a, err = s.lockAppointment(ctx, actor, appointmentID); err != nil {
			return err
		}
		if a.Status != Booked {
			return ErrNotBooked
		}
		store, err := s.directory().StoreRow(ctx, a.StoreID)
		if err != nil {
			return err
		}
		y, m, d := a.SlotStart.In(store.Location()).Date()
		if now.Before(time.Date(y, m, d, 0, 0, 0, 0, store.Location())) {
			return ErrArrivalTooEarly
		}
		v, err := s.directory().Vehicle(ctx, a.VehicleID)
		if err != nil {
			return err
		}
		concern := a.Note
		if strings.TrimSpace(concern) == "" {
			concern = "预约" + kindLabel(a.Kind)
		}
		ro, err = s.Workshop.Open(ctx, actor, workshop.OpenInput{
			StoreID: a.StoreID, Vehicle: v.VIN, MileageIn: mileageIn, Kind: workshop.Kind(a.Kind),
			Concern: concern, AppointmentID: &a.ID,
		})
		if err != nil {
			return err
		}
		if err := s.setStatus(ctx, a, Arrived, now, map[string]any{"repair_order_id": ro.ID}); err != nil {
			return err
		}
		a.RepairOrderID = &ro.ID
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return a, ro, nil
}

// MarkNoShow records that the car of a BOOKED appointment did not come,
// once its slot has started, and gives the seat back. A retry with the same
// idempotency key (optional) answers the first result.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not ADVISOR, CRM or MANAGER),
// NOT_FOUND (absent or another store's), NOT_BOOKED, TOO_EARLY,
// INVALID_ARGUMENT ("idempotencyKey"), IDEMPOTENCY_KEY_REUSED.
func (s *Service) MarkNoShow(ctx context.Context, actor *auth.Principal, appointmentID uuid.UUID, idempotencyKey string) (*Appointment, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesMarkNoShow...) {
		return nil, models.ErrForbidden
	}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), idempotencyKey, "booking.noShow", appointmentID, false,
		func(ctx context.Context) (uuid.UUID, error) {
			now := s.Clock.Now(ctx)
			a, err := s.lockAppointment(ctx, actor, appointmentID)
			switch {
			case err != nil:
				return uuid.Nil, err
			case a.Status != Booked:
				return uuid.Nil, ErrNotBooked
			case now.Before(a.SlotStart):
				return uuid.Nil, ErrNoShowTooEarly
			}
			return a.ID, s.setStatus(ctx, a, NoShow, now, nil)
		})
	if err != nil {
		return nil, err
	}
	return s.read(ctx, id)
}

// DayStat is one store-local day's bookings: Booked is every appointment
// made for the day (whatever became of it), then how many arrived, did not
// show and were cancelled.
type DayStat struct {
	Day                                models.Date
	Booked, Arrived, NoShow, Cancelled int
}

// DayStats counts a store's appointments per day (in its zone) from from
// to to (at most MaxStatsDays), one DayStat per day, zeros included, in
// one statement. For the store's MANAGER and GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, INVALID_ARGUMENT ("from", "to").
func (s *Service) DayStats(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, from, to models.Date) ([]DayStat, error) {
	if err := staffFor(actor, storeID, rolesDayStats); err != nil {
		return nil, err
	}
	if err := checkRange(from, to, MaxStatsDays); err != nil {
		return nil, err
	}
	// The store's zone comes with the rows, so one statement does: the UTC
	// range is widened by a day on each side (no zone is further from UTC),
	// and the rows are put on their local day here.
	var rows []struct {
		Timezone  string
		SlotStart time.Time
		Status    Status
		N         int
	}
	err := s.DB.Conn(ctx).Raw(`SELECT s.timezone, a.slot_start, a.status, COUNT(*) AS n
		FROM appointments a `+directory.JoinStore("s", "a.store_id")+`
		WHERE a.store_id = ? AND a.slot_start >= ? AND a.slot_start < ?
		GROUP BY s.timezone, a.slot_start, a.status`,
		storeID, from.Time().AddDate(0, 0, -1), to.Time().AddDate(0, 0, 2)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := []DayStat{}
	index := map[models.Date]int{}
	for day := from; !to.Before(day); day = day.AddDate(0, 0, 1) {
		index[day] = len(out)
		out = append(out, DayStat{Day: day})
	}
	zones := map[string]*time.Location{}
	for _, r := range rows {
		loc := zones[r.Timezone]
		if loc == nil {
			loc = (&models.Store{Timezone: r.Timezone}).Location()
			zones[r.Timezone] = loc
		}
		i, ok := index[models.DateOf(r.SlotStart.In(loc))]
		if !ok {
			continue
		}
		st := &out[i]
		st.Booked += r.N
		switch r.Status {
		case Arrived:
			st.Arrived += r.N
		case NoShow:
			st.NoShow += r.N
		case Cancelled:
			st.Cancelled += r.N
		}
	}
	return out, nil
}

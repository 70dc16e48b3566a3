package booking

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Booking, moving and cancelling appointments.

// BookInput books a slot for a vehicle.
type BookInput struct {
	StoreID, VehicleID uuid.UUID
	Kind               string
	// SlotStart is the start of one of the store's slots (as
	// AvailableSlots lists them).
	SlotStart time.Time
	Note      string
	// Source is APP (the default) or MINI_PROGRAM for owners, PHONE (the
	// default) or WALK_IN for staff.
	Source Source
	// IdempotencyKey is optional: with one, retries book once and get the
	// same appointment.
	IdempotencyKey string
}

// check validates and normalizes the input for an owner or staff.
func (in BookInput) check(staff bool) (BookInput, error) {
	if !validKind(in.Kind) {
		return in, models.Invalid("kind", "服务类型无效", "unknown kind")
	}
	switch {
	case in.Source == "" && staff:
		in.Source = Phone
	case in.Source == "":
		in.Source = App
	case staff && in.Source != Phone && in.Source != WalkIn:
		return in, models.Invalid("source", "员工代约的来源须为电话或到店", "staff book with source PHONE or WALK_IN")
	case !staff && in.Source != App && in.Source != MiniProgram:
		return in, models.Invalid("source", "预约来源须为 App 或小程序", "owners book with source APP or MINI_PROGRAM")
	}
	if in.SlotStart.IsZero() {
		return in, models.Invalid("slotStart", "请选择预约时段", "slotStart is required")
	}
	in.SlotStart = in.SlotStart.UTC()
	var err error
	in.Note, err = checkText("note", "备注", in.Note, MaxNoteRunes)
	return in, err
}

// bookParams are what a Book idempotency key stands for.
type bookParams struct {
	StoreID, VehicleID uuid.UUID
	Kind               string
	SlotStart          time.Time
	Note               string
	Source             Source
}

// Book books a slot for a vehicle. An owner books for their own vehicles
// (source APP or MINI_PROGRAM); ADVISOR, CRM and MANAGER staff book for any
// vehicle of the group at their stores (PHONE or WALK_IN). The slot starts
// MinLeadTime to MaxAhead from now and is a slot of the store's calendar
// open for the kind. A vehicle has one BOOKED appointment at a time (the
// partial unique index decides under concurrency), an owner at most
// MaxActivePerOwner (counted under a lock of the owner's row). The seat is
// taken by one conditional upsert of the slot's counter: the last seat
// goes to exactly one of concurrent bookings.
//
// An owner's BOOKED appointments whose slot is over no longer count as
// active: staff did not record the visit, so booking again closes them as
// NO_SHOW (giving their seats back) rather than leaving the vehicle
// unbookable.
//
// With an IdempotencyKey, retries replay the first result (the appointment
// as it is now).
//
// Codes: UNAUTHENTICATED, FORBIDDEN (a screen, staff without the role or
// not at the store), NOT_FOUND ("storeId"; "vehicleId": absent or another
// owner's), INVALID_ARGUMENT ("kind", "source", "slotStart", "note",
// "idempotencyKey"), TOO_LATE, TOO_FAR_AHEAD, STORE_CLOSED, INVALID_SLOT,
// SLOT_FULL (all on "slotStart"), VEHICLE_ALREADY_BOOKED ("vehicleId"),
// TOO_MANY_APPOINTMENTS, IDEMPOTENCY_KEY_REUSED.
func (s *Service) Book(ctx context.Context, actor *auth.Principal, in BookInput) (*Appointment, error) {
	staff, err := actorKind(actor, rolesBook)
	if err != nil {
		return nil, err
	}
	if staff && !actor.CanAccessStore(in.StoreID) {
		return nil, errNotYourStore.On("storeId")
	}
	if in, err = in.check(staff); err != nil {
		return nil, err
	}
	params := bookParams{in.StoreID, in.VehicleID, in.Kind, in.SlotStart, in.Note, in.Source}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "booking.book", params, false,
		func(ctx context.Context) (uuid.UUID, error) { return s.book(ctx, actor, staff, in) })
	if err != nil {
		return nil, err
	}
	return s.read(ctx, id)
}

func (s *Service) book(ctx context.Context, actor *auth.Principal, staff bool, in BookInput) (uuid.UUID, error) {
	now := s.Clock.Now(ctx)
	conn := s.DB.Conn(ctx)
	// The day of the slot in any zone lies within a day of its UTC date.
	utcDay := models.DateOf(in.SlotStart)
	cal, _, err := s.loadCalendar(ctx, in.StoreID, utcDay.AddDate(0, 0, -1), utcDay.AddDate(0, 0, 1), shareLock)
	if err != nil {
		return uuid.Nil, err
	}
	var v *models.Vehicle
	if staff {
		v, err = s.directory().Vehicle(ctx, in.VehicleID)
	} else {
		v, err = s.directory().VehicleOf(ctx, actor.ID, in.VehicleID)
	}
	if err != nil {
		return uuid.Nil, models.NotFoundAs(err, errVehicleNotFound)
	}
	if err := bookable(now, in.SlotStart); err != nil {
		return uuid.Nil, err
	}
	slot, seats, err := cal.locate(in.SlotStart, in.Kind)
	if err != nil {
		return uuid.Nil, err
	}
	active, err := s.lockActive(ctx, v.OwnerID, now)
	if err != nil {
		return uuid.Nil, err
	}
	for _, a := range active {
		if a.VehicleID == v.ID {
			return uuid.Nil, ErrVehicleAlreadyBooked
		}
	}
	if len(active) >= MaxActivePerOwner {
		return uuid.Nil, ErrTooManyAppointments
	}
	a := &Appointment{
		ID: models.NewID(), StoreID: in.StoreID, VehicleID: v.ID, OwnerID: v.OwnerID, Kind: in.Kind,
		SlotStart: slot.start, SlotEnd: slot.end, Status: Booked, Source: in.Source, Note: in.Note,
		CreatedAt: now, UpdatedAt: now,
	}
	if staff {
		a.BookedBy = &actor.ID
	}
	if err := conn.Create(a).Error; err != nil {
		if models.IsUniqueViolation(err) {
			return uuid.Nil, ErrVehicleAlreadyBooked
		}
		return uuid.Nil, err
	}
	// Last, so the slot's counter (the contended row) is locked for the
	// shortest time.
	if err := s.takeSeat(ctx, in.StoreID, in.Kind, slot.start, seats); err != nil {
		return uuid.Nil, err
	}
	return a.ID, nil
}

// lockActive locks the owner's row (so that the owner's bookings happen one
// after another: the count below stays true until commit) and returns the
// owner's active appointments, locked. BOOKED appointments whose slot has
// ended are closed as NO_SHOW on the way, their seats given back.
func (s *Service) lockActive(ctx context.Context, ownerID uuid.UUID, now time.Time) ([]*Appointment, error) {
	conn := s.DB.Conn(ctx)
	if _, err := s.directory().LockOwner(ctx, ownerID, false, false); err != nil {
		return nil, err
	}
	// The deletion holds the owner's lock until it commits: a car of a
	// deleted account takes no bookings.
	if deleted, err := s.directory().OwnerDeleted(ctx, ownerID); err != nil {
		return nil, err
	} else if deleted {
		return nil, errVehicleNotFound
	}
	var booked []*Appointment
	err := s.DB.ForUpdate(conn.Where("owner_id = ? AND status = ?", ownerID, Booked)).Order("slot_start ASC").Find(&booked).Error
	if err != nil {
		return nil, err
	}
	var active []*Appointment
	for _, a := range booked {
		normalize(a)
		if a.SlotEnd.After(now) {
			active = append(active, a)
			continue
		}
		if err := s.setStatus(ctx, a, NoShow, now, nil); err != nil {
			return nil, err
		}
	}
	return active, nil
}

// rescheduleParams are what a Reschedule idempotency key stands for.
type rescheduleParams struct {
	AppointmentID uuid.UUID
	SlotStart     time.Time
}

// Reschedule moves a BOOKED appointment to another slot of its store, for
// the same kind, atomically: in one transaction it takes a seat in the new
// slot and gives back the old one, so the appointment never holds two
// seats, and keeps its old slot when the new one is full. The old slot may
// be left until MinLeadTime before it (staff: until it starts); the new
// one obeys Book's window and calendar. Moving to the same slot changes
// nothing. Owners move their own appointments; ADVISOR, CRM and MANAGER
// staff those of their stores.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (screens, staff without the role),
// NOT_FOUND (absent, another owner's or another store's), INVALID_ARGUMENT
// ("slotStart", "idempotencyKey"), NOT_BOOKED, TOO_LATE (old slot; or
// "slotStart" for the new one), TOO_FAR_AHEAD, STORE_CLOSED, INVALID_SLOT,
// SLOT_FULL (on "slotStart"), IDEMPOTENCY_KEY_REUSED.
func (s *Service) Reschedule(ctx context.Context, actor *auth.Principal, appointmentID uuid.UUID, slotStart time.Time, idempotencyKey string) (*Appointment, error) {
	staff, err := actorKind(actor, rolesBook)
	if err != nil {
		return nil, err
	}
	if slotStart.IsZero() {
		return nil, models.Invalid("slotStart", "请选择预约时段", "slotStart is required")
	}
	slotStart = slotStart.UTC()
	params := rescheduleParams{appointmentID, slotStart}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), idempotencyKey, "booking.reschedule", params, false,
		func(ctx context.Context) (uuid.UUID, error) {
			return appointmentID, s.reschedule(ctx, actor, staff, appointmentID, slotStart)
		})
	if err != nil {
		return nil, err
	}
	return s.read(ctx, id)
}

func (s *Service) reschedule(ctx context.Context, actor *auth.Principal, staff bool, id uuid.UUID, start time.Time) error {
	now := s.Clock.Now(ctx)
	conn := s.DB.Conn(ctx)
	// The store first (its calendar may not change under the new seat),
	// then the appointment: the lock order of Book.
	var row struct{ StoreID uuid.UUID }
	if err := models.Scope(conn.Model(&Appointment{}).Select("store_id").Where("id = ?", id), actor, nil, "").Take(&row).Error; err != nil {
		return models.NotFoundAs(err, errAppointmentNotFound)
	}
	utcDay := models.DateOf(start)
	cal, _, err := s.loadCalendar(ctx, row.StoreID, utcDay.AddDate(0, 0, -1), utcDay.AddDate(0, 0, 1), shareLock)
	if err != nil {
		return err
	}
	a, err := s.lockAppointment(ctx, actor, id)
	if err != nil {
		return err
	}
	if a.Status != Booked {
		return ErrNotBooked
	}
	if deadline, tooLate := changeDeadline(staff, a.SlotStart); !now.Before(deadline) {
		return tooLate
	}
	if err := bookable(now, start); err != nil {
		return err
	}
	slot, seats, err := cal.locate(start, a.Kind)
	if err != nil {
		return err
	}
	if slot.start.Equal(a.SlotStart) {
		return nil
	}
	// Both counters in slot order, as every operation locks them.
	take := func() error { return s.takeSeat(ctx, a.StoreID, a.Kind, slot.start, seats) }
	release := func() error { return s.releaseSeat(ctx, a) }
	steps := []func() error{take, release}
	if a.SlotStart.Before(slot.start) {
		steps = []func() error{release, take}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return conn.Model(&Appointment{}).Where("id = ?", a.ID).
		Updates(map[string]any{"slot_start": slot.start, "slot_end": slot.end, "updated_at": now}).Error
}

// Cancel cancels a BOOKED appointment and gives its seat back. Owners
// cancel their own until MinLeadTime before the slot; ADVISOR, CRM and
// MANAGER staff those of their stores until the slot starts. A retry with
// the same idempotency key (optional) answers the first result.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (screens, staff without the role),
// NOT_FOUND (absent, another owner's or another store's), NOT_BOOKED,
// TOO_LATE, INVALID_ARGUMENT ("idempotencyKey"), IDEMPOTENCY_KEY_REUSED.
func (s *Service) Cancel(ctx context.Context, actor *auth.Principal, appointmentID uuid.UUID, idempotencyKey string) (*Appointment, error) {
	staff, err := actorKind(actor, rolesBook)
	if err != nil {
		return nil, err
	}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), idempotencyKey, "booking.cancel", appointmentID, false,
		func(ctx context.Context) (uuid.UUID, error) { return s.cancel(ctx, actor, staff, appointmentID) })
	if err != nil {
		return nil, err
	}
	return s.read(ctx, id)
}

func (s *Service) cancel(ctx context.Context, actor *auth.Principal, staff bool, appointmentID uuid.UUID) (uuid.UUID, error) {
	var out uuid.UUID
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		a, err := s.lockAppointment(ctx, actor, appointmentID)
		if err != nil {
			return err
		}
		if a.Status != Booked {
			return ErrNotBooked
		}
		if deadline, tooLate := changeDeadline(staff, a.SlotStart); !now.Before(deadline) {
			return tooLate
		}
		if err := s.setStatus(ctx, a, Cancelled, now, map[string]any{"cancelled_at": now}); err != nil {
			return err
		}
		out = a.ID
		return nil
	})
	return out, err
}

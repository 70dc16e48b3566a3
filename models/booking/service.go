package booking

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Service runs maintenance booking on a database.
//
// Seats are counted in slot_bookings, one row per store, kind and slot: its
// booked column is the number of BOOKED appointments in the slot. Every
// booking takes a seat with one conditional upsert that adds one only while
// booked is below the slot's capacity, so concurrent bookings for the last
// seat let exactly one win, on any number of instances; cancelling, moving,
// arriving and no-shows give the seat back in the same transaction as the
// status change.
//
// Operations that take seats hold a share lock on the store's row while
// they read its calendar; calendar changes take it exclusively. So a
// capacity is never lowered under a booking that read the old one: the
// change waits for the booking to commit, then sees its seat.
//
// Locks are taken in one order: store, owner, appointments, slot counters
// (ascending slot start), so that operations do not deadlock one another.
type Service struct {
	DB *models.DB
	// Workshop opens the repair order when a car arrives (MarkArrived), in
	// the same transaction.
	Workshop *workshop.Service
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Inbox takes the notifications to owners (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Directory tells whether an owner deleted the account (nil: one on
	// DB and Clock).
	Directory *directory.Service
}

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// rolesSetCalendar (SetCalendar) and rolesSetOverride (SetOverride)
	// change a store's calendar: one list, rolesCalendar.
	rolesSetCalendar = rolesCalendar
	rolesSetOverride = rolesCalendar
	// rolesMarkArrived may mark a car arrived (MarkArrived).
	rolesMarkArrived = []auth.Role{auth.RoleAdvisor, auth.RoleManager}
	// rolesMarkNoShow may mark a no-show (MarkNoShow).
	rolesMarkNoShow = []auth.Role{auth.RoleAdvisor, auth.RoleCRM, auth.RoleManager}
	// rolesDayStats may read a store's booking figures (DayStats).
	rolesDayStats = []auth.Role{auth.RoleManager}

	rolesCalendar = []auth.Role{auth.RoleManager}
	// rolesBook book, move and cancel for owners (Book, Reschedule, Cancel
	// by staff; those operations also serve owners, so no @auth roles).
	rolesBook = []auth.Role{auth.RoleAdvisor, auth.RoleCRM, auth.RoleManager}
)

// NotifyAppointmentReminder is the kind of the inbox item sent the day
// before an appointment.
const NotifyAppointmentReminder = "APPOINTMENT_REMINDER"

// AppointmentLink links an appointment; reminders open it.
func AppointmentLink(id uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefAppointment, id))
}

// staffFor checks the actor is staff holding one of roles at the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func staffFor(actor *auth.Principal, storeID uuid.UUID, roles []auth.Role) error {
	return models.StaffAt(actor, storeID, roles...)
}

// actorKind sorts out who changes an appointment: an owner (their own
// appointments), or staff holding one of roles (their stores').
//
// Codes: UNAUTHENTICATED, FORBIDDEN (screens, staff without the role).
func actorKind(actor *auth.Principal, roles []auth.Role) (staff bool, err error) {
	switch {
	case actor == nil:
		return false, models.ErrUnauthenticated
	case actor.IsOwner():
		return false, nil
	case actor.HasAnyRole(roles...):
		return true, nil
	}
	return false, models.ErrForbidden
}

// lockMode is how an operation holds the store's row while it reads the
// store's calendar.
type lockMode int

const (
	noLock    lockMode = iota
	shareLock          // takes seats: the calendar may not change under it
	writeLock          // changes the calendar
)

// lockStore reads the store row, locking it as asked. SQLite needs no lock:
// its write transactions hold the database's write lock from their start.
func (s *Service) lockStore(ctx context.Context, storeID uuid.UUID, mode lockMode) (*models.Store, error) {
	var st *models.Store
	var err error
	switch mode {
	case writeLock:
		st, err = s.directory().LockStore(ctx, storeID, false)
	case shareLock:
		// Shared: bookings do not wait for one another, only for (and
		// are waited for by) calendar changes.
		st, err = s.directory().LockStore(ctx, storeID, true)
	default:
		st, err = s.directory().StoreRow(ctx, storeID)
	}
	if err != nil {
		return nil, models.NotFoundAs(err, errStoreNotFound)
	}
	return st, nil
}

// loadCalendar reads a store's calendar with the overrides of the days
// from..to (zero to: no end) in four statements whatever the range: the
// store (locked as asked), its hours, its capacities and the overrides.
//
// Codes: NOT_FOUND ("storeId").
func (s *Service) loadCalendar(ctx context.Context, storeID uuid.UUID, from, to models.Date, mode lockMode) (*calendar, *models.Store, error) {
	store, err := s.lockStore(ctx, storeID, mode)
	if err != nil {
		return nil, nil, err
	}
	conn := s.DB.Conn(ctx)
	if store.Hours, err = s.directory().StoreHours(ctx, storeID); err != nil {
		return nil, nil, err
	}
	var caps []SlotCapacity
	if err := conn.Where("store_id = ?", storeID).Find(&caps).Error; err != nil {
		return nil, nil, err
	}
	q := conn.Where("store_id = ? AND day >= ?", storeID, from)
	if !to.IsZero() {
		q = q.Where("day <= ?", to)
	}
	var overrides []Override
	if err := q.Order("day ASC, kind ASC").Find(&overrides).Error; err != nil {
		return nil, nil, err
	}
	return newCalendar(store, caps, overrides), store, nil
}

// takeSeat takes one seat of kind in the slot starting at start, unless
// the slot already has capacity seats taken: one conditional upsert of the
// slot's counter (PostgreSQL and SQLite ≥ 3.24), which the database runs
// one at a time per slot, so concurrent bookings never take more seats
// than there are.
//
// Codes: SLOT_FULL.
func (s *Service) takeSeat(ctx context.Context, storeID uuid.UUID, kind string, start time.Time, capacity int) error {
	if capacity <= 0 {
		return ErrSlotFull
	}
	res := s.DB.Conn(ctx).Exec(`INSERT INTO slot_bookings (store_id, kind, slot_start, booked) VALUES (?, ?, ?, 1)
		ON CONFLICT (store_id, kind, slot_start) DO UPDATE SET booked = slot_bookings.booked + 1
		WHERE slot_bookings.booked < ?`, storeID, kind, start.UTC(), capacity)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrSlotFull
	}
	return nil
}

// releaseSeat gives back the seat of a BOOKED appointment that stops being
// booked. A counter with nothing to give back means the counts are wrong:
// that is an internal failure, and the transaction does not commit.
func (s *Service) releaseSeat(ctx context.Context, a *Appointment) error {
	res := s.DB.Conn(ctx).Exec(`UPDATE slot_bookings SET booked = booked - 1
		WHERE store_id = ? AND kind = ? AND slot_start = ? AND booked > 0`, a.StoreID, a.Kind, a.SlotStart.UTC())
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("booking: no seat to release for appointment %s", a.ID)
	}
	return nil
}

// lockAppointment reads and locks an appointment the actor may see.
//
// Codes: NOT_FOUND.
func (s *Service) lockAppointment(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Appointment, error) {
	var a Appointment
	q := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, nil, "")
	if err := s.DB.ForUpdate(q).Take(&a).Error; err != nil {
		return nil, models.NotFoundAs(err, errAppointmentNotFound)
	}
	normalize(&a)
	return &a, nil
}

// setStatus records an appointment leaving BOOKED and gives its seat back.
func (s *Service) setStatus(ctx context.Context, a *Appointment, to Status, now time.Time, extra map[string]any) error {
	fields := map[string]any{"status": to, "updated_at": now}
	for k, v := range extra {
		fields[k] = v
	}
	res := s.DB.Conn(ctx).Model(&Appointment{}).Where("id = ? AND status = ?", a.ID, Booked).Updates(fields)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrNotBooked
	}
	if err := s.releaseSeat(ctx, a); err != nil {
		return err
	}
	a.Status, a.UpdatedAt = to, now
	return nil
}

// read reads an appointment by id, without authorization.
func (s *Service) read(ctx context.Context, id uuid.UUID) (*Appointment, error) {
	var a Appointment
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, models.NotFoundAs(err, errAppointmentNotFound)
	}
	normalize(&a)
	return &a, nil
}

// normalize puts an appointment's times in UTC (PostgreSQL hands them back
// in the session's zone).
func normalize(a *Appointment) {
	a.SlotStart, a.SlotEnd = a.SlotStart.UTC(), a.SlotEnd.UTC()
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	if a.CancelledAt != nil {
		t := a.CancelledAt.UTC()
		a.CancelledAt = &t
	}
}

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// RolesSetCalendar is the list rolesSetCalendar, copied: a caller cannot change the rule.
func RolesSetCalendar() []auth.Role { return slices.Clone(rolesSetCalendar) }

// RolesSetOverride is the list rolesSetOverride, copied: a caller cannot change the rule.
func RolesSetOverride() []auth.Role { return slices.Clone(rolesSetOverride) }

// RolesMarkArrived is the list rolesMarkArrived, copied: a caller cannot change the rule.
func RolesMarkArrived() []auth.Role { return slices.Clone(rolesMarkArrived) }

// RolesMarkNoShow is the list rolesMarkNoShow, copied: a caller cannot change the rule.
func RolesMarkNoShow() []auth.Role { return slices.Clone(rolesMarkNoShow) }

// RolesDayStats is the list rolesDayStats, copied: a caller cannot change the rule.
func RolesDayStats() []auth.Role { return slices.Clone(rolesDayStats) }

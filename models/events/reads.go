package events

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// Reading events, registrations and rosters.

// Filter narrows a list of events.
type Filter struct {
	Kind    *Kind
	StoreID *uuid.UUID
	// From and To bound the start (From defaults to now: upcoming events).
	From, To *time.Time
	// Unpublished adds drafts and cancelled events; only for the event
	// staff of StoreID (which it then requires).
	Unpublished bool
}

// visible reports whether the actor may see the event: published and
// cancelled ones everyone signed in; drafts only the host store's staff.
func visible(actor *auth.Principal, e *Event) bool {
	if !actor.IsOwner() && !actor.IsStaff() {
		return false
	}
	return e.Status != Draft || mayManage(actor, e.StoreID)
}

// EventFor reads one event the actor may see.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) EventFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Event, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var e Event
	err := s.DB.Conn(ctx).Where("id = ?", id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !visible(actor, &e)) {
		return nil, errEventNotFound
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListEvents reads one page of events, soonest first: published ones
// starting from f.From (now by default), or with f.Unpublished every event
// of the store for its event staff. p.After is the PageKey of the last
// event of the previous page.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (Unpublished without the role),
// INVALID_ARGUMENT ("filter.storeId" missing with Unpublished; "filter.to"
// before from), INVALID_ARGUMENT ("first", "after": see models.Fetch).
func (s *Service) ListEvents(ctx context.Context, actor *auth.Principal, f Filter, p models.Page) ([]*Event, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case !actor.IsOwner() && !actor.IsStaff():
		// Screens show the workshop board, nothing else.
		return nil, false, models.ErrForbidden
	}
	from := s.Clock.Now(ctx)
	if f.From != nil {
		from = f.From.UTC()
	}
	if f.To != nil && f.To.Before(from) {
		return nil, false, models.Invalid("filter.to", "结束时间不能早于开始时间", "to must not be before from")
	}
	q := s.DB.Conn(ctx).Model(&Event{}).Where("starts_at >= ?", from)
	if f.Unpublished {
		if f.StoreID == nil {
			return nil, false, models.Invalid("filter.storeId", "请选择门店", "storeId is required to list unpublished events")
		}
		if err := staffFor(actor, *f.StoreID, rolesManage); err != nil {
			return nil, false, err
		}
	} else {
		q = q.Where("status = ?", Published)
	}
	if f.StoreID != nil {
		q = q.Where("store_id = ?", *f.StoreID)
	}
	if f.Kind != nil {
		q = q.Where("kind = ?", *f.Kind)
	}
	if f.To != nil {
		q = q.Where("starts_at <= ?", f.To.UTC())
	}
	return models.Fetch[*Event](q, byStart, p)
}

// EventsByIDs reads events by id, for relations of rows the caller was
// already allowed to read (a registration's event).
func (s *Service) EventsByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Event, error) {
	var rows []*Event
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*Event, len(rows))
	for _, e := range rows {
		out[e.ID] = e
	}
	return out, nil
}

// OwnRegistrations reads the calling owner's active registration (if any)
// for each of the events, in one statement; none for anyone else.
func (s *Service) OwnRegistrations(ctx context.Context, actor *auth.Principal, eventIDs []uuid.UUID) (map[uuid.UUID]*Registration, error) {
	if actor == nil || !actor.IsOwner() {
		return map[uuid.UUID]*Registration{}, nil // only owners register
	}
	var rows []*Registration
	if err := s.DB.Conn(ctx).Where("owner_id = ? AND event_id IN ? AND status <> ?", actor.ID, eventIDs, Withdrawn).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*Registration, len(rows))
	for _, r := range rows {
		out[r.EventID] = r
	}
	return out, nil
}

// WaitlistPositions is, for each waitlisted registration among ids, its
// place in its event's queue (1 is next), in one statement.
func (s *Service) WaitlistPositions(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int, error) {
	var rows []struct {
		ID       uuid.UUID
		Position int
	}
	err := models.Scan(s.DB.Conn(ctx).Raw(`SELECT r.id AS id, COUNT(w.id) AS position
		FROM registrations r JOIN registrations w ON w.event_id = r.event_id AND w.status = ?
			AND (w.waitlisted_at < r.waitlisted_at OR (w.waitlisted_at = r.waitlisted_at AND w.id <= r.id))
		WHERE r.id IN ? AND r.status = ?
		GROUP BY r.id`, Waitlisted, ids, Waitlisted), &rows)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]int, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Position
	}
	return out, nil
}

// OwnerRegistrations reads one page of the owner's registrations, newest
// first, optionally of one status. Only the owner.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (another
// owner's).
func (s *Service) OwnerRegistrations(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, status *RegStatus, p models.Page) ([]*Registration, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, false, models.ErrForbidden
	case actor.ID != ownerID:
		return nil, false, errRegistrationNotFound
	}
	q := s.DB.Conn(ctx).Model(&Registration{}).Where("owner_id = ?", ownerID)
	if status != nil {
		q = q.Where("status = ?", *status)
	}
	p.Desc = true
	return models.Fetch[*Registration](q, models.ByID("id"), p)
}

// registration reads a registration the caller was allowed to change.
func (s *Service) registration(ctx context.Context, id uuid.UUID) (*Registration, error) {
	var r Registration
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, err
	}
	return &r, nil
}

// RegistrationFor reads one registration: its owner's, or any of the host
// store's events for its event staff.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) RegistrationFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Registration, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var row struct {
		Registration
		StoreID uuid.UUID
	}
	err := s.DB.Conn(ctx).Table("registrations r").Select("r.*, e.store_id AS store_id").
		Joins("JOIN events e ON e.id = r.event_id").Where("r.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errRegistrationNotFound
	}
	if err != nil {
		return nil, err
	}
	if (actor.IsOwner() && row.OwnerID == actor.ID) || (!actor.IsOwner() && mayManage(actor, row.StoreID)) {
		return &row.Registration, nil
	}
	return nil, errRegistrationNotFound
}

// RosterEntry is one line of an event's roster: the registration with the
// contact details staff need at the door and for the convoy.
type RosterEntry struct {
	Registration
	OwnerName    string
	OwnerPhone   string
	Plate        *string
	VehicleModel *string
}

// RosterSummary counts an event's registrations.
type RosterSummary struct {
	ConfirmedSeats, Confirmed, Waitlisted, WaitlistedSeats, Cancelled, CheckedIn int
}

// rosterEvent checks the actor runs the event's store.
func (s *Service) rosterEvent(ctx context.Context, actor *auth.Principal, eventID uuid.UUID) error {
	if actor == nil {
		return models.ErrUnauthenticated
	}
	var e Event
	if err := s.DB.Conn(ctx).Select("id", "store_id").Where("id = ?", eventID).Take(&e).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errEventNotFound
		}
		return err
	}
	if actor.IsOwner() {
		return errEventNotFound
	}
	return staffFor(actor, e.StoreID, rolesRoster)
}

// Roster reads one page of an event's registrations for its event staff,
// in registration order, optionally of one status (checkedIn: only those
// checked in), with names, phone numbers, plates and models, in one
// statement.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND.
func (s *Service) Roster(ctx context.Context, actor *auth.Principal, eventID uuid.UUID, status *RegStatus, checkedIn bool, p models.Page) ([]*RosterEntry, bool, error) {
	if err := s.rosterEvent(ctx, actor, eventID); err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Table("registrations").
		Select("registrations.*, o.name AS owner_name, o.phone AS owner_phone, v.plate AS plate, v.model AS vehicle_model").
		Joins(directory.JoinOwner("o", "registrations.owner_id")).
		Joins(directory.LeftJoin(directory.JoinVehicle("v", "registrations.vehicle_id"))).
		Where("registrations.event_id = ?", eventID)
	if status != nil {
		q = q.Where("registrations.status = ?", *status)
	}
	if checkedIn {
		q = q.Where("registrations.checked_in_at IS NOT NULL")
	}
	return models.Fetch[*RosterEntry](q, models.ByID("registrations.id"), p)
}

// Summary counts an event's registrations for its event staff, in one
// statement.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND.
func (s *Service) Summary(ctx context.Context, actor *auth.Principal, eventID uuid.UUID) (*RosterSummary, error) {
	if err := s.rosterEvent(ctx, actor, eventID); err != nil {
		return nil, err
	}
	var out RosterSummary
	err := s.DB.Conn(ctx).Raw(`SELECT
		COALESCE(SUM(CASE WHEN status = ? THEN party_size END), 0) AS confirmed_seats,
		COUNT(CASE WHEN status = ? THEN 1 END) AS confirmed,
		COUNT(CASE WHEN status = ? THEN 1 END) AS waitlisted,
		COALESCE(SUM(CASE WHEN status = ? THEN party_size END), 0) AS waitlisted_seats,
		COUNT(CASE WHEN status = ? THEN 1 END) AS cancelled,
		COUNT(checked_in_at) AS checked_in
		FROM registrations WHERE event_id = ?`,
		Confirmed, Confirmed, Waitlisted, Waitlisted, Withdrawn, eventID).Scan(&out).Error
	if err != nil {
		return nil, err
	}
	return &out, nil
}

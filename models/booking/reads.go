package booking

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// AppointmentFor reads an appointment the actor may see: an owner their
// own, staff (any role) those of their stores, GROUP_ADMIN every one. One
// the actor may not see is NOT_FOUND, so probing ids reveals nothing.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) AppointmentFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Appointment, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var a Appointment
	if err := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, nil, "").Take(&a).Error; err != nil {
		return nil, models.NotFoundAs(err, errAppointmentNotFound)
	}
	normalize(&a)
	return &a, nil
}

// OwnerAppointments reads one page of an owner's appointments, newest
// first (by id: the order they were made), optionally of one status, and
// reports whether more follow. An owner reads only their own; staff read
// the owner's appointments at their stores (GROUP_ADMIN: all).
//
// Codes: UNAUTHENTICATED, FORBIDDEN (a screen), NOT_FOUND (another
// owner's), INVALID_ARGUMENT ("status").
func (s *Service) OwnerAppointments(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page, status *Status) ([]*Appointment, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case actor.IsOwner() && actor.ID != ownerID:
		return nil, false, models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	case !actor.IsOwner() && !actor.IsStaff():
		return nil, false, models.ErrForbidden
	}
	if status != nil && !status.Valid() {
		return nil, false, models.Invalid("status", "预约状态无效", "unknown status")
	}
	q := models.Scope(s.DB.Conn(ctx).Model(&Appointment{}).Where("owner_id = ?", ownerID), actor, nil, "")
	if status != nil {
		q = q.Where("status = ?", *status)
	}
	p.Desc = true
	rows, more, err := models.Fetch[*Appointment](q, models.ByID("id"), p)
	if err != nil {
		return nil, false, err
	}
	for _, a := range rows {
		normalize(a)
	}
	return rows, more, nil
}

// AppointmentsByIDs loads appointments by id for a dataloader, in one
// statement. No authorization: the caller already authorized the objects
// that point at them. Missing ids are omitted.
func (s *Service) AppointmentsByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Appointment, error) {
	out := make(map[uuid.UUID]*Appointment, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*Appointment
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, a := range rows {
		normalize(a)
		out[a.ID] = a
	}
	return out, nil
}

// VehiclesBooked lists which of the vehicles hold a BOOKED appointment of
// kind whose slot has not ended at at, in one statement. An appointment whose
// slot has ended does not count: its car did not come.
func (s *Service) VehiclesBooked(ctx context.Context, vehicleIDs []uuid.UUID, kind workshop.Kind, at time.Time) ([]uuid.UUID, error) {
	var out []uuid.UUID
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	err := s.DB.Conn(ctx).Model(&Appointment{}).
		Where("vehicle_id IN ? AND status = ? AND kind = ? AND slot_end > ?", vehicleIDs, Booked, kind, at.UTC()).
		Pluck("vehicle_id", &out).Error
	return out, err
}

package booking

import (
	"context"

	"github.com/google/uuid"
)

// EraseOwner runs inside an account deletion (a privacy.Eraser): the
// owner's BOOKED appointments that have not started are cancelled and their
// seats given back, as Cancel does.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	now := s.Clock.Now(ctx)
	var appts []*Appointment
	q := s.DB.Conn(ctx).Where("owner_id = ? AND status = ? AND slot_start > ?", ownerID, Booked, now).Order("slot_start ASC, id ASC")
	if err := s.DB.ForUpdate(q).Find(&appts).Error; err != nil {
		return err
	}
	for _, a := range appts {
		normalize(a)
		if err := s.setStatus(ctx, a, Cancelled, now, map[string]any{"cancelled_at": now}); err != nil {
			return err
		}
	}
	return nil
}

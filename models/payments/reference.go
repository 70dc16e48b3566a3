package payments

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// PaymentsFor is, for each thing (a registration, a repair order), its
// payment in flight, paid or refunded (the latest PENDING, PAID, REFUNDING
// or REFUNDED one) as
// actor may see it: the owner their own, staff holding rolesRead those of
// their stores. Things without one are absent. One statement for all.
//
// Codes: UNAUTHENTICATED.
func (s *Service) PaymentsFor(ctx context.Context, actor *auth.Principal, referenceIDs []uuid.UUID) (map[uuid.UUID]*Payment, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var rows []*Payment
	err := models.Scope(s.DB.Conn(ctx).Model(&Payment{}), actor, rolesRead, "").
		Where("reference_id IN ? AND state IN ?", referenceIDs, []string{StatePending, StatePaid, StateRefunding, StateRefunded}).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*Payment, len(rows))
	for _, p := range rows {
		out[*p.ReferenceID] = p // ordered by id: the latest wins
	}
	return out, nil
}

package payments

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
)

// PaymentsFor loads, for each thing paid for (a repair order, a
// registration), its payment in flight or paid, as PaymentFor does: the
// latest PENDING, PAID or REFUNDING one. One statement whatever the number
// of keys; things without one have no entry. It does not authorize: see
// Visible.
func (s *Service) PaymentsFor(ctx context.Context, referenceIDs []uuid.UUID) (map[uuid.UUID]*Payment, error) {
	out := make(map[uuid.UUID]*Payment, len(referenceIDs))
	if len(referenceIDs) == 0 {
		return out, nil
	}
	var rows []*Payment
	err := s.DB.Conn(ctx).Where("reference_id IN ? AND state IN ?", referenceIDs, []string{StatePending, StatePaid, StateRefunding}).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, p := range rows {
		out[*p.ReferenceID] = p // ids grow with time: the latest wins
	}
	return out, nil
}

// Visible reports whether actor may see p, as Payment decides: the owner
// who pays, and staff holding rolesRead at its store (GROUP_ADMIN: all).
func Visible(actor *auth.Principal, p *Payment) bool {
	if actor.IsOwner() {
		return actor.ID == p.OwnerID
	}
	return actor.HasAnyRole(rolesRead...) && actor.CanAccessStore(p.StoreID)
}

package wallet

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

var errEntryNotFound = models.E(models.CodeNotFound, "未找到该交易", "ledger entry not found")

// EntryFor reads one ledger entry by id to whoever Entries shows it to: who
// may see the owner's membership, or the cashiers and managers of the store
// where it was taken.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (none, or not visible to the actor).
func (s *Service) EntryFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Entry, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	e, err := models.Take[Entry](s.DB.Conn(ctx), id, errEntryNotFound)
	if err != nil {
		return nil, err
	}
	if _, err := s.directory().OwnerFor(ctx, actor, e.OwnerID); err != nil {
		if !errors.Is(err, models.ErrNotFound) {
			return nil, err
		}
		if !atCounter(actor) || e.StoreID == nil || !slices.Contains(actor.StoreIDs, *e.StoreID) {
			return nil, errEntryNotFound
		}
	}
	return e, nil
}

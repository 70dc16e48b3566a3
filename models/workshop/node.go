package workshop

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

var errScreenTokenNotFound = models.E(models.CodeNotFound, "未找到该看板令牌", "screen token not found")

// ItemFor reads one line of a repair order by id to whoever may read the
// order (OrderFor's scope), without OrderFor's marking of pending items as
// seen.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (none, or on an order the actor may not
// read).
func (s *Service) ItemFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Item, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	it, err := models.Take[Item](s.DB.Conn(ctx), id, errItemNotFound)
	if err != nil {
		return nil, err
	}
	var n int64
	q := directory.ScopeByCar(s.DB.Conn(ctx).Model(&RepairOrder{}).Where("id = ?", it.OrderID), actor, nil, "")
	if err := q.Count(&n).Error; err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errItemNotFound
	}
	return it, nil
}

// ScreenTokenFor reads one screen token by id to whoever ScreenTokens lists
// it to: the store's MANAGER or GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (none, or not the actor's to see).
func (s *Service) ScreenTokenFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*ScreenToken, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	t, err := models.Take[ScreenToken](s.DB.Conn(ctx), id, errScreenTokenNotFound)
	if err != nil {
		return nil, err
	}
	if !managesStore(actor, rolesScreenTokens, t.StoreID) {
		return nil, errScreenTokenNotFound
	}
	return t, nil
}

package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func ownerAndStore(ownerID, storeID string) (uuid.UUID, uuid.UUID, error) {
	owner, err := idOf(ownerID, typeOwner, "ownerId")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	store, err := idOf(storeID, typeStore, "storeId")
	return owner, store, err
}

// walletPayload answers a counter mutation. The membership follows the rule
// of Owner.membership: a cashier topping up a walk-in from another store
// sees the entries they made, not the owner's account.
func walletPayload(ctx context.Context, db *models.DB, res *wallet.Result, ues []*model.UserError) (*model.WalletPayload, error) {
	p := &model.WalletPayload{Entries: []*wallet.Entry{}, UserErrors: ues}
	if res == nil {
		return p, nil
	}
	p.Entries = res.Entries
	if res.Membership != nil {
		who, _ := auth.PrincipalFrom(ctx)
		visible, err := db.VisibleOwnerIDs(ctx, who, []uuid.UUID{res.Membership.OwnerID})
		if err != nil {
			return nil, err
		}
		if visible[res.Membership.OwnerID] {
			p.Membership = res.Membership
		}
	}
	return p, nil
}

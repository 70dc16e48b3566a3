package graph

import (
	"github.com/google/uuid"

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

// walletPayload answers a counter mutation with the membership the domain
// returned: whoever was allowed to move the money sees the card's balance
// (its transactions follow wallet.Service.Entries).
func walletPayload(res *wallet.Result, ues []*model.UserError) *model.WalletPayload {
	p := &model.WalletPayload{Entries: []*wallet.Entry{}, UserErrors: ues}
	if res == nil {
		return p
	}
	p.Entries, p.Membership = res.Entries, res.Membership
	return p
}

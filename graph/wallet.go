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

func walletPayload(res *wallet.Result, ues []*model.UserError) *model.WalletPayload {
	p := &model.WalletPayload{Entries: []*wallet.Entry{}, UserErrors: ues}
	if res != nil {
		p.Membership = res.Membership
		p.Entries = res.Entries
	}
	return p
}

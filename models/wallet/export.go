package wallet

import (
	"context"

	"github.com/google/uuid"
)

// ExportedWallet is, in an owner's data export, the membership account
// with its ledger and points lots.
type ExportedWallet struct {
	Account    *Account
	Ledger     []*Entry
	PointsLots []*PointsLot
}

// ExportOwner is the owner's membership for their data export: the account,
// the whole ledger and the points lots.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	w := &ExportedWallet{Ledger: []*Entry{}, PointsLots: []*PointsLot{}}
	var accounts []*Account
	if err := conn.Where("owner_id = ?", ownerID).Find(&accounts).Error; err != nil {
		return nil, err
	}
	if len(accounts) == 1 {
		w.Account = accounts[0]
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&w.Ledger).Error; err != nil {
		return nil, err
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&w.PointsLots).Error; err != nil {
		return nil, err
	}
	return w, nil
}

package wallet

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// CodeWalletNotEmpty: the account still holds stored value, which must be
// refunded (at a cashier) before the owner's account can be deleted.
const CodeWalletNotEmpty models.Code = "WALLET_NOT_EMPTY"

// WalletNotEmpty is the WALLET_NOT_EMPTY refusal for a balance in fen.
func WalletNotEmpty(balanceFen int64) *models.Error {
	return models.Ef(CodeWalletNotEmpty,
		"会员账户尚有余额 "+models.Yuan(balanceFen)+"，请先到门店收银台办理退款后再注销",
		"the membership account still holds %s; have it refunded at a store's cashier before deleting the account", models.Yuan(balanceFen))
}

// EraseOwner takes part in an account deletion (privacy.Eraser): the
// ledger and points stay (the dealer must keep them), but an account that
// still holds stored value refuses the deletion until it is refunded. The
// account row is locked: a concurrent top-up either committed first (and
// its balance is seen here) or waits, then finds the account deleted.
//
// Codes: WALLET_NOT_EMPTY.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	var accounts []Account
	if err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("owner_id = ?", ownerID)).Find(&accounts).Error; err != nil {
		return err
	}
	if len(accounts) == 1 && accounts[0].BalanceFen > 0 {
		return WalletNotEmpty(accounts[0].BalanceFen)
	}
	return nil
}

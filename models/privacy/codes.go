package privacy

import (
	"fmt"

	"github.com/ownerhub/ownerhub/models"
)

// Refusal codes of the owners' data rights. Clients branch on them; they
// never change once published. Besides these, operations return the shared
// codes of package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
// INVALID_ARGUMENT).
const (
	// CodeWalletNotEmpty: the account still holds stored value, which must
	// be refunded (at a cashier) before the account can be deleted.
	CodeWalletNotEmpty models.Code = "WALLET_NOT_EMPTY"
)

var (
	errOwnerNotFound = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	errNotConfirmed  = models.Invalid("confirm", "注销账户不可恢复，请确认后再提交", "deleting the account cannot be undone; set confirm to true")
)

// WalletNotEmpty is the WALLET_NOT_EMPTY refusal for a balance in fen.
func WalletNotEmpty(balanceFen int64) *models.Error {
	yuan := fmt.Sprintf("%d.%02d", balanceFen/100, balanceFen%100)
	return models.Ef(CodeWalletNotEmpty,
		"会员账户尚有余额 ¥"+yuan+"，请先到门店收银台办理退款后再注销",
		"the membership account still holds ¥%s; have it refunded at a store's cashier before deleting the account", yuan)
}

// ErrAccountDeleted refuses the tokens of an owner who deleted the account.
var ErrAccountDeleted = models.E(models.CodeUnauthenticated, "该账户已注销，请重新登录", "this account was deleted; sign in again")

package privacy

import (
	"github.com/ownerhub/ownerhub/models"
)

// The owners' data rights return the shared codes of package models
// (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT) and the
// refusals of the capabilities' Erasers (wallet.CodeWalletNotEmpty,
// events' REGISTRATION_REFUND_PENDING).

var (
	errOwnerNotFound = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	errNotConfirmed  = models.Invalid("confirm", "注销账户不可恢复，请确认后再提交", "deleting the account cannot be undone; set confirm to true")
)

// ErrAccountDeleted refuses the tokens of an owner who deleted the account.
var ErrAccountDeleted = models.E(models.CodeUnauthenticated, "该账户已注销，请重新登录", "this account was deleted; sign in again")

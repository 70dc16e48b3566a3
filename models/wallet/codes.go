package wallet

import "github.com/ownerhub/ownerhub/models"

// Refusal codes of the wallet. Clients branch on them; they never change
// once published. Besides these, operations return the shared codes of
// package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT)
// and its idempotency code IDEMPOTENCY_KEY_REUSED.
const (
	// CodeInsufficientBalance: the stored value does not cover a spend,
	// refund or negative adjustment.
	CodeInsufficientBalance models.Code = "INSUFFICIENT_BALANCE"
	// CodeInsufficientPoints: the points do not cover a redemption or
	// negative adjustment.
	CodeInsufficientPoints models.Code = "INSUFFICIENT_POINTS"
	// CodeBalanceCapExceeded: a top-up (with its bonus) would take the
	// balance past the card's cap.
	CodeBalanceCapExceeded models.Code = "BALANCE_CAP_EXCEEDED"
	// CodePointsOverCap: points paying more than half of a bill (returned
	// by the capabilities that sell, e.g. settlement).
	CodePointsOverCap models.Code = "POINTS_OVER_CAP"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrInsufficientBalance = models.E(CodeInsufficientBalance, "储值余额不足", "the stored-value balance is not enough")
	ErrInsufficientPoints  = models.E(CodeInsufficientPoints, "积分不足", "not enough points")
	ErrBalanceCapExceeded  = models.E(CodeBalanceCapExceeded, "充值后余额将超过储值卡上限", "the top-up would take the balance past the card's cap")
	ErrPointsOverCap       = models.E(CodePointsOverCap, "积分抵扣不能超过账单金额的 50%", "points may pay at most half of the bill")

	errOwnerNotFound = models.E(models.CodeNotFound, "未找到该车主", "owner not found")
	errStoreNotFound = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errDuplicate     = models.E(models.CodeConflict, "该笔记账已存在", "this movement was already recorded")
)

package packages

import (
	"errors"

	"github.com/ownerhub/ownerhub/models"
)

// Refusal codes of service packages. Clients branch on them; they never
// change once published. Besides these, operations return the shared codes
// of package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
// INVALID_ARGUMENT) and the wallet's INSUFFICIENT_BALANCE.
const (
	// CodeRetired: the product was retired; it is no longer sold.
	CodeRetired models.Code = "PACKAGE_RETIRED"
	// CodeExpired: the package's validity has ended.
	CodeExpired models.Code = "PACKAGE_EXPIRED"
	// CodeUsedUp: every use of the package has been consumed.
	CodeUsedUp models.Code = "PACKAGE_USED_UP"
	// CodeRefunded: the package was refunded; it cannot be used or
	// refunded again.
	CodeRefunded models.Code = "PACKAGE_REFUNDED"
	// CodeNotApplicable: the package does not cover this order (another
	// kind, another store, nothing billed to cover, a coupon named too).
	CodeNotApplicable models.Code = "PACKAGE_NOT_APPLICABLE"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrRetired          = models.E(CodeRetired, "该套餐已下架，不能再出售", "the package product is retired").On("servicePackageId")
	ErrExpired          = models.E(CodeExpired, "该套餐已过期", "the package has expired").On("packageId")
	ErrUsedUp           = models.E(CodeUsedUp, "该套餐次数已用完", "every use of the package has been consumed").On("packageId")
	ErrRefunded         = models.E(CodeRefunded, "该套餐已退款", "the package was refunded").On("packageId")
	ErrNotApplicable    = models.E(CodeNotApplicable, "该套餐不适用于本工单", "the package does not cover this order").On("packageId")
	errProductNotFound  = models.E(models.CodeNotFound, "未找到该套餐产品", "service package not found").On("servicePackageId")
	errPackageNotFound  = models.E(models.CodeNotFound, "未找到该套餐", "owner package not found").On("packageId")
	errOwnerNotFound    = models.E(models.CodeNotFound, "未找到该车主", "owner not found").On("ownerId")
	errStoreNotFound    = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errAlreadyRetired   = models.E(models.CodeConflict, "该套餐产品已下架", "the product is retired already").On("servicePackageId")
	errWalletNotWired   = models.E(models.CodeInvalidArgument, "会员钱包不可用", "the wallet is not available").On("method")
	errPaymentsNotWired = errors.New("packages: online payments are not wired: cannot refund a package bought online")
)

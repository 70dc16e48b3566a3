package referrals

import "github.com/ownerhub/ownerhub/models"

// Refusal codes of referrals. Clients branch on them; they never change
// once published. Besides these, operations return the shared codes of
// package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT).
const (
	// CodeUnknown: no owner has the referral code given.
	CodeUnknown models.Code = "REFERRAL_CODE_UNKNOWN"
	// CodeSelf: the owner named is the code's own owner.
	CodeSelf models.Code = "REFERRAL_SELF"
	// CodeOwnerNotNew: the owner named already exists; only an owner the
	// sign-up or registration creates can be referred.
	CodeOwnerNotNew models.Code = "REFERRAL_OWNER_NOT_NEW"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrUnknown       = models.E(CodeUnknown, "推荐码不存在", "no owner has this referral code").On("referralCode")
	ErrSelf          = models.E(CodeSelf, "不能使用自己的推荐码", "an owner cannot refer themselves").On("referralCode")
	ErrOwnerNotNew   = models.E(CodeOwnerNotNew, "该车主已注册，不能再被推荐", "the owner already exists and cannot be referred").On("referralCode")
	errNotFound      = models.E(models.CodeNotFound, "未找到该推荐记录", "referral not found").On("referralId")
	errOwnerNotFound = models.E(models.CodeNotFound, "未找到该车主", "owner not found").On("ownerId")
)

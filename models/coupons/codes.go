package coupons

import "github.com/ownerhub/ownerhub/models"

// Refusal codes of coupons. Clients branch on them; they never change once
// published. Besides these, operations return the shared codes of package
// models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT).
const (
	// CodeLimitReached: the owner already holds as many coupons of the
	// template as it allows per owner.
	CodeLimitReached models.Code = "COUPON_LIMIT_REACHED"
	// CodeTemplateExpired: the template's fixed window has ended; no more
	// coupons are issued from it.
	CodeTemplateExpired models.Code = "COUPON_TEMPLATE_EXPIRED"
	// CodeNotAvailable: the coupon was used, revoked or has expired.
	CodeNotAvailable models.Code = "COUPON_NOT_AVAILABLE"
	// CodeNotYetValid: the coupon's window has not started.
	CodeNotYetValid models.Code = "COUPON_NOT_YET_VALID"
	// CodeNotApplicable: the coupon does not pay for this (another kind of
	// order, an event fee it does not cover, another store's bill, no line
	// of its free item, nothing to pay).
	CodeNotApplicable models.Code = "COUPON_NOT_APPLICABLE"
	// CodeMinSpendNotMet: the bill is below the coupon's minimum spend.
	CodeMinSpendNotMet models.Code = "COUPON_MIN_SPEND_NOT_MET"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrLimitReached     = models.E(CodeLimitReached, "该车主已领取该优惠券的上限张数", "the owner already holds the most coupons of this template allowed").On("couponTemplateId")
	ErrTemplateExpired  = models.E(CodeTemplateExpired, "该优惠券模板已过期，不能再发放", "the template's validity has ended").On("couponTemplateId")
	ErrNotAvailable     = models.E(CodeNotAvailable, "该优惠券已使用、已作废或已过期", "the coupon was used, revoked or has expired").On("couponId")
	ErrNotYetValid      = models.E(CodeNotYetValid, "该优惠券尚未生效", "the coupon is not valid yet").On("couponId")
	ErrNotApplicable    = models.E(CodeNotApplicable, "该优惠券不适用于本次消费", "the coupon does not apply to this bill").On("couponId")
	errCouponNotFound   = models.E(models.CodeNotFound, "未找到该优惠券", "coupon not found").On("couponId")
	errTemplateNotFound = models.E(models.CodeNotFound, "未找到该优惠券模板", "coupon template not found").On("couponTemplateId")
	errOwnerNotFound    = models.E(models.CodeNotFound, "未找到该车主", "owner not found").On("ownerId")
)

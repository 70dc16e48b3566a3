package events

import (
	"fmt"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
)

// Refusal codes of events and registrations. Clients branch on them; they
// never change once published. Operations also return the shared codes of
// package models (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT,
// CONFLICT, IDEMPOTENCY_KEY_REUSED) and the wallet's INSUFFICIENT_BALANCE
// and INSUFFICIENT_POINTS.
const (
	// CodeRegistrationClosed: the event is not open for registration (not
	// published, cancelled, or outside its registration window).
	CodeRegistrationClosed models.Code = "REGISTRATION_CLOSED"
	// CodeTierTooLow: the owner's tier is below the event's minimum.
	CodeTierTooLow models.Code = "TIER_TOO_LOW"
	// CodeAlreadyRegistered: the owner (or the vehicle) already has an
	// active registration for the event.
	CodeAlreadyRegistered models.Code = "ALREADY_REGISTERED"
	// CodePartyTooLarge: more people than the event allows per registration
	// (or than it has seats at all).
	CodePartyTooLarge models.Code = "PARTY_TOO_LARGE"
	// CodeVehicleRequired: the trip needs one of the owner's vehicles.
	CodeVehicleRequired models.Code = "VEHICLE_REQUIRED"
	// CodeNotActive: the registration is already cancelled.
	CodeNotActive models.Code = "REGISTRATION_NOT_ACTIVE"
	// CodeEventStarted: the event has started (or ended); the change is too late.
	CodeEventStarted models.Code = "EVENT_STARTED"
	// CodeCapacityBelowConfirmed: a capacity below the seats already confirmed.
	CodeCapacityBelowConfirmed models.Code = "CAPACITY_BELOW_CONFIRMED"
	// CodeEventLocked: a change that registrations already rely on (fees,
	// party size, vehicle rule, an earlier cancellation deadline) while
	// registrations exist.
	CodeEventLocked models.Code = "EVENT_LOCKED"
	// CodeNotDraft: only a draft can be published.
	CodeNotDraft models.Code = "NOT_DRAFT"
	// CodeEventCancelled: the event was cancelled; it cannot change any more.
	CodeEventCancelled models.Code = "EVENT_CANCELLED"
	// CodeAlreadyCheckedIn: the code was used; the message says when.
	CodeAlreadyCheckedIn models.Code = "ALREADY_CHECKED_IN"
	// CodeNotConfirmed: check-in for a registration without a seat
	// (waitlisted or cancelled).
	CodeNotConfirmed models.Code = "NOT_CONFIRMED"
	// CodeCheckInNotOpen: check-in opens CheckInOpensBefore the start and
	// closes at the end of the event.
	CodeCheckInNotOpen models.Code = "CHECK_IN_NOT_OPEN"
)

// Errors to compare with errors.Is (which matches on the code).
var (
	ErrRegistrationClosed = models.E(CodeRegistrationClosed, "该活动当前不在报名时间内", "registration for this event is not open").On("eventId")
	ErrTierTooLow         = models.E(CodeTierTooLow, "您的会员等级未达到该活动的要求", "your membership tier is below this event's minimum").On("eventId")
	ErrAlreadyRegistered  = models.E(CodeAlreadyRegistered, "您已报名该活动", "you are already registered for this event").On("eventId")
	ErrVehicleRegistered  = models.E(CodeAlreadyRegistered, "该车辆已报名该活动", "this vehicle is already registered for this event").On("vehicleId")
	ErrVehicleRequired    = models.E(CodeVehicleRequired, "该活动需要选择一辆您的车辆", "this trip needs one of your vehicles").On("vehicleId")
	ErrPaymentUnavailable = models.E(models.CodePaymentMethodUnavailable, "该活动不支持此支付方式", "this event cannot be paid that way").On("payWith")
	ErrNotActive          = models.E(CodeNotActive, "该报名已取消", "this registration is already cancelled")
	ErrEventStarted       = models.E(CodeEventStarted, "活动已开始，无法再更改", "the event has started; it can no longer change")
	ErrEventLocked        = models.E(CodeEventLocked, "活动已有报名，费用、人数、车辆要求不能再修改，免费取消截止时间不能提前", "the event has registrations; its fees, party size and vehicle rule can no longer change, nor its cancellation deadline move earlier")
	ErrNotDraft           = models.E(CodeNotDraft, "只有草稿状态的活动可以发布", "only a draft can be published")
	ErrEventCancelled     = models.E(CodeEventCancelled, "该活动已取消", "the event was cancelled")
	ErrNotConfirmed       = models.E(CodeNotConfirmed, "该报名没有确认的名额，无法签到", "this registration holds no confirmed seat; it cannot check in").On("code")
	ErrCheckInNotOpen     = models.E(CodeCheckInNotOpen, "当前不在签到时间内", "check-in is not open now").On("code")

	errEventNotFound        = models.E(models.CodeNotFound, "未找到该活动", "event not found").On("eventId")
	errRegistrationNotFound = models.E(models.CodeNotFound, "未找到该报名", "registration not found")
	errCodeNotFound         = models.E(models.CodeNotFound, "签到码无效", "no registration has this check-in code").On("code")
	errStoreNotFound        = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errVehicleNotFound      = models.E(models.CodeNotFound, "未找到该车辆", "vehicle not found").On("vehicleId")
	errCouponOnMoneyOnly    = models.E(coupons.CodeNotApplicable, "优惠券只能抵扣以余额或微信支付的报名费用",
		"a coupon pays towards a fee in money (wallet or WeChat Pay), not points or a free event").On("couponId")
	errRewardTemplate = models.E(models.CodeNotFound, "未找到该优惠券模板", "coupon template not found").On("rewardCouponTemplateId")
)

// PartyTooLarge is the PARTY_TOO_LARGE refusal for an event that takes at
// most max people per registration.
func PartyTooLarge(max int) *models.Error {
	return models.Ef(CodePartyTooLarge, fmt.Sprintf("每份报名最多 %d 人", max),
		"at most %d people per registration", max).On("partySize")
}

// CapacityBelowConfirmed is the CAPACITY_BELOW_CONFIRMED refusal when
// confirmed seats are already taken.
func CapacityBelowConfirmed(taken int) *models.Error {
	return models.Ef(CodeCapacityBelowConfirmed, fmt.Sprintf("已确认 %d 个名额，容量不能低于此数", taken),
		"%d seats are confirmed; capacity cannot go below that", taken).On("capacity")
}

// AlreadyCheckedIn is the ALREADY_CHECKED_IN refusal naming when the code
// was used (in the store's time zone).
func AlreadyCheckedIn(at time.Time, loc *time.Location) *models.Error {
	t := at.In(loc).Format("2006-01-02 15:04")
	return models.Ef(CodeAlreadyCheckedIn, "该签到码已于 "+t+" 使用", "this code was already used at %s", t).On("code")
}

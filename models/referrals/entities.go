// Package referrals is 老带新: every owner's referral code and link, the
// owners who signed up with it, and the reward both sides earn once the
// referred owner's first paid visit or car purchase qualifies, with the
// abuse checks (same phone, same device, same car). See docs/referrals.md.
package referrals

import (
	"time"

	"github.com/google/uuid"
)

// Status is where a referral is.
type Status string

// Statuses of a referral.
const (
	// Pending: the referred owner signed up; nothing qualified yet.
	Pending Status = "PENDING"
	// Rewarded: a qualifying event rewarded both owners.
	Rewarded Status = "REWARDED"
	// Refused: an abuse check refused the reward (Refusal says which).
	Refused Status = "REFUSED"
)

// Refusal is why a referral earns nothing.
type Refusal string

// Refusals, each an abuse check of docs/referrals.md.
const (
	// SamePhone: the phone was an owner's before (an erased account
	// signing up again).
	SamePhone Refusal = "SAME_PHONE"
	// SameDevice: the referred owner signed up on a device the referrer,
	// or an earlier owner they referred, used.
	SameDevice Refusal = "SAME_DEVICE"
	// SameCar: the qualifying car belonged to the referrer or to an
	// earlier owner they referred.
	SameCar Refusal = "SAME_CAR"
)

// Via is how the referred owner signed up.
type Via string

// Ways of signing up with a code.
const (
	ViaSMS          Via = "SMS"
	ViaWeChat       Via = "WECHAT"
	ViaRegistration Via = "VEHICLE_REGISTRATION"
)

// Event is what qualifies a referral.
type Event string

// Qualifying events.
const (
	// FirstPaidVisit: a settled repair order on which money was paid.
	FirstPaidVisit Event = "FIRST_PAID_VISIT"
	// CarPurchase: a new car registered at delivery.
	CarPurchase Event = "CAR_PURCHASE"
)

// RewardKind is what both owners earn.
type RewardKind string

// Kinds of reward.
const (
	RewardPoints RewardKind = "POINTS"
	RewardCoupon RewardKind = "COUPON"
)

// Code is an owner's referral code.
type Code struct {
	OwnerID   uuid.UUID `gorm:"primaryKey"`
	Code      string
	CreatedAt time.Time
}

// TableName names the codes table.
func (Code) TableName() string { return "referral_codes" }

// Referral is one owner (ReferredID) brought by another (ReferrerID).
type Referral struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	ReferrerID uuid.UUID
	ReferredID uuid.UUID
	Code       string
	// StoreID is the store whose staff follow the referral: where it
	// qualified, or else the referrer's home store.
	StoreID  *uuid.UUID
	Via      Via
	DeviceID string
	// FriendPhone is the referred owner's phone, masked ("138****0001"):
	// what the referrer is shown of them.
	FriendPhone string
	Status      Status
	Refusal     Refusal
	QualifiedBy Event
	// QualifiedRefID is the repair order or the vehicle that qualified.
	QualifiedRefID *uuid.UUID
	VIN            string
	RewardKind     RewardKind
	// Points each side earned (RewardPoints), or the coupon each got.
	ReferrerPoints, ReferredPoints     int64
	ReferrerCouponID, ReferredCouponID *uuid.UUID
	CreatedAt                          time.Time
	DecidedAt                          *time.Time
	UpdatedAt                          time.Time
}

// Device is a device an owner signed in on (the id the app sends).
type Device struct {
	OwnerID   uuid.UUID `gorm:"primaryKey"`
	DeviceID  string    `gorm:"primaryKey"`
	CreatedAt time.Time
}

// TableName names the devices table.
func (Device) TableName() string { return "referral_devices" }

// ErasedPhone is the digest of an erased owner's phone: a sign-up with a
// code from that phone is not a new customer.
type ErasedPhone struct {
	PhoneDigest string `gorm:"primaryKey"`
	ErasedAt    time.Time
}

// TableName names the erased phones table.
func (ErasedPhone) TableName() string { return "referral_erased_phones" }

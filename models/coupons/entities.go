// Package coupons is the owner's coupons: templates a store (or the group)
// defines, coupons issued from them to owners, and their redemption in the
// settlement of a repair order (or another capability's payment) in that
// capability's transaction. See docs/coupons.md.
package coupons

import (
	"time"

	"github.com/google/uuid"
)

// Kind is what a coupon takes off.
type Kind string

// Kinds of coupon.
const (
	// FixedOff takes AmountFen off the bill (at most the bill).
	FixedOff Kind = "FIXED_OFF"
	// PercentOff takes Percent % of the bill, rounded down to the fen, at
	// most CapFen.
	PercentOff Kind = "PERCENT_OFF"
	// FreeItem pays one line of the bill whose item code is ItemCode (the
	// dearest such line), up to CapFen.
	FreeItem Kind = "FREE_ITEM"
)

// Status is where a coupon is in its life.
type Status string

// Statuses of a coupon. A coupon stored AVAILABLE whose end has passed is
// EXPIRED to every reader, before the expiry job writes it.
const (
	Available Status = "AVAILABLE"
	// Reserved: held for a bill not paid yet (a registration waiting for
	// its seats or its online payment); USED when paid, AVAILABLE (or
	// EXPIRED) again if the bill goes away.
	Reserved Status = "RESERVED"
	Used     Status = "USED"
	Expired  Status = "EXPIRED"
	Revoked  Status = "REVOKED"
)

// Source is why an owner got a coupon.
type Source string

// Sources of a coupon. STAFF is issued by an operation, CAMPAIGN by a
// COUPON campaign's dispatch (models/crm); the others are for the
// capabilities that will call Issue in their own transaction (referrals,
// event rewards).
const (
	SourceStaff       Source = "STAFF"
	SourceCampaign    Source = "CAMPAIGN"
	SourceReferral    Source = "REFERRAL"
	SourceEventReward Source = "EVENT_REWARD"
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	switch s {
	case SourceStaff, SourceCampaign, SourceReferral, SourceEventReward:
		return true
	}
	return false
}

// Template is what a store (StoreID) or the group (nil) offers: the value,
// the conditions and the validity of the coupons issued from it.
// Templates do not change once created: a coupon's terms are its
// template's.
type Template struct {
	ID      uuid.UUID `gorm:"primaryKey"`
	StoreID *uuid.UUID
	Name    string
	Kind    Kind
	// AmountFen: FIXED_OFF's value.
	AmountFen int64
	// Percent: PERCENT_OFF's share, 1..99.
	Percent int
	// CapFen: the most PERCENT_OFF and FREE_ITEM take off.
	CapFen int64
	// ItemName (shown to owners) and ItemCode (matched against the codes
	// of a repair order's lines): FREE_ITEM's item.
	ItemName, ItemCode string
	MinSpendFen        int64
	// OrderKinds lists the repair order kinds the coupon pays towards,
	// comma-separated ("" none); EventFees whether it pays event fees.
	OrderKinds string
	EventFees  bool
	// A fixed window (ValidUntil set, ValidFrom optional: from issue), or
	// ValidDays days from issue.
	ValidFrom, ValidUntil *time.Time
	ValidDays             int
	PerOwnerLimit         int
	CreatedBy             uuid.UUID
	CreatedAt             time.Time
}

// TableName names the templates table.
func (Template) TableName() string { return "coupon_templates" }

// Coupon is one coupon of one owner.
type Coupon struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	TemplateID uuid.UUID
	OwnerID    uuid.UUID
	// StoreID is the template's store: where the coupon may be used (nil:
	// anywhere in the group).
	StoreID    *uuid.UUID
	Status     Status
	Source     Source
	ValidFrom  time.Time
	ValidUntil time.Time
	IssuedBy   *uuid.UUID
	IssuedAt   time.Time
	// UsedAt, UsedRefType (REPAIR_ORDER, REGISTRATION), UsedRefID and
	// DiscountFen record the one use of a USED coupon; a RESERVED one has
	// all but UsedAt.
	UsedAt      *time.Time
	UsedRefType string
	UsedRefID   *uuid.UUID
	DiscountFen int64
	RevokedAt   *time.Time
	RevokedBy   *uuid.UUID
	// RemindedAt is when the owner was told the coupon is about to expire.
	RemindedAt *time.Time
	UpdatedAt  time.Time
	// Template is the coupon's template, loaded with it by the reads.
	Template *Template `gorm:"-"`
}

// StatusAt is the coupon's status as owners see it at now: an AVAILABLE
// coupon past its end is EXPIRED.
func (c *Coupon) StatusAt(now time.Time) Status {
	if c.Status == Available && !now.Before(c.ValidUntil) {
		return Expired
	}
	return c.Status
}

// What a used coupon paid towards.
const (
	RefRepairOrder  = "REPAIR_ORDER"
	RefRegistration = "REGISTRATION"
)

// LeftJoinCoupon joins, as alias, the coupon whose id is in column on
// (keeping the caller's rows without one): campaign reports read whether
// the coupon a campaign issued has been used (status USED).
func LeftJoinCoupon(alias, on string) string {
	return "LEFT JOIN coupons " + alias + " ON " + alias + ".id = " + on
}

// Package events is the one registration engine:
// car-care classes (爱车讲堂) and club trips (车友会) with seats, a FIFO
// waitlist, fees paid from the membership wallet or points, refunds before
// the cancellation deadline, check-in codes and attendance points. It calls
// the wallet; nothing below it knows of events.
package events

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Kind is what an event is.
type Kind string

// Kinds of event.
const (
	Class Kind = "CLASS" // 爱车讲堂: a lecture and a real-car demonstration
	Trip  Kind = "TRIP"  // 车友会: a self-drive tour in convoy
)

// Status is where an event is in its life.
type Status string

// Event statuses: a DRAFT is seen by staff only; PUBLISHED events are open
// to owners; CANCELLED ones refunded everybody.
const (
	Draft     Status = "DRAFT"
	Published Status = "PUBLISHED"
	Cancelled Status = "CANCELLED"
)

// RegStatus is where a registration is.
type RegStatus string

// Registration statuses. AWAITING_PAYMENT holds its seats (counted like
// confirmed ones) until HoldExpiresAt while the owner pays the fee with
// WeChat Pay; paid, it is CONFIRMED; unpaid past the hold, it is released
// (CANCELLED, CancelReason HoldReleasedReason) and its seats go to the
// waitlist.
const (
	Confirmed       RegStatus = "CONFIRMED"
	AwaitingPayment RegStatus = "AWAITING_PAYMENT"
	Waitlisted      RegStatus = "WAITLISTED"
	Withdrawn       RegStatus = "CANCELLED"
)

// PayWith is how a registration pays the event's fee.
type PayWith string

// Ways to pay.
const (
	PayWallet PayWith = "WALLET"
	PayPoints PayWith = "POINTS"
	// PayWeChat pays the money fee online with WeChat Pay: the seats are
	// held (AWAITING_PAYMENT) while the owner pays.
	PayWeChat PayWith = "WECHAT_PAY"
)

// Stop is one stop of a trip's itinerary.
type Stop struct {
	At    time.Time `json:"at"`
	Place string    `json:"place"`
	Note  string    `json:"note,omitempty"`
}

// Event is a class or a trip hosted by a store.
type Event struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	StoreID     uuid.UUID
	Kind        Kind
	Status      Status
	Title       string
	Description string
	// Location is the venue of a class or the meeting point of a trip.
	Location string
	// Itinerary is the JSON array of a trip's stops (Stops decodes it).
	Itinerary            string
	StartsAt             time.Time
	EndsAt               time.Time
	RegistrationOpensAt  time.Time
	RegistrationClosesAt time.Time
	// CancellationDeadline: owners who cancel before it are refunded in full.
	CancellationDeadline time.Time
	Capacity             int
	// SeatsTaken is the seats of CONFIRMED registrations and of those
	// AWAITING_PAYMENT (held while the owner pays).
	SeatsTaken int
	// FeeFen and FeePoints are the price of one seat in money (paid from
	// the wallet or with WeChat Pay) and in points; an event may offer either or both.
	FeeFen           int64
	FeePoints        int64
	MinTier          wallet.Tier
	VehicleRequired  bool
	MaxPartySize     int
	AttendancePoints int64
	// RewardCouponTemplateID is the template whose coupon a check-in
	// earns (nil: none).
	RewardCouponTemplateID *uuid.UUID
	Version                int
	CreatedBy              *uuid.UUID
	PublishedAt            *time.Time
	CancelledAt            *time.Time
	CancelReason           string
	RemindedAt             *time.Time
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// Holds reports whether the registration holds seats: confirmed, or held
// while its owner pays.
func (r *Registration) Holds() bool { return r.Status == Confirmed || r.Status == AwaitingPayment }

// SeatsLeft is how many seats are free.
func (e *Event) SeatsLeft() int { return max(0, e.Capacity-e.SeatsTaken) }

// Free reports whether the event costs nothing.
func (e *Event) Free() bool { return e.FeeFen == 0 && e.FeePoints == 0 }

// byStart is the order of the event list: soonest first.
var byStart = models.ByTime("starts_at", "id")

// PageKey is the event's place in the event list.
func (e *Event) PageKey() models.Cursor { return byStart.Key(e.StartsAt, e.ID) }

// CodeFor is the check-in code as actor may see it: the code admits its
// holder, so only the registration's owner sees it, and only while it
// holds a seat; nil otherwise.
func (r *Registration) CodeFor(actor *auth.Principal) *string {
	if actor == nil || !actor.IsOwner() || actor.ID != r.OwnerID || r.Status != Confirmed {
		return nil
	}
	return &r.CheckInCode
}

// Registration is one owner's place (or place in the queue) at an event.
type Registration struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	EventID   uuid.UUID
	OwnerID   uuid.UUID
	VehicleID *uuid.UUID
	PartySize int
	Status    RegStatus
	PayWith   *PayWith
	// WaitlistedAt is when it joined the waitlist: set while WAITLISTED
	// and kept when promoted (nil for one confirmed at once).
	WaitlistedAt *time.Time
	ConfirmedAt  *time.Time
	CancelledAt  *time.Time
	CancelReason string
	// CheckInCode is shown as a QR code; unguessable, one per registration.
	CheckInCode    string
	CheckedInAt    *time.Time
	CheckedInBy    *uuid.UUID
	PaidFen        int64
	PaidPoints     int64
	RefundedFen    int64
	RefundedPoints int64
	// HoldExpiresAt is when the seats of a registration paying with WeChat
	// Pay stop being held for it (set once it held them; kept afterwards).
	HoldExpiresAt *time.Time
	// CouponID is the coupon the owner named at registration and CouponFen
	// what it takes off the money fee (reserved until the fee is paid,
	// given back if the registration is withdrawn with its refund:
	// docs/coupons.md). PaidFen is what was paid after it.
	CouponID  *uuid.UUID
	CouponFen int64
	// RewardCouponID is the coupon the check-in earned (the event's
	// reward), at most one.
	RewardCouponID *uuid.UUID
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RegistrationOf is a subquery for EXISTS: a registration, not cancelled,
// of the owner in column ownerCol for the event in column eventCol, made
// when cond (a condition on column r.created_at) holds. Campaign reports
// count owners who registered with it (index registrations_owner_idx).
func RegistrationOf(ownerCol, eventCol, cond string) string {
	return "SELECT 1 FROM registrations r WHERE r.owner_id = " + ownerCol + " AND r.event_id = " + eventCol +
		" AND r.status <> '" + string(Withdrawn) + "' AND " + cond
}

// Package wallet is the membership account: stored
// value, points and tiers, moved only by appending ledger entries. It knows
// nothing of repair orders or events; they call it.
package wallet

import (
	"time"

	"github.com/google/uuid"
)

// Tier is a membership level, from money spent in the trailing 12 months.
type Tier string

// Tiers, lowest first.
const (
	Basic    Tier = "BASIC"
	Silver   Tier = "SILVER"
	Gold     Tier = "GOLD"
	Platinum Tier = "PLATINUM"
)

// EntryKind is what a ledger entry records.
type EntryKind string

// Kinds of ledger entry.
const (
	TopUp        EntryKind = "TOP_UP"
	TopUpBonus   EntryKind = "TOP_UP_BONUS"
	Spend        EntryKind = "SPEND"
	Refund       EntryKind = "REFUND"
	Adjust       EntryKind = "ADJUST"
	PointsEarn   EntryKind = "POINTS_EARN"
	PointsRedeem EntryKind = "POINTS_REDEEM"
	PointsExpire EntryKind = "POINTS_EXPIRE"
)

// RefType names what an entry belongs to.
type RefType string

// Reference types.
const (
	RefRepairOrder  RefType = "REPAIR_ORDER"
	RefRegistration RefType = "REGISTRATION"
	RefTopUp        RefType = "TOP_UP"
	RefPointsLot    RefType = "POINTS_LOT"
)

// Account is an owner's membership account. BalanceFen and Points always
// equal the sums of the account's ledger entries.
type Account struct {
	OwnerID    uuid.UUID `gorm:"primaryKey"`
	BalanceFen int64
	Points     int64
	Tier       Tier
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TableName names the accounts table.
func (Account) TableName() string { return "membership_accounts" }

// Entry is one append-only ledger entry.
type Entry struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	OwnerID        uuid.UUID
	Kind           EntryKind
	AmountFen      int64 // change of the balance
	Points         int64 // change of the points
	BalanceAfter   int64
	PointsAfter    int64
	SpendFen       int64 // money spent that this entry accounts for (tiers)
	RefType        *RefType
	RefID          *uuid.UUID
	StoreID        *uuid.UUID
	StaffID        *uuid.UUID
	Method         *string // external payment method of a top-up or refund
	Reference      string  // external payment reference
	Memo           string
	IdempotencyKey string
	CreatedAt      time.Time
}

// TableName names the ledger table.
func (Entry) TableName() string { return "ledger_entries" }

// PointsLot is points earned at one time, spent oldest-expiry first.
type PointsLot struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	OwnerID   uuid.UUID
	EntryID   uuid.UUID
	Points    int64
	Remaining int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

// TableName names the lots table.
func (PointsLot) TableName() string { return "points_lots" }

// Membership is what an owner (or staff at the counter) sees of an account.
type Membership struct {
	OwnerID            uuid.UUID
	BalanceFen         int64
	BalanceCapFen      int64
	Points             int64
	Tier               Tier
	SpentLast12MFen    int64
	NextTier           *Tier
	SpendToNextTierFen *int64
	PointsExpiringSoon int64
	NextPointsExpiry   *time.Time
}

// JoinMembership joins the membership account of the owner whose id is in
// the caller's column on, as alias, for another capability's statement
// that filters by tier (an audience).
func JoinMembership(alias, on string) string {
	return "JOIN membership_accounts " + alias + " ON " + alias + ".owner_id = " + on
}

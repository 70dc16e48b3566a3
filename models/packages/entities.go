// Package packages is service packages (套餐): products a store sells (a
// number of visits of one repair order kind for a price, valid some days
// from purchase), the packages owners bought at the cashier or online (a
// payments purpose, online.go), each use consumed by the settlement of a
// repair order in the workshop's transaction, refunds pro rata, and the
// reminder before a package's end (jobs.go). See docs/packages.md.
package packages

import (
	"time"

	"github.com/google/uuid"
)

// Product is a package a store sells. Its terms never change once created
// (an owner's package copies them at the sale); a product can only be
// retired, after which it is no longer sold.
type Product struct {
	ID      uuid.UUID `gorm:"primaryKey"`
	StoreID uuid.UUID
	Name    string
	// OrderKind is the repair order kind whose visits it covers.
	OrderKind string
	// Uses is how many visits it covers.
	Uses     int
	PriceFen int64
	// ValidDays counts from the purchase.
	ValidDays int
	// PerVisitCapFen is the most one visit's use covers (0: the whole
	// billed amount of the visit).
	PerVisitCapFen int64
	RetiredAt      *time.Time
	RetiredBy      *uuid.UUID
	CreatedBy      uuid.UUID
	CreatedAt      time.Time
}

// TableName names the products table.
func (Product) TableName() string { return "service_packages" }

// Status is where an owner's package is in its life.
type Status string

// Statuses of an owner's package. An ACTIVE package past its end is
// EXPIRED to every reader; the stored status never says EXPIRED.
const (
	Active   Status = "ACTIVE"
	UsedUp   Status = "USED_UP"
	Expired  Status = "EXPIRED"
	Refunded Status = "REFUNDED"
)

// Method is how a package was paid.
type Method string

// Payment methods of a sale: the owner's stored value, or money taken at
// the counter (recorded with its reference; cash needs none).
const (
	Wallet    Method = "WALLET"
	Cash      Method = "CASH"
	Card      Method = "CARD"
	WeChatPay Method = "WECHAT_PAY"
	Alipay    Method = "ALIPAY"
	// WeChatPayOnline: bought by the owner in the app or the mini-program
	// (payments.PurposeServicePackage); the package records the payment,
	// and a refund goes back to it.
	WeChatPayOnline Method = "WECHAT_PAY_ONLINE"
)

// Package is one package an owner bought: the product's terms copied at
// the sale, the uses left, how it was paid and, once refunded, what went
// back.
type Package struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	ProductID      uuid.UUID `gorm:"column:package_id"`
	OwnerID        uuid.UUID
	StoreID        uuid.UUID
	OrderKind      string
	UsesTotal      int
	UsesLeft       int
	PriceFen       int64
	PerVisitCapFen int64
	ValidUntil     time.Time
	Status         Status
	PayMethod      Method
	PayReference   string
	// LedgerEntryID is the wallet's SPEND entry of a WALLET sale.
	LedgerEntryID *uuid.UUID
	// PaymentID is the online payment of a WECHAT_PAY_ONLINE purchase
	// (one package per payment).
	PaymentID *uuid.UUID
	// SoldBy is the cashier of a sale at the counter; nil for a package
	// the owner bought online.
	SoldBy *uuid.UUID
	SoldAt time.Time
	// RefundFen, RefundedAt, RefundedBy and RefundLedgerEntryID (the
	// wallet's REFUND entry of a WALLET sale) record a refund.
	RefundFen           int64
	RefundedAt          *time.Time
	RefundedBy          *uuid.UUID
	RefundLedgerEntryID *uuid.UUID
	RemindedAt          *time.Time
	UpdatedAt           time.Time
	// Product is the package's product, loaded with it by the reads.
	Product *Product `gorm:"-"`
}

// TableName names the owners' packages table.
func (Package) TableName() string { return "owner_packages" }

// StatusAt is the package's status as readers see it at now: an ACTIVE
// package past its end is EXPIRED.
func (p *Package) StatusAt(now time.Time) Status {
	if p.Status == Active && !now.Before(p.ValidUntil) {
		return Expired
	}
	return p.Status
}

// Use is one visit a package paid for: the order settled and what the
// package covered of its bill.
type Use struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	PackageID  uuid.UUID `gorm:"column:owner_package_id"`
	OrderID    uuid.UUID
	CoveredFen int64
	UsedBy     *uuid.UUID
	UsedAt     time.Time
}

// TableName names the uses table.
func (Use) TableName() string { return "package_uses" }

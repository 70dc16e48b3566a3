// Package payments is online payment: an owner pays through WeChat Pay for
// one purpose (a top-up of their card), and the payment's effect (the
// ledger entries) is applied exactly once, in the transaction that records
// it paid, whichever of the provider's notification or the server's own
// query brings the news, and however often. docs/payments.md tells the
// states and the guarantees.
package payments

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
)

// Purposes of a payment.
const (
	// PurposeTopUp puts money on the owner's card at a store, with the
	// store's bonus rules, when the payment succeeds.
	PurposeTopUp = "TOP_UP"
	// PurposeEventFee pays an event registration's fee: the seat is held
	// while the owner pays.
	PurposeEventFee = "EVENT_FEE"
	// PurposeRepairBill pays a repair order's bill: the order is settled
	// when the payment succeeds.
	PurposeRepairBill = "REPAIR_BILL"
	// PurposeServicePackage buys a store's service package (套餐): the
	// owner's package is created when the payment succeeds.
	PurposeServicePackage = "SERVICE_PACKAGE"
)

// tradeNoPrefix names a purpose in out_trade_no, so that a statement line
// tells what it paid for.
var tradeNoPrefix = map[string]string{PurposeTopUp: "TU", PurposeEventFee: "EF", PurposeRepairBill: "RB",
	PurposeServicePackage: "SP"}

// States of a payment. PENDING until the provider says it was paid (PAID)
// or it can no longer be (CLOSED, FAILED); REFUNDING and REFUNDED follow
// PAID when the money goes back.
const (
	StatePending   = "PENDING"
	StatePaid      = "PAID"
	StateClosed    = "CLOSED"
	StateRefunding = "REFUNDING"
	StateRefunded  = "REFUNDED"
	StateFailed    = "FAILED"
)

// Trade types: how the owner pays.
const (
	// TradeJSAPI is the mini-program's wx.requestPayment (needs the
	// owner's openid from WeChat sign-in).
	TradeJSAPI = "JSAPI"
	// TradeApp is the owner app through the WeChat open SDK.
	TradeApp = "APP"
)

// DefaultHold is how long a payment may be paid once started: then it is
// closed with the provider.
const DefaultHold = 15 * time.Minute

// rolesRead may read the payments of their stores (the counter).
var rolesRead = []auth.Role{auth.RoleCashier, auth.RoleManager}

// Payment is one online payment (a row of payments).
type Payment struct {
	ID      uuid.UUID `gorm:"primaryKey"`
	OwnerID uuid.UUID
	StoreID uuid.UUID
	Purpose string
	// ReferenceID is the thing paid for: the registration (EVENT_FEE),
	// the repair order (REPAIR_BILL) or the package product
	// (SERVICE_PACKAGE); nil for a top-up.
	ReferenceID *uuid.UUID
	AmountFen   int64
	// RefundedFen is how much went back to the payer (refunds that
	// succeeded).
	RefundedFen int64
	// OutTradeNo is the provider's name for it: a purpose prefix and the
	// id, 32 characters.
	OutTradeNo     string
	TradeType      string
	PayerOpenID    *string `gorm:"column:payer_openid"`
	PrepayID       string
	State          string
	TransactionID  *string
	IdempotencyKey string
	ExpiresAt      time.Time
	PaidAt         *time.Time
	ClosedAt       *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName names the payments table.
func (Payment) TableName() string { return "payments" }

// tradeNo is a provider's name for one of ours (out_trade_no,
// out_refund_no): a two-letter prefix ("TU" for a top-up, "RF" for a
// refund, ...) and the id's 30 first hex digits (WeChat Pay allows 6 to 32
// of [0-9A-Za-z_-|*]).
func tradeNo(prefix string, id uuid.UUID) string {
	hex := id.String()
	hex = hex[0:8] + hex[9:13] + hex[14:18] + hex[19:23] + hex[24:]
	return prefix + hex[:30]
}

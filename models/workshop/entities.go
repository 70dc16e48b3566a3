// Package workshop is the repair order lifecycle:
// check-in, items and owner approvals, the state machine, settlement, the
// workshop board and service history.
package workshop

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Status is where an order is; the board's columns.
type Status string

// Statuses of a repair order.
const (
	CheckedIn        Status = "CHECKED_IN"
	Diagnosing       Status = "DIAGNOSING"
	InProgress       Status = "IN_PROGRESS"
	WaitingParts     Status = "WAITING_PARTS"
	AwaitingApproval Status = "AWAITING_APPROVAL"
	QualityCheck     Status = "QUALITY_CHECK"
	Washing          Status = "WASHING"
	ReadyForPickup   Status = "READY_FOR_PICKUP"
	Delivered        Status = "DELIVERED"
	Cancelled        Status = "CANCELLED"
)

// Kind is the kind of visit.
type Kind string

// Kinds of repair order.
const (
	Maintenance Kind = "MAINTENANCE"
	Repair      Kind = "REPAIR"
	Warranty    Kind = "WARRANTY"
	Accident    Kind = "ACCIDENT"
	BodyPaint   Kind = "BODY_PAINT"
	Detailing   Kind = "DETAILING"
)

// ItemKind is labour or a part.
type ItemKind string

// Item kinds.
const (
	Labor ItemKind = "LABOR"
	Part  ItemKind = "PART"
)

// Approval is an item's approval state.
type Approval string

// Approval states.
const (
	PreApproved Approval = "PRE_APPROVED"
	Pending     Approval = "PENDING"
	Approved    Approval = "APPROVED"
	Declined    Approval = "DECLINED"
)

// PaymentMethod is how (part of) a bill was paid.
type PaymentMethod string

// Payment methods. WALLET and POINTS move the owner's membership account.
const (
	Cash      PaymentMethod = "CASH"
	BankCard  PaymentMethod = "CARD"
	WeChatPay PaymentMethod = "WECHAT_PAY"
	Alipay    PaymentMethod = "ALIPAY"
	Wallet    PaymentMethod = "WALLET"
	Points    PaymentMethod = "POINTS"
	// Coupon is the discount of the owner's coupon named at settlement
	// (SettleInput.CouponID; its reference is the coupon's id). Never a
	// payment of the input: see docs/coupons.md.
	Coupon PaymentMethod = "COUPON"
	// Package is what the owner's service package named at settlement
	// covered (SettleInput.PackageID; its reference is the package's id).
	// Never a payment of the input: see docs/packages.md.
	Package PaymentMethod = "PACKAGE"
)

// RepairOrder is one visit of one car to the workshop.
type RepairOrder struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	Number       string    // <store code>-<yyyymmdd>-<seq>
	StoreID      uuid.UUID
	VehicleID    uuid.UUID
	OwnerID      uuid.UUID // owner at check-in
	AdvisorID    uuid.UUID
	TechnicianID *uuid.UUID
	Bay          *string
	Kind         Kind
	Concern      string
	MileageIn    int
	PromisedAt   *time.Time
	Status       Status
	// ResumeStatus is the status an order in AWAITING_APPROVAL returns to
	// when no item is pending any more.
	ResumeStatus         *Status
	StatusChangedAt      time.Time
	Version              int // bumped by every change; optimistic concurrency token
	AppointmentID        *uuid.UUID
	FirstFreeMaintenance bool
	NextServiceDate      *models.Date
	NextServiceKm        *int
	CancelReason         *string
	TotalFen             int64 // fixed at settlement
	WarrantyFen          int64
	PayableFen           int64
	SettledAt            *time.Time
	SettledBy            *uuid.UUID
	DeliveredAt          *time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// Item is a line of a repair order.
type Item struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	OrderID       uuid.UUID
	Kind          ItemKind
	Code          string
	Description   string
	QuantityMilli int   // thousandths: 1500 = 1.5 hours
	UnitPriceFen  int64 // per whole unit
	AmountFen     int64 // QuantityMilli * UnitPriceFen / 1000, rounded half up
	Warranty      bool
	Approval      Approval
	RequestedAt   *time.Time
	SeenAt        *time.Time
	DecidedAt     *time.Time
	WorkStartedAt *time.Time
	CreatedBy     uuid.UUID
	CreatedAt     time.Time
}

// TableName names the items table.
func (Item) TableName() string { return "repair_order_items" }

// Event is one status change of an order (its timeline).
type Event struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	OrderID    uuid.UUID
	FromStatus *Status
	ToStatus   Status
	ActorKind  string // OWNER, STAFF, SYSTEM
	ActorID    *uuid.UUID
	Note       string
	CreatedAt  time.Time
}

// TableName names the timeline table.
func (Event) TableName() string { return "repair_order_events" }

// Payment is one payment recorded at settlement.
type Payment struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	OrderID       uuid.UUID
	Method        PaymentMethod
	AmountFen     int64
	Points        int64
	Reference     string
	LedgerEntryID *uuid.UUID // WALLET and POINTS: the membership ledger entry
	// CreatedBy is the staff member who recorded it at the counter; nil
	// for a bill paid online.
	CreatedBy *uuid.UUID
	// OnlinePaymentID is the online payment (package payments) that paid
	// the bill, which recorded this WECHAT_PAY line itself; nil at the
	// counter.
	OnlinePaymentID *uuid.UUID
	CreatedAt       time.Time
}

// TableName names the payments table.
func (Payment) TableName() string { return "repair_order_payments" }

// Sequence is the last order number handed out per store and local day.
type Sequence struct {
	StoreID uuid.UUID `gorm:"primaryKey"`
	Day     string    `gorm:"primaryKey"` // yyyymmdd in the store's time zone
	LastSeq int
}

// TableName names the sequences table.
func (Sequence) TableName() string { return "repair_order_sequences" }

// BoardVersion moves with every change to a store's orders.
type BoardVersion struct {
	StoreID   uuid.UUID `gorm:"primaryKey"`
	Version   int64
	UpdatedAt time.Time
}

// TableName names the board versions table.
func (BoardVersion) TableName() string { return "store_boards" }

// ScreenToken grants a workshop screen read access to one store's board.
// The screen's bearer token is a signed token naming this row; the row is
// what revocation turns off.
type ScreenToken struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	StoreID   uuid.UUID
	Name      string
	CreatedBy uuid.UUID
	CreatedAt time.Time
	RevokedAt *time.Time
}

// SettledOrdersOf is the FROM and WHERE of the settled repair orders (alias
// ro) of the owner in column ownerCol, at any store, checked in when cond
// (a condition on column ro.created_at) holds: campaign reports count the
// visits and the payable amount (ro.payable_fen) of invited owners with it
// (index repair_orders_owner_idx).
func SettledOrdersOf(ownerCol, cond string) string {
	return "FROM repair_orders ro WHERE ro.owner_id = " + ownerCol + " AND ro.settled_at IS NOT NULL AND " + cond
}

// JoinSettledOrders joins the same orders as SettledOrdersOf (alias ro) to
// the caller's rows: campaign reports count them per store.
func JoinSettledOrders(ownerCol, cond string) string {
	return "JOIN repair_orders ro ON ro.owner_id = " + ownerCol + " AND ro.settled_at IS NOT NULL AND " + cond
}

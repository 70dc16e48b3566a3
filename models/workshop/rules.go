package workshop

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The pure rules of the workshop: the state machine,
// item and payment arithmetic, and input limits. No I/O; operations call
// these inside their transaction.

// Limits of workshop input.
const (
	MaxConcernRunes     = 500
	MaxNoteRunes        = 500
	MaxDescriptionRunes = 200
	MaxCodeRunes        = 40
	MaxBayRunes         = 20
	MaxReferenceRunes   = 64
	MaxScreenNameRunes  = 40
	// MaxQuantityMilli is 1,000 units (or hours) in thousandths.
	MaxQuantityMilli = 1_000_000
	// MaxUnitPriceFen is ¥100,000 per unit.
	MaxUnitPriceFen = 10_000_000
	// MaxItemsPerRequest bounds the items of one check-in.
	MaxItemsPerRequest = 100
	// MaxPayments bounds the payments of one settlement.
	MaxPayments = 10
	// MaxDecisions bounds the decisions of one request.
	MaxDecisions = 100
	// MaxPromiseAhead bounds how far ahead a promised time may lie.
	MaxPromiseAhead = 365 * 24 * time.Hour
	// MaxNextServiceYears bounds how far ahead the next service may be due.
	MaxNextServiceYears = 5
)

// Statuses lists every status in workflow order, CANCELLED last.
var Statuses = []Status{CheckedIn, Diagnosing, InProgress, WaitingParts, AwaitingApproval, QualityCheck, Washing, ReadyForPickup, Delivered, Cancelled}

// BoardColumns are the board's columns in workflow order: every status but
// CANCELLED. The DELIVERED column holds the orders delivered today.
var BoardColumns = Statuses[:len(Statuses)-1]

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether an order in s accepts no more changes.
func (s Status) Closed() bool { return s == Delivered || s == Cancelled }

// Valid reports whether k is a known kind of visit.
func (k Kind) Valid() bool {
	switch k {
	case Maintenance, Repair, Warranty, Accident, BodyPaint, Detailing:
		return true
	}
	return false
}

// Valid reports whether k is LABOR or PART.
func (k ItemKind) Valid() bool { return k == Labor || k == Part }

// Valid reports whether m is a known payment method.
func (m PaymentMethod) Valid() bool {
	switch m {
	case Cash, BankCard, WeChatPay, Alipay, Wallet, Points:
		return true
	}
	return false
}

// moves is the repair order state machine without CANCELLED (which
// every open status may move to). AWAITING_APPROVAL has no manual exit: the
// order returns to its ResumeStatus when no item is pending.
var moves = map[Status][]Status{
	CheckedIn:        {Diagnosing, InProgress},
	Diagnosing:       {InProgress, AwaitingApproval},
	InProgress:       {WaitingParts, AwaitingApproval, QualityCheck},
	WaitingParts:     {InProgress},
	AwaitingApproval: nil,
	QualityCheck:     {Washing, ReadyForPickup, InProgress},
	Washing:          {ReadyForPickup},
	ReadyForPickup:   {Delivered},
}

// CanMove reports whether staff may move an order from one status to another.
func CanMove(from, to Status) bool {
	if from.Closed() || !from.Valid() {
		return false
	}
	if to == Cancelled {
		return true
	}
	return slices.Contains(moves[from], to)
}

// CanAwaitApproval reports whether an order in s may wait for the owner's
// approval of extra work: it is being diagnosed or worked on (or already
// waiting).
func CanAwaitApproval(s Status) bool {
	return s == Diagnosing || s == InProgress || s == AwaitingApproval
}

// NeedsReason reports whether a move needs a note saying why: a failed
// quality check sends the car back to work, and a cancellation.
func NeedsReason(from, to Status) bool {
	return to == Cancelled || (from == QualityCheck && to == InProgress)
}

// CheckMove is the state machine's verdict on a manual move with its note.
//
// Codes: ORDER_CLOSED (from DELIVERED or CANCELLED), INVALID_TRANSITION,
// REASON_REQUIRED ("note").
func CheckMove(from, to Status, note string) error {
	if from.Closed() {
		return ErrOrderClosed
	}
	if !CanMove(from, to) {
		if from == AwaitingApproval {
			return models.E(CodeInvalidTransition, "工单正在等待车主确认追加项目，车主确认后将自动恢复",
				"the order waits for the owner's decision on extra work and returns to its previous status by itself")
		}
		return models.Ef(CodeInvalidTransition, "工单不能从"+statusLabel[from]+"转到"+statusLabel[to],
			"an order cannot move from %s to %s", from, to)
	}
	if NeedsReason(from, to) && strings.TrimSpace(note) == "" {
		return ErrReasonRequired
	}
	return nil
}

// statusLabel names statuses in refusals to staff.
var statusLabel = map[Status]string{
	CheckedIn: "已接车", Diagnosing: "诊断中", InProgress: "维修中", WaitingParts: "待料",
	AwaitingApproval: "待客户确认", QualityCheck: "质检", Washing: "洗车", ReadyForPickup: "待取车",
	Delivered: "已交车", Cancelled: "已取消",
}

// ItemAmount is quantity (in thousandths) times the unit price, rounded half
// up to the fen: 1.5 h at ¥180.33 is 27049.5 fen, charged 27050.
func ItemAmount(quantityMilli int, unitPriceFen int64) int64 {
	p := int64(quantityMilli) * unitPriceFen
	if p < 0 {
		return -((-p + 500) / 1000)
	}
	return (p + 500) / 1000
}

// TotalsView is the money of an order, in fen.
type TotalsView struct {
	// TotalFen: every PRE_APPROVED or APPROVED item.
	TotalFen int64
	// WarrantyFen: the part of TotalFen covered by warranty.
	WarrantyFen int64
	// PayableFen: TotalFen - WarrantyFen, what the owner pays.
	PayableFen int64
	// PaidFen: the sum of recorded payments.
	PaidFen int64
	// PendingFen: items waiting for the owner's decision.
	PendingFen int64
	// DeclinedFen: items the owner declined.
	DeclinedFen int64
}

// Totals adds up an order's items and payments.
func Totals(items []*Item, payments []*Payment) TotalsView {
	var t TotalsView
	for _, it := range items {
		switch it.Approval {
		case PreApproved, Approved:
			t.TotalFen += it.AmountFen
			if it.Warranty {
				t.WarrantyFen += it.AmountFen
			}
		case Pending:
			t.PendingFen += it.AmountFen
		case Declined:
			t.DeclinedFen += it.AmountFen
		}
	}
	t.PayableFen = t.TotalFen - t.WarrantyFen
	for _, p := range payments {
		t.PaidFen += p.AmountFen
	}
	return t
}

// Overdue reports whether an order is past its promised time and not yet
// ready (or gone).
func Overdue(o *RepairOrder, now time.Time) bool {
	if o.PromisedAt == nil {
		return false
	}
	switch o.Status {
	case ReadyForPickup, Delivered, Cancelled:
		return false
	}
	return o.PromisedAt.Before(now)
}

// PaymentsVisible reports whether actor may see how o was paid (methods,
// amounts, card slips and transaction references): the order's owner and
// staff of its store (GROUP_ADMIN: every store). Service history is shared
// across the group; how a bill was paid stays with the owner and the store.
func PaymentsVisible(actor *auth.Principal, o *RepairOrder) bool {
	if actor == nil {
		return false
	}
	return actor.IsOwner() && actor.ID == o.OwnerID || actor.CanAccessStore(o.StoreID)
}

// MinutesInStatus is how long the order has been in its status, in whole
// minutes (never negative).
func MinutesInStatus(o *RepairOrder, now time.Time) int {
	d := now.Sub(o.StatusChangedAt)
	if d < 0 {
		return 0
	}
	return int(d / time.Minute)
}

// OrderLink links an order; its notifications open it.
func OrderLink(orderID uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefRepairOrder, orderID))
}

// text is models.Text.
func text(field, label, s string, minRunes, maxRunes int, multiline bool) (string, error) {
	return models.Text(field, label, s, minRunes, maxRunes, multiline)
}

// checkItem validates an item's input and returns it normalized. prefix is
// the input path of the item ("item", "items[2]").
func checkItem(prefix string, in ItemInput) (ItemInput, error) {
	f := func(name string) string { return prefix + "." + name }
	if !in.Kind.Valid() {
		return in, models.Invalid(f("kind"), "项目类型须为工时或配件", "kind must be LABOR or PART")
	}
	var err error
	if in.Code, err = text(f("code"), "项目编码", in.Code, 0, MaxCodeRunes, false); err != nil {
		return in, err
	}
	if in.Description, err = text(f("description"), "项目名称", in.Description, 1, MaxDescriptionRunes, false); err != nil {
		return in, err
	}
	if in.QuantityMilli < 1 || in.QuantityMilli > MaxQuantityMilli {
		return in, models.Ef(models.CodeInvalidArgument, "数量须在 0.001 到 1000 之间",
			"quantity must be between 0.001 and %d", MaxQuantityMilli/1000).On(f("quantity"))
	}
	if in.UnitPriceFen < 0 || in.UnitPriceFen > MaxUnitPriceFen {
		return in, models.Ef(models.CodeInvalidArgument, "单价须在 0 到 100000 元之间",
			"unitPriceFen must be between 0 and %d", MaxUnitPriceFen).On(f("unitPriceFen"))
	}
	return in, nil
}

// checkPayments validates the shape of a settlement's payments and returns
// them normalized. Whether they add up is for the operation to decide.
// WALLET and POINTS need the membership wallet (walletOn); each may appear
// once. A POINTS payment names its Points; its AmountFen is their value
// (wallet.PointsValueFen), computed when given as 0.
//
// Codes: PAYMENT_METHOD_UNAVAILABLE, INVALID_ARGUMENT.
func checkPayments(in []PaymentInput, walletOn bool) ([]PaymentInput, error) {
	if len(in) > MaxPayments {
		return nil, models.Ef(models.CodeInvalidArgument, "付款笔数过多", "at most %d payments", MaxPayments).On("payments")
	}
	out := make([]PaymentInput, len(in))
	seen := map[PaymentMethod]bool{}
	for i, p := range in {
		f := func(name string) string { return fmt.Sprintf("payments[%d].%s", i, name) }
		p, err := checkPayment(p, walletOn, seen[p.Method], f)
		if err != nil {
			return nil, err
		}
		seen[p.Method] = true
		out[i] = p
	}
	return out, nil
}

// checkPayment checks one payment, its fields named by f: its method
// (again: one of its method came before), then its amount and points, then
// its reference; and returns it normalized.
func checkPayment(p PaymentInput, walletOn, again bool, f func(string) string) (PaymentInput, error) {
	if p.Method == Points && p.AmountFen == 0 && p.Points > 0 && p.Points <= maxPaymentFen {
		p.AmountFen = wallet.PointsValueFen(p.Points)
	}
	if err := checkPaymentMethod(p.Method, walletOn, again, f); err != nil {
		return p, err
	}
	if err := checkPaymentAmount(p, f); err != nil {
		return p, err
	}
	ref, err := text(f("reference"), "付款凭证号", p.Reference, 0, MaxReferenceRunes, false)
	if err != nil {
		return p, err
	}
	if ref == "" && p.Method != Cash && p.Method != Wallet && p.Method != Points {
		return p, models.Invalid(f("reference"), "请填写付款凭证号（刷卡单号或交易单号）", "reference is required for card and online payments")
	}
	p.Reference = ref
	return p, nil
}

// checkPaymentMethod refuses an unknown method, WALLET or POINTS without
// the wallet, and a second WALLET or POINTS payment (again).
func checkPaymentMethod(m PaymentMethod, walletOn, again bool, f func(string) string) error {
	member := m == Wallet || m == Points
	switch {
	case member && !walletOn:
		return ErrMethodUnavailable.On(f("method"))
	case !m.Valid():
		return models.Invalid(f("method"), "付款方式无效", "unknown payment method")
	case member && again:
		return models.Invalid(f("method"), "储值和积分各只能付款一笔", "at most one WALLET and one POINTS payment")
	}
	return nil
}

// checkPaymentAmount refuses an amount outside 1..maxPaymentFen, a POINTS
// payment without points or whose amount is not their value, and points on
// any other payment.
func checkPaymentAmount(p PaymentInput, f func(string) string) error {
	switch {
	case p.Method == Points && (p.Points <= 0 || p.Points > maxPaymentFen):
		return models.Invalid(f("points"), "请填写抵扣积分", "points must be positive for a POINTS payment")
	case p.AmountFen <= 0 || p.AmountFen > maxPaymentFen:
		return models.Ef(models.CodeInvalidArgument, "付款金额须大于 0", "amountFen must be between 1 and %d", int64(maxPaymentFen)).On(f("amountFen"))
	case p.Method == Points && p.AmountFen != wallet.PointsValueFen(p.Points):
		return models.Ef(models.CodeInvalidArgument, "积分抵扣金额须为积分数除以 100 元（100 积分 = 1 元）",
			"amountFen of a POINTS payment must be 0 or the points' value, %d", wallet.PointsValueFen(p.Points)).On(f("amountFen"))
	case p.Method != Points && p.Points != 0:
		return models.Invalid(f("points"), "只有积分付款可以使用积分", "points apply to POINTS payments only")
	}
	return nil
}

// maxPaymentFen bounds one payment (¥100 million), far above any bill and
// far below overflow when several are added.
const maxPaymentFen = 10_000_000_000

// ApprovalDeliveriesVisible reports whether actor sees how o's approval
// requests reached its owner: staff of o's store (GROUP_ADMIN: every
// store) in rolesApprovalDeliveries. Not the owner: the owner sees the
// request itself.
func ApprovalDeliveriesVisible(actor *auth.Principal, o *RepairOrder) bool {
	return actor != nil && actor.IsStaff() && actor.CanAccessStore(o.StoreID) && actor.HasAnyRole(rolesApprovalDeliveries...)
}

package workshop

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/payments"
)

// A repair bill paid online (payments.PurposeRepairBill): the owner pays
// what is due before pickup and the payment settles the order, through
// the settlement the counter uses, in the transaction that records the
// payment paid. docs/payments.md tells the rules.

// CodeNothingDue: an online payment of a bill with nothing to pay (all of
// it warranty-covered, or paid).
const CodeNothingDue models.Code = "NOTHING_DUE"

var (
	// ErrBillPaymentInFlight: an online payment of the order's bill is
	// open (PENDING): the owner is paying it. A second start waits for it;
	// so does the counter.
	ErrBillPaymentInFlight = models.E(payments.CodePaymentInFlight, "车主正在线上支付该工单，请等待支付完成或关闭（最长约 20 分钟）",
		"an online payment of this bill is open: wait until it is paid or closed (at most about 20 minutes)")
	// ErrNothingDue: the bill has nothing left to pay.
	ErrNothingDue = models.E(CodeNothingDue, "该工单无需支付", "nothing is due on this order")
)

// Reasons a payment of a bill goes back: what the owner reads on the
// refund.
const (
	refundSettled   = "工单已在门店结算，在线支付原路退回"
	refundClosed    = "工单已取消或已交车，在线支付原路退回"
	refundNotReady  = "工单有待确认或未完工的项目，在线支付原路退回"
	refundBillMoved = "工单金额已变更，在线支付原路退回，请按新金额重新支付"
)

// BillPurpose is the handler of payments.PurposeRepairBill, registered on
// payments.Service.Purposes when the server is wired.
func (s *Service) BillPurpose() payments.Purpose { return billPurpose{s} }

type billPurpose struct{ s *Service }

// Prepare checks an owner's start of a bill payment, under the order's
// row lock and in the payment's transaction: the order is one the owner
// may see (directory.ScopeByCar), can be settled (Settle's rules) and is
// not, has something due, and has no online payment open. The payment is
// what is due (payable minus paid) at the order's store.
//
// Codes: INVALID_ARGUMENT ("repairOrderId": none given; "storeId": not the
// order's store; "amountFen": not what is due), NOT_FOUND
// ("repairOrderId": absent, or an order the owner may not see),
// ALREADY_SETTLED, ORDER_CLOSED, WORK_NOT_FINISHED, NOTHING_DUE,
// PAYMENT_IN_FLIGHT.
func (b billPurpose) Prepare(ctx context.Context, ownerID uuid.UUID, in payments.StartInput) (payments.Intent, error) {
	if in.ReferenceID == nil {
		return payments.Intent{}, models.Invalid("repairOrderId", "请选择要支付的工单", "a repair bill needs the order (repairOrderId)")
	}
	owner := &auth.Principal{Kind: auth.KindOwner, ID: ownerID}
	q := directory.ScopeByCar(b.s.DB.Conn(ctx).Where("id = ?", *in.ReferenceID), owner, nil, "")
	var o RepairOrder
	if err := b.s.DB.ForUpdate(q).Take(&o).Error; err != nil {
		return payments.Intent{}, models.NotFoundAs(err, errOrderNotFound.On("repairOrderId"))
	}
	c := &change{s: b.s, ctx: ctx, actor: owner, now: b.s.Clock.Now(ctx), o: &o}
	due, err := c.due()
	if err != nil {
		return payments.Intent{}, err
	}
	switch {
	case in.StoreID != uuid.Nil && in.StoreID != o.StoreID:
		return payments.Intent{}, models.Invalid("storeId", "门店与工单不符", "a repair bill is paid to the order's store")
	case in.AmountFen != 0 && in.AmountFen != due:
		return payments.Intent{}, models.Ef(models.CodeInvalidArgument, "工单应付金额为 "+models.Yuan(due),
			"%d fen is due on the order", due).On("amountFen")
	}
	if err := c.noPaymentInFlight(); err != nil {
		return payments.Intent{}, err
	}
	return payments.Intent{StoreID: o.StoreID, AmountFen: due, ReferenceID: &o.ID,
		Description: "维修结算 " + o.Number + " " + models.Yuan(due)}, nil
}

// due is what is left to pay on the locked order, which must be one that
// Settle would take.
//
// Codes: ALREADY_SETTLED, ORDER_CLOSED, WORK_NOT_FINISHED, NOTHING_DUE.
func (c *change) due() (int64, error) {
	if c.o.SettledAt != nil {
		return 0, ErrAlreadySettled
	}
	if err := c.open(); err != nil {
		return 0, err
	}
	if !slices.Contains(settleStatuses, c.o.Status) {
		return 0, ErrWorkNotFinished
	}
	items, err := c.loadItems()
	if err != nil {
		return 0, err
	}
	if slices.ContainsFunc(items, func(it *Item) bool { return it.Approval == Pending }) {
		return 0, ErrWorkNotFinished
	}
	var paid []*Payment
	if err := c.s.DB.Conn(c.ctx).Where("order_id = ?", c.o.ID).Find(&paid).Error; err != nil {
		return 0, err
	}
	t := Totals(items, paid)
	if t.PayableFen-t.PaidFen <= 0 {
		return 0, ErrNothingDue
	}
	return t.PayableFen - t.PaidFen, nil
}

// noPaymentInFlight refuses to settle, or to start paying, the locked
// order's bill while an online payment of it is open.
//
// Codes: PAYMENT_IN_FLIGHT.
func (c *change) noPaymentInFlight() error {
	if c.s.Payments == nil {
		return nil
	}
	p, err := c.s.Payments.PaymentFor(c.ctx, c.o.ID)
	if err != nil {
		return err
	}
	if p != nil && p.State == payments.StatePending {
		return ErrBillPaymentInFlight
	}
	return nil
}

// Paid settles the order p paid for, in the transaction that records p
// paid: one WECHAT_PAY line of p's amount with WeChat Pay's transaction id,
// the points the money earns, the board and the order's subscribers told,
// as a settlement at the counter. An order that can no longer take it
// (settled at the counter meanwhile, cancelled or delivered, items waiting
// for the owner, or a bill that is not p's amount any more) is left as it
// is and p goes back whole: the reason is returned.
func (b billPurpose) Paid(ctx context.Context, p *payments.Payment) (string, error) {
	if p.ReferenceID == nil {
		return "", errOrderNotFound
	}
	var reason string
	owner := &auth.Principal{Kind: auth.KindOwner, ID: p.OwnerID}
	_, err := b.s.write(ctx, owner, nil, func(ctx context.Context) (*RepairOrder, error) {
		var o RepairOrder
		if err := b.s.DB.ForUpdate(b.s.DB.Conn(ctx).Where("id = ?", *p.ReferenceID)).Take(&o).Error; err != nil {
			return nil, err
		}
		return &o, nil
	}, func(c *change) error {
		c.online = &p.ID
		due, err := c.due()
		switch {
		case errors.Is(err, ErrAlreadySettled):
			reason = refundSettled
		case errors.Is(err, ErrOrderClosed):
			reason = refundClosed
		case errors.Is(err, ErrWorkNotFinished):
			reason = refundNotReady
		case errors.Is(err, ErrNothingDue):
			reason = refundBillMoved
		case err != nil:
			return err
		case due != p.AmountFen:
			reason = refundBillMoved
		}
		if reason != "" {
			return errNoSettlement
		}
		pays, err := checkPayments([]PaymentInput{{Method: WeChatPay, AmountFen: p.AmountFen, Reference: deref(p.TransactionID)}}, b.s.Wallet != nil)
		if err != nil {
			return err
		}
		return c.settle(pays, discounts{}, nil, nil)
	})
	if errors.Is(err, errNoSettlement) {
		return reason, nil
	}
	return "", err
}

// errNoSettlement rolls back the order's write when the payment goes back
// (the write joins the payment's transaction: nothing of it was written).
var errNoSettlement = errors.New("workshop: the order cannot take the payment")

// Closed: a bill payment holds nothing (the order stays as it is while it
// is paid; the counter waits for it), so nothing is released.
func (billPurpose) Closed(context.Context, *payments.Payment) error { return nil }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

package payments

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
)

// States of a refund. PENDING: decided and recorded, not yet accepted by
// the provider; PROCESSING: accepted, the money is on its way; SUCCESS:
// back with the payer; CLOSED or ABNORMAL: the provider gave up (the
// payer's account is closed, ...) and staff must pay it back by hand.
const (
	RefundPending    = "PENDING"
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL"
)

// refundsOwed are the states of a refund decided and not yet back with the
// payer.
var refundsOwed = []string{RefundPending, RefundProcessing, RefundClosed, RefundAbnormal}

// Causes of a refund: why the money goes back.
const (
	// CauseNotApplicable: the payment arrived for something it could no
	// longer pay for (a full card, a seat given away, a bill settled).
	CauseNotApplicable = "NOT_APPLICABLE"
	// CauseCancelled: what was paid for was cancelled (an event
	// registration by the owner before the deadline, or the event by the
	// store).
	CauseCancelled = "CANCELLED"
	// CauseStaff: a manager refunded it.
	CauseStaff = "STAFF"
)

// Refund is money going back to a payer, to the payment it came from (a
// row of payment_refunds).
type Refund struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	PaymentID uuid.UUID
	// OutRefundNo is the provider's name for it: "RF" and 30 hex digits of
	// the id; sending it again refunds once.
	OutRefundNo string
	AmountFen   int64
	Cause       string
	// Reason is what the payer's WeChat bill shows.
	Reason          string
	State           string
	RefundID        *string
	RequestedBy     *uuid.UUID
	ManualReference *string
	// ManualNote and ManualBy: what staff noted with a refund paid back by
	// hand, and who recorded it.
	ManualNote  *string
	ManualBy    *uuid.UUID
	SucceededAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName names the refunds table.
func (Refund) TableName() string { return "payment_refunds" }

// RefundRequest asks for money of a paid payment to go back.
type RefundRequest struct {
	PaymentID uuid.UUID
	// AmountFen is how much (0: all that has not gone back yet).
	AmountFen int64
	Cause     string
	// Reason is what the payer reads (WeChat shows it on the refund).
	Reason string
	// RequestedBy is the staff member who decided it (nil: the server).
	RequestedBy *uuid.UUID
}

var (
	errNotRefundable = models.E(models.CodeConflict, "该支付未成功或已全部退款，无法退款",
		"only a paid payment with money not yet refunded can be refunded")
	errRefundTooMuch = models.E(models.CodeInvalidArgument, "退款金额超过可退金额",
		"the refund is more than what is left to refund").On("amountFen")
)

// RequestRefund records a refund of a paid payment, in the caller's
// transaction (so the refund is decided with what causes it, or not at
// all): under the payment's lock, the amount is checked against what is
// not refunded or being refunded yet, the refund is written PENDING and the
// payment set REFUNDING. Sending it to the provider happens after the
// commit.
//
// Codes: NOT_FOUND (no such payment), CONFLICT (not paid, or nothing left
// to refund), INVALID_ARGUMENT ("amountFen": more than is left).
func (s *Service) RequestRefund(ctx context.Context, r RefundRequest) (*Refund, error) {
	var out *Refund
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		p, err := s.lock(ctx, r.PaymentID)
		if err != nil {
			return err
		}
		out, err = s.refund(ctx, p, r)
		return err
	})
	return out, err
}

// lock reads a payment under its row lock.
func (s *Service) lock(ctx context.Context, id uuid.UUID) (*Payment, error) {
	var p Payment
	err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ?", id)).Take(&p).Error
	if err != nil {
		return nil, models.NotFoundAs(err, errNotFound)
	}
	return &p, nil
}

// refund records a refund of p, locked by the caller.
func (s *Service) refund(ctx context.Context, p *Payment, r RefundRequest) (*Refund, error) {
	if p.State != StatePaid && p.State != StateRefunding {
		return nil, errNotRefundable
	}
	// A refund the provider closed or found abnormal is still owed (staff
	// pay it by hand): it counts as in flight, never refunded twice.
	var inFlight int64
	err := s.DB.Conn(ctx).Model(&Refund{}).Where("payment_id = ? AND state IN ?", p.ID, refundsOwed).
		Select("COALESCE(SUM(amount_fen), 0)").Scan(&inFlight).Error
	if err != nil {
		return nil, err
	}
	left := p.AmountFen - p.RefundedFen - inFlight
	if left <= 0 {
		return nil, errNotRefundable
	}
	amount := r.AmountFen
	if amount == 0 {
		amount = left
	}
	if amount < 0 || amount > left {
		return nil, errRefundTooMuch
	}
	now := s.Clock.Now(ctx)
	f := &Refund{ID: models.NewID(), PaymentID: p.ID, AmountFen: amount, Cause: r.Cause, Reason: r.Reason,
		State: RefundPending, RequestedBy: r.RequestedBy, CreatedAt: now, UpdatedAt: now}
	f.OutRefundNo = tradeNo("RF", f.ID)
	if err := s.DB.Conn(ctx).Create(f).Error; err != nil {
		return nil, err
	}
	// Sent once the transaction that decided it has committed; the
	// refund sweep sends it if this does not get through.
	models.AfterCommit(ctx, func(ctx context.Context) { s.sendRefund(ctx, f.ID) })
	if p.State != StateRefunding {
		p.State = StateRefunding
		if err := s.DB.Conn(ctx).Model(p).Updates(map[string]any{"state": StateRefunding, "updated_at": now}).Error; err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Refunds are a payment's refunds, oldest first (a payment has a few).
func (s *Service) Refunds(ctx context.Context, paymentIDs []uuid.UUID) (map[uuid.UUID][]*Refund, error) {
	var rows []*Refund
	if err := s.DB.Conn(ctx).Where("payment_id IN ?", paymentIDs).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID][]*Refund, len(paymentIDs))
	for _, f := range rows {
		out[f.PaymentID] = append(out[f.PaymentID], f)
	}
	return out, nil
}

// PaymentFor is the payment in flight or paid for a thing (a registration,
// a repair order), read in the caller's transaction: the latest PENDING,
// PAID or REFUNDING one, or nil.
func (s *Service) PaymentFor(ctx context.Context, referenceID uuid.UUID) (*Payment, error) {
	var p Payment
	err := s.DB.Conn(ctx).Where("reference_id = ? AND state IN ?", referenceID, []string{StatePending, StatePaid, StateRefunding}).
		Order("id DESC").Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

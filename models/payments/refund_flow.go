package payments

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// A refund's way back: sent after the commit that decided it (RequestRefund
// registers the send), again by the refund sweep until the provider takes
// it, then told by the provider's notification or the sweep's query.
// ApplyRefund applies the provider's word under the payment's row lock, so
// that a refund succeeds once however many times the word arrives.

// refundSweepAfter is how long a refund is left to its send and its
// notification before the sweep sends it again or asks.
const refundSweepAfter = time.Minute

// sendRefund sends refund id after its commit; a failure is logged and left
// to the sweep.
func (s *Service) sendRefund(ctx context.Context, id uuid.UUID) {
	if err := s.SendRefund(ctx, id); err != nil {
		s.log().WarnContext(ctx, "payments: refund not sent; the sweep sends it again", "refund", id.String(), "error", err.Error())
	}
}

// SendRefund sends a PENDING refund to the provider under its out_refund_no
// (sending again refunds once) and applies the provider's answer; a refund
// the provider has taken already is left alone. With online payment off it
// does nothing (the refund waits).
func (s *Service) SendRefund(ctx context.Context, id uuid.UUID) error {
	if s.Provider == nil {
		return nil
	}
	var f Refund
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&f).Error; err != nil {
		return err
	}
	if f.State != RefundPending {
		return nil
	}
	var p Payment
	if err := s.DB.Conn(ctx).Where("id = ?", f.PaymentID).Take(&p).Error; err != nil {
		return err
	}
	r, err := s.Provider.Refund(ctx, RefundOrder{OutTradeNo: p.OutTradeNo, TransactionID: deref(p.TransactionID),
		OutRefundNo: f.OutRefundNo, Reason: f.Reason, AmountFen: f.AmountFen, TotalFen: p.AmountFen})
	if err != nil {
		return err
	}
	_, err = s.ApplyRefund(ctx, r)
	return err
}

// ApplyRefund records the provider's word on a refund (the answer to
// sending or querying it, or a notification) under its payment's row
// lock: PROCESSING once the provider has it; SUCCESS once, with the money
// counted back on the payment (refunded_fen, REFUNDED when all of it went
// back, PAID again when nothing more is owed); CLOSED or ABNORMAL marked
// and logged for staff (the payment stays REFUNDING). A word for a refund
// we do not know returns ErrUnknown; one naming another merchant, payment
// or amount ErrMismatch; neither changes anything.
func (s *Service) ApplyRefund(ctx context.Context, r *RefundResult) (*Refund, error) {
	if r.MchID != "" {
		if mch, _ := s.Provider.Merchant(); r.MchID != mch {
			return nil, ErrMismatch
		}
	}
	var out Refund
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		conn := s.DB.Conn(ctx)
		var f Refund
		err := conn.Where("out_refund_no = ?", r.OutRefundNo).Take(&f).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrUnknown
		}
		if err != nil {
			return err
		}
		p, err := s.lock(ctx, f.PaymentID)
		if err != nil {
			return err
		}
		// Read again under the payment's lock: every change of a refund
		// is made under it.
		if err := conn.Where("id = ?", f.ID).Take(&f).Error; err != nil {
			return err
		}
		if (r.AmountFen != 0 && r.AmountFen != f.AmountFen) || (r.OutTradeNo != "" && r.OutTradeNo != p.OutTradeNo) {
			return ErrMismatch
		}
		out = f
		return s.moveRefund(ctx, p, &out, r)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// moveRefund moves a refund of the locked payment p by the provider's
// state.
func (s *Service) moveRefund(ctx context.Context, p *Payment, f *Refund, r *RefundResult) error {
	now := s.Clock.Now(ctx)
	switch {
	case r.State == RefundProcessing && f.State == RefundPending:
		f.State, f.RefundID, f.UpdatedAt = RefundProcessing, &r.RefundID, now
		return s.DB.Conn(ctx).Model(&Refund{}).Where("id = ?", f.ID).
			Updates(map[string]any{"state": RefundProcessing, "refund_id": r.RefundID, "updated_at": now}).Error
	case r.State == RefundSuccess && (f.State == RefundPending || f.State == RefundProcessing || f.State == RefundAbnormal):
		at := now
		if !r.SuccessTime.IsZero() {
			at = r.SuccessTime.UTC().Truncate(time.Microsecond)
		}
		f.RefundID = &r.RefundID
		return s.succeed(ctx, p, f, at, nil)
	case (r.State == RefundClosed || r.State == RefundAbnormal) && (f.State == RefundPending || f.State == RefundProcessing):
		s.log().WarnContext(ctx, "payments: refund given up by the provider: staff pay it back by hand",
			"refund", f.ID.String(), "payment", p.ID.String(), "state", r.State)
		f.State, f.UpdatedAt = r.State, now
		upd := map[string]any{"state": r.State, "updated_at": now}
		if r.RefundID != "" {
			f.RefundID = &r.RefundID
			upd["refund_id"] = r.RefundID
		}
		return s.DB.Conn(ctx).Model(&Refund{}).Where("id = ?", f.ID).Updates(upd).Error
	}
	return nil // told already, or older news
}

// succeed records refund f of the locked payment p back with the payer at
// at, and counts it on the payment: REFUNDED when all of it went back,
// PAID again when no other refund is owed, else still REFUNDING.
func (s *Service) succeed(ctx context.Context, p *Payment, f *Refund, at time.Time, manualRef *string) error {
	conn := s.DB.Conn(ctx)
	now := s.Clock.Now(ctx)
	f.State, f.SucceededAt, f.UpdatedAt = RefundSuccess, &at, now
	upd := map[string]any{"state": RefundSuccess, "succeeded_at": at, "updated_at": now}
	if f.RefundID != nil && *f.RefundID != "" {
		upd["refund_id"] = *f.RefundID
	}
	if manualRef != nil {
		f.ManualReference = manualRef
		upd["manual_reference"] = *manualRef
	}
	if err := conn.Model(&Refund{}).Where("id = ?", f.ID).Updates(upd).Error; err != nil {
		return err
	}
	var owed int64
	if err := conn.Model(&Refund{}).Where("payment_id = ? AND state IN ?", p.ID, refundsOwed).Count(&owed).Error; err != nil {
		return err
	}
	p.RefundedFen += f.AmountFen
	switch {
	case p.RefundedFen >= p.AmountFen:
		p.State = StateRefunded
	case owed == 0:
		p.State = StatePaid
	}
	err := conn.Model(&Payment{}).Where("id = ?", p.ID).
		Updates(map[string]any{"refunded_fen": p.RefundedFen, "state": p.State, "updated_at": now}).Error
	if err != nil {
		return err
	}
	return s.noticeRefunded(ctx, p, f)
}

// SweepRefunds sends again the refunds still PENDING a minute after they
// were decided (their send after the commit failed) and asks the provider
// about those PROCESSING a minute after it took them (their notification
// may be lost), applying its answer. It returns how many refunds moved. A
// refund the provider does not answer for is left for the next sweep.
func (s *Service) SweepRefunds(ctx context.Context, now time.Time) (int64, error) {
	if s.Provider == nil {
		return 0, nil
	}
	var open []Refund
	err := s.DB.Conn(ctx).Where("state IN ? AND created_at < ?", []string{RefundPending, RefundProcessing}, now.Add(-refundSweepAfter)).
		Order("created_at").Limit(sweepBatch).Find(&open).Error
	if err != nil {
		return 0, err
	}
	var moved int64
	var firstErr error
	for i := range open {
		f := &open[i]
		if f.State == RefundProcessing && f.UpdatedAt.After(now.Add(-refundSweepAfter)) {
			continue
		}
		state, err := s.sweepRefund(ctx, f)
		if err != nil {
			s.log().WarnContext(ctx, "payments: refund sweep", "refund", f.ID.String(), "error", err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if state != f.State {
			moved++
		}
	}
	return moved, firstErr
}

// sweepRefund sends a PENDING refund again, or asks about a PROCESSING one
// (sending it again if the provider does not have it), and returns its
// state after.
func (s *Service) sweepRefund(ctx context.Context, f *Refund) (string, error) {
	if f.State == RefundProcessing {
		r, err := s.Provider.QueryRefund(ctx, f.OutRefundNo)
		switch {
		case err == nil:
			g, err := s.ApplyRefund(ctx, r)
			if err != nil {
				return "", err
			}
			return g.State, nil
		case !errors.Is(err, ErrNoSuchRefund):
			return "", err
		}
		// The provider does not have it: sent again below.
		if err := s.DB.Conn(ctx).Model(&Refund{}).Where("id = ? AND state = ?", f.ID, RefundProcessing).
			Update("state", RefundPending).Error; err != nil {
			return "", err
		}
	}
	if err := s.SendRefund(ctx, f.ID); err != nil {
		return "", err
	}
	var g Refund
	if err := s.DB.Conn(ctx).Where("id = ?", f.ID).Take(&g).Error; err != nil {
		return "", err
	}
	return g.State, nil
}

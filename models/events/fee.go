package events

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/payments"
)

// Event fees paid online with WeChat Pay. A registration paying that way
// takes its seats like any other (the same conditional UPDATE within the
// capacity, under the event's lock) and holds them AWAITING_PAYMENT until
// HoldExpiresAt while the owner pays: payments.Start with purpose EVENT_FEE
// and the registration (FeePurpose.Prepare). The payment, in the
// transaction that records it paid, confirms the registration
// (FeePurpose.Paid); a hold that ends unpaid is released and its seats go
// to the waitlist (FeePurpose.Closed, ReleaseExpiredHolds).

// HoldReleasedReason is the cancel reason of a registration whose hold
// ended unpaid.
const HoldReleasedReason = "付款超时，名额已释放"

// Refusals of online event fees.
const (
	// CodeNotAwaitingPayment: the registration holds no seats waiting for
	// a payment (confirmed, waitlisted, cancelled, or paying otherwise).
	CodeNotAwaitingPayment models.Code = "NOT_AWAITING_PAYMENT"
	// CodeHoldExpired: the seats were held for the payment until a time
	// that has passed.
	CodeHoldExpired models.Code = "HOLD_EXPIRED"
)

var (
	ErrNotAwaitingPayment = models.E(CodeNotAwaitingPayment, "该报名无需支付或已支付",
		"this registration is not waiting for a payment").On("registrationId")
	ErrHoldExpired = models.E(CodeHoldExpired, "名额保留时间已过，请重新报名",
		"the seats were held for the payment until a time that has passed; register again").On("registrationId")
	errPaymentInFlight = models.E(payments.CodePaymentInFlight, "该报名已有一笔支付正在进行，请完成或等待其关闭",
		"a payment for this registration is already in flight: finish it or wait until it closes").On("registrationId")
	errOnlineOff = models.E(models.CodePaymentMethodUnavailable, "暂未开通微信支付",
		"online payment is not available").On("payWith")
	errRegistrationRef = models.E(models.CodeNotFound, "未找到该报名", "registration not found").On("registrationId")
)

// holdSeats gives a registration paying with WeChat Pay its seats and holds
// them until now and the hold; the seats are already counted (confirm took
// them). The caller holds the event's lock.
func (s *Service) holdSeats(ctx context.Context, e *Event, r *Registration, now time.Time, promoted bool) error {
	e.SeatsTaken += r.PartySize
	if !promoted {
		r.WaitlistedAt = nil
	}
	until := now.Add(s.hold())
	r.Status, r.HoldExpiresAt, r.UpdatedAt = AwaitingPayment, &until, now
	return s.DB.Conn(ctx).Model(r).Updates(map[string]any{"status": r.Status, "hold_expires_at": until,
		"waitlisted_at": r.WaitlistedAt, "updated_at": now}).Error
}

// paidOnline reports whether r's money fee was paid with WeChat Pay.
func paidOnline(r *Registration) bool {
	return r.PayWith != nil && *r.PayWith == PayWeChat && r.PaidFen > 0
}

// refundOnline records the refund of what r paid with WeChat Pay, to the
// payment it came from, in the caller's transaction (sent to WeChat Pay
// after the commit).
func (s *Service) refundOnline(ctx context.Context, e *Event, r *Registration, staff *uuid.UUID) error {
	p, err := s.Payments.PaymentFor(ctx, r.ID)
	if err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("events: registration %s paid online without a payment", r.ID)
	}
	if _, err := s.Payments.RequestRefund(ctx, payments.RefundRequest{PaymentID: p.ID, AmountFen: r.PaidFen,
		Cause: payments.CauseCancelled, Reason: "活动报名取消退款：" + e.Title, RequestedBy: staff}); err != nil {
		return err
	}
	r.RefundedFen = r.PaidFen
	return nil
}

// FeePurpose is the handler of payments.PurposeEventFee: the server
// registers it on payments.Service.Purposes.
func (s *Service) FeePurpose() payments.Purpose { return feePurpose{s} }

type feePurpose struct{ s *Service }

// Prepare checks an owner's start of a payment for a registration: their
// own (another's is NOT_FOUND), holding its seats for a WeChat Pay payment
// that has not ended, with no other payment in flight for it (checked under
// the registration's lock, in the transaction that writes the payment). The
// payment is the fee at the event's store, until the hold ends.
//
// Codes: INVALID_ARGUMENT ("registrationId", "storeId", "amountFen"),
// NOT_FOUND ("registrationId"), NOT_AWAITING_PAYMENT, HOLD_EXPIRED,
// PAYMENT_IN_FLIGHT.
func (f feePurpose) Prepare(ctx context.Context, ownerID uuid.UUID, in payments.StartInput) (payments.Intent, error) {
	s := f.s
	if in.ReferenceID == nil {
		return payments.Intent{}, models.Invalid("registrationId", "请指定要支付的报名", "an event fee needs the registration (registrationId)")
	}
	var out payments.Intent
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		r, err := s.lockRegistration(ctx, "id = ?", *in.ReferenceID, errRegistrationRef)
		if err != nil {
			return err
		}
		if r.OwnerID != ownerID {
			return errRegistrationRef
		}
		var e Event
		if err := s.DB.Conn(ctx).Where("id = ?", r.EventID).Take(&e).Error; err != nil {
			return err
		}
		now := s.Clock.Now(ctx)
		switch {
		case r.Status != AwaitingPayment:
			return ErrNotAwaitingPayment
		case !now.Before(*r.HoldExpiresAt):
			return ErrHoldExpired
		}
		_, fen, _, err := e.Price(r.PartySize, r.PayWith)
		if err != nil {
			return err
		}
		fen -= r.CouponFen // the reserved coupon's part
		switch {
		case in.StoreID != uuid.Nil && in.StoreID != e.StoreID:
			return models.Invalid("storeId", "活动费用付给主办门店", "an event fee is paid to the event's store")
		case in.AmountFen != 0 && in.AmountFen != fen:
			return models.Invalid("amountFen", "金额须为报名费用", "the amount must be the registration's fee")
		}
		p, err := s.Payments.PaymentFor(ctx, r.ID)
		if err != nil {
			return err
		}
		if p != nil && (p.OwnerID != ownerID || p.IdempotencyKey != in.IdempotencyKey) {
			return errPaymentInFlight
		}
		id := r.ID
		out = payments.Intent{StoreID: e.StoreID, AmountFen: fen, ReferenceID: &id,
			Description: "活动报名费 " + models.Yuan(fen), ExpiresAt: *r.HoldExpiresAt}
		return nil
	})
	return out, err
}

// Paid confirms the registration p paid for, in the transaction that
// records p paid: one still holding its seats is confirmed; one whose hold
// ended and was released takes seats again if there are enough free (the
// event still open and not started, the owner not registered again);
// otherwise it returns why the money goes back whole.
func (f feePurpose) Paid(ctx context.Context, p *payments.Payment) (string, error) {
	s := f.s
	if p.ReferenceID == nil {
		return "未找到报名，费用原路退回", nil
	}
	e, r, err := s.lockForPayment(ctx, *p.ReferenceID)
	if err != nil || r == nil {
		return "未找到报名，费用原路退回", err
	}
	now := s.Clock.Now(ctx)
	switch {
	case r.OwnerID != p.OwnerID:
		return "报名不属于付款人，费用原路退回", nil
	case r.Status == AwaitingPayment:
		// Still held (even past its end: it was not released).
		return "", s.settlePaid(ctx, e, r, p, now)
	case r.Status != Withdrawn || r.CancelReason != HoldReleasedReason:
		return "报名已取消或无需支付，费用原路退回", nil
	case e.Status != Published || !now.Before(e.StartsAt):
		return "活动已取消或已开始，费用原路退回", nil
	case r.PartySize > e.SeatsLeft():
		return "付款时名额保留已过期且活动已满员，费用原路退回", nil
	}
	var others int64
	q := s.DB.Conn(ctx).Model(&Registration{}).Where("event_id = ? AND status <> ? AND id <> ?", e.ID, Withdrawn, r.ID)
	if r.VehicleID != nil {
		q = q.Where("(owner_id = ? OR vehicle_id = ?)", r.OwnerID, *r.VehicleID)
	} else {
		q = q.Where("owner_id = ?", r.OwnerID)
	}
	if err := q.Count(&others).Error; err != nil {
		return "", err
	}
	if others > 0 {
		return "您已重新报名该活动，本次费用原路退回", nil
	}
	// The hold was released (its coupon given back), but the seats are
	// free: taken again, with the coupon if it is still there.
	if r.CouponID != nil {
		if reason, err := s.retakeCoupon(ctx, e, r); reason != "" || err != nil {
			return reason, err
		}
	}
	res := s.DB.Conn(ctx).Model(&Event{}).
		Where("id = ? AND seats_taken + ? <= capacity", e.ID, r.PartySize).
		Updates(map[string]any{"seats_taken": gorm.Expr("seats_taken + ?", r.PartySize), "updated_at": now})
	if res.Error != nil {
		return "", res.Error
	}
	if res.RowsAffected != 1 {
		if r.CouponID != nil {
			if _, err := s.coupons().Release(ctx, coupons.RefRegistration, r.ID); err != nil {
				return "", err
			}
		}
		return "付款时名额保留已过期且活动已满员，费用原路退回", nil
	}
	e.SeatsTaken += r.PartySize
	return "", s.settlePaid(ctx, e, r, p, now)
}

// retakeCoupon reserves again (settlePaid spends it) the coupon a registration whose hold
// was released had reserved (the payment came late, discounted): the
// reason the money goes back when the coupon is gone or takes off another
// amount now.
func (s *Service) retakeCoupon(ctx context.Context, e *Event, r *Registration) (string, error) {
	_, fen, _, err := e.Price(r.PartySize, r.PayWith)
	if err != nil {
		return "", err
	}
	off, err := s.coupons().Reserve(ctx, coupons.Redemption{CouponID: *r.CouponID, OwnerID: r.OwnerID,
		Bill:    coupons.Bill{StoreID: e.StoreID, EventFee: true, PayableFen: fen},
		RefType: coupons.RefRegistration, RefID: r.ID})
	if _, refused := models.AsError(err); refused {
		return "付款时名额保留已过期且优惠券已不可用，费用原路退回", nil
	}
	if err != nil {
		return "", err
	}
	if off != r.CouponFen {
		if _, err := s.coupons().Release(ctx, coupons.RefRegistration, r.ID); err != nil {
			return "", err
		}
		return "付款时名额保留已过期且优惠券抵扣金额已变化，费用原路退回", nil
	}
	return "", nil
}

// settlePaid confirms r, its seats counted, paid by p.
func (s *Service) settlePaid(ctx context.Context, e *Event, r *Registration, p *payments.Payment, now time.Time) error {
	r.Status, r.ConfirmedAt, r.PaidFen, r.CancelledAt, r.CancelReason, r.UpdatedAt = Confirmed, &now, p.AmountFen, nil, "", now
	if err := s.spendCoupon(ctx, r); err != nil {
		return err
	}
	if err := s.DB.Conn(ctx).Model(r).Updates(map[string]any{"status": r.Status, "confirmed_at": now, "paid_fen": p.AmountFen,
		"cancelled_at": nil, "cancel_reason": "", "updated_at": now}).Error; err != nil {
		return err
	}
	return s.notify(ctx, r.OwnerID, e.StoreID, NotifyPromoted, "event-paid:"+r.ID.String(), "报名成功："+e.Title,
		"您已完成微信支付，报名成功，请在活动当天出示签到码。", RegistrationLink(r.ID))
}

// Closed releases the seats held for the registration p was for, once its
// hold has ended, and gives them to the waitlist, in the transaction that
// records p closed. A payment that failed while the hold still runs leaves
// the seats held: the owner may pay again until the hold ends (then
// ReleaseExpiredHolds releases them).
func (f feePurpose) Closed(ctx context.Context, p *payments.Payment) error {
	s := f.s
	if p.ReferenceID == nil {
		return nil
	}
	e, r, err := s.lockForPayment(ctx, *p.ReferenceID)
	if err != nil || r == nil {
		return err
	}
	now := s.Clock.Now(ctx)
	if r.Status != AwaitingPayment || now.Before(*r.HoldExpiresAt) {
		return nil
	}
	return s.release(ctx, e, r, now)
}

// lockForPayment locks a registration's event, then the registration (the
// one lock order); nil for none.
func (s *Service) lockForPayment(ctx context.Context, id uuid.UUID) (*Event, *Registration, error) {
	var ids []uuid.UUID
	if err := s.DB.Conn(ctx).Model(&Registration{}).Where("id = ?", id).Pluck("event_id", &ids).Error; err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	e, err := s.lockEvent(ctx, ids[0])
	if err != nil {
		return nil, nil, err
	}
	r, err := s.lockRegistration(ctx, "id = ?", id, errRegistrationNotFound)
	if err != nil {
		return nil, nil, err
	}
	return e, r, nil
}

// release cancels a held registration whose hold ended unpaid and gives its
// seats to the waitlist. The caller holds the event's and the
// registration's locks.
func (s *Service) release(ctx context.Context, e *Event, r *Registration, now time.Time) error {
	if err := s.withdraw(ctx, e, r, now, false, nil, HoldReleasedReason); err != nil {
		return err
	}
	_, err := s.promote(ctx, e, now)
	return err
}

// holdBatch bounds the holds one run of ReleaseExpiredHolds releases.
const holdBatch = 200

// ReleaseExpiredHolds releases the seats held for WeChat Pay payments that
// did not come by the end of their hold, and promotes the waitlist, one
// registration per transaction (event and registration locked, checked
// again). A hold whose payment is still PENDING is left to the payment
// sweep, which closes the payment with WeChat Pay first (so that it can no
// longer be paid) and then releases the seats (Closed). It returns how many
// holds it released; running it twice or on several instances releases each
// once.
func (s *Service) ReleaseExpiredHolds(ctx context.Context, now time.Time) (int64, error) {
	var due []Registration
	if err := s.DB.Conn(ctx).Select("id").Where("status = ? AND hold_expires_at <= ?", AwaitingPayment, now).
		Order("hold_expires_at, id").Limit(holdBatch).Find(&due).Error; err != nil {
		return 0, err
	}
	var released int64
	for _, d := range due {
		var done bool
		err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
			done = false
			e, r, err := s.lockForPayment(ctx, d.ID)
			if err != nil || r == nil || r.Status != AwaitingPayment || now.Before(*r.HoldExpiresAt) {
				return err
			}
			if s.Payments != nil {
				p, err := s.Payments.PaymentFor(ctx, r.ID)
				if err != nil {
					return err
				}
				if p != nil && p.State == payments.StatePending {
					return nil // the payment sweep's
				}
			}
			done = true
			return s.release(ctx, e, r, now)
		})
		if err != nil {
			return released, err
		}
		if done {
			released++
		}
	}
	return released, nil
}

package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Registering, cancelling and the waitlist.

// RegisterInput is an owner's sign-up.
type RegisterInput struct {
	EventID   uuid.UUID
	PartySize int // 0 means 1
	VehicleID *uuid.UUID
	// PayWith chooses money (from the wallet, or WECHAT_PAY) or points;
	// nil takes the only one offered (money: from the wallet).
	PayWith *PayWith
	// CouponID is a coupon of the owner's to take off the money fee
	// (wallet or WeChat Pay): reserved with the registration, spent when
	// the fee is paid (docs/coupons.md, "Event fees").
	CouponID       *uuid.UUID
	IdempotencyKey string
}

// Register signs the owner up: CONFIRMED when the seats are there (the fee
// charged from the wallet or points in the same transaction), otherwise
// WAITLISTED (charged when promoted). Paying with WECHAT_PAY, the seats are
// taken and held AWAITING_PAYMENT until HoldExpiresAt (now and the hold)
// while the owner pays (payments.Start, purpose EVENT_FEE); a waitlisted one
// is held that way when promoted. A retry with the same idempotency key
// returns the first result. A coupon (CouponID) is checked and reserved in
// the same transaction (coupons.Service.Reserve: of concurrent uses of one
// coupon exactly one wins) and spent when the fee is charged or paid.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (staff), NOT_FOUND ("eventId",
// "vehicleId", "couponId"), INVALID_ARGUMENT, REGISTRATION_CLOSED, TIER_TOO_LOW,
// ALREADY_REGISTERED, PARTY_TOO_LARGE, VEHICLE_REQUIRED,
// PAYMENT_METHOD_UNAVAILABLE, INSUFFICIENT_BALANCE, INSUFFICIENT_POINTS,
// IDEMPOTENCY_KEY_REUSED, COUPON_NOT_AVAILABLE, COUPON_NOT_YET_VALID,
// COUPON_NOT_APPLICABLE (points, a free event, another store's, not for
// event fees), COUPON_MIN_SPEND_NOT_MET.
func (s *Service) Register(ctx context.Context, actor *auth.Principal, in RegisterInput) (*Registration, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	}
	if in.PartySize == 0 {
		in.PartySize = 1
	}
	if in.PartySize < 1 {
		return nil, models.Invalid("partySize", "人数至少为 1", "partySize must be at least 1")
	}
	if in.PayWith != nil && *in.PayWith != PayWallet && *in.PayWith != PayPoints && *in.PayWith != PayWeChat {
		return nil, models.Invalid("payWith", "支付方式须为余额、积分或微信支付", "payWith must be WALLET, POINTS or WECHAT_PAY")
	}
	if in.PayWith != nil && *in.PayWith == PayWeChat && !s.online() {
		return nil, errOnlineOff
	}
	params := struct {
		Event   uuid.UUID
		Party   int
		Vehicle *uuid.UUID
		Pay     *PayWith
		Coupon  *uuid.UUID
	}{in.EventID, in.PartySize, in.VehicleID, in.PayWith, in.CouponID}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "events.register", params, false,
		func(ctx context.Context) (uuid.UUID, error) { return s.register(ctx, actor, in) })
	if err != nil {
		return nil, err
	}
	return s.registration(ctx, id)
}

func (s *Service) register(ctx context.Context, actor *auth.Principal, in RegisterInput) (uuid.UUID, error) {
	e, err := s.lockEvent(ctx, in.EventID)
	if err != nil {
		return uuid.Nil, err
	}
	// The transaction's time, fixed when it began: queueTime keeps the
	// waitlist in the order registrations took the event's lock all the
	// same, so a position once told never grows.
	now := s.Clock.Now(ctx)
	switch {
	case e.Status == Draft:
		return uuid.Nil, errEventNotFound
	case !e.RegistrationOpen(now):
		return uuid.Nil, ErrRegistrationClosed
	case in.PartySize > e.MaxPartySize || in.PartySize > e.Capacity:
		return uuid.Nil, PartyTooLarge(min(e.MaxPartySize, e.Capacity))
	}
	if err := s.checkVehicle(ctx, actor, e, in.VehicleID); err != nil {
		return uuid.Nil, err
	}
	if err := s.checkTier(ctx, actor.ID, e); err != nil {
		return uuid.Nil, err
	}
	method, _, _, err := e.Price(in.PartySize, in.PayWith)
	if err != nil {
		return uuid.Nil, err
	}
	var dup int64
	if err := s.DB.Conn(ctx).Model(&Registration{}).
		Where("event_id = ? AND owner_id = ? AND status <> ?", e.ID, actor.ID, Withdrawn).Count(&dup).Error; err != nil {
		return uuid.Nil, err
	}
	if dup > 0 {
		return uuid.Nil, ErrAlreadyRegistered
	}
	// The queue first: a waitlisted registration that fits and can pay now
	// (one skipped earlier for want of money) goes ahead of a newcomer.
	if _, err := s.promote(ctx, e, now); err != nil {
		return uuid.Nil, err
	}
	queuedAt := now // cleared by confirm when the seats are there
	if in.PartySize > e.SeatsLeft() {
		if queuedAt, err = s.queueTime(ctx, e.ID, now); err != nil {
			return uuid.Nil, err
		}
	}
	r := &Registration{ID: models.NewID(), EventID: e.ID, OwnerID: actor.ID, VehicleID: in.VehicleID,
		PartySize: in.PartySize, Status: Waitlisted, PayWith: method, WaitlistedAt: &queuedAt,
		CheckInCode: newCheckInCode(), CreatedAt: now, UpdatedAt: now}
	if in.CouponID != nil {
		if err := s.reserveCoupon(ctx, e, r, *in.CouponID); err != nil {
			return uuid.Nil, err
		}
	}
	if err := s.DB.Conn(ctx).Create(r).Error; err != nil {
		if models.IsUniqueViolation(err) {
			// The vehicle (the owner was checked above) is in the convoy already.
			return uuid.Nil, ErrVehicleRegistered
		}
		return uuid.Nil, err
	}
	if r.PartySize <= e.SeatsLeft() {
		if err := s.confirm(ctx, e, r, now, false); err != nil {
			return uuid.Nil, err
		}
	}
	return r.ID, nil
}

// queueTime is when a registration joins the event's waitlist: now, or just
// after the last one waiting if that is not earlier (transactions take their
// time when they begin, not in the order they take the lock; instances'
// clocks differ a little; a test clock may stand still), so the queue keeps the order
// in which registrations took the event's lock. The caller holds that lock.
func (s *Service) queueTime(ctx context.Context, eventID uuid.UUID, now time.Time) (time.Time, error) {
	var last []time.Time
	if err := s.DB.Conn(ctx).Model(&Registration{}).Where("event_id = ? AND status = ?", eventID, Waitlisted).
		Order("waitlisted_at DESC").Limit(1).Pluck("waitlisted_at", &last).Error; err != nil {
		return time.Time{}, err
	}
	if len(last) == 1 && !now.After(last[0]) {
		return last[0].Add(time.Microsecond), nil
	}
	return now, nil
}

// checkVehicle: a trip that needs a car gets one of the owner's; a class
// takes none.
func (s *Service) checkVehicle(ctx context.Context, actor *auth.Principal, e *Event, vehicleID *uuid.UUID) error {
	switch {
	case vehicleID == nil && e.VehicleRequired:
		return ErrVehicleRequired
	case vehicleID == nil:
		return nil
	case e.Kind == Class:
		return models.Invalid("vehicleId", "讲堂不需要登记车辆", "a class does not take vehicles")
	}
	if _, err := s.directory().VehicleFor(ctx, actor, *vehicleID); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return errVehicleNotFound
		}
		return err
	}
	return nil
}

// checkTier: the owner's membership tier reaches the event's minimum.
func (s *Service) checkTier(ctx context.Context, ownerID uuid.UUID, e *Event) error {
	if e.MinTier == wallet.Basic || e.MinTier == "" {
		return nil
	}
	w := s.Wallet
	if w == nil {
		w = &wallet.Service{DB: s.DB, Clock: s.Clock}
	}
	tier, ok, err := w.Tier(ctx, ownerID)
	if err != nil {
		return err
	}
	if !ok || !tier.AtLeast(e.MinTier) {
		return ErrTierTooLow
	}
	return nil
}

// confirm gives a registration its seats and charges its fee: the seats by
// one conditional UPDATE that cannot pass the capacity, the fee through the
// wallet (or, paying with WeChat Pay, the seats held while the owner pays:
// holdSeats). The caller holds the event's lock. A failed charge leaves the
// transaction's writes to the caller to undo. A promoted registration keeps
// its waitlisted_at (see Refundable).
//
// Codes: INSUFFICIENT_BALANCE, INSUFFICIENT_POINTS, PARTY_TOO_LARGE (no
// seats: the caller checked, so only a broken invariant gets here).
func (s *Service) confirm(ctx context.Context, e *Event, r *Registration, now time.Time, promoted bool) error {
	res := s.DB.Conn(ctx).Model(&Event{}).
		Where("id = ? AND seats_taken + ? <= capacity", e.ID, r.PartySize).
		Updates(map[string]any{"seats_taken": gorm.Expr("seats_taken + ?", r.PartySize), "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return PartyTooLarge(e.SeatsLeft())
	}
	_, fen, points, err := e.Price(r.PartySize, r.PayWith)
	if err != nil {
		return err
	}
	fen -= r.CouponFen // never below 0: a coupon takes at most the fee
	if r.PayWith != nil && *r.PayWith == PayWeChat && fen > 0 {
		return s.holdSeats(ctx, e, r, now, promoted)
	}
	if err := s.spendCoupon(ctx, r); err != nil {
		return err
	}
	if fen > 0 || points > 0 {
		store := e.StoreID
		if _, err := s.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: r.OwnerID, WalletFen: fen, Points: points, NoEarn: true,
			RefType: wallet.RefRegistration, RefID: r.ID, StoreID: &store, Key: "registration:" + r.ID.String(),
			Memo: e.Title}); err != nil {
			return err
		}
	}
	e.SeatsTaken += r.PartySize
	// A promoted registration keeps the time it joined the waitlist.
	if !promoted {
		r.WaitlistedAt = nil
	}
	r.Status, r.ConfirmedAt, r.PaidFen, r.PaidPoints, r.UpdatedAt = Confirmed, &now, fen, points, now
	return s.DB.Conn(ctx).Model(r).Updates(map[string]any{"status": r.Status, "confirmed_at": now, "waitlisted_at": r.WaitlistedAt,
		"paid_fen": fen, "paid_points": points, "updated_at": now}).Error
}

// promote serves the waitlist after seats were freed: the earliest
// waitlisted registrations that fit, in (waitlisted_at, id) order; one too
// large for the seats left is passed over for later ones that fit, and one
// that cannot pay is skipped (it stays waitlisted and is told). Each
// promotion is charged and notified. Nothing is promoted once the event has
// started. The caller holds the event's lock. It returns the promoted.
func (s *Service) promote(ctx context.Context, e *Event, now time.Time) ([]*Registration, error) {
	if e.Status != Published || !now.Before(e.StartsAt) {
		return nil, nil
	}
	var promoted []*Registration
	var skipped []uuid.UUID
	for e.SeatsLeft() > 0 {
		var next Registration
		q := s.DB.Conn(ctx).Where("event_id = ? AND status = ? AND party_size <= ?", e.ID, Waitlisted, e.SeatsLeft())
		if len(skipped) > 0 {
			q = q.Where("id NOT IN ?", skipped)
		}
		res := q.Order("waitlisted_at, id").Limit(1).Find(&next)
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 0 {
			break
		}
		ok, err := s.tryConfirm(ctx, e, &next, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			skipped = append(skipped, next.ID)
			if err := s.notify(ctx, next.OwnerID, e.StoreID, NotifyPromotionFailed,
				fmt.Sprintf("event-payment-failed:%s:%s", next.ID, now.Format("2006-01-02")),
				"候补转正失败："+e.Title, "有名额空出，但您的会员账户余额或积分不足以支付报名费用。充值后，下次有名额时将再次为您转正。",
				RegistrationLink(next.ID)); err != nil {
				return nil, err
			}
			continue
		}
		body := "您已从候补转为正式报名，请在活动当天出示签到码。"
		if next.Status == AwaitingPayment {
			body = "有名额空出，已为您保留至 " + next.HoldExpiresAt.In(s.storeLocation(ctx, e.StoreID)).Format("01-02 15:04") +
				"，请在此之前完成微信支付，逾期名额将让给下一位候补。"
		}
		if err := s.notify(ctx, next.OwnerID, e.StoreID, NotifyPromoted, "event-promoted:"+next.ID.String(),
			"候补成功："+e.Title, body, RegistrationLink(next.ID)); err != nil {
			return nil, err
		}
		promoted = append(promoted, &next)
	}
	return promoted, nil
}

// tryConfirm confirms a waitlisted registration inside a savepoint, so a
// refused charge (the owner cannot pay) undoes its seats and ledger writes
// and reports false.
func (s *Service) tryConfirm(ctx context.Context, e *Event, r *Registration, now time.Time) (bool, error) {
	conn := s.DB.Conn(ctx)
	sp := "promote_" + r.ID.String()[:8]
	if err := conn.SavePoint(sp).Error; err != nil {
		return false, err
	}
	seats := e.SeatsTaken
	err := s.confirm(ctx, e, r, now, true)
	if errors.Is(err, wallet.ErrInsufficientBalance) || errors.Is(err, wallet.ErrInsufficientPoints) {
		e.SeatsTaken = seats
		r.Status = Waitlisted
		return false, conn.RollbackTo(sp).Error
	}
	return err == nil, err
}

// CancelRegistration withdraws a registration, by its owner or by the host
// store's event staff, until the event starts. A confirmed one is refunded
// in full (to the wallet, or a fee paid with WeChat Pay to its payment: a
// refund recorded in this transaction) before the cancellation deadline and not at all after (unless it
// was promoted from the waitlist after the deadline: see Refundable); its
// seats go to the waitlist at once.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another owner's),
// REGISTRATION_NOT_ACTIVE, EVENT_STARTED, ALREADY_CHECKED_IN,
// IDEMPOTENCY_KEY_REUSED.
func (s *Service) CancelRegistration(ctx context.Context, actor *auth.Principal, id uuid.UUID, idempotencyKey string) (*Registration, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() && !actor.HasAnyRole(rolesManage...) {
		return nil, models.ErrForbidden
	}
	rid, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), idempotencyKey, "events.cancelRegistration", id, false,
		func(ctx context.Context) (uuid.UUID, error) { return id, s.cancel(ctx, actor, id) })
	if err != nil {
		return nil, err
	}
	return s.registration(ctx, rid)
}

func (s *Service) cancel(ctx context.Context, actor *auth.Principal, id uuid.UUID) error {
	now := s.Clock.Now(ctx)
	// The event is locked before the registration (the one lock order);
	// an unlocked read finds which event.
	var ids []uuid.UUID
	if err := s.DB.Conn(ctx).Model(&Registration{}).Where("id = ?", id).Pluck("event_id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		return errRegistrationNotFound
	}
	e, err := s.lockEvent(ctx, ids[0])
	if err != nil {
		return err
	}
	r, err := s.lockRegistration(ctx, "id = ?", id, errRegistrationNotFound)
	if err != nil {
		return err
	}
	var staff *uuid.UUID
	if actor.IsOwner() {
		if r.OwnerID != actor.ID {
			return errRegistrationNotFound
		}
	} else {
		if err := staffFor(actor, e.StoreID, rolesManage); err != nil {
			// Another store's registration: not there, as RegistrationFor says.
			return errRegistrationNotFound
		}
		staff = &actor.ID
	}
	switch {
	case r.Status == Withdrawn:
		return ErrNotActive
	case r.CheckedInAt != nil:
		return AlreadyCheckedIn(*r.CheckedInAt, s.storeLocation(ctx, e.StoreID)).On("")
	case !now.Before(e.StartsAt):
		return ErrEventStarted
	}
	refund := Refundable(e, r, now)
	if err := s.withdraw(ctx, e, r, now, refund, staff, ""); err != nil {
		return err
	}
	_, err = s.promote(ctx, e, now)
	return err
}

// withdraw cancels an active registration: its seats (confirmed or held)
// back to the event and, when refund, what it paid back: to the wallet, or
// with WeChat Pay to the payment it came from (a refund recorded in this
// transaction: payments.RequestRefund). The caller holds the event's lock
// and promotes afterwards if it wants to.
func (s *Service) withdraw(ctx context.Context, e *Event, r *Registration, now time.Time, refund bool, staff *uuid.UUID, reason string) error {
	// Its coupon goes back unless it was spent on a fee kept.
	if r.CouponID != nil && (refund || r.Status != Confirmed) {
		if _, err := s.coupons().Release(ctx, coupons.RefRegistration, r.ID); err != nil {
			return err
		}
	}
	if r.Holds() {
		res := s.DB.Conn(ctx).Model(&Event{}).Where("id = ? AND seats_taken >= ?", e.ID, r.PartySize).
			Updates(map[string]any{"seats_taken": gorm.Expr("seats_taken - ?", r.PartySize), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("events: seats of event %s below registration %s", e.ID, r.ID)
		}
		e.SeatsTaken -= r.PartySize
		if refund && r.Status == Confirmed && paidOnline(r) {
			if err := s.refundOnline(ctx, e, r, staff); err != nil {
				return err
			}
		} else if refund && (r.PaidFen > 0 || r.PaidPoints > 0) {
			store := e.StoreID
			if _, err := s.Wallet.Credit(ctx, wallet.CreditInput{OwnerID: r.OwnerID, WalletFen: r.PaidFen, Points: r.PaidPoints,
				RefType: wallet.RefRegistration, RefID: r.ID, StoreID: &store, StaffID: staff,
				Key: "registration:" + r.ID.String(), Memo: e.Title}); err != nil {
				return err
			}
			r.RefundedFen, r.RefundedPoints = r.PaidFen, r.PaidPoints
		}
	}
	r.Status, r.CancelledAt, r.CancelReason, r.UpdatedAt = Withdrawn, &now, reason, now
	return s.DB.Conn(ctx).Model(r).Updates(map[string]any{"status": r.Status, "cancelled_at": now,
		"cancel_reason": reason, "refunded_fen": r.RefundedFen, "refunded_points": r.RefundedPoints, "updated_at": now}).Error
}

// reserveCoupon reserves the owner's coupon for r's money fee (not yet
// written), in the registration's transaction, and records its discount on
// r. A fee in points, or none, takes no coupon.
//
// Codes: NOT_FOUND ("couponId"), COUPON_NOT_AVAILABLE, COUPON_NOT_YET_VALID,
// COUPON_NOT_APPLICABLE, COUPON_MIN_SPEND_NOT_MET.
func (s *Service) reserveCoupon(ctx context.Context, e *Event, r *Registration, couponID uuid.UUID) error {
	_, fen, _, err := e.Price(r.PartySize, r.PayWith)
	if err != nil {
		return err
	}
	if fen == 0 {
		return errCouponOnMoneyOnly
	}
	off, err := s.coupons().Reserve(ctx, coupons.Redemption{CouponID: couponID, OwnerID: r.OwnerID,
		Bill:    coupons.Bill{StoreID: e.StoreID, EventFee: true, PayableFen: fen},
		RefType: coupons.RefRegistration, RefID: r.ID})
	if err != nil {
		return err
	}
	r.CouponID, r.CouponFen = &couponID, off
	return nil
}

// spendCoupon spends the coupon reserved for r, its fee being paid now.
func (s *Service) spendCoupon(ctx context.Context, r *Registration) error {
	if r.CouponID == nil {
		return nil
	}
	ok, err := s.coupons().Consume(ctx, coupons.RefRegistration, r.ID)
	if err == nil && !ok {
		err = fmt.Errorf("events: registration %s lost its reserved coupon %s", r.ID, *r.CouponID)
	}
	return err
}

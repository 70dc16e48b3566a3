package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Service runs online payments on a database and a provider.
type Service struct {
	DB    *models.DB
	Clock models.Clock
	// Provider is WeChat Pay; nil means online payment is off: starting
	// one is refused with PAYMENT_METHOD_UNAVAILABLE.
	Provider  Provider
	Wallet    *wallet.Service
	Directory *directory.Service
	// Inbox tells owners of their payments and refunds (nil: one on DB).
	Inbox *inbox.Service
	Log   *slog.Logger
	// Hold is how long a started payment may be paid (0: DefaultHold).
	Hold time.Duration
	// Purposes are the handlers of the purposes other capabilities own
	// (EVENT_FEE, REPAIR_BILL, SERVICE_PACKAGE), set when the server is wired; a top-up is
	// built in. A purpose without one is refused.
	Purposes map[string]Purpose
}

func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) hold() time.Duration {
	if s.Hold <= 0 {
		return DefaultHold
	}
	return s.Hold
}

// StartInput is an owner's request to pay.
type StartInput struct {
	Purpose string
	// StoreID and AmountFen: a top-up's store and amount (the other
	// purposes take both from what they pay for).
	StoreID   uuid.UUID
	AmountFen int64
	// ReferenceID is what an EVENT_FEE, REPAIR_BILL or SERVICE_PACKAGE
	// pays for: the registration, the repair order or the package product.
	ReferenceID *uuid.UUID
	TradeType   string
	// IdempotencyKey (required): starting again with the same key gives
	// the same payment (and the same prepay id), never a second one.
	IdempotencyKey string
}

// Start begins an online payment for the signed-in owner and places it with
// the provider: a top-up of AmountFen at StoreID (checked against the
// card's cap, bonus included, now and again when the money arrives). It
// returns the payment (PENDING) and what the client opens the payment sheet
// with. Under a key already used it returns that payment, whatever has
// changed since (the card may be fuller now): with a launch while it is
// PENDING within its hold, without one once it is paid, closed, or past
// its hold.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner),
// PAYMENT_METHOD_UNAVAILABLE (online payment off, or APP pay not set up),
// INVALID_ARGUMENT ("purpose", "tradeType", "amountFen", "idempotencyKey"),
// NOT_FOUND ("storeId"), BALANCE_CAP_EXCEEDED ("amountFen"),
// WECHAT_NOT_BOUND (JSAPI without a WeChat sign-in), IDEMPOTENCY_KEY_REUSED,
// UNAVAILABLE (the provider did not answer: try again with the same key).
func (s *Service) Start(ctx context.Context, actor *auth.Principal, in StartInput) (*Payment, *Launch, error) {
	if actor == nil {
		return nil, nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return nil, nil, errOwnersOnly
	}
	if s.Provider == nil {
		return nil, nil, errPaymentsOff
	}
	if err := models.CheckIdempotencyKey(in.IdempotencyKey); err != nil {
		return nil, nil, err
	}
	p, err := s.byKey(ctx, actor.ID, in)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		if p, err = s.begin(ctx, actor.ID, in); err != nil {
			// The same key may have started it concurrently: that one
			// comes back rather than the refusal its start caused.
			q, kerr := s.byKey(ctx, actor.ID, in)
			if kerr != nil || q == nil {
				return nil, nil, err
			}
			p = q
		}
	}
	if p.State != StatePending || !s.Clock.Now(ctx).Before(p.ExpiresAt) {
		return p, nil, nil
	}
	launch, err := s.Provider.Prepay(ctx, Order{OutTradeNo: p.OutTradeNo, Description: Description(p.Purpose, p.AmountFen),
		AmountFen: p.AmountFen, TradeType: p.TradeType, OpenID: deref(p.PayerOpenID), ExpiresAt: p.ExpiresAt})
	if err != nil {
		if errors.Is(err, errAppPayOff) {
			return nil, nil, errAppPayOff
		}
		s.log().WarnContext(ctx, "payments: prepay failed", "payment", p.ID.String(), "error", err.Error())
		return nil, nil, errProviderDown
	}
	if p.PrepayID == "" {
		err := s.DB.Conn(ctx).Model(&Payment{}).Where("id = ? AND prepay_id = ''", p.ID).
			Update("prepay_id", launch.PrepayID).Error
		if err != nil {
			return nil, nil, err
		}
		p.PrepayID = launch.PrepayID
	}
	return p, launch, nil
}

// byKey is the payment the owner started under in's key, or nil.
//
// Codes: IDEMPOTENCY_KEY_REUSED (the key started another payment).
func (s *Service) byKey(ctx context.Context, ownerID uuid.UUID, in StartInput) (*Payment, error) {
	var rows []Payment
	err := s.DB.Conn(ctx).Where("owner_id = ? AND idempotency_key = ?", ownerID, in.IdempotencyKey).Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	p := &rows[0]
	if !p.startedBy(in) {
		return nil, models.ErrIdempotencyKeyReused
	}
	return p, nil
}

// startedBy tells whether in is the request that started p (the same
// purpose, trade type and thing paid for; the store and amount when the
// request names them).
func (p *Payment) startedBy(in StartInput) bool {
	sameRef := (p.ReferenceID == nil) == (in.ReferenceID == nil) && (p.ReferenceID == nil || *p.ReferenceID == *in.ReferenceID)
	return p.Purpose == in.Purpose && p.TradeType == in.TradeType && sameRef &&
		(in.StoreID == uuid.Nil || p.StoreID == in.StoreID) && (in.AmountFen == 0 || p.AmountFen == in.AmountFen)
}

// begin checks a new payment and records it, in one transaction: what the
// purpose locks to check the start (a registration: one payment in flight
// for it) stays locked until the payment is written.
func (s *Service) begin(ctx context.Context, ownerID uuid.UUID, in StartInput) (*Payment, error) {
	var p *Payment
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		intent, err := s.checkStart(ctx, ownerID, in)
		if err != nil {
			return err
		}
		if !s.Provider.Supports(in.TradeType) {
			return errAppPayOff
		}
		var openID string
		if in.TradeType == TradeJSAPI {
			o, err := s.directory().Owner(ctx, ownerID)
			if err != nil {
				return err
			}
			if o.WeChatOpenID == nil || *o.WeChatOpenID == "" {
				return errNoOpenID
			}
			openID = *o.WeChatOpenID
		}
		p, err = s.record(ctx, ownerID, in, intent, openID)
		return err
	})
	if models.IsUniqueViolation(err) {
		// The same key started concurrently: the other one won.
		if p, err = s.byKey(ctx, ownerID, in); err == nil && p == nil {
			err = models.ErrConflict
		}
	}
	return p, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *Service) checkStart(ctx context.Context, ownerID uuid.UUID, in StartInput) (Intent, error) {
	h, ok := s.purpose(in.Purpose)
	switch {
	case !ok:
		return Intent{}, models.Invalid("purpose", "暂不支持该付款用途", "this purpose cannot be paid online")
	case in.TradeType != TradeJSAPI && in.TradeType != TradeApp:
		return Intent{}, models.Invalid("tradeType", "支付方式须为小程序（JSAPI）或 App（APP）", "tradeType must be JSAPI or APP")
	}
	return h.Prepare(ctx, ownerID, in)
}

// record writes the payment, or finds the one started under the same key
// (a key started concurrently fails on the unique key: begin finds it).
func (s *Service) record(ctx context.Context, ownerID uuid.UUID, in StartInput, intent Intent, openID string) (*Payment, error) {
	var p Payment
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		conn := s.DB.Conn(ctx)
		err := conn.Where("owner_id = ? AND idempotency_key = ?", ownerID, in.IdempotencyKey).Take(&p).Error
		if err == nil {
			if !p.startedBy(in) {
				return models.ErrIdempotencyKeyReused
			}
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		// The owner's row, as an account deletion takes it: a deletion
		// either finds this payment PENDING (and waits for it) or has
		// happened, and then nothing is started for an account gone.
		if _, err := s.directory().LockOwner(ctx, ownerID, true, false); err != nil {
			return models.NotFoundAs(err, models.ErrUnauthenticated)
		}
		if gone, err := s.directory().OwnerDeleted(ctx, ownerID); err != nil {
			return err
		} else if gone {
			return models.ErrUnauthenticated
		}
		now := s.Clock.Now(ctx)
		expires := now.Add(s.hold())
		if !intent.ExpiresAt.IsZero() && intent.ExpiresAt.Before(expires) {
			expires = intent.ExpiresAt
		}
		p = Payment{ID: models.NewID(), OwnerID: ownerID, StoreID: intent.StoreID, Purpose: in.Purpose,
			ReferenceID: intent.ReferenceID, AmountFen: intent.AmountFen, TradeType: in.TradeType, State: StatePending,
			IdempotencyKey: in.IdempotencyKey, ExpiresAt: expires}
		p.OutTradeNo = tradeNo(tradeNoPrefix[p.Purpose], p.ID)
		if openID != "" {
			p.PayerOpenID = &openID
		}
		return conn.Create(&p).Error
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// Description is what the payer's WeChat bill shows for a payment.
func Description(purpose string, amountFen int64) string {
	what := map[string]string{PurposeTopUp: "会员卡充值", PurposeEventFee: "活动报名费", PurposeRepairBill: "维修结算",
		PurposeServicePackage: "购买服务套餐"}[purpose]
	return what + " " + models.Yuan(amountFen)
}

// Apply records the provider's word on a payment (a notification, or the
// answer to a query) and, for a payment that succeeded, applies its effect
// in the same transaction: once, however many times and on however many
// instances the same word arrives. A transaction not ours (merchant, app
// id), for no payment we know, or for another amount changes nothing and
// returns ErrUnknown or ErrMismatch. A payment whose purpose can no longer
// take it (the card's cap was reached meanwhile, the seat went to someone
// else) is recorded paid and refunded whole (REFUNDING); so is money that
// arrives for a payment recorded closed, unless its purpose can still take
// it.
func (s *Service) Apply(ctx context.Context, t *Transaction) (*Payment, error) {
	mch, apps := s.Provider.Merchant()
	if t.MchID != mch || !slices.Contains(apps, t.AppID) {
		return nil, ErrMismatch
	}
	var p Payment
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("out_trade_no = ?", t.OutTradeNo)).Take(&p).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrUnknown
		}
		if err != nil {
			return err
		}
		if t.AmountFen != p.AmountFen {
			return ErrMismatch
		}
		switch {
		case p.State == StatePending:
			return s.settle(ctx, &p, t)
		case t.State == TradeSuccess && (p.State == StateClosed || p.State == StateFailed):
			// Paid although recorded closed: its purpose takes it if it
			// still can, else the money goes back.
			s.log().WarnContext(ctx, "payments: paid after it was recorded closed", "payment", p.ID.String(), "state", p.State)
			return s.paid(ctx, &p, t)
		}
		return nil // told already
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// settle moves a locked PENDING payment by the provider's state.
func (s *Service) settle(ctx context.Context, p *Payment, t *Transaction) error {
	now := s.Clock.Now(ctx)
	switch t.State {
	case TradeSuccess:
		return s.paid(ctx, p, t)
	case TradeClosed, TradeRevoked:
		p.State, p.ClosedAt = StateClosed, &now
	case TradePayError:
		p.State, p.ClosedAt = StateFailed, &now
	default: // NOTPAY, USERPAYING: nothing yet
		return nil
	}
	if err := s.DB.Conn(ctx).Save(p).Error; err != nil {
		return err
	}
	return s.closed(ctx, p)
}

// closed tells p's purpose that p will never be paid.
func (s *Service) closed(ctx context.Context, p *Payment) error {
	h, ok := s.purpose(p.Purpose)
	if !ok {
		return fmt.Errorf("payments: no handler for purpose %s", p.Purpose)
	}
	return h.Closed(ctx, p)
}

// paid records a locked payment paid by t and applies its effect, or, when
// its purpose can no longer take it, refunds it whole.
func (s *Service) paid(ctx context.Context, p *Payment, t *Transaction) error {
	h, ok := s.purpose(p.Purpose)
	if !ok {
		return fmt.Errorf("payments: no handler for purpose %s", p.Purpose)
	}
	txID := t.TransactionID
	// Paid when WeChat Pay says (the day its bill counts it in), not when
	// the news arrived; the effect's records carry the latter.
	paid := s.Clock.Now(ctx)
	if !t.SuccessTime.IsZero() {
		paid = t.SuccessTime.UTC().Truncate(time.Microsecond)
	}
	p.State, p.TransactionID, p.PaidAt = StatePaid, &txID, &paid
	if t.OpenID != "" {
		p.PayerOpenID = &t.OpenID
	}
	reason, err := h.Paid(ctx, p)
	if err != nil {
		return err
	}
	if err := s.DB.Conn(ctx).Save(p).Error; err != nil {
		return err
	}
	if err := s.noticePaid(ctx, p, reason); err != nil {
		return err
	}
	if reason == "" {
		return nil
	}
	s.log().WarnContext(ctx, "payments: paid for what can no longer take it: refunding", "payment", p.ID.String(), "reason", reason)
	_, err = s.refund(ctx, p, RefundRequest{Cause: CauseNotApplicable, Reason: reason})
	return err
}

// Payment is one payment the actor may see: an owner their own, staff
// holding rolesRead those of their stores.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (none the actor may see).
func (s *Service) Payment(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Payment, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var p Payment
	err := models.Scope(s.DB.Conn(ctx), actor, rolesRead, "").Where("id = ?", id).Take(&p).Error
	if err != nil {
		return nil, models.NotFoundAs(err, errNotFound)
	}
	return &p, nil
}

// Payments is one page of an owner's payments, newest first: the owner
// themselves, or staff holding rolesRead for the payments at their stores.
//
// Codes: UNAUTHENTICATED, INVALID_ARGUMENT ("first", "after").
func (s *Service) Payments(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page) ([]*Payment, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	p.Desc = true
	q := models.Scope(s.DB.Conn(ctx).Model(&Payment{}), actor, rolesRead, "").Where("owner_id = ?", ownerID)
	return models.Fetch[*Payment](q, models.ByID("id"), p)
}

// sweepAfter is how long a payment is left to its notification before the
// sweep asks the provider.
const sweepAfter = time.Minute

// sweepBatch bounds the payments one sweep asks about.
const sweepBatch = 200

// SweepPending asks the provider about the payments still PENDING a minute
// after they started (their notification may have been lost) and applies
// its answer; it closes those unpaid past their hold, with the provider
// first so that they can no longer be paid. It returns how many payments
// it moved. A payment the provider does not answer for stays PENDING for
// the next sweep.
func (s *Service) SweepPending(ctx context.Context, now time.Time) (int64, error) {
	if s.Provider == nil {
		// Online payment switched off: nobody to ask.
		return 0, nil
	}
	var pending []Payment
	err := s.DB.Conn(ctx).Where("state = ? AND created_at < ?", StatePending, now.Add(-sweepAfter)).
		Order("created_at").Limit(sweepBatch).Find(&pending).Error
	if err != nil {
		return 0, err
	}
	var moved int64
	var firstErr error
	for i := range pending {
		ok, err := s.sweep(ctx, &pending[i], now)
		if err != nil {
			s.log().WarnContext(ctx, "payments: sweep", "payment", pending[i].ID.String(), "error", err.Error())
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			moved++
		}
	}
	return moved, firstErr
}

// sweep settles one pending payment from the provider's answer.
func (s *Service) sweep(ctx context.Context, p *Payment, now time.Time) (bool, error) {
	t, err := s.Provider.Query(ctx, p.OutTradeNo)
	switch {
	case errors.Is(err, ErrNoSuchOrder):
		// Not placed (its prepay failed and was not retried): closed with
		// the provider all the same, so that a late retry cannot place it.
		if now.Before(p.ExpiresAt) {
			return false, nil
		}
		if err := s.Provider.Close(ctx, p.OutTradeNo); err != nil {
			return false, err
		}
		return s.close(ctx, p.ID)
	case err != nil:
		return false, err
	}
	if t.State == TradeNotPay || t.State == TradeUserPaying {
		if now.Before(p.ExpiresAt) {
			return false, nil
		}
		if err := s.Provider.Close(ctx, p.OutTradeNo); errors.Is(err, ErrAlreadyPaid) {
			// Paid while closing: ask again for the paid transaction.
			if t, err = s.Provider.Query(ctx, p.OutTradeNo); err != nil {
				return false, err
			}
		} else if err != nil {
			return false, err
		} else {
			return s.close(ctx, p.ID)
		}
	}
	q, err := s.Apply(ctx, t)
	if err != nil {
		return false, err
	}
	return q.State != StatePending, nil
}

// close records a payment CLOSED if it is still PENDING, and releases what
// it held.
func (s *Service) close(ctx context.Context, id uuid.UUID) (bool, error) {
	var moved bool
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		p, err := s.lock(ctx, id)
		if err != nil || p.State != StatePending {
			return err
		}
		now := s.Clock.Now(ctx)
		p.State, p.ClosedAt = StateClosed, &now
		if err := s.DB.Conn(ctx).Save(p).Error; err != nil {
			return err
		}
		moved = true
		return s.closed(ctx, p)
	})
	return moved, err
}

package events_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/payments"
)

// Event fees paid with WeChat Pay, in the domain: the events service with
// online payments on a fake WeChat Pay, the EVENT_FEE purpose registered as
// the server does.

const fee = 6_600

type feeEnv struct {
	*env
	pay  *payments.Service
	fake *authtest.FakeWeChatPay
}

func newFeeEnv(t *testing.T) *feeEnv {
	t.Helper()
	e := newEnv(t)
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	p, err := payments.NewWeChatPay(payments.WeChatPayConfig{MchID: fake.MchID, AppID: fake.AppID, MobileAppID: fake.AppID,
		MerchantSerial: fake.MerchantSerial, MerchantKeyPEM: fake.MerchantKeyPEM, PublicKeyID: fake.PublicKeyID,
		PublicKeyPEM: fake.PublicKeyPEM, APIv3Key: fake.APIv3Key, NotifyURL: "https://ownerhub.example/notify", BaseURL: fake.URL()})
	must(t, err)
	pay := &payments.Service{DB: e.db, Clock: e.clock.Now, Provider: p, Wallet: e.wallet, Log: slog.New(slog.DiscardHandler)}
	e.svc.Payments = pay
	pay.Purposes = map[string]payments.Purpose{payments.PurposeEventFee: e.svc.FeePurpose()}
	return &feeEnv{env: e, pay: pay, fake: fake}
}

func (e *feeEnv) feeEvent(capacity int) *events.Event {
	s := e.spec(events.Class, capacity)
	s.FeeFen = fee
	return e.published(s)
}

var wechat = events.PayWeChat

func (e *feeEnv) hold(ev *events.Event, as *auth.Principal) *events.Registration {
	e.t.Helper()
	r, err := e.svc.Register(e.ctx, as, events.RegisterInput{EventID: ev.ID, PayWith: &wechat})
	must(e.t, err)
	return r
}

func (e *feeEnv) start(r *events.Registration, as *auth.Principal, key string) (*payments.Payment, error) {
	p, _, err := e.pay.Start(e.ctx, as, payments.StartInput{Purpose: payments.PurposeEventFee, ReferenceID: &r.ID,
		TradeType: payments.TradeApp, IdempotencyKey: key})
	return p, err
}

// paid applies WeChat Pay's word that p was paid.
func (e *feeEnv) paid(p *payments.Payment) *payments.Payment {
	e.t.Helper()
	got, err := e.pay.Apply(e.ctx, &payments.Transaction{OutTradeNo: p.OutTradeNo, TransactionID: "4200" + p.ID.String()[:8],
		State: payments.TradeSuccess, AmountFen: p.AmountFen, MchID: e.fake.MchID, AppID: e.fake.AppID, SuccessTime: e.clock.Now()})
	must(e.t, err)
	return got
}

// closed applies WeChat Pay's word that p was closed.
func (e *feeEnv) closed(p *payments.Payment) {
	e.t.Helper()
	_, err := e.pay.Apply(e.ctx, &payments.Transaction{OutTradeNo: p.OutTradeNo, State: payments.TradeClosed,
		AmountFen: p.AmountFen, MchID: e.fake.MchID, AppID: e.fake.AppID})
	must(e.t, err)
}

func (e *feeEnv) refunds(p *payments.Payment) []*payments.Refund {
	e.t.Helper()
	m, err := e.pay.Refunds(e.ctx, []uuid.UUID{p.ID})
	must(e.t, err)
	return m[p.ID]
}

func (e *feeEnv) seats(ev *events.Event) int {
	e.t.Helper()
	got := e.event(ev.ID)
	var held int64
	must(e.t, e.db.Conn(e.ctx).Model(&events.Registration{}).Where("event_id = ? AND status IN ?", ev.ID,
		[]events.RegStatus{events.Confirmed, events.AwaitingPayment}).Select("COALESCE(SUM(party_size), 0)").Scan(&held).Error)
	if int(held) != got.SeatsTaken || got.SeatsTaken > got.Capacity {
		e.t.Fatalf("seats_taken %d, held %d, capacity %d", got.SeatsTaken, held, got.Capacity)
	}
	return got.SeatsTaken
}

func TestFeeStartChecksTheRegistration(t *testing.T) {
	e := newFeeEnv(t)
	ev := e.feeEvent(3)
	o, as := e.customer(0)
	r := e.hold(ev, as)
	if r.Status != events.AwaitingPayment || r.HoldExpiresAt == nil || !r.HoldExpiresAt.Equal(e.clock.Now().Add(payments.DefaultHold)) {
		t.Fatalf("held %+v", r)
	}
	// Another owner's: not found, nothing written.
	_, other := e.customer(0)
	_, err := e.start(r, other, "k")
	wantCode(t, err, models.CodeNotFound, "registrationId")
	// A registration paying from the wallet: nothing to pay online.
	w, was := e.customer(fee)
	wr, err := e.svc.Register(e.ctx, was, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	_, err = e.start(wr, was, "k")
	wantCode(t, err, events.CodeNotAwaitingPayment, "registrationId")

	p, err := e.start(r, as, "k")
	must(t, err)
	if p.AmountFen != fee || p.StoreID != ev.StoreID || !p.ExpiresAt.Equal(*r.HoldExpiresAt) || *p.ReferenceID != r.ID {
		t.Fatalf("payment %+v", p)
	}
	_, err = e.start(r, as, "k2")
	wantCode(t, err, payments.CodePaymentInFlight, "registrationId")
	again, err := e.start(r, as, "k")
	must(t, err)
	if again.ID != p.ID {
		t.Fatal("the same key started a second payment")
	}
	// Past the hold: refused.
	e.clock.Advance(payments.DefaultHold)
	_, o2 := e.customer(0)
	r2 := e.hold(e.feeEvent(1), o2)
	e.clock.Advance(payments.DefaultHold)
	_, err = e.start(r2, o2, "k")
	wantCode(t, err, events.CodeHoldExpired, "registrationId")
	_, _ = o, w
}

func TestFeePaidConfirmsOnce(t *testing.T) {
	e := newFeeEnv(t)
	ev := e.feeEvent(2)
	_, as := e.customer(0)
	r := e.hold(ev, as)
	p, err := e.start(r, as, "k")
	must(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.paid(p)
		}()
	}
	wg.Wait()
	got := e.reg(r.ID)
	if got.Status != events.Confirmed || got.PaidFen != fee || got.ConfirmedAt == nil {
		t.Fatalf("registration %+v", got)
	}
	if n := e.seats(ev); n != 1 {
		t.Fatalf("%d seats", n)
	}
	// Cancelled before the deadline: refunded to the payment.
	_, err = e.svc.CancelRegistration(e.ctx, as, r.ID, "")
	must(t, err)
	if rf := e.refunds(p); len(rf) != 1 || rf[0].AmountFen != fee || rf[0].Cause != payments.CauseCancelled {
		t.Fatalf("refunds %+v", rf)
	}
	if got := e.reg(r.ID); got.RefundedFen != fee || got.Status != events.Withdrawn {
		t.Fatalf("cancelled %+v", got)
	}
}

func TestFeeFailedWithinTheHoldKeepsTheSeat(t *testing.T) {
	e := newFeeEnv(t)
	ev := e.feeEvent(1)
	_, as := e.customer(0)
	r := e.hold(ev, as)
	p, err := e.start(r, as, "k")
	must(t, err)
	e.closed(p) // closed while the hold runs: the owner may pay again
	if got := e.reg(r.ID); got.Status != events.AwaitingPayment {
		t.Fatalf("released within the hold: %+v", got)
	}
	p2, err := e.start(r, as, "k2")
	must(t, err)
	e.paid(p2)
	if got := e.reg(r.ID); got.Status != events.Confirmed || got.PaidFen != fee {
		t.Fatalf("paid again %+v", got)
	}
}

func TestFeePaidAfterTheHoldWasReleased(t *testing.T) {
	e := newFeeEnv(t)
	ev := e.feeEvent(1)
	_, as := e.customer(0)
	r := e.hold(ev, as)
	p, err := e.start(r, as, "k")
	must(t, err)
	w, was := e.customer(fee)
	queued, err := e.svc.Register(e.ctx, was, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	if queued.Status != events.Waitlisted {
		t.Fatalf("second %+v", queued)
	}
	e.clock.Advance(payments.DefaultHold)
	// The job leaves a hold with a payment open to the sweep.
	n, err := e.svc.ReleaseExpiredHolds(e.ctx, e.clock.Now())
	must(t, err)
	if n != 0 || e.reg(r.ID).Status != events.AwaitingPayment {
		t.Fatalf("job released %d with a payment open", n)
	}
	e.closed(p) // the sweep closed it past the hold
	if got := e.reg(r.ID); got.Status != events.Withdrawn || got.CancelReason != events.HoldReleasedReason {
		t.Fatalf("after the close %+v", got)
	}
	if got := e.reg(queued.ID); got.Status != events.Confirmed {
		t.Fatalf("waitlist %+v", got)
	}
	// The money arrives all the same: no seat, refunded whole.
	got := e.paid(p)
	if got.State != payments.StateRefunding {
		t.Fatalf("payment %+v", got)
	}
	if rf := e.refunds(p); len(rf) != 1 || rf[0].AmountFen != fee || rf[0].Cause != payments.CauseNotApplicable {
		t.Fatalf("refunds %+v", rf)
	}
	if e.reg(r.ID).Status != events.Withdrawn || e.reg(queued.ID).Status != events.Confirmed || e.seats(ev) != 1 {
		t.Fatal("the late payment moved the seats")
	}
	if bal, _ := e.balance(w); bal != 0 {
		t.Fatalf("waitlisted owner's balance %d", bal)
	}

	// With a free seat the late payment takes it.
	ev2 := e.feeEvent(2)
	_, bs := e.customer(0)
	r2 := e.hold(ev2, bs)
	p2, err := e.start(r2, bs, "k")
	must(t, err)
	e.clock.Advance(payments.DefaultHold)
	e.closed(p2)
	if e.reg(r2.ID).Status != events.Withdrawn || e.seats(ev2) != 0 {
		t.Fatal("not released")
	}
	e.paid(p2)
	if got := e.reg(r2.ID); got.Status != events.Confirmed || got.PaidFen != fee || got.CancelledAt != nil {
		t.Fatalf("late payment with a free seat %+v", got)
	}
	if e.seats(ev2) != 1 || len(e.refunds(p2)) != 0 {
		t.Fatal("seat or refund wrong")
	}
}

// Many owners race for the last seats with WeChat Pay holds (and the
// wallet): held and confirmed seats never pass the capacity.
func TestFeeHoldsRaceForTheLastSeats(t *testing.T) {
	e := newFeeEnv(t)
	const owners, capacity = 24, 5
	ev := e.feeEvent(capacity)
	var wg sync.WaitGroup
	statuses := make(chan events.RegStatus, owners)
	for i := range owners {
		_, as := e.customer(fee)
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := events.RegisterInput{EventID: ev.ID, IdempotencyKey: fmt.Sprintf("race-%d", i)}
			if i%3 != 0 {
				in.PayWith = &wechat
			}
			r, err := e.svc.Register(e.ctx, as, in)
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- r.Status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[events.RegStatus]int{}
	for s := range statuses {
		count[s]++
	}
	if count[events.Confirmed]+count[events.AwaitingPayment] != capacity || count[events.Waitlisted] != owners-capacity {
		t.Fatalf("statuses %v", count)
	}
	if e.seats(ev) != capacity {
		t.Fatal("seats")
	}
	// The holds end: the job gives their seats to the queue (held again
	// for those paying online, charged for the others).
	e.clock.Advance(payments.DefaultHold)
	n, err := e.svc.ReleaseExpiredHolds(e.ctx, e.clock.Now())
	must(t, err)
	if int(n) != count[events.AwaitingPayment] || e.seats(ev) != capacity {
		t.Fatalf("released %d of %d holds", n, count[events.AwaitingPayment])
	}
}

func TestWeChatPayRefusedWhenOff(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 2)
	s.FeeFen = fee
	ev := e.published(s)
	_, as := e.customer(0)
	_, err := e.svc.Register(e.ctx, as, events.RegisterInput{EventID: ev.ID, PayWith: &wechat})
	wantCode(t, err, models.CodePaymentMethodUnavailable, "payWith")
}

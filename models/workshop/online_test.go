package workshop_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Bills paid online (REPAIR_BILL): the payment settles the order through
// the counter's settlement, once; what cannot take it is refunded.

// payEnv is an env whose workshop takes online payments through a fake
// WeChat Pay.
type payEnv struct {
	*env
	fake *authtest.FakeWeChatPay
	pay  *payments.Service
}

func newPayEnv(t *testing.T) *payEnv {
	t.Helper()
	e := newEnv(t)
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	p, err := payments.NewWeChatPay(payments.WeChatPayConfig{MchID: fake.MchID, AppID: fake.AppID, MobileAppID: fake.AppID,
		MerchantSerial: fake.MerchantSerial, MerchantKeyPEM: fake.MerchantKeyPEM, PublicKeyID: fake.PublicKeyID,
		PublicKeyPEM: fake.PublicKeyPEM, APIv3Key: fake.APIv3Key, NotifyURL: "https://ownerhub.example/notify", BaseURL: fake.URL()})
	must(t, err)
	svc := &payments.Service{DB: e.db, Clock: e.clock.Now, Provider: p, Wallet: e.wallet, Log: slog.New(slog.DiscardHandler)}
	svc.Purposes = map[string]payments.Purpose{payments.PurposeRepairBill: e.svc.BillPurpose()}
	e.svc.Payments = svc
	return &payEnv{env: e, fake: fake, pay: svc}
}

// payer is an owner able to pay in the mini-program.
func (e *payEnv) payer(o *models.Owner) *auth.Principal {
	e.t.Helper()
	must(e.t, e.db.Conn(e.ctx).Model(o).Update("wechat_openid", "oBill"+o.ID.String()[:16]).Error)
	return ownerOf(o)
}

func (e *payEnv) start(as *auth.Principal, order uuid.UUID, key string) (*payments.Payment, error) {
	p, _, err := e.pay.Start(e.ctx, as, payments.StartInput{Purpose: payments.PurposeRepairBill, ReferenceID: &order,
		TradeType: payments.TradeJSAPI, IdempotencyKey: key})
	return p, err
}

// notify pays p with the fake and applies its notification n times at once,
// as the notify endpoint would.
func (e *payEnv) notify(p *payments.Payment, n int) {
	e.t.Helper()
	note, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	must(e.t, err)
	for _, err := range run(n, func(int) error {
		r := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(note.Body))
		r.Header = note.Header.Clone()
		tx, err := e.pay.Provider.ParseNotification(e.ctx, r)
		if err == nil {
			_, err = e.pay.Apply(e.ctx, tx)
		}
		return err
	}) {
		must(e.t, err)
	}
}

func (e *payEnv) payment(id uuid.UUID) *payments.Payment {
	e.t.Helper()
	var p payments.Payment
	must(e.t, e.db.Conn(e.ctx).Where("id = ?", id).Take(&p).Error)
	return &p
}

func (e *payEnv) refunds(p *payments.Payment) []*payments.Refund {
	e.t.Helper()
	m, err := e.pay.Refunds(e.ctx, []uuid.UUID{p.ID})
	must(e.t, err)
	return m[p.ID]
}

func TestBillPaidOnlineSettlesTheOrderOnce(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	owner, o := e.readyToSettle("线上付")
	as := e.payer(owner)
	before := e.account(owner)

	p, err := e.start(as, o.ID, "bill-1")
	must(t, err)
	if p.AmountFen != billed || p.StoreID != e.sz.ID || p.ReferenceID == nil || *p.ReferenceID != o.ID || p.OutTradeNo[:2] != "RB" {
		t.Fatalf("payment %+v", p)
	}
	again, err := e.start(as, o.ID, "bill-1")
	must(t, err)
	if again.ID != p.ID {
		t.Fatal("the same key started a second payment")
	}
	// One payment in flight per order; the counter waits for it too.
	_, err = e.start(as, o.ID, "bill-2")
	wantCode(t, err, payments.CodePaymentInFlight, "")
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID,
		Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed}}})
	wantCode(t, err, payments.CodePaymentInFlight, "")

	must(t, e.fake.Pay(p.OutTradeNo))
	e.notify(p, 12)

	got := e.reload(o)
	if got.SettledAt == nil || got.SettledBy != nil || got.PayableFen != billed || got.Version != o.Version+1 {
		t.Fatalf("order after the payment: %+v", got)
	}
	paid := e.payment(p.ID)
	if paid.State != payments.StatePaid || paid.TransactionID == nil {
		t.Fatalf("payment %+v", paid)
	}
	lines, err := e.svc.PaymentsByOrderIDs(e.ctx, []uuid.UUID{o.ID})
	must(t, err)
	if l := lines[o.ID]; len(l) != 1 || l[0].Method != workshop.WeChatPay || l[0].AmountFen != billed ||
		l[0].Reference != *paid.TransactionID || l[0].CreatedBy != nil || l[0].OnlinePaymentID == nil || *l[0].OnlinePaymentID != p.ID {
		t.Fatalf("settlement lines %+v", l)
	}
	// The money earns points as at the counter: 1 per yuan, once.
	entries := e.orderEntries(o)
	if len(entries) != 1 || entries[0].Kind != wallet.PointsEarn || entries[0].Points != billed/100 || entries[0].StaffID != nil {
		t.Fatalf("ledger of the order %+v", entries)
	}
	if a := e.account(owner); a.Points != before.Points+billed/100 {
		t.Fatalf("points %d, want %d", a.Points, before.Points+billed/100)
	}
	_, err = e.start(as, o.ID, "bill-3")
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID,
		Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed}}})
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	e.move(got, workshop.ReadyForPickup, "")
}

func TestBillPaymentRefusals(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	owner, o := e.readyToSettle("付款拒")
	as := e.payer(owner)
	stranger, _ := e.customer("旁人")

	_, err := e.start(e.payer(stranger), o.ID, "x")
	wantCode(t, err, models.CodeNotFound, "repairOrderId")
	_, _, err = e.pay.Start(e.ctx, as, payments.StartInput{Purpose: payments.PurposeRepairBill, TradeType: payments.TradeJSAPI, IdempotencyKey: "x"})
	wantCode(t, err, models.CodeInvalidArgument, "repairOrderId")
	_, _, err = e.pay.Start(e.ctx, as, payments.StartInput{Purpose: payments.PurposeRepairBill, ReferenceID: &o.ID, AmountFen: billed - 1,
		TradeType: payments.TradeJSAPI, IdempotencyKey: "x"})
	wantCode(t, err, models.CodeInvalidArgument, "amountFen")
	_, _, err = e.pay.Start(e.ctx, as, payments.StartInput{Purpose: payments.PurposeRepairBill, ReferenceID: &o.ID, StoreID: e.gz.ID,
		TradeType: payments.TradeJSAPI, IdempotencyKey: "x"})
	wantCode(t, err, models.CodeInvalidArgument, "storeId")

	_, car := e.customer("未完工")
	early := e.open(car)
	must(t, e.db.Conn(e.ctx).Model(&models.Vehicle{}).Where("id = ?", car.ID).Update("owner_id", owner.ID).Error)
	_, err = e.start(as, early.ID, "early") // a car the owner owns now
	wantCode(t, err, workshop.CodeWorkNotFinished, "")

	free, fcar := e.customer("全保修")
	fo := e.open(fcar, func(in *workshop.OpenInput) {
		in.Items = []workshop.ItemInput{{Kind: workshop.Part, Code: "WAR", Description: "质保件", QuantityMilli: 1000, UnitPriceFen: 5000, Warranty: true}}
	})
	fo = e.move(e.move(fo, workshop.InProgress, ""), workshop.QualityCheck, "")
	_, err = e.start(e.payer(free), fo.ID, "free")
	wantCode(t, err, workshop.CodeNothingDue, "")

	e.move(early, workshop.Cancelled, "车主取消")
	_, err = e.start(as, early.ID, "closed")
	wantCode(t, err, workshop.CodeOrderClosed, "")
	if n := e.countRows(&payments.Payment{}, "owner_id IN ?", []uuid.UUID{owner.ID, stranger.ID, free.ID}); n != 0 {
		t.Fatalf("refused starts wrote %d payments", n)
	}
}

// Starts of one bill under many keys at once: one payment, the others
// PAYMENT_IN_FLIGHT.
func TestConcurrentBillStartsOnePayment(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	owner, o := e.readyToSettle("并发付")
	as := e.payer(owner)
	const n = 8
	errs := run(n, func(i int) error {
		_, err := e.start(as, o.ID, fmt.Sprintf("race-%d", i))
		return err
	})
	codes := map[models.Code]int{}
	for _, err := range errs {
		codes[codeOf(err)]++
	}
	if codes[""] != 1 || codes[payments.CodePaymentInFlight] != n-1 {
		t.Fatalf("outcomes %v; want 1 start and %d PAYMENT_IN_FLIGHT", codes, n-1)
	}
	if c := e.countRows(&payments.Payment{}, "reference_id = ?", o.ID); c != 1 {
		t.Fatalf("%d payments for the order", c)
	}
}

// A bill that changed, or an order cancelled, while the owner paid: the
// order stays as it is and the payment goes back whole.
func TestBillPaidForWhatChangedIsRefunded(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)

	owner, o := e.readyToSettle("改账单")
	as := e.payer(owner)
	p, err := e.start(as, o.ID, "b")
	must(t, err)
	// QC finds worn wipers: back to work, the owner approves them.
	o = e.move(o, workshop.InProgress, "雨刮片老化")
	o, err = e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, wiper, true, nil)
	must(t, err)
	items := e.items(o)
	o, err = e.svc.Decide(e.ctx, as, o.ID, []workshop.Decision{{ItemID: items[len(items)-1].ID, Approve: true}})
	must(t, err)
	o = e.move(o, workshop.QualityCheck, "")
	must(t, e.fake.Pay(p.OutTradeNo))
	e.notify(p, 3)
	if got := e.reload(o); got.SettledAt != nil {
		t.Fatal("an order whose bill changed was settled by the old amount")
	}
	paid := e.payment(p.ID)
	if f := e.refunds(paid); paid.State != payments.StateRefunding || len(f) != 1 || f[0].AmountFen != billed ||
		f[0].Cause != payments.CauseNotApplicable || f[0].State != payments.RefundProcessing {
		t.Fatalf("payment %+v, refunds %+v", paid, f)
	}
	// Now the new amount can be paid.
	p2, err := e.start(as, o.ID, "b2")
	must(t, err)
	if p2.AmountFen != billed+19600 {
		t.Fatalf("new payment of %d", p2.AmountFen)
	}

	owner2, o2 := e.readyToSettle("取消单")
	p3, err := e.start(e.payer(owner2), o2.ID, "c")
	must(t, err)
	e.move(o2, workshop.Cancelled, "车主改期")
	must(t, e.fake.Pay(p3.OutTradeNo))
	e.notify(p3, 2)
	if got := e.payment(p3.ID); got.State != payments.StateRefunding || len(e.refunds(got)) != 1 {
		t.Fatalf("payment of a cancelled order: %+v", got)
	}
	if got := e.reload(o2); got.SettledAt != nil || got.Status != workshop.Cancelled {
		t.Fatalf("cancelled order %+v", got)
	}
}

// A payment closed past its hold releases nothing; the counter may settle
// then, and money that arrives afterwards for it goes back.
func TestBillPaidAfterCounterSettlementIsRefunded(t *testing.T) {
	t.Parallel()
	e := newPayEnv(t)
	owner, o := e.readyToSettle("柜台先")
	p, err := e.start(e.payer(owner), o.ID, "late")
	must(t, err)
	e.clock.Advance(payments.DefaultHold + time.Minute)
	moved, err := e.pay.SweepPending(e.ctx, e.clock.Now())
	must(t, err)
	if moved < 1 || e.payment(p.ID).State != payments.StateClosed {
		t.Fatalf("sweep moved %d; payment %s", moved, e.payment(p.ID).State)
	}
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID,
		Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed}}})
	must(t, err)
	must(t, e.fake.PayClosed(p.OutTradeNo))
	e.notify(p, 4)
	got := e.payment(p.ID)
	if f := e.refunds(got); got.State != payments.StateRefunding || len(f) != 1 || f[0].AmountFen != billed {
		t.Fatalf("payment %+v, refunds %+v", got, f)
	}
	lines, err := e.svc.PaymentsByOrderIDs(e.ctx, []uuid.UUID{o.ID})
	must(t, err)
	if l := lines[o.ID]; len(l) != 1 || l[0].Method != workshop.Cash {
		t.Fatalf("lines %+v", l)
	}
	if n := len(e.orderEntries(o)); n != 1 {
		t.Fatalf("%d ledger entries for the order", n)
	}
}

package payments_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &payments.Payment{})
}

// env is a database with an owner signed in through WeChat, a fake WeChat
// Pay, and the payments service on both. The domain clock starts now and
// moves; the provider's signatures use the real time.
type env struct {
	w     *testdb.World
	fake  *authtest.FakeWeChatPay
	clock *testdb.Clock
	svc   *payments.Service
	wal   *wallet.Service
	owner *models.Owner
	as    *auth.Principal
	ctx   context.Context
}

const bonusRule = 100000 // ¥1,000 gets ¥100

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, testdb.NewWorld(t))
}

func newEnvOn(t testing.TB, w *testdb.World) *env {
	t.Helper()
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	e := &env{w: w, fake: fake, clock: testdb.NewClock(testdb.Now()), ctx: context.Background()}
	cfg := wallet.DefaultConfig()
	cfg.BonusRules = []wallet.BonusRule{{MinFen: bonusRule, BonusFen: 10000}}
	e.wal = &wallet.Service{DB: w.DB, Config: cfg, Clock: e.clock.Now}
	e.svc = &payments.Service{DB: w.DB, Clock: e.clock.Now, Provider: e.provider(t, fake), Wallet: e.wal,
		Log: slog.New(slog.DiscardHandler)}
	e.owner = w.Owner(1, "张三", w.SZ)
	openid := "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	testdb.Must(t, w.DB.Conn(e.ctx).Model(e.owner).Update("wechat_openid", openid).Error)
	e.as = testdb.OwnerPrincipal(e.owner)
	return e
}

func (e *env) provider(t testing.TB, f *authtest.FakeWeChatPay) *payments.WeChatPay {
	t.Helper()
	p, err := payments.NewWeChatPay(payments.WeChatPayConfig{MchID: f.MchID, AppID: f.AppID, MobileAppID: f.AppID,
		MerchantSerial: f.MerchantSerial, MerchantKeyPEM: f.MerchantKeyPEM, PublicKeyID: f.PublicKeyID,
		PublicKeyPEM: f.PublicKeyPEM, APIv3Key: f.APIv3Key, NotifyURL: "https://ownerhub.example/api/v1/payments/wechat/notify",
		BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) start(t *testing.T, amount int64, key string) (*payments.Payment, *payments.Launch) {
	t.Helper()
	p, l, err := e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: amount, TradeType: payments.TradeJSAPI, IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

// notified delivers n to the service as the notify endpoint would: parsed
// from the HTTP request, then applied.
func (e *env) notified(n authtest.PayNotification) (*payments.Payment, error) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/payments/wechat/notify", bytes.NewReader(n.Body))
	r.Header = n.Header.Clone()
	tx, err := e.svc.Provider.ParseNotification(e.ctx, r)
	if err != nil {
		return nil, err
	}
	return e.svc.Apply(e.ctx, tx)
}

func (e *env) balance(t *testing.T) int64 {
	t.Helper()
	m, err := e.wal.Membership(e.ctx, e.as, e.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m.BalanceFen
}

func (e *env) audit(t *testing.T) {
	t.Helper()
	bad, err := wallet.Audit(e.ctx, e.w.DB)
	if err != nil || len(bad) > 0 {
		t.Fatalf("wallet audit: %v %+v", err, bad)
	}
}

func TestTopUpStartsWithSignedLaunchParameters(t *testing.T) {
	e := newEnv(t)
	p, l := e.start(t, 20000, "k1")
	if p.State != payments.StatePending || len(p.OutTradeNo) != 32 || p.OutTradeNo[:2] != "TU" || p.PrepayID == "" {
		t.Fatalf("payment %+v", p)
	}
	if l.JSAPI == nil || l.JSAPI.Package != "prepay_id="+p.PrepayID || l.JSAPI.PaySign == "" || l.JSAPI.SignType != "RSA" ||
		l.JSAPI.AppID != e.fake.AppID {
		t.Fatalf("launch %+v", l.JSAPI)
	}
	o, ok := e.fake.Order(p.OutTradeNo)
	if !ok || o.Total != 20000 || o.OpenID == "" || o.TradeType != "JSAPI" {
		t.Fatalf("order at the provider %+v", o)
	}
	// The same key again: the same payment and prepay id, no second order.
	q, l2 := e.start(t, 20000, "k1")
	if q.ID != p.ID || l2.PrepayID != p.PrepayID {
		t.Fatalf("retry gave %+v %+v", q, l2)
	}
	if n := e.w.Count(&payments.Payment{}); n != 1 {
		t.Fatalf("%d payments", n)
	}
	// The key with another amount is refused.
	_, _, err := e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: 30000, TradeType: payments.TradeJSAPI, IdempotencyKey: "k1"})
	testdb.WantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
	// APP pay gets the app SDK's parameters.
	_, la, err := e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: 5000, TradeType: payments.TradeApp, IdempotencyKey: "k2"})
	if err != nil || la.App == nil || la.App.Package != "Sign=WXPay" || la.App.PartnerID != e.fake.MchID || la.App.Sign == "" {
		t.Fatalf("app launch %v %+v", err, la)
	}
	if ok, refused := e.fake.Requests(); refused != 0 || ok != 3 {
		t.Fatalf("provider saw %d signed requests, refused %d", ok, refused)
	}
}

func TestStartRefusals(t *testing.T) {
	e := newEnv(t)
	start := func(as *auth.Principal, in payments.StartInput) error {
		_, _, err := e.svc.Start(e.ctx, as, in)
		return err
	}
	ok := payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID, AmountFen: 1000, TradeType: payments.TradeJSAPI, IdempotencyKey: "k"}
	with := func(f func(*payments.StartInput)) payments.StartInput { in := ok; f(&in); return in }

	testdb.WantCode(t, start(nil, ok), models.CodeUnauthenticated, "")
	testdb.WantCode(t, start(e.w.SZManager, ok), models.CodeForbidden, "")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.Purpose = "GIFT" })), models.CodeInvalidArgument, "purpose")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.TradeType = "NATIVE" })), models.CodeInvalidArgument, "tradeType")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.AmountFen = 0 })), models.CodeInvalidArgument, "amountFen")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.AmountFen = 500001 })), models.CodeInvalidArgument, "amountFen")
	// ¥4,950 and its ¥100 bonus pass the ¥5,000 cap.
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.AmountFen = 495000 })), wallet.CodeBalanceCapExceeded, "amountFen")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.IdempotencyKey = "" })), models.CodeInvalidArgument, "idempotencyKey")
	testdb.WantCode(t, start(e.as, with(func(in *payments.StartInput) { in.StoreID = models.NewID() })), models.CodeNotFound, "storeId")

	// No WeChat sign-in: no JSAPI.
	other := e.w.Owner(2, "李四", e.w.SZ)
	testdb.WantCode(t, start(testdb.OwnerPrincipal(other), ok), payments.CodeWeChatNotBound, "tradeType")

	// Online payment off.
	off := *e.svc
	off.Provider = nil
	_, _, err := off.Start(e.ctx, e.as, ok)
	testdb.WantCode(t, err, models.CodePaymentMethodUnavailable, "tradeType")

	// The provider down: UNAVAILABLE, and the same key works once it is back.
	e.fake.FailNext(1)
	testdb.WantCode(t, start(e.as, ok), models.CodeUnavailable, "")
	if _, l := e.start(t, 1000, "k"); l == nil || l.PrepayID == "" {
		t.Fatal("no launch after the provider came back")
	}
	if n := e.w.Count(&payments.Payment{}); n != 1 {
		t.Fatalf("%d payments after the refusals and one retried start", n)
	}
}

// Twenty copies of one success notification, at once: one top-up.
func TestDuplicateNotificationsApplyOnce(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, bonusRule, "k")
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))
	n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	testdb.Must(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q, err := e.notified(n)
			if err == nil && q.State != payments.StatePaid {
				err = errors.New("state " + q.State)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b := e.balance(t); b != bonusRule+10000 {
		t.Fatalf("balance %d, want the top-up and its bonus once", b)
	}
	got, err := e.svc.Payment(e.ctx, e.as, p.ID)
	testdb.Must(t, err)
	o, _ := e.fake.Order(p.OutTradeNo)
	if got.TransactionID == nil || *got.TransactionID != o.TransactionID || got.PaidAt == nil ||
		!got.PaidAt.Equal(o.SuccessTime.Truncate(time.Second)) {
		t.Fatalf("paid payment %+v; want paid at WeChat Pay's success time %v", got, o.SuccessTime)
	}
	e.audit(t)
}

func TestNotificationsThatChangeNothing(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, 20000, "k")
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))

	cases := []struct {
		name string
		edit func(map[string]any)
		want error
	}{
		{"another amount", func(tx map[string]any) { tx["amount"].(map[string]any)["total"] = 1 }, payments.ErrMismatch},
		{"another merchant", func(tx map[string]any) { tx["mchid"] = "1900000999" }, payments.ErrMismatch},
		{"another app", func(tx map[string]any) { tx["appid"] = "wx0000000000000000" }, payments.ErrMismatch},
		{"no such payment", func(tx map[string]any) { tx["out_trade_no"] = "TU000000000000000000000000000000" }, payments.ErrUnknown},
	}
	for _, c := range cases {
		n, err := e.fake.NotificationFor(p.OutTradeNo, c.edit)
		testdb.Must(t, err)
		if _, err := e.notified(n); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}

	n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	testdb.Must(t, err)
	forged := n
	forged.Body = bytes.Replace(n.Body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付成功 "`), 1)
	if _, err := e.notified(forged); !errors.Is(err, payments.ErrBadNotification) {
		t.Errorf("forged body: %v", err)
	}
	if _, err := e.notified(e.fake.Resign(n, time.Now().Add(-10*time.Minute))); !errors.Is(err, payments.ErrBadNotification) {
		t.Errorf("replayed ten minutes later: %v", err)
	}
	if b := e.balance(t); b != 0 {
		t.Fatalf("balance %d after refused notifications", b)
	}
	got, err := e.svc.Payment(e.ctx, e.as, p.ID)
	testdb.Must(t, err)
	if got.State != payments.StatePending {
		t.Fatalf("state %s", got.State)
	}
	// The real notification still applies.
	if q, err := e.notified(n); err != nil || q.State != payments.StatePaid {
		t.Fatalf("real notification: %v", err)
	}
	e.audit(t)
}

// A lost notification is recovered by the sweep; an unpaid payment past its
// hold is closed with the provider, so it cannot be paid any more.
func TestSweepRecoversAndCloses(t *testing.T) {
	e := newEnv(t)
	paid, _ := e.start(t, 20000, "paid")
	unpaid, _ := e.start(t, 30000, "unpaid")
	testdb.Must(t, e.fake.Pay(paid.OutTradeNo))

	// Within the first minute the sweep leaves them to their notifications.
	if n, err := e.svc.SweepPending(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("early sweep moved %d: %v", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.SweepPending(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep moved %d: %v", n, err)
	}
	if b := e.balance(t); b != 20000 {
		t.Fatalf("balance %d", b)
	}
	// Past the hold the unpaid one is closed, at the provider too.
	e.clock.Advance(payments.DefaultHold)
	if n, err := e.svc.SweepPending(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("closing sweep moved %d: %v", n, err)
	}
	got, err := e.svc.Payment(e.ctx, e.as, unpaid.ID)
	testdb.Must(t, err)
	if got.State != payments.StateClosed || got.ClosedAt == nil {
		t.Fatalf("unpaid payment %+v", got)
	}
	if o, _ := e.fake.Order(unpaid.OutTradeNo); o.State != "CLOSED" {
		t.Fatalf("provider's order %s", o.State)
	}
	if err := e.fake.Pay(unpaid.OutTradeNo); err == nil {
		t.Fatal("a closed order could still be paid")
	}
	// The late notification of the paid one changes nothing.
	n, err := e.fake.NotificationFor(paid.OutTradeNo, nil)
	testdb.Must(t, err)
	if _, err := e.notified(n); err != nil {
		t.Fatal(err)
	}
	if b := e.balance(t); b != 20000 {
		t.Fatalf("balance %d after the late notification", b)
	}
	e.audit(t)
}

// Paid while being closed: the sweep applies the payment instead.
func TestSweepPaidWhileClosing(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, 20000, "k")
	e.clock.Advance(payments.DefaultHold + time.Minute)
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))
	if n, err := e.svc.SweepPending(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep moved %d: %v", n, err)
	}
	got, err := e.svc.Payment(e.ctx, e.as, p.ID)
	testdb.Must(t, err)
	if got.State != payments.StatePaid || e.balance(t) != 20000 {
		t.Fatalf("payment %s, balance %d", got.State, e.balance(t))
	}
}

func TestWhoSeesAPayment(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, 20000, "k")
	other := testdb.OwnerPrincipal(e.w.Owner(2, "李四", e.w.SZ))
	for name, as := range map[string]*auth.Principal{"the owner": e.as, "the store's manager": e.w.SZManager, "an admin": e.w.Admin} {
		if _, err := e.svc.Payment(e.ctx, as, p.ID); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, as := range map[string]*auth.Principal{"another owner": other, "another store's manager": e.w.GZManager,
		"a technician": e.w.SZTech} {
		if _, err := e.svc.Payment(e.ctx, as, p.ID); !isNotFound(err) {
			t.Errorf("%s: %v, want NOT_FOUND", name, err)
		}
	}
	list, _, err := e.svc.Payments(e.ctx, other, e.owner.ID, models.Page{First: 10})
	if err != nil || len(list) != 0 {
		t.Fatalf("another owner listed %d: %v", len(list), err)
	}
	list, _, err = e.svc.Payments(e.ctx, e.as, e.owner.ID, models.Page{First: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("the owner listed %d: %v", len(list), err)
	}
}

func isNotFound(err error) bool {
	var me *models.Error
	return errors.As(err, &me) && me.Code == models.CodeNotFound
}

// A client that lost the answer retries with the same key after the payment
// was paid: it gets the paid payment back, even though the card could not
// take the same top-up again now.
func TestStartAgainAfterItWasPaid(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, 400000, "k")
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))
	n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	testdb.Must(t, err)
	if _, err := e.notified(n); err != nil {
		t.Fatal(err)
	}
	q, l, err := e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: 400000, TradeType: payments.TradeJSAPI, IdempotencyKey: "k"})
	if err != nil || q.ID != p.ID || q.State != payments.StatePaid || l != nil {
		t.Fatalf("retry after paid: %+v %+v %v", q, l, err)
	}
	// Past its hold a pending payment comes back without a launch and is
	// not placed again.
	r, _ := e.start(t, 100, "late")
	e.clock.Advance(payments.DefaultHold)
	before, _ := e.fake.Requests()
	q, l, err = e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: 100, TradeType: payments.TradeJSAPI, IdempotencyKey: "late"})
	if after, _ := e.fake.Requests(); err != nil || q.ID != r.ID || l != nil || after != before {
		t.Fatalf("retry past the hold: %+v %+v %v, %d provider calls", q, l, err, after-before)
	}
}

// Money that arrives for a payment recorded closed is never ignored: a
// top-up the card can still take is credited; one it cannot is refunded
// whole.
func TestPaidAfterRecordedClosed(t *testing.T) {
	e := newEnv(t)
	p, _ := e.start(t, 20000, "k")
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))
	testdb.Must(t, e.w.DB.Conn(e.ctx).Model(&payments.Payment{}).Where("id = ?", p.ID).Update("state", payments.StateClosed).Error)
	n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	testdb.Must(t, err)
	q, err := e.notified(n)
	if err != nil || q.State != payments.StatePaid || q.TransactionID == nil {
		t.Fatalf("paid after closed: %+v %v", q, err)
	}
	if b := e.balance(t); b != 20000 {
		t.Fatalf("balance %d, want the late top-up credited", b)
	}

	// The card fills up, then money arrives for a closed top-up it cannot
	// take: the whole payment goes back.
	r, _ := e.start(t, 100000, "late")
	testdb.Must(t, e.fake.Pay(r.OutTradeNo))
	testdb.Must(t, e.w.DB.Conn(e.ctx).Model(&payments.Payment{}).Where("id = ?", r.ID).Update("state", payments.StateClosed).Error)
	full, _ := e.start(t, 380000, "full") // ¥200 + ¥3,800 + ¥100 bonus: no room for ¥1,100 more
	testdb.Must(t, e.fake.Pay(full.OutTradeNo))
	n, err = e.fake.NotificationFor(full.OutTradeNo, nil)
	testdb.Must(t, err)
	if _, err := e.notified(n); err != nil {
		t.Fatal(err)
	}
	n, err = e.fake.NotificationFor(r.OutTradeNo, nil)
	testdb.Must(t, err)
	q, err = e.notified(n)
	if err != nil || q.State != payments.StateRefunding || q.TransactionID == nil {
		t.Fatalf("paid after closed past the cap: %+v %v", q, err)
	}
	refunds, err := e.svc.Refunds(e.ctx, []uuid.UUID{r.ID})
	testdb.Must(t, err)
	if f := refunds[r.ID]; len(f) != 1 || f[0].AmountFen != 100000 || f[0].State != payments.RefundProcessing ||
		f[0].Cause != payments.CauseNotApplicable || len(f[0].OutRefundNo) != 32 || f[0].OutRefundNo[:2] != "RF" {
		t.Fatalf("refunds: %+v", f)
	}
	if b := e.balance(t); b != 20000+380000+10000 {
		t.Fatalf("balance %d: the refunded payment credited", b)
	}
	// Nothing open holds the account's deletion: the refund goes to WeChat.
	testdb.Must(t, e.svc.EraseOwner(e.ctx, e.owner.ID))
}

// With online payment switched off the sweep asks nobody.
func TestSweepWithoutProvider(t *testing.T) {
	e := newEnv(t)
	e.start(t, 20000, "k")
	off := *e.svc
	off.Provider = nil
	e.clock.Advance(time.Hour)
	if n, err := off.SweepPending(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("sweep without a provider: %d, %v", n, err)
	}
}

// APP pay needs the owner app's app id: without it an APP payment is
// refused before anything is written or placed.
func TestAppPayNotSetUp(t *testing.T) {
	e := newEnv(t)
	p, err := payments.NewWeChatPay(payments.WeChatPayConfig{MchID: e.fake.MchID, AppID: e.fake.AppID,
		MerchantSerial: e.fake.MerchantSerial, MerchantKeyPEM: e.fake.MerchantKeyPEM, PublicKeyID: e.fake.PublicKeyID,
		PublicKeyPEM: e.fake.PublicKeyPEM, APIv3Key: e.fake.APIv3Key, NotifyURL: "https://ownerhub.example/notify",
		BaseURL: e.fake.URL()})
	testdb.Must(t, err)
	e.svc.Provider = p
	_, _, err = e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: e.w.SZ.ID,
		AmountFen: 1000, TradeType: payments.TradeApp, IdempotencyKey: "app"})
	testdb.WantCode(t, err, models.CodePaymentMethodUnavailable, "tradeType")
	if ok, _ := e.fake.Requests(); ok != 0 || e.w.Count(&payments.Payment{}) != 0 {
		t.Fatalf("%d orders placed, %d payments written", ok, e.w.Count(&payments.Payment{}))
	}
}

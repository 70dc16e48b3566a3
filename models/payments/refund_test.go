package payments_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestRefundSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &payments.Refund{})
}

// refundNotified delivers a refund notification as the endpoint would.
func (e *env) refundNotified(n authtest.PayNotification) (*payments.Refund, error) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/payments/wechat/refund-notify", bytes.NewReader(n.Body))
	r.Header = n.Header.Clone()
	res, err := e.svc.Provider.ParseRefundNotification(e.ctx, r)
	if err != nil {
		return nil, err
	}
	return e.svc.ApplyRefund(e.ctx, res)
}

// paid starts and pays a top-up of amount, notified.
func (e *env) paid(t *testing.T, amount int64, key string) *payments.Payment {
	t.Helper()
	p, _ := e.start(t, amount, key)
	testdb.Must(t, e.fake.Pay(p.OutTradeNo))
	n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
	testdb.Must(t, err)
	q, err := e.notified(n)
	testdb.Must(t, err)
	return q
}

func (e *env) payment(t *testing.T, id uuid.UUID) *payments.Payment {
	t.Helper()
	p, err := e.svc.Payment(e.ctx, e.as, id)
	testdb.Must(t, err)
	return p
}

func (e *env) refunds(t *testing.T, id uuid.UUID) []*payments.Refund {
	t.Helper()
	m, err := e.svc.Refunds(e.ctx, []uuid.UUID{id})
	testdb.Must(t, err)
	return m[id]
}

// overCap pays two top-ups started together on an empty card: the first
// fills it, the second cannot be credited and is refunded whole.
func (e *env) overCap(t *testing.T) (*payments.Payment, *payments.Refund) {
	t.Helper()
	a, _ := e.start(t, 400000, "a")
	b, _ := e.start(t, 100000, "b")
	for _, p := range []*payments.Payment{a, b} {
		testdb.Must(t, e.fake.Pay(p.OutTradeNo))
		n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
		testdb.Must(t, err)
		_, err = e.notified(n)
		testdb.Must(t, err)
	}
	q := e.payment(t, b.ID)
	f := e.refunds(t, b.ID)
	if q.State != payments.StateRefunding || len(f) != 1 || f[0].AmountFen != 100000 || f[0].Cause != payments.CauseNotApplicable {
		t.Fatalf("over the cap: %+v %+v", q, f)
	}
	return q, f[0]
}

// A top-up that arrives for a full card is refunded whole at once: the
// refund is sent after the commit that decided it and succeeds once,
// however many copies of its notification arrive together.
func TestCapExceededTopUpRefundedOnce(t *testing.T) {
	e := newEnv(t)
	p, f := e.overCap(t)
	sent, ok := e.fake.Refund(f.OutRefundNo)
	if !ok || sent.Refund != 100000 || sent.Total != 100000 || sent.OutTradeNo != p.OutTradeNo || sent.State != "PROCESSING" ||
		sent.Reason == "" || sent.NotifyURL != "https://ownerhub.example/api/v1/payments/wechat/refund-notify" {
		t.Fatalf("refund at WeChat Pay: %+v %v", sent, ok)
	}
	if f.State != payments.RefundProcessing || f.RefundID == nil || *f.RefundID != sent.RefundID {
		t.Fatalf("refund after sending: %+v", f)
	}
	// WeChat Pay took it but its answer was lost: sent again (the sweep),
	// it refunds once.
	testdb.Must(t, e.w.DB.Conn(e.ctx).Model(&payments.Refund{}).Where("id = ?", f.ID).Update("state", payments.RefundPending).Error)
	testdb.Must(t, e.svc.SendRefund(e.ctx, f.ID))
	if again, _ := e.fake.Refund(f.OutRefundNo); again.Sent != 2 || len(e.fake.Refunds(p.OutTradeNo)) != 1 ||
		e.refunds(t, p.ID)[0].State != payments.RefundProcessing {
		t.Fatalf("sent again: %+v", again)
	}
	testdb.Must(t, e.fake.SettleRefund(f.OutRefundNo, "SUCCESS"))
	n, err := e.fake.RefundNotificationFor(f.OutRefundNo, nil)
	testdb.Must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := e.refundNotified(n)
			if err == nil && g.State != payments.RefundSuccess {
				err = errors.New("refund state " + g.State)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		testdb.Must(t, err)
	}
	q := e.payment(t, p.ID)
	g := e.refunds(t, p.ID)[0]
	if q.State != payments.StateRefunded || q.RefundedFen != 100000 || g.State != payments.RefundSuccess || g.SucceededAt == nil {
		t.Fatalf("after the refund succeeded: %+v %+v", q, g)
	}
	if b := e.balance(t); b != 410000 {
		t.Fatalf("balance %d", b)
	}
	// The owner's inbox: each payment received, once, and the refund.
	notes, err := (&inbox.Service{DB: e.w.DB}).OwnerNotifications(e.ctx, e.owner.ID)
	testdb.Must(t, err)
	kinds := map[string]int{}
	for _, n := range notes {
		kinds[n.Kind]++
		if n.Kind == payments.NotifyPaymentReceived && n.Link == models.LinkTo(models.RefTo(models.RefOnlinePayment, p.ID)) &&
			!strings.Contains(n.Body, "退回") {
			t.Fatalf("the refunded payment's notice does not say it goes back: %q", n.Body)
		}
	}
	if kinds[payments.NotifyPaymentReceived] != 2 || kinds[payments.NotifyRefundSucceeded] != 1 {
		t.Fatalf("notifications %v", kinds)
	}
	e.audit(t)
}

// A refund whose send failed is sent by the sweep; one whose notification
// is lost is asked about by the sweep.
func TestRefundSweep(t *testing.T) {
	e := newEnv(t)
	a, _ := e.start(t, 400000, "a")
	b, _ := e.start(t, 100000, "b")
	for i, p := range []*payments.Payment{a, b} {
		testdb.Must(t, e.fake.Pay(p.OutTradeNo))
		n, err := e.fake.NotificationFor(p.OutTradeNo, nil)
		testdb.Must(t, err)
		if i == 1 {
			e.fake.FailNext(1) // the refund's send after the commit
		}
		_, err = e.notified(n)
		testdb.Must(t, err)
	}
	f := e.refunds(t, b.ID)[0]
	if f.State != payments.RefundPending {
		t.Fatalf("refund whose send failed: %+v", f)
	}
	// Not yet a minute old: left to its send.
	if n, err := e.svc.SweepRefunds(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("early sweep: %d %v", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.SweepRefunds(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep sending: %d %v", n, err)
	}
	if f = e.refunds(t, b.ID)[0]; f.State != payments.RefundProcessing {
		t.Fatalf("after the sweep sent it: %+v", f)
	}
	testdb.Must(t, e.fake.SettleRefund(f.OutRefundNo, "SUCCESS"))
	// The notification is lost; a minute on, the sweep asks.
	e.clock.Advance(2 * time.Minute)
	e.fake.FailNext(1)
	if _, err := e.svc.SweepRefunds(e.ctx, e.clock.Now()); err == nil {
		t.Fatal("sweep during an outage: no error")
	}
	if n, err := e.svc.SweepRefunds(e.ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep asking: %d %v", n, err)
	}
	q := e.payment(t, b.ID)
	if q.State != payments.StateRefunded || q.RefundedFen != 100000 {
		t.Fatalf("after the sweep: %+v", q)
	}
	if n, err := e.svc.SweepRefunds(e.ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("sweep with nothing open: %d %v", n, err)
	}
	e.audit(t)
}

// Refund notifications that are not WeChat Pay's, or not ours, change
// nothing.
func TestRefundNotificationsThatChangeNothing(t *testing.T) {
	e := newEnv(t)
	p, f := e.overCap(t)
	testdb.Must(t, e.fake.SettleRefund(f.OutRefundNo, "SUCCESS"))
	n, err := e.fake.RefundNotificationFor(f.OutRefundNo, nil)
	testdb.Must(t, err)
	stale := e.fake.Resign(n, time.Now().Add(-10*time.Minute))
	forged := n
	forged.Body = bytes.Replace(n.Body, []byte("REFUND.SUCCESS"), []byte("REFUND.CLOSED"), 1)
	for name, m := range map[string]authtest.PayNotification{"stale": stale, "forged": forged} {
		if _, err := e.refundNotified(m); !errors.Is(err, payments.ErrBadNotification) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, edit := range map[string]func(map[string]any){
		"another merchant": func(r map[string]any) { r["mchid"] = "1900000999" },
		"another amount":   func(r map[string]any) { r["amount"].(map[string]any)["refund"] = 1 },
		"another payment":  func(r map[string]any) { r["out_trade_no"] = "TU000000000000000000000000000000" },
	} {
		m, err := e.fake.RefundNotificationFor(f.OutRefundNo, edit)
		testdb.Must(t, err)
		if _, err := e.refundNotified(m); !errors.Is(err, payments.ErrMismatch) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	m, err := e.fake.RefundNotificationFor(f.OutRefundNo, func(r map[string]any) { r["out_refund_no"] = "RF000000000000000000000000000000" })
	testdb.Must(t, err)
	if _, err := e.refundNotified(m); !errors.Is(err, payments.ErrUnknown) {
		t.Fatalf("unknown refund: %v", err)
	}
	if q := e.payment(t, p.ID); q.State != payments.StateRefunding || q.RefundedFen != 0 {
		t.Fatalf("changed by refused notifications: %+v", q)
	}
}

// A refund WeChat Pay closes stays owed: the payment stays REFUNDING,
// listed for the store's managers, until one records it paid by hand.
func TestClosedRefundPaidByHand(t *testing.T) {
	e := newEnv(t)
	p, f := e.overCap(t)
	testdb.Must(t, e.fake.SettleRefund(f.OutRefundNo, "CLOSED"))
	n, err := e.fake.RefundNotificationFor(f.OutRefundNo, nil)
	testdb.Must(t, err)
	g, err := e.refundNotified(n)
	if err != nil || g.State != payments.RefundClosed {
		t.Fatalf("closed: %+v %v", g, err)
	}
	if q := e.payment(t, p.ID); q.State != payments.StateRefunding {
		t.Fatalf("payment after its refund closed: %+v", q)
	}
	// Owed: no second refund of the same money.
	if _, err := e.svc.RequestRefund(e.ctx, payments.RefundRequest{PaymentID: p.ID, Cause: payments.CauseStaff, Reason: "x"}); !isCode(err, models.CodeConflict) {
		t.Fatalf("refund of money owed: %v", err)
	}
	list := func() []*payments.Payment {
		t.Helper()
		rows, _, err := e.svc.RefundsOwed(e.ctx, e.w.SZManager, models.Page{First: 10})
		testdb.Must(t, err)
		return rows
	}
	if rows := list(); len(rows) != 1 || rows[0].ID != p.ID {
		t.Fatalf("owed at SZ: %+v", rows)
	}
	if rows, _, err := e.svc.RefundsOwed(e.ctx, e.w.GZManager, models.Page{First: 10}); err != nil || len(rows) != 0 {
		t.Fatalf("owed at GZ: %+v %v", rows, err)
	}
	if _, _, err := e.svc.RefundsOwed(e.ctx, e.w.SZAdvisor, models.Page{First: 10}); !isCode(err, models.CodeForbidden) {
		t.Fatalf("advisor: %v", err)
	}
	in := payments.ManualRefundInput{RefundID: f.ID, Reference: "BANK-20261206-01", Note: "银行转账"}
	if _, err := e.svc.RecordManualRefund(e.ctx, e.w.GZManager, in); !isCode(err, models.CodeNotFound) {
		t.Fatalf("another store's manager: %v", err)
	}
	if _, err := e.svc.RecordManualRefund(e.ctx, e.w.SZManager, payments.ManualRefundInput{RefundID: f.ID}); !isCode(err, models.CodeInvalidArgument) {
		t.Fatalf("no reference: %v", err)
	}
	g, err = e.svc.RecordManualRefund(e.ctx, e.w.SZManager, in)
	if err != nil || g.State != payments.RefundSuccess || g.ManualReference == nil || *g.ManualReference != in.Reference || g.SucceededAt == nil {
		t.Fatalf("manual refund: %+v %v", g, err)
	}
	if again, err := e.svc.RecordManualRefund(e.ctx, e.w.SZManager, in); err != nil || again.ID != g.ID {
		t.Fatalf("recorded again: %+v %v", again, err)
	}
	in.Reference = "OTHER"
	if _, err := e.svc.RecordManualRefund(e.ctx, e.w.SZManager, in); !isCode(err, models.CodeConflict) {
		t.Fatalf("another reference: %v", err)
	}
	if q := e.payment(t, p.ID); q.State != payments.StateRefunded || q.RefundedFen != 100000 {
		t.Fatalf("after the manual refund: %+v", q)
	}
	if rows := list(); len(rows) != 0 {
		t.Fatalf("still owed: %+v", rows)
	}
	e.audit(t)
}

func isCode(err error, c models.Code) bool {
	me, ok := models.AsError(err)
	return ok && me.Code == c
}

// A manager refunds an online top-up: the card is debited (with the
// bonus's share), the refund sent, once under its key and never more than
// was paid.
func TestManagerRefundsATopUp(t *testing.T) {
	e := newEnv(t)
	p := e.paid(t, 100000, "top") // ¥1,000 and its ¥100 bonus
	in := payments.RefundOnlineInput{PaymentID: p.ID, AmountFen: 40000, Reason: "客户退卡", IdempotencyKey: "r1"}
	for name, c := range map[string]struct {
		code models.Code
		mod  func(*payments.RefundOnlineInput)
	}{
		"cashier":       {models.CodeForbidden, nil},
		"no reason":     {models.CodeInvalidArgument, func(i *payments.RefundOnlineInput) { i.Reason = " " }},
		"too much":      {models.CodeInvalidArgument, func(i *payments.RefundOnlineInput) { i.AmountFen = 100001 }},
		"no key":        {models.CodeInvalidArgument, func(i *payments.RefundOnlineInput) { i.IdempotencyKey = "" }},
		"other store":   {models.CodeNotFound, nil},
		"no such thing": {models.CodeNotFound, func(i *payments.RefundOnlineInput) { i.PaymentID = models.NewID() }},
	} {
		x := in
		if c.mod != nil {
			c.mod(&x)
		}
		actor := e.w.SZManager
		switch name {
		case "cashier":
			actor = e.w.Staff("cashier", []uuid.UUID{e.w.SZ.ID}, "CASHIER")
		case "other store":
			actor = e.w.GZManager
		}
		if _, err := e.svc.RefundOnline(e.ctx, actor, x); !isCode(err, c.code) {
			t.Fatalf("%s: %v, want %s", name, err, c.code)
		}
	}
	// Twenty clicks at once under one key refund once.
	var wg sync.WaitGroup
	ids := make(chan uuid.UUID, 20)
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := e.svc.RefundOnline(e.ctx, e.w.SZManager, in)
			if err != nil {
				errs <- err
				return
			}
			ids <- f.ID
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var first uuid.UUID
	for id := range ids {
		if first == uuid.Nil {
			first = id
		}
		if id != first {
			t.Fatal("two refunds under one key")
		}
	}
	// ¥1,100 less ¥400 and the bonus's share of it (¥40).
	if b := e.balance(t); b != 110000-40000-4000 {
		t.Fatalf("balance %d", b)
	}
	f := e.refunds(t, p.ID)
	if len(f) != 1 || f[0].State != payments.RefundProcessing || f[0].Cause != payments.CauseStaff || f[0].RequestedBy == nil {
		t.Fatalf("refunds: %+v", f)
	}
	if sent, ok := e.fake.Refund(f[0].OutRefundNo); !ok || sent.Refund != 40000 || sent.Total != 100000 || sent.Reason != "客户退卡" {
		t.Fatalf("at WeChat Pay: %+v", sent)
	}
	// The rest, under two keys at once: one of them gets it.
	var got, refused int
	var mu sync.Mutex
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.RefundOnline(e.ctx, e.w.SZManager, payments.RefundOnlineInput{PaymentID: p.ID, Reason: "全部退款",
				IdempotencyKey: "rest-" + string(rune('a'+i))})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				got++
			case isCode(err, models.CodeConflict):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got != 1 || refused != 9 {
		t.Fatalf("the rest refunded %d times, refused %d", got, refused)
	}
	if b := e.balance(t); b != 0 {
		t.Fatalf("balance %d after refunding all (the whole bonus back)", b)
	}
	for _, g := range e.refunds(t, p.ID) {
		testdb.Must(t, e.fake.SettleRefund(g.OutRefundNo, "SUCCESS"))
		n, err := e.fake.RefundNotificationFor(g.OutRefundNo, nil)
		testdb.Must(t, err)
		_, err = e.refundNotified(n)
		testdb.Must(t, err)
	}
	if q := e.payment(t, p.ID); q.State != payments.StateRefunded || q.RefundedFen != 100000 {
		t.Fatalf("after both refunds: %+v", q)
	}
	e.audit(t)
}

// Money the owner spent cannot be refunded.
func TestManagerRefundOfSpentMoney(t *testing.T) {
	e := newEnv(t)
	p := e.paid(t, 20000, "top")
	_, err := e.wal.Charge(e.ctx, wallet.ChargeInput{OwnerID: p.OwnerID, WalletFen: 15000, MoneyFen: 15000, Key: "sale-1", Memo: "保养"})
	testdb.Must(t, err)
	_, err = e.svc.RefundOnline(e.ctx, e.w.SZManager, payments.RefundOnlineInput{PaymentID: p.ID, Reason: "退款", IdempotencyKey: "k"})
	if !isCode(err, wallet.CodeInsufficientBalance) {
		t.Fatalf("refund of spent money: %v", err)
	}
	if len(e.refunds(t, p.ID)) != 0 || e.payment(t, p.ID).State != payments.StatePaid {
		t.Fatal("a refused refund left something")
	}
	e.audit(t)
}

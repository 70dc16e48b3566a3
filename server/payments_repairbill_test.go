package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Repair bills paid online, through the real server: the owner pays before
// pickup, WeChat Pay's word settles the order as the cashier would.

const (
	billOrderDoc = `query($id: ID!) { repairOrder(id: $id) { settledAt totals { payable { amountFen } paid { amountFen } due { amountFen } }
		payments { method reference amount { amountFen } } onlinePayment { id state } } }`
	billSubDoc = `subscription($id: ID!) { repairOrderUpdated(id: $id) { id settledAt totals { due { amountFen } } } }`
	billPayDoc = `query($id: ID!) { payment(id: $id) { state purpose transactionId amount { amountFen } } }`
)

// billFixture is a workshop server paying through a fake WeChat Pay, a
// second instance on the same database, and an order READY_FOR_PICKUP
// whose owner signed in through WeChat.
type billFixture struct {
	*wkFixture
	fake    *authtest.FakeWeChatPay
	b       *testServer
	owner   *models.Owner
	tok     string
	id      string // the order's global id
	payable int
}

func newBillFixture(t *testing.T) *billFixture {
	t.Helper()
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	f := newWorkshop(t, func(c *Config, _ *Deps) { c.WeChatPay = fakePayConfig(fake) })
	car := f.quickCar(t, "SZ01")
	if err := f.DB.Conn(context.Background()).Model(car.Owner).Update("wechat_openid", "oBill"+car.Owner.ID.String()[:20]).Error; err != nil {
		t.Fatal(err)
	}
	id, payable := f.wlReady(t, car.Plate,
		wkItem("PART", "OIL-0W20", "原厂全合成机油 0W-20", 4, 9800, false),
		wkItem("LABOR", "LAB-MNT", "保养工时", 1, 18000, false),
		wkItem("PART", "WAR-PUMP", "水泵（质保）", 1, 50000, true))
	return &billFixture{wkFixture: f, fake: fake, b: payServer(t, fake), owner: car.Owner, tok: car.OwnerToken, id: id, payable: payable}
}

// startBill asks to pay an order's bill as the owner with tok.
func (s *testServer) startBill(t *testing.T, tok, orderID, key string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "REPAIR_BILL", "repairOrderId": orderID, "tradeType": "JSAPI", "idempotencyKey": key}}}), "startPayment")
}

// started checks a start was accepted and returns the payment.
func started(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	if ues := dig(p, "userErrors").([]any); len(ues) != 0 {
		t.Fatalf("startPayment: %v", ues)
	}
	return dig(p, "payment").(map[string]any)
}

func (f *billFixture) bill(t *testing.T, tok string) map[string]any {
	t.Helper()
	return dig(f.gql(t, tok, billOrderDoc, map[string]any{"id": f.id}), "repairOrder").(map[string]any)
}

// notifyBoth delivers n copies of a notification, alternately to both
// instances, all at once; each must be acknowledged.
func (f *billFixture) notifyBoth(t *testing.T, note authtest.PayNotification, n int) {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- notifyTo(t, f.fake, []*testServer{f.testServer, f.b}[i%2], note)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("notification answered %d", c)
		}
	}
}

// The owner pays the bill in the mini-program: the counter waits while the
// payment is open; sixteen copies of WeChat Pay's notification on two
// instances settle the order once, with the points the money earns, and
// the owner's subscription and the store's board see it.
func TestOwnerPaysRepairBillOnline(t *testing.T) {
	f := newBillFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	if f.payable != 57_200 {
		t.Fatalf("payable %d", f.payable)
	}
	if due := wkNum(dig(f.bill(t, f.tok), "totals", "due", "amountFen")); due != f.payable {
		t.Fatalf("due %d before paying", due)
	}
	before := wlInvariant(t, f.testServer, f.owner.ID)

	// Nobody else pays it.
	other, otherTok := wechatOwner(t, f.testServer, "别人家")
	r := f.do(t, req{Query: startPaymentDoc, Token: otherTok, Vars: map[string]any{"in": map[string]any{
		"purpose": "REPAIR_BILL", "repairOrderId": f.id, "tradeType": "JSAPI", "idempotencyKey": "other"}}})
	e2eWantGQLError(t, r, "NOT_FOUND")
	r = f.do(t, req{Query: startPaymentDoc, Token: cashier, Vars: map[string]any{"in": map[string]any{
		"purpose": "REPAIR_BILL", "repairOrderId": f.id, "tradeType": "JSAPI", "idempotencyKey": "staff"}}})
	e2eWantGQLError(t, r, "FORBIDDEN")

	owner := wsConnect(t, f.testServer, f.tok)
	oop := owner.subscribe(t, billSubDoc, map[string]any{"id": f.id})
	owner.nextResult(t, oop, subWait)
	board := wsConnect(t, f.testServer, f.staff(t, "foreman.sz01"))
	bop := board.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	version := wkStr(dig(board.nextResult(t, bop, subWait), "boardChanged", "version"))

	p := f.startBill(t, f.tok, f.id, "bill-1")
	pay := started(t, p)
	no := pay["outTradeNo"].(string)
	if pay["state"] != "PENDING" || pay["purpose"] != "REPAIR_BILL" || !strings.HasPrefix(no, "RB") ||
		wkNum(dig(pay, "amount", "amountFen")) != f.payable || dig(pay, "store", "code") != "SZ01" || dig(p, "jsapi", "paySign") == "" {
		t.Fatalf("payment %v", p)
	}
	// The owner and the store's cashier see it open; a technician does not.
	for _, tok := range []string{f.tok, cashier} {
		if op := f.bill(t, tok)["onlinePayment"]; dig(op, "id") != pay["id"] || dig(op, "state") != "PENDING" {
			t.Fatalf("the order's online payment %v", op)
		}
	}
	if op := f.bill(t, f.staff(t, "technician1.sz01"))["onlinePayment"]; op != nil {
		t.Fatalf("a technician sees the payment %v", op)
	}
	// While it is open: the counter and a second start under another key wait.
	f.refused(t, cashier, "settleRepairOrder", wkSettle(f.id, wkPay("CASH", f.payable, "")), "PAYMENT_IN_FLIGHT")
	e2eWantUserError(t, f.startBill(t, f.tok, f.id, "bill-2"), "PAYMENT_IN_FLIGHT")
	if again := started(t, f.b.startBill(t, f.tok, f.id, "bill-1")); again["id"] != pay["id"] {
		t.Fatalf("the same key on the other instance started %v", again["id"])
	}

	if err := f.fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	note, err := f.fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.notifyBoth(t, note, 16)

	got := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment").(map[string]any)
	if got["state"] != "PAID" || got["transactionId"] == nil {
		t.Fatalf("payment after the notifications %v", got)
	}
	o := f.bill(t, f.tok)
	lines := o["payments"].([]any)
	if o["settledAt"] == nil || wkNum(dig(o, "totals", "due", "amountFen")) != 0 || wkNum(dig(o, "totals", "paid", "amountFen")) != f.payable ||
		len(lines) != 1 || dig(lines, 0, "method") != "WECHAT_PAY" || dig(lines, 0, "reference") != got["transactionId"] {
		t.Fatalf("order after the payment %v", o)
	}
	if dig(o, "onlinePayment", "state") != "PAID" {
		t.Fatalf("the order's online payment %v", o["onlinePayment"])
	}
	// As at the counter: a point per yuan of money, once.
	after := wlInvariant(t, f.testServer, f.owner.ID)
	if after.Points != before.Points+int64(f.payable/100) || after.Balance != before.Balance {
		t.Fatalf("membership %+v -> %+v", before, after)
	}
	if n := e2eCount(t, f.testServer, &wallet.Entry{}, "owner_id = ? AND kind = ?", f.owner.ID, wallet.PointsEarn); n != 1 {
		t.Fatalf("%d POINTS_EARN entries", n)
	}
	owner.waitFor(t, oop, subWait, func(d map[string]any) bool { return dig(d, "repairOrderUpdated", "settledAt") != nil })
	board.waitFor(t, bop, subWait, func(d map[string]any) bool { return wkStr(dig(d, "boardChanged", "version")) != version })

	// Settled: nothing more to pay, at the counter or online; the car goes.
	f.refused(t, cashier, "settleRepairOrder", wkSettle(f.id, wkPay("CASH", f.payable, "")), "ALREADY_SETTLED")
	e2eWantUserError(t, f.startBill(t, f.tok, f.id, "bill-3"), "ALREADY_SETTLED")
	f.move(t, f.staff(t, "advisor.sz01"), f.id, "DELIVERED", "")
	if n := e2eCount(t, f.testServer, &payments.Payment{}, "owner_id IN ?", []any{f.owner.ID, other.ID}); n != 1 {
		t.Fatalf("%d payments written", n)
	}
	auditWallet(t, f.DB)
}

// A notification that never arrives: the sweep asks WeChat Pay and settles
// the order.
func TestRepairBillRecoveredBySweep(t *testing.T) {
	f := newBillFixture(t)
	pay := started(t, f.startBill(t, f.tok, f.id, "lost"))
	if err := f.fake.Pay(pay["outTradeNo"].(string)); err != nil {
		t.Fatal(err)
	}
	if o := f.bill(t, f.tok); o["settledAt"] != nil {
		t.Fatalf("settled without WeChat Pay's word: %v", o)
	}
	moved, err := f.b.App.Payments.SweepPending(context.Background(), time.Now().Add(2*time.Minute))
	if err != nil || moved < 1 {
		t.Fatalf("sweep moved %d: %v", moved, err)
	}
	o := f.bill(t, f.tok)
	if o["settledAt"] == nil || dig(o, "payments", 0, "method") != "WECHAT_PAY" {
		t.Fatalf("order after the sweep %v", o)
	}
	auditWallet(t, f.DB)
}

// The owner's payment closed past its hold, the cashier took the bill in
// cash, and then WeChat Pay reports the payment paid after all: the order
// keeps its cash settlement and the money goes back whole.
func TestRepairBillPaidAfterCounterSettlementIsRefunded(t *testing.T) {
	f := newBillFixture(t)
	pay := started(t, f.startBill(t, f.tok, f.id, "late"))
	no := pay["outTradeNo"].(string)
	if _, err := f.App.Payments.SweepPending(context.Background(), time.Now().Add(payments.DefaultHold+2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment", "state"); st != "CLOSED" {
		t.Fatalf("payment %v past its hold", st)
	}
	o := f.ok(t, f.staff(t, "cashier.sz01"), "settleRepairOrder", wkSettle(f.id, wkPay("CASH", f.payable, "")))
	if o["settledAt"] == nil {
		t.Fatalf("counter settlement %v", o)
	}
	before := wlInvariant(t, f.testServer, f.owner.ID)

	if err := f.fake.PayClosed(no); err != nil {
		t.Fatal(err)
	}
	note, err := f.fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.notifyBoth(t, note, 6)
	got := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment").(map[string]any)
	if got["state"] != "REFUNDING" {
		t.Fatalf("payment %v", got)
	}
	var refunds []payments.Refund
	if err := f.DB.Conn(context.Background()).Where("payment_id = ?", wlUUID(t, pay["id"].(string), "OnlinePayment")).Find(&refunds).Error; err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].AmountFen != int64(f.payable) || refunds[0].Cause != payments.CauseNotApplicable ||
		!strings.Contains(refunds[0].Reason, "已在门店结算") {
		t.Fatalf("refunds %+v", refunds)
	}
	bill := f.bill(t, f.tok)
	if lines := bill["payments"].([]any); len(lines) != 1 || dig(lines, 0, "method") != "CASH" {
		t.Fatalf("order's payments %v", lines)
	}
	if after := wlInvariant(t, f.testServer, f.owner.ID); after != before {
		t.Fatalf("the refunded payment moved the ledger: %+v -> %+v", before, after)
	}
	auditWallet(t, f.DB)
}

package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// refundNotifyTo posts a refund notification to a server's refund notify
// endpoint.
func refundNotifyTo(t testing.TB, fake *authtest.FakeWeChatPay, s *testServer, n authtest.PayNotification) int {
	t.Helper()
	n.URL = s.URL + wechatPayRefundNotifyPath
	code, err := fake.Deliver(n)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

const (
	refundOnlineDoc = `mutation($in: RefundOnlinePaymentInput!) { refundOnlinePayment(input: $in) {
		refund { id state cause reason outRefundNo amount { amountFen } }
		payment { id state refundedAmount { amountFen } }
		userErrors { code field message } } }`
	manualRefundDoc = `mutation($in: RecordManualRefundInput!) { recordManualRefund(input: $in) {
		refund { id state manualReference succeededAt } payment { id state refundedAmount { amountFen } }
		userErrors { code field message } } }`
	paymentRefundsDoc = `query($id: ID!) { payment(id: $id) { id state refundedAmount { amountFen }
		refunds { id state cause reason outRefundNo amount { amountFen } createdAt succeededAt manualReference } } }`
	owingDoc = `{ paymentsOwingRefunds(first: 10) { edges { node { id state refunds { id state } } } } }`
)

// paidTopUp starts a top-up of fen and has WeChat Pay's notification of
// its payment delivered; it returns the payment's global id and
// out_trade_no.
func (s *testServer) paidTopUp(t *testing.T, fake *authtest.FakeWeChatPay, tok string, fen int, key string) (string, string) {
	t.Helper()
	p := s.startTopUp(t, tok, fen, "JSAPI", key)
	id, no := dig(p, "payment", "id").(string), dig(p, "payment", "outTradeNo").(string)
	must(t, fake.Pay(no))
	n, err := fake.NotificationFor(no, nil)
	must(t, err)
	if c := notifyTo(t, fake, s, n); c != http.StatusNoContent {
		t.Fatalf("payment notification answered %d", c)
	}
	return id, no
}

// A top-up that arrives for a card another top-up filled is refunded whole
// by the server: the refund reaches WeChat Pay at once, and its success,
// notified many times to two instances at once, counts once.
func TestCapExceededTopUpRefundedThroughWeChatPay(t *testing.T) {
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	a, b := payServer(t, fake), payServer(t, fake)
	_, tok := wechatOwner(t, a, "退款甲")
	first := a.startTopUp(t, tok, 400000, "JSAPI", "fill")
	over := a.startTopUp(t, tok, 100000, "JSAPI", "over")
	for _, p := range []map[string]any{first, over} {
		no := dig(p, "payment", "outTradeNo").(string)
		must(t, fake.Pay(no))
		n, err := fake.NotificationFor(no, nil)
		must(t, err)
		if c := notifyTo(t, fake, a, n); c != http.StatusNoContent {
			t.Fatalf("notification answered %d", c)
		}
	}
	id := dig(over, "payment", "id")
	got := dig(a.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment")
	rf := dig(got, "refunds", 0)
	if dig(got, "state") != "REFUNDING" || len(dig(got, "refunds").([]any)) != 1 || dig(rf, "state") != "PROCESSING" ||
		dig(rf, "cause") != "NOT_APPLICABLE" || dig(rf, "amount", "amountFen") != float64(100000) {
		t.Fatalf("payment over the cap: %v", got)
	}
	out := dig(rf, "outRefundNo").(string)
	if sent, ok := fake.Refund(out); !ok || sent.Refund != 100000 || sent.NotifyURL != "https://ownerhub.example"+wechatPayRefundNotifyPath {
		t.Fatalf("refund at WeChat Pay: %+v", sent)
	}
	must(t, fake.SettleRefund(out, "SUCCESS"))
	n, err := fake.RefundNotificationFor(out, nil)
	must(t, err)
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- refundNotifyTo(t, fake, []*testServer{a, b}[i%2], n)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("refund notification answered %d", c)
		}
	}
	got = dig(a.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment")
	if dig(got, "state") != "REFUNDED" || dig(got, "refundedAmount", "amountFen") != float64(100000) ||
		dig(got, "refunds", 0, "state") != "SUCCESS" || dig(got, "refunds", 0, "succeededAt") == nil {
		t.Fatalf("payment after its refund: %v", got)
	}
	if bal := dig(a.gql(t, tok, myPaymentsDoc, nil), "me", "membership", "balance", "amountFen"); bal != float64(410000) {
		t.Fatalf("balance %v", bal)
	}
	// The owner's inbox: both payments received (the second going back),
	// and the refund back, once; each opens its payment.
	inboxDoc := `{ me { notifications(first: 10) { edges { node { kind body link } } } } }`
	kinds := map[string]int{}
	for _, e := range dig(a.gql(t, tok, inboxDoc, nil), "me", "notifications", "edges").([]any) {
		kind, _ := dig(e, "node", "kind").(string)
		kinds[kind]++
		if kind == "REFUND_SUCCEEDED" && dig(e, "node", "link") != id {
			t.Fatalf("refund notice opens %v, not the payment %v", dig(e, "node", "link"), id)
		}
	}
	if kinds["PAYMENT_RECEIVED"] != 2 || kinds["REFUND_SUCCEEDED"] != 1 {
		t.Fatalf("notifications %v", kinds)
	}
	auditWallet(t, a.DB)
}

// Refund notifications that are not WeChat Pay's are refused; one for no
// refund of ours is acknowledged and logged; a failure of ours answers 500
// (WeChat Pay sends it again), and the notification sent again applies.
func TestRefundNotificationAnswers(t *testing.T) {
	fake, s, _, tok := payFixture(t, "退款乙")
	id, _ := s.paidTopUp(t, fake, tok, 20000, "k")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	r := e2ePayload(t, s.do(t, req{Query: refundOnlineDoc, Token: mgr, Vars: map[string]any{"in": map[string]any{
		"paymentId": id, "reason": "客户要求退款", "idempotencyKey": wlKey("rf")}}}), "refundOnlinePayment")
	out := dig(r, "refund", "outRefundNo").(string)
	must(t, fake.SettleRefund(out, "SUCCESS"))
	n, err := fake.RefundNotificationFor(out, nil)
	must(t, err)

	forged := n
	forged.Body = bytes.Replace(n.Body, []byte(`"summary":"退款成功"`), []byte(`"summary":"退款关闭"`), 1)
	if c := refundNotifyTo(t, fake, s, forged); c != http.StatusUnauthorized {
		t.Fatalf("forged refund notification answered %d", c)
	}
	if c := refundNotifyTo(t, fake, s, fake.Resign(n, time.Now().Add(-time.Hour))); c != http.StatusUnauthorized {
		t.Fatalf("replayed refund notification answered %d", c)
	}
	other, err := fake.RefundNotificationFor(out, func(r map[string]any) { r["out_refund_no"] = "RF0000000000000000000000000000ff" })
	must(t, err)
	if c := refundNotifyTo(t, fake, s, other); c != http.StatusNoContent {
		t.Fatalf("refund notification for no refund of ours answered %d", c)
	}
	if !strings.Contains(s.Logs.String(), "refund notification for no refund of ours") {
		t.Fatal("the unknown refund was not logged")
	}
	if dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment", "state") != "REFUNDING" {
		t.Fatal("refused notifications moved the payment")
	}

	// A server whose database fails answers 500.
	broken := newTestServer(t, func(c *Config, d *Deps) { c.WeChatPay = fakePayConfig(fake); d.DB = openUnmigrated(t) })
	if c := refundNotifyTo(t, fake, broken, n); c != http.StatusInternalServerError {
		t.Fatalf("refund notification with a failing database answered %d", c)
	}
	if !strings.Contains(broken.Logs.String(), "refund notification not applied") {
		t.Fatal("the failure was not logged")
	}
	if c := refundNotifyTo(t, fake, s, n); c != http.StatusNoContent {
		t.Fatalf("refund notification sent again answered %d", c)
	}
	got := dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment")
	if dig(got, "state") != "REFUNDED" || dig(got, "refundedAmount", "amountFen") != float64(20000) {
		t.Fatalf("payment after the notification sent again: %v", got)
	}

	// Without a provider the endpoint is not there.
	off := newTestServer(t)
	resp, err := http.Post(off.URL+wechatPayRefundNotifyPath, "application/json", strings.NewReader("{}"))
	must(t, err)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("refund notify without a provider answered %d", resp.StatusCode)
	}
	auditWallet(t, s.DB)
}

// A refund whose notification never arrives is found by the refund sweep.
func TestLostRefundNotificationRecoveredBySweep(t *testing.T) {
	fake, s, _, tok := payFixture(t, "退款丙")
	id, _ := s.paidTopUp(t, fake, tok, 30000, "k")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	// WeChat Pay is down when the refund is decided: it waits PENDING.
	fake.FailNext(1)
	r := e2ePayload(t, s.do(t, req{Query: refundOnlineDoc, Token: mgr, Vars: map[string]any{"in": map[string]any{
		"paymentId": id, "amountFen": 10000, "reason": "部分退款", "idempotencyKey": wlKey("rf")}}}), "refundOnlinePayment")
	if dig(r, "refund", "state") != "PENDING" {
		t.Fatalf("refund during an outage: %v", r)
	}
	out := dig(r, "refund", "outRefundNo").(string)
	// The sweep runs over the shared database: other tests' refunds,
	// placed with other fakes, fail here; this one's state tells.
	sweep := func(at time.Time, want string) {
		t.Helper()
		_, _ = s.App.Payments.SweepRefunds(context.Background(), at)
		if st := dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment", "refunds", 0, "state"); st != want {
			t.Fatalf("refund %v after the sweep, want %s", st, want)
		}
	}
	sweep(time.Now().Add(2*time.Minute), "PROCESSING")
	must(t, fake.SettleRefund(out, "SUCCESS"))
	// Its notification is lost: the sweep asks.
	sweep(time.Now().Add(4*time.Minute), "SUCCESS")
	got := dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment")
	if dig(got, "state") != "PAID" || dig(got, "refundedAmount", "amountFen") != float64(10000) || dig(got, "refunds", 0, "state") != "SUCCESS" {
		t.Fatalf("payment after the sweep: %v", got)
	}
	if sent, _ := fake.Refund(out); sent.Sent != 1 {
		t.Fatalf("sent %d times", sent.Sent)
	}
	auditWallet(t, s.DB)
}

// refundAs sends refundOnlinePayment as a staff token and returns the
// payload.
func (s *testServer) refundAs(t *testing.T, tok string, in map[string]any) map[string]any {
	t.Helper()
	return e2ePayload(t, s.do(t, req{Query: refundOnlineDoc, Token: tok, Vars: map[string]any{"in": in}}), "refundOnlinePayment")
}

// settleRefunds has WeChat Pay end a payment's refunds in state and
// notify each.
func (s *testServer) settleRefunds(t *testing.T, fake *authtest.FakeWeChatPay, outTradeNo, state string) {
	t.Helper()
	for _, r := range fake.Refunds(outTradeNo) {
		if r.State != "PROCESSING" {
			continue
		}
		must(t, fake.SettleRefund(r.OutRefundNo, state))
		n, err := fake.RefundNotificationFor(r.OutRefundNo, nil)
		must(t, err)
		if c := refundNotifyTo(t, fake, s, n); c != http.StatusNoContent {
			t.Fatalf("refund notification answered %d", c)
		}
	}
}

func (s *testServer) balanceOf(t *testing.T, tok string) float64 {
	t.Helper()
	return dig(s.gql(t, tok, myPaymentsDoc, nil), "me", "membership", "balance", "amountFen").(float64)
}

// A manager refunds an online top-up: the card is debited with the
// bonus's share, the refund goes to WeChat Pay; a double click refunds
// once, two refunds at once never more than was paid.
func TestManagerRefundsAnOnlineTopUp(t *testing.T) {
	fake, s, owner, tok := payFixture(t, "退款丁")
	const fen = 100000
	bonus := wallet.BonusFor(fen, s.Cfg.Wallet.BonusRules)
	if bonus == 0 {
		t.Fatal("the default bonus rules give no bonus for ¥1,000: the test needs one")
	}
	id, no := s.paidTopUp(t, fake, tok, fen, "k")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	in := func(amount any, key string) map[string]any {
		m := map[string]any{"paymentId": id, "reason": "客户退卡", "idempotencyKey": key}
		if amount != nil {
			m["amountFen"] = amount
		}
		return m
	}

	e2eWantGQLError(t, s.do(t, req{Query: refundOnlineDoc, Token: e2eStaffToken(t, s, "cashier.sz01"),
		Vars: map[string]any{"in": in(1000, wlKey("rf"))}}), "FORBIDDEN")
	e2eWantGQLError(t, s.do(t, req{Query: refundOnlineDoc, Token: e2eStaffToken(t, s, "manager.gz01"),
		Vars: map[string]any{"in": in(1000, wlKey("rf"))}}), "NOT_FOUND")
	e2eWantUserError(t, s.refundAs(t, mgr, in(fen+1, wlKey("rf"))), "INVALID_ARGUMENT", "input", "amountFen")
	e2eWantUserError(t, s.refundAs(t, mgr, in(0, wlKey("rf"))), "INVALID_ARGUMENT", "input", "amountFen")
	if n := e2eCount(t, s, &payments.Refund{}, "payment_id IN (SELECT id FROM payments WHERE owner_id = ?)", owner.ID); n != 0 {
		t.Fatalf("%d refunds after refusals", n)
	}

	// A double click (twelve, at once) under one key: one refund.
	key := wlKey("rf")
	var wg sync.WaitGroup
	ids := make(chan any, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := s.refundAs(t, mgr, in(40000, key))
			ids <- dig(p, "refund", "id")
		}()
	}
	wg.Wait()
	close(ids)
	var first any
	for x := range ids {
		if x == nil || (first != nil && x != first) {
			t.Fatalf("double click: refund %v and %v", first, x)
		}
		first = x
	}
	share := wallet.BonusFor(fen, s.Cfg.Wallet.BonusRules) * 40000 / fen
	if bal := s.balanceOf(t, tok); bal != float64(fen+bonus-40000-share) {
		t.Fatalf("balance %v after refunding ¥400 (bonus share %d)", bal, share)
	}
	if rs := fake.Refunds(no); len(rs) != 1 || rs[0].Refund != 40000 || rs[0].Total != fen || rs[0].Reason != "客户退卡" {
		t.Fatalf("at WeChat Pay: %+v", rs)
	}
	if n := e2eCount(t, s, &wallet.Entry{}, "owner_id = ? AND kind = ?", owner.ID, wallet.Refund); n != 2 {
		t.Fatalf("%d REFUND entries, want the amount's and the bonus share's", n)
	}
	// More than is left.
	e2eWantUserError(t, s.refundAs(t, mgr, in(60001, wlKey("rf"))), "INVALID_ARGUMENT", "input", "amountFen")

	// The rest, twice at once under two keys: one refund of it.
	var ok, conflict int
	var mu sync.Mutex
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := s.refundAs(t, mgr, in(nil, wlKey("rest")))
			mu.Lock()
			defer mu.Unlock()
			switch codes := userErrorCodes(p); {
			case len(codes) == 0:
				ok++
			case len(codes) == 1 && codes[0] == "CONFLICT":
				conflict++
			default:
				t.Errorf("refund of the rest: %v", p)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || conflict != 5 {
		t.Fatalf("the rest refunded %d times (%d refused)", ok, conflict)
	}
	if bal := s.balanceOf(t, tok); bal != 0 {
		t.Fatalf("balance %v after refunding it all: the whole bonus goes back with it", bal)
	}
	s.settleRefunds(t, fake, no, "SUCCESS")
	got := dig(s.gql(t, mgr, paymentRefundsDoc, map[string]any{"id": id}), "payment")
	if dig(got, "state") != "REFUNDED" || dig(got, "refundedAmount", "amountFen") != float64(fen) || len(dig(got, "refunds").([]any)) != 2 {
		t.Fatalf("payment after both refunds: %v", got)
	}
	e2eWantUserError(t, s.refundAs(t, mgr, in(nil, wlKey("rf"))), "CONFLICT")
	auditWallet(t, s.DB)
}

// Money the owner no longer has on the card cannot be refunded.
func TestManagerRefundOfSpentTopUp(t *testing.T) {
	fake, s, owner, tok := payFixture(t, "退款戊")
	id, no := s.paidTopUp(t, fake, tok, 20000, "k")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	p := e2ePayload(t, s.do(t, req{Query: `mutation($in: AdjustWalletInput!) { adjustWallet(input: $in) { userErrors { code } } }`,
		Token: mgr, Vars: map[string]any{"in": map[string]any{"ownerId": e2eGlobalID("Owner", owner.ID), "storeId": pvGID("Store", e2eStoreID(t, s, "SZ01")),
			"amountFen": -15000, "reason": "到店消费冲减", "idempotencyKey": wlKey("adj")}}}), "adjustWallet")
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("adjust: %v", p)
	}
	e2eWantUserError(t, s.refundAs(t, mgr, map[string]any{"paymentId": id, "reason": "退款", "idempotencyKey": wlKey("rf")}),
		"INSUFFICIENT_BALANCE", "input", "amountFen")
	if got := dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment"); dig(got, "state") != "PAID" ||
		len(dig(got, "refunds").([]any)) != 0 || len(fake.Refunds(no)) != 0 {
		t.Fatalf("a refused refund left something: %v", got)
	}
	// What is left on the card can go back.
	r := s.refundAs(t, mgr, map[string]any{"paymentId": id, "amountFen": 5000, "reason": "退余额", "idempotencyKey": wlKey("rf")})
	if dig(r, "refund", "state") != "PROCESSING" || s.balanceOf(t, tok) != 0 {
		t.Fatalf("refund of what is left: %v", r)
	}
	s.settleRefunds(t, fake, no, "SUCCESS")
	if got := dig(s.gql(t, tok, paymentRefundsDoc, map[string]any{"id": id}), "payment"); dig(got, "state") != "PAID" ||
		dig(got, "refundedAmount", "amountFen") != float64(5000) {
		t.Fatalf("after a part refunded: %v", got)
	}
	auditWallet(t, s.DB)
}

// A refund WeChat Pay closes is listed for the store's managers until one
// records it paid by hand.
func TestManualRefundOfAClosedRefund(t *testing.T) {
	fake, s, _, tok := payFixture(t, "退款己")
	id, no := s.paidTopUp(t, fake, tok, 8000, "k")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	r := s.refundAs(t, mgr, map[string]any{"paymentId": id, "reason": "退款", "idempotencyKey": wlKey("rf")})
	refund := dig(r, "refund", "id")
	s.settleRefunds(t, fake, no, "CLOSED")
	if !strings.Contains(s.Logs.String(), "refund given up by the provider") {
		t.Fatal("the closed refund was not logged")
	}
	owing := func(tok string) []any {
		t.Helper()
		var ids []any
		for _, e := range dig(s.gql(t, tok, owingDoc, nil), "paymentsOwingRefunds", "edges").([]any) {
			ids = append(ids, dig(e, "node", "id"))
		}
		return ids
	}
	if !slices.Contains(owing(mgr), any(id)) {
		t.Fatal("the payment owing a refund is not listed for its manager")
	}
	if slices.Contains(owing(e2eStaffToken(t, s, "manager.gz01")), any(id)) {
		t.Fatal("another store's manager sees the payment")
	}
	e2eWantGQLError(t, s.do(t, req{Query: owingDoc, Token: e2eStaffToken(t, s, "cashier.sz01")}), "FORBIDDEN")

	manualDo := func(tok, ref string) *gqlResponse {
		return s.do(t, req{Query: manualRefundDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
			"refundId": refund, "reference": ref, "note": "银行转账退回"}}})
	}
	manual := func(tok, ref string) map[string]any { return e2ePayload(t, manualDo(tok, ref), "recordManualRefund") }
	e2eWantGQLError(t, manualDo(e2eStaffToken(t, s, "manager.gz01"), "BANK-1"), "NOT_FOUND")
	e2eWantUserError(t, manual(mgr, " "), "INVALID_ARGUMENT", "input", "reference")
	got := manual(mgr, "BANK-1")
	if dig(got, "refund", "state") != "SUCCESS" || dig(got, "refund", "manualReference") != "BANK-1" ||
		dig(got, "payment", "state") != "REFUNDED" || dig(got, "payment", "refundedAmount", "amountFen") != float64(8000) {
		t.Fatalf("manual refund: %v", got)
	}
	if again := manual(mgr, "BANK-1"); dig(again, "refund", "id") != refund || len(userErrorCodes(again)) != 0 {
		t.Fatalf("recorded again: %v", again)
	}
	e2eWantUserError(t, manual(mgr, "BANK-2"), "CONFLICT", "input", "refundId")
	if slices.Contains(owing(mgr), any(id)) {
		t.Fatal("still listed after the manual refund")
	}
	auditWallet(t, s.DB)
}

// A payment's refunds are read in one batch, whatever the number of
// payments listed.
func TestPaymentRefundsBatched(t *testing.T) {
	fake, s, _, tok := payFixture(t, "退款庚")
	mgr := e2eStaffToken(t, s, "manager.sz01")
	doc := `{ me { payments(first: 10) { edges { node { id refundedAmount { amountFen } refunds { id state amount { amountFen } } } } } } }`
	statements := func(want int) int64 {
		t.Helper()
		before := s.DB.Statements()
		edges := dig(s.gql(t, tok, doc, nil), "me", "payments", "edges").([]any)
		n := s.DB.Statements() - before
		if len(edges) != want {
			t.Fatalf("%d payments listed, want %d", len(edges), want)
		}
		for _, e := range edges {
			if len(dig(e, "node", "refunds").([]any)) != 1 {
				t.Fatalf("payment without its refund: %v", e)
			}
		}
		return n
	}
	var counts []int64
	for i := range 4 {
		id, _ := s.paidTopUp(t, fake, tok, 1000, wlKey("pay"))
		r := s.refundAs(t, mgr, map[string]any{"paymentId": id, "amountFen": 100, "reason": "退款", "idempotencyKey": wlKey("rf")})
		if dig(r, "refund", "id") == nil {
			t.Fatalf("refund: %v", r)
		}
		if i == 0 || i == 3 {
			counts = append(counts, statements(i+1))
		}
	}
	if counts[0] != counts[1] {
		t.Fatalf("statements grow with the payments: %d for one, %d for four", counts[0], counts[1])
	}
}

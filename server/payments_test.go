package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

const (
	startPaymentDoc = `mutation($in: StartPaymentInput!) { startPayment(input: $in) {
		payment { id state purpose tradeType outTradeNo amount { amountFen } store { code } expiresAt }
		jsapi { appId timeStamp nonceStr package signType paySign }
		app { appId partnerId prepayId package nonceStr timeStamp sign }
		userErrors { code field message } } }`
	paymentDoc    = `query($id: ID!) { payment(id: $id) { id state transactionId paidAt amount { amountFen } } }`
	myPaymentsDoc = `{ me { payments(first: 5) { edges { node { id state } } } membership { balance { amountFen } } } }`
)

// fakePayConfig is the merchant configuration that talks to fake.
func fakePayConfig(fake *authtest.FakeWeChatPay) *payments.WeChatPayConfig {
	return &payments.WeChatPayConfig{MchID: fake.MchID, AppID: fake.AppID, MobileAppID: fake.AppID,
		MerchantSerial: fake.MerchantSerial, MerchantKeyPEM: fake.MerchantKeyPEM, PublicKeyID: fake.PublicKeyID,
		PublicKeyPEM: fake.PublicKeyPEM, APIv3Key: fake.APIv3Key, BaseURL: fake.URL(),
		NotifyURL: "https://ownerhub.example" + wechatPayNotifyPath}
}

// payServer is a server with WeChat Pay pointed at a local fake.
func payServer(t *testing.T, fake *authtest.FakeWeChatPay) *testServer {
	t.Helper()
	return newTestServer(t, func(c *Config, _ *Deps) { c.WeChatPay = fakePayConfig(fake) })
}

// payFixture is a fake WeChat Pay, a server paying through it, and an owner
// signed in through WeChat with their token.
func payFixture(t *testing.T, name string) (*authtest.FakeWeChatPay, *testServer, *models.Owner, string) {
	t.Helper()
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	s := payServer(t, fake)
	o, tok := wechatOwner(t, s, name)
	return fake, s, o, tok
}

// wechatOwner is an owner signed in through the mini-program (an openid).
func wechatOwner(t *testing.T, s *testServer, name string) (*models.Owner, string) {
	t.Helper()
	o := e2eInsertOwner(t, s, name, "SZ01")
	if err := s.DB.Conn(context.Background()).Model(o).Update("wechat_openid", "oPay"+o.ID.String()[:20]).Error; err != nil {
		t.Fatal(err)
	}
	return o, s.ownerToken(t, o.ID)
}

func (s *testServer) startTopUp(t *testing.T, tok string, fen int, tradeType, key string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "TOP_UP", "storeId": pvGID("Store", e2eStoreID(t, s, "SZ01")), "amountFen": fen, "tradeType": tradeType, "idempotencyKey": key}}}),
		"startPayment")
}

// notifyTo posts a notification to a server's notify endpoint.
func notifyTo(t *testing.T, fake *authtest.FakeWeChatPay, s *testServer, n authtest.PayNotification) int {
	t.Helper()
	n.URL = s.URL + wechatPayNotifyPath
	code, err := fake.Deliver(n)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func auditWallet(t *testing.T, db *models.DB) {
	t.Helper()
	bad, err := wallet.Audit(context.Background(), db)
	if err != nil || len(bad) > 0 {
		t.Fatalf("wallet audit: %v %+v", err, bad)
	}
}

// An owner tops up in the mini-program: the server places the order and
// signs the payment sheet; WeChat Pay's notification, sent many times to
// two instances at once, credits the card once.
func TestOwnerTopsUpWithWeChatPay(t *testing.T) {
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	a, b := payServer(t, fake), payServer(t, fake)
	owner, tok := wechatOwner(t, a, "支付甲")

	const fen = 100000
	p := a.startTopUp(t, tok, fen, "JSAPI", "topup-1")
	if ues := dig(p, "userErrors").([]any); len(ues) != 0 {
		t.Fatalf("startPayment: %v", ues)
	}
	pay := dig(p, "payment").(map[string]any)
	no, _ := pay["outTradeNo"].(string)
	if pay["state"] != "PENDING" || dig(pay, "store", "code") != "SZ01" || !strings.HasPrefix(no, "TU") {
		t.Fatalf("payment %v", pay)
	}
	js := dig(p, "jsapi").(map[string]any)
	if js["appId"] != fake.AppID || js["signType"] != "RSA" || js["paySign"] == "" || !strings.HasPrefix(js["package"].(string), "prepay_id=") {
		t.Fatalf("jsapi %v", js)
	}
	if dig(p, "app") != nil {
		t.Fatalf("app params for a JSAPI payment: %v", dig(p, "app"))
	}

	if err := fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	n, err := fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- notifyTo(t, fake, []*testServer{a, b}[i%2], n)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("notification answered %d", c)
		}
	}
	got := dig(a.gql(t, tok, paymentDoc, map[string]any{"id": pay["id"]}), "payment").(map[string]any)
	if got["state"] != "PAID" || got["transactionId"] == nil || got["paidAt"] == nil {
		t.Fatalf("payment after the notifications %v", got)
	}
	want := fen + wallet.BonusFor(fen, a.Cfg.Wallet.BonusRules)
	me := a.gql(t, tok, myPaymentsDoc, nil)
	if bal := dig(me, "me", "membership", "balance", "amountFen"); bal != float64(want) {
		t.Fatalf("balance %v, want %d once", bal, want)
	}
	if edges := dig(me, "me", "payments", "edges").([]any); len(edges) != 1 || dig(edges, 0, "node", "state") != "PAID" {
		t.Fatalf("me.payments %v", edges)
	}
	if n := e2eCount(t, a, &wallet.Entry{}, "owner_id = ? AND kind = ?", owner.ID, wallet.TopUp); n != 1 {
		t.Fatalf("%d top-up entries", n)
	}
	auditWallet(t, a.DB)
}

// Notifications that are not WeChat Pay's change nothing: a forged body or
// signature is refused, a stale one too, one for no payment of ours is
// acknowledged and logged.
func TestPaymentNotificationsThatChangeNothing(t *testing.T) {
	fake, s, _, tok := payFixture(t, "支付乙")
	p := s.startTopUp(t, tok, 5000, "JSAPI", "k")
	no := dig(p, "payment", "outTradeNo").(string)
	if err := fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	n, err := fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := n
	forged.Body = bytes.Replace(n.Body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付失败"`), 1)
	if c := notifyTo(t, fake, s, forged); c != http.StatusUnauthorized {
		t.Fatalf("forged notification answered %d", c)
	}
	if c := notifyTo(t, fake, s, fake.Resign(n, time.Now().Add(-time.Hour))); c != http.StatusUnauthorized {
		t.Fatalf("an hour-old notification answered %d", c)
	}
	bigger, err := fake.NotificationFor(no, func(tx map[string]any) { tx["amount"].(map[string]any)["total"] = 500000 })
	if err != nil {
		t.Fatal(err)
	}
	if c := notifyTo(t, fake, s, bigger); c != http.StatusNoContent {
		t.Fatalf("mismatching notification answered %d", c)
	}
	if !strings.Contains(s.Logs.String(), "notification for no payment of ours") {
		t.Fatal("the mismatching notification was not logged")
	}
	got := dig(s.gql(t, tok, paymentDoc, map[string]any{"id": dig(p, "payment", "id")}), "payment").(map[string]any)
	if got["state"] != "PENDING" {
		t.Fatalf("state %v after refused notifications", got["state"])
	}
	if bal := dig(s.gql(t, tok, myPaymentsDoc, nil), "me", "membership", "balance", "amountFen"); bal != float64(0) {
		t.Fatalf("balance %v", bal)
	}
}

func TestStartPaymentRefusals(t *testing.T) {
	_, s, owner, tok := payFixture(t, "支付丙")
	p := s.startTopUp(t, tok, 5000, "JSAPI", "k1")
	id := dig(p, "payment", "id")

	// Nobody else reads it.
	other := e2eInsertOwner(t, s, "支付丁", "SZ01")
	if got := dig(s.gql(t, s.ownerToken(t, other.ID), paymentDoc, map[string]any{"id": id}), "payment"); got != nil {
		t.Fatalf("another owner read the payment: %v", got)
	}
	for _, staff := range []string{"technician1.sz01", "manager.gz01"} {
		if got := dig(s.gql(t, e2eStaffToken(t, s, staff), paymentDoc, map[string]any{"id": id}), "payment"); got != nil {
			t.Fatalf("%s read the payment: %v", staff, got)
		}
	}
	if got := dig(s.gql(t, e2eStaffToken(t, s, "manager.sz01"), paymentDoc, map[string]any{"id": id}), "payment"); got == nil {
		t.Fatal("the store's manager cannot read the payment")
	}
	// Staff do not pay.
	r := s.do(t, req{Query: startPaymentDoc, Token: e2eStaffToken(t, s, "manager.sz01"), Vars: map[string]any{"in": map[string]any{
		"purpose": "TOP_UP", "storeId": pvGID("Store", e2eStoreID(t, s, "SZ01")), "amountFen": 100, "tradeType": "JSAPI", "idempotencyKey": "x"}}})
	e2eWantGQLError(t, r, "FORBIDDEN")

	e2eWantUserError(t, s.startTopUp(t, tok, 0, "JSAPI", "k2"), "INVALID_ARGUMENT", "input", "amountFen")
	e2eWantUserError(t, s.startTopUp(t, tok, 6000, "JSAPI", "k1"), "IDEMPOTENCY_KEY_REUSED", "input", "idempotencyKey")
	// A top-up names its store and nothing else to pay for; a payment pays
	// for one thing.
	start := func(in map[string]any) map[string]any {
		in["tradeType"], in["idempotencyKey"] = "JSAPI", "k-"+uuid.NewString()
		return e2ePayload(t, s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": in}}), "startPayment")
	}
	store := pvGID("Store", e2eStoreID(t, s, "SZ01"))
	e2eWantUserError(t, start(map[string]any{"purpose": "TOP_UP", "amountFen": 100}), "INVALID_ARGUMENT", "input", "storeId")
	e2eWantUserError(t, start(map[string]any{"purpose": "TOP_UP", "storeId": store, "amountFen": 100,
		"registrationId": pvGID("Registration", uuid.New())}), "INVALID_ARGUMENT", "input", "purpose")
	e2eWantUserError(t, start(map[string]any{"purpose": "EVENT_FEE", "registrationId": pvGID("Registration", uuid.New()),
		"repairOrderId": pvGID("RepairOrder", uuid.New())}), "INVALID_ARGUMENT", "input", "repairOrderId")
	noWeChat := e2eInsertOwner(t, s, "支付戊", "SZ01")
	e2eWantUserError(t, s.startTopUp(t, s.ownerToken(t, noWeChat.ID), 100, "JSAPI", "k3"), "WECHAT_NOT_BOUND", "input", "tradeType")
	if n := e2eCount(t, s, &payments.Payment{}, "owner_id IN ?", []any{owner.ID, other.ID, noWeChat.ID}); n != 1 {
		t.Fatalf("%d payments written", n)
	}

	// Without a provider: refused, and the notify endpoint is not there.
	off := newTestServer(t)
	e2eWantUserError(t, off.startTopUp(t, off.ownerToken(t, owner.ID), 100, "APP", "k4"), "PAYMENT_METHOD_UNAVAILABLE", "input", "tradeType")
	resp, err := http.Post(off.URL+wechatPayNotifyPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("notify without a provider answered %d", resp.StatusCode)
	}
}

// An owner whose payment is still open cannot delete the account (money
// could arrive for it); the export lists the payments.
func TestOpenPaymentHoldsAccountDeletion(t *testing.T) {
	_, s, _, tok := payFixture(t, "支付己")
	p := s.startTopUp(t, tok, 5000, "JSAPI", "k")
	no := dig(p, "payment", "outTradeNo").(string)

	var doc map[string]any
	if err := json.Unmarshal([]byte(dig(s.gql(t, tok, pvExportDoc, nil), "exportMyData", "document").(string)), &doc); err != nil {
		t.Fatal(err)
	}
	exported, _ := dig(doc, "sections", "onlinePayments").([]any)
	if len(exported) != 1 || dig(exported, 0, "outTradeNo") != no || dig(exported, 0, "prepayId") != "" {
		t.Fatalf("exported payments %v", exported)
	}

	refused := dig(s.gql(t, tok, pvDeleteDoc, map[string]any{"c": true}), "deleteMyAccount")
	if dig(refused, "deleted") != false {
		t.Fatalf("deleted with a payment open: %v", refused)
	}
	expectUserError(t, refused, "PAYMENT_IN_FLIGHT")
	// Once it closes (paid elsewhere never), the account can go.
	if err := s.DB.Conn(context.Background()).Model(&payments.Payment{}).Where("out_trade_no = ?", no).
		Update("state", payments.StateClosed).Error; err != nil {
		t.Fatal(err)
	}
	if d := s.gql(t, tok, pvDeleteDoc, map[string]any{"c": true}); dig(d, "deleteMyAccount", "deleted") != true {
		t.Fatalf("deletion after the payment closed: %v", d)
	}
	// The payment stays, the payer's WeChat identity does not.
	var kept payments.Payment
	testdb.Must(t, s.DB.Conn(context.Background()).Where("out_trade_no = ?", no).Take(&kept).Error)
	if kept.PayerOpenID != nil {
		t.Fatalf("payer openid %q kept after the deletion", *kept.PayerOpenID)
	}
}

// An account deletion and a payment started at the same moment never leave
// a payment PENDING for a deleted account: either the deletion waits for
// the payment and refuses (PAYMENT_IN_FLIGHT), or the payment finds the
// account gone.
func TestDeletionRacesStartPayment(t *testing.T) {
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	s := payServer(t, fake)
	const rounds = 8
	owners := make([]*models.Owner, rounds)
	toks := make([]string, rounds)
	for i := range owners {
		owners[i], toks[i] = wechatOwner(t, s, fmt.Sprintf("竞注%d", i))
	}
	parallel(2*rounds, 8, func(i int) {
		tok := toks[i/2]
		if i%2 == 0 {
			s.gql(t, tok, pvDeleteDoc, map[string]any{"c": true})
			return
		}
		s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
			"purpose": "TOP_UP", "storeId": pvGID("Store", e2eStoreID(t, s, "SZ01")), "amountFen": 5000,
			"tradeType": "JSAPI", "idempotencyKey": "race"}}})
	})
	var deleted, started int
	for _, o := range owners {
		var gone, pending int64
		db := s.DB.Conn(context.Background())
		testdb.Must(t, db.Table("deleted_owners").Where("owner_id = ?", o.ID).Count(&gone).Error)
		testdb.Must(t, db.Model(&payments.Payment{}).Where("owner_id = ? AND state = ?", o.ID, payments.StatePending).Count(&pending).Error)
		if gone > 0 && pending > 0 {
			t.Errorf("owner %s deleted with a payment pending", o.ID)
		}
		deleted += int(gone)
		started += int(pending)
	}
	t.Logf("%d rounds: %d accounts deleted, %d payments started", rounds, deleted, started)
	if deleted+started != rounds {
		t.Fatalf("%d rounds: %d deletions and %d payments, want one of each pair to win", rounds, deleted, started)
	}
}

// A notification that fails on our side (here the ledger cannot be
// written) answers 500 and changes nothing, so WeChat Pay sends it again;
// the next delivery applies it.
func TestPaymentNotificationOurFailure(t *testing.T) {
	fake, s, _, tok := payFixture(t, "支付庚")
	p := s.startTopUp(t, tok, 5000, "JSAPI", "k")
	no := dig(p, "payment", "outTradeNo").(string)
	testdb.Must(t, fake.Pay(no))
	n, err := fake.NotificationFor(no, nil)
	testdb.Must(t, err)
	db := s.DB.Conn(context.Background())
	testdb.Must(t, db.Exec("ALTER TABLE ledger_entries RENAME TO ledger_entries_away").Error)
	code := notifyTo(t, fake, s, n)
	testdb.Must(t, db.Exec("ALTER TABLE ledger_entries_away RENAME TO ledger_entries").Error)
	if code != http.StatusInternalServerError {
		t.Fatalf("a notification we failed to apply answered %d", code)
	}
	if !strings.Contains(s.Logs.String(), "notification not applied") {
		t.Fatal("the failure was not logged")
	}
	got := dig(s.gql(t, tok, paymentDoc, map[string]any{"id": dig(p, "payment", "id")}), "payment", "state")
	if got != "PENDING" {
		t.Fatalf("state %v after a failed notification", got)
	}
	if c := notifyTo(t, fake, s, n); c != http.StatusNoContent {
		t.Fatalf("redelivery answered %d", c)
	}
	if bal := dig(s.gql(t, tok, myPaymentsDoc, nil), "me", "membership", "balance", "amountFen"); bal != float64(5000) {
		t.Fatalf("balance %v after the redelivery", bal)
	}
	auditWallet(t, s.DB)
}

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
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
)

// Service packages bought online, through the real server: the owner pays a
// product's price with WeChat Pay and WeChat Pay's word creates the package
// once (docs/packages.md, "Buying online").

const pkProductsDoc = `query($s: ID!, $r: Boolean) { servicePackages(storeId: $s, includeRetired: $r, first: 20) {
	edges { node { id name price { amountFen } retiredAt } } } }`

// pkOnline is a packages server paying through a fake WeChat Pay, a second
// instance on the same database, a product of SZ01 and an owner signed in
// through WeChat.
type pkOnline struct {
	*wkFixture
	fake    *authtest.FakeWeChatPay
	b       *testServer
	owner   *models.Owner
	tok     string
	product string
}

func newPkOnline(t *testing.T) *pkOnline {
	t.Helper()
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	f := newWorkshop(t, func(c *Config, _ *Deps) {
		c.WeChatPay = fakePayConfig(fake)
		c.Packages = packages.Config{RefundFeePercent: pkFeePercent}
	})
	owner, tok := wechatOwner(t, f.testServer, "网购套餐")
	return &pkOnline{wkFixture: f, fake: fake, b: payServer(t, fake), owner: owner, tok: tok,
		product: f.pkProduct(t, map[string]any{"name": "线上保养四次卡"})}
}

// startPackage asks to buy product as the holder of tok.
func (s *testServer) startPackage(t *testing.T, tok, product, key string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "SERVICE_PACKAGE", "servicePackageId": product, "tradeType": "JSAPI", "idempotencyKey": key}}}), "startPayment")
}

// paid has WeChat Pay take the payment and returns its notification.
func (f *pkOnline) paid(t *testing.T, no string) authtest.PayNotification {
	t.Helper()
	if err := f.fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	note, err := f.fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	return note
}

// notifyAll delivers n copies of a notification alternately to both
// instances, all at once, while the sweep queries the same payments; every
// copy must be acknowledged.
func (f *pkOnline) notifyAll(t *testing.T, note authtest.PayNotification, n int) {
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := f.b.App.Payments.SweepPending(context.Background(), time.Now().Add(2*time.Minute)); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("notification answered %d", c)
		}
	}
}

// buy has the owner buy the product, paid, and returns the payment and the
// package it created (the owner's only one).
func (f *pkOnline) buy(t *testing.T, key string) (map[string]any, string) {
	t.Helper()
	pay := started(t, f.startPackage(t, f.tok, f.product, key))
	f.notifyAll(t, f.paid(t, pay["outTradeNo"].(string)), 2)
	mine := f.pkMine(t, f.tok, "")
	if len(mine) != 1 {
		t.Fatalf("the owner's packages after buying one: %v", mine)
	}
	return pay, wkStr(mine[0]["id"])
}

// refundsOf reads the refunds of a payment (its global id).
func (f *pkOnline) refundsOf(t *testing.T, payment any) []payments.Refund {
	t.Helper()
	var refunds []payments.Refund
	if err := f.DB.Conn(context.Background()).Where("payment_id = ?", wlUUID(t, payment.(string), "OnlinePayment")).Find(&refunds).Error; err != nil {
		t.Fatal(err)
	}
	return refunds
}

// packagesOf counts the owner's packages (and of them those bought online).
func (f *pkOnline) packagesOf(t *testing.T, owner *models.Owner) (all, online int64) {
	t.Helper()
	all = e2eCount(t, f.testServer, &packages.Package{}, "owner_id = ?", owner.ID)
	online = e2eCount(t, f.testServer, &packages.Package{}, "owner_id = ? AND payment_id IS NOT NULL", owner.ID)
	return all, online
}

// The owner finds a product on sale at a store, pays it in the
// mini-program, and WeChat Pay's notification creates the package with the
// product's terms; the same notification again changes nothing. Staff do
// not buy online.
func TestOwnerBuysServicePackageOnline(t *testing.T) {
	f := newPkOnline(t)
	retired := f.pkProduct(t, map[string]any{"name": "下架套餐"})
	f.cpMutate(t, f.staff(t, "crm.sz01"), "retireServicePackage", map[string]any{"servicePackageId": retired}, "servicePackage { id }")

	// Owners list what is on sale, at any store; retired products are staff's.
	edges := dig(f.gql(t, f.tok, pkProductsDoc, map[string]any{"s": f.sz}), "servicePackages", "edges").([]any)
	var listed []string
	for _, e := range edges {
		listed = append(listed, wkStr(dig(e, "node", "id")))
	}
	if !strings.Contains(strings.Join(listed, ","), f.product) || strings.Contains(strings.Join(listed, ","), retired) {
		t.Fatalf("an owner lists %v", listed)
	}
	e2eWantGQLError(t, f.do(t, req{Query: pkProductsDoc, Token: f.tok, Vars: map[string]any{"s": f.sz, "r": true}}), "FORBIDDEN")
	e2eWantGQLError(t, f.do(t, req{Query: pkProductsDoc, Vars: map[string]any{"s": f.sz}}), "UNAUTHENTICATED")

	// Staff do not pay online; a retired product is not sold.
	r := f.do(t, req{Query: startPaymentDoc, Token: f.staff(t, "cashier.sz01"), Vars: map[string]any{"in": map[string]any{
		"purpose": "SERVICE_PACKAGE", "servicePackageId": f.product, "tradeType": "JSAPI", "idempotencyKey": "staff"}}})
	e2eWantGQLError(t, r, "FORBIDDEN")
	e2eWantUserError(t, f.startPackage(t, f.tok, retired, "retired"), "PACKAGE_RETIRED", "input", "servicePackageId")
	bad := e2ePayload(t, f.do(t, req{Query: startPaymentDoc, Token: f.tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "SERVICE_PACKAGE", "servicePackageId": f.product, "amountFen": 1, "tradeType": "JSAPI", "idempotencyKey": "cheap"}}}), "startPayment")
	e2eWantUserError(t, bad, "INVALID_ARGUMENT", "input", "amountFen")

	p := f.startPackage(t, f.tok, f.product, "buy-1")
	pay := started(t, p)
	no := pay["outTradeNo"].(string)
	if pay["state"] != "PENDING" || pay["purpose"] != "SERVICE_PACKAGE" || !strings.HasPrefix(no, "SP") ||
		wkNum(dig(pay, "amount", "amountFen")) != 160_000 || dig(pay, "store", "code") != "SZ01" || dig(p, "jsapi", "paySign") == "" {
		t.Fatalf("payment %v", p)
	}
	if again := started(t, f.b.startPackage(t, f.tok, f.product, "buy-1")); again["id"] != pay["id"] {
		t.Fatalf("the same key on the other instance started %v", again["id"])
	}
	if all, _ := f.packagesOf(t, f.owner); all != 0 {
		t.Fatalf("%d packages before WeChat Pay's word", all)
	}

	note := f.paid(t, no)
	if code := notifyTo(t, f.fake, f.testServer, note); code != http.StatusNoContent {
		t.Fatalf("notification answered %d", code)
	}
	got := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment").(map[string]any)
	if got["state"] != "PAID" || got["purpose"] != "SERVICE_PACKAGE" {
		t.Fatalf("payment after the notification %v", got)
	}
	mine := f.pkMine(t, f.tok, "")
	if len(mine) != 1 {
		t.Fatalf("the owner's packages %v", mine)
	}
	pkg := mine[0]
	validUntil, err := time.Parse(time.RFC3339, wkStr(pkg["validUntil"]))
	if err != nil {
		t.Fatal(err)
	}
	soldAt, _ := time.Parse(time.RFC3339, wkStr(pkg["soldAt"]))
	if pkg["status"] != "ACTIVE" || pkg["paymentMethod"] != "WECHAT_PAY_ONLINE" || wkNum(pkg["usesTotal"]) != 4 || wkNum(pkg["usesLeft"]) != 4 ||
		wkNum(dig(pkg, "price", "amountFen")) != 160_000 || dig(pkg, "servicePackage", "id") != f.product ||
		dig(pkg, "servicePackage", "store", "code") != "SZ01" || validUntil.Sub(soldAt) != 365*24*time.Hour {
		t.Fatalf("package %v", pkg)
	}

	// The same notification again, to either instance: nothing more.
	for _, s := range []*testServer{f.testServer, f.b, f.testServer} {
		if code := notifyTo(t, f.fake, s, note); code != http.StatusNoContent {
			t.Fatalf("repeated notification answered %d", code)
		}
	}
	if all, online := f.packagesOf(t, f.owner); all != 1 || online != 1 {
		t.Fatalf("%d packages (%d online) after repeated notifications", all, online)
	}
	if n := e2eCount(t, f.testServer, &payments.Payment{}, "owner_id = ?", f.owner.ID); n != 1 {
		t.Fatalf("%d payments written", n)
	}
	auditWallet(t, f.DB)
}

// Thirty copies of the PAID notification at once, on two instances, with
// the sweep asking WeChat Pay about the same payment: one package.
func TestServicePackagePurchaseConcurrentNotifications(t *testing.T) {
	f := newPkOnline(t)
	for round := range 3 {
		pay := started(t, f.startPackage(t, f.tok, f.product, "race-"+string(rune('a'+round))))
		f.notifyAll(t, f.paid(t, pay["outTradeNo"].(string)), 30)
		if st := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment", "state"); st != "PAID" {
			t.Fatalf("round %d: payment %v", round, st)
		}
		if all, online := f.packagesOf(t, f.owner); all != int64(round+1) || online != int64(round+1) {
			t.Fatalf("round %d: %d packages (%d online)", round, all, online)
		}
	}
}

// A product retired between the start and the payment still delivers what
// was paid for: its terms do not change.
func TestServicePackageRetiredWhilePaying(t *testing.T) {
	f := newPkOnline(t)
	pay := started(t, f.startPackage(t, f.tok, f.product, "retire"))
	f.cpMutate(t, f.staff(t, "crm.sz01"), "retireServicePackage", map[string]any{"servicePackageId": f.product}, "servicePackage { retiredAt }")
	e2eWantUserError(t, f.startPackage(t, f.tok, f.product, "retire-2"), "PACKAGE_RETIRED", "input", "servicePackageId")

	f.notifyAll(t, f.paid(t, pay["outTradeNo"].(string)), 4)
	mine := f.pkMine(t, f.tok, "ACTIVE")
	if len(mine) != 1 || wkNum(mine[0]["usesLeft"]) != 4 || dig(mine[0], "servicePackage", "id") != f.product {
		t.Fatalf("packages after paying for a retired product %v", mine)
	}
	if refunds := f.refundsOf(t, pay["id"]); len(refunds) != 0 {
		t.Fatalf("refunds of a delivered package: %+v", refunds)
	}
}

// A payment that fails at the bank or closes unpaid creates nothing.
func TestServicePackagePaymentFailedOrClosed(t *testing.T) {
	f := newPkOnline(t)
	failed := started(t, f.startPackage(t, f.tok, f.product, "fail"))
	note, err := f.fake.NotificationFor(failed["outTradeNo"].(string), func(tx map[string]any) { tx["trade_state"] = "PAYERROR" })
	if err != nil {
		t.Fatal(err)
	}
	f.notifyAll(t, note, 4)
	closed := started(t, f.startPackage(t, f.tok, f.product, "close"))
	if _, err := f.App.Payments.SweepPending(context.Background(), time.Now().Add(payments.DefaultHold+2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{wkStr(failed["id"]): "FAILED", wkStr(closed["id"]): "CLOSED"} {
		if st := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": id}), "payment", "state"); st != want {
			t.Fatalf("payment %v, want %s", st, want)
		}
	}
	if all, _ := f.packagesOf(t, f.owner); all != 0 {
		t.Fatalf("%d packages from payments that failed or closed", all)
	}
}

// An account with a purchase open cannot be deleted; once the payment has
// closed and the account is gone, money WeChat Pay reports after all goes
// back whole and creates no package.
func TestServicePackagePaidForDeletedAccount(t *testing.T) {
	f := newPkOnline(t)
	pay := started(t, f.startPackage(t, f.tok, f.product, "gone"))
	no := pay["outTradeNo"].(string)
	refused := dig(f.gql(t, f.tok, pvDeleteDoc, map[string]any{"c": true}), "deleteMyAccount")
	expectUserError(t, refused, "PAYMENT_IN_FLIGHT")

	if _, err := f.App.Payments.SweepPending(context.Background(), time.Now().Add(payments.DefaultHold+2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d := f.gql(t, f.tok, pvDeleteDoc, map[string]any{"c": true}); dig(d, "deleteMyAccount", "deleted") != true {
		t.Fatalf("deletion after the payment closed: %v", d)
	}
	if err := f.fake.PayClosed(no); err != nil {
		t.Fatal(err)
	}
	note, err := f.fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.notifyAll(t, note, 6)

	id := wlUUID(t, pay["id"].(string), "OnlinePayment")
	var p payments.Payment
	if err := f.DB.Conn(context.Background()).Where("id = ?", id).Take(&p).Error; err != nil {
		t.Fatal(err)
	}
	refunds := f.refundsOf(t, pay["id"])
	if p.State != payments.StateRefunding || len(refunds) != 1 || refunds[0].AmountFen != 160_000 || !strings.Contains(refunds[0].Reason, "账户已注销") {
		t.Fatalf("payment %s, refunds %+v", p.State, refunds)
	}
	if all, _ := f.packagesOf(t, f.owner); all != 0 {
		t.Fatalf("%d packages for a deleted account", all)
	}
}

// Another owner neither reads the payment nor the package it bought, and
// the same idempotency key starts their own payment, not the first one.
func TestServicePackagePurchaseOfAnotherOwner(t *testing.T) {
	f := newPkOnline(t)
	pay, pkg := f.buy(t, "mine")

	_, otherTok := wechatOwner(t, f.testServer, "旁人")
	if got := dig(f.gql(t, otherTok, billPayDoc, map[string]any{"id": pay["id"]}), "payment"); got != nil {
		t.Fatalf("another owner reads the payment %v", got)
	}
	if got := dig(f.gql(t, otherTok, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": pkg}), "node"); got != nil {
		t.Fatalf("another owner reads the package %v", got)
	}
	theirs := started(t, f.startPackage(t, otherTok, f.product, "mine"))
	if theirs["id"] == pay["id"] {
		t.Fatalf("another owner's start under the same key answered the first payment")
	}
	// Only the owner's own packages are listed; the other's start bought nothing yet.
	if mine := f.pkMine(t, otherTok, ""); len(mine) != 0 {
		t.Fatalf("another owner lists %v", mine)
	}
}

// The cashier refunds a package bought online: the pro-rata refund goes
// back to the owner's WeChat Pay payment (a refund of that payment), not
// over the counter.
func TestServicePackageBoughtOnlineRefundedToPayment(t *testing.T) {
	f := newPkOnline(t)
	pay, pkg := f.buy(t, "refund")

	r := f.pkRefund(t, f.staff(t, "cashier.sz01"), pkg, "pk-online-refund")
	want := packages.RefundFen(160_000, 4, 4, pkFeePercent)
	if codes := userErrorCodes(r); len(codes) != 0 || dig(r, "package", "status") != "REFUNDED" || int64(wkNum(dig(r, "package", "refund", "amountFen"))) != want {
		t.Fatalf("refund %v", r)
	}
	if refunds := f.refundsOf(t, pay["id"]); len(refunds) != 1 || refunds[0].AmountFen != want {
		t.Fatalf("refunds of the payment %+v", refunds)
	}
	if st := dig(f.gql(t, f.tok, billPayDoc, map[string]any{"id": pay["id"]}), "payment", "state"); st != "REFUNDING" {
		t.Fatalf("payment %v after the refund", st)
	}
}

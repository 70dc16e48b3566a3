package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
)

const reconciliationDoc = `query($date: Date!, $store: ID, $first: Int, $after: String) {
	paymentReconciliation(date: $date, storeId: $store) {
		date state ranAt billPaymentCount billPaymentTotal { amountFen } billRefundCount billRefundTotal { amountFen }
		paymentCount paymentTotal { amountFen } refundCount refundTotal { amountFen } mismatchCount
		mismatches(first: $first, after: $after) {
			edges { cursor node { kind outTradeNo outRefundNo transactionId billAmount { amountFen } ourAmount { amountFen }
				billState ourState store { code } payment { id outTradeNo state } } }
			pageInfo { hasNextPage endCursor } } } }`

// paidTopUpAt starts a top-up at a store, has WeChat Pay take it at when,
// and delivers its notification to the server.
func paidTopUpAt(t *testing.T, fake *authtest.FakeWeChatPay, s *testServer, tok, store string, fen int, when time.Time) string {
	t.Helper()
	p := e2ePayload(t, s.do(t, req{Query: startPaymentDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "TOP_UP", "storeId": pvGID("Store", e2eStoreID(t, s, store)), "amountFen": fen, "tradeType": "JSAPI",
		"idempotencyKey": "recon-" + when.String()}}}), "startPayment")
	no := dig(p, "payment", "outTradeNo").(string)
	if err := fake.PayAt(no, when); err != nil {
		t.Fatal(err)
	}
	n, err := fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := notifyTo(t, fake, s, n); c != http.StatusNoContent {
		t.Fatalf("notification answered %d", c)
	}
	return no
}

// The daily job reconciles yesterday's bill; managers read the mismatches
// of their stores, group admins all of them, other roles nothing.
func TestPaymentReconciliationThroughTheServer(t *testing.T) {
	fake, s, _, tok := payFixture(t, "对账甲")
	day := models.ChinaDate(time.Now()).AddDate(0, 0, -1)
	at := func(h, m int) time.Time { return time.Date(day.Year, day.Month, day.Day, h, m, 0, 0, models.ChinaTime) }
	clean := paidTopUpAt(t, fake, s, tok, "SZ01", 10000, at(9, 0))
	dropped := paidTopUpAt(t, fake, s, tok, "SZ01", 20000, at(10, 0))
	differs := paidTopUpAt(t, fake, s, tok, "GZ01", 30000, at(11, 0))
	fake.DropFromBill(dropped)
	fake.SetBillAmount(differs, 29900)
	fake.PlantBillLine(authtest.FakeBillLine{At: at(12, 0), OutTradeNo: "TUforeign0000000000000000000009",
		TransactionID: "4200000000000000000000000009", AmountFen: 4200})

	n, err := s.App.Payments.ReconcileDue(context.Background(), time.Now())
	if err != nil || n != 1 {
		t.Fatalf("job: %d %v", n, err)
	}
	vars := func(store string, first int) map[string]any {
		v := map[string]any{"date": day.String(), "first": first}
		if store != "" {
			v["store"] = pvGID("Store", e2eStoreID(t, s, store))
		}
		return v
	}
	type seen struct{ kind, outTradeNo, store string }
	read := func(tok, store string) (map[string]any, []seen) {
		t.Helper()
		var out []seen
		var run map[string]any
		v := vars(store, 1)
		for range 10 {
			run = dig(s.gql(t, tok, reconciliationDoc, v), "paymentReconciliation").(map[string]any)
			for _, e := range dig(run, "mismatches", "edges").([]any) {
				node := dig(e, "node").(map[string]any)
				code, _ := dig(node, "store", "code").(string)
				out = append(out, seen{node["kind"].(string), node["outTradeNo"].(string), code})
			}
			if dig(run, "mismatches", "pageInfo", "hasNextPage") != true {
				return run, out
			}
			v["after"] = dig(run, "mismatches", "pageInfo", "endCursor")
		}
		t.Fatal("paging does not end")
		return nil, nil
	}

	szManager := e2eStaffToken(t, s, "manager.sz01")
	run, got := read(szManager, "")
	if run["state"] != "MISMATCHED" || run["mismatchCount"] != float64(3) || run["billPaymentCount"] != float64(3) ||
		run["paymentCount"] != float64(3) || dig(run, "paymentTotal", "amountFen") != float64(60000) ||
		dig(run, "billPaymentTotal", "amountFen") != float64(10000+29900+4200) || run["date"] != day.String() {
		t.Fatalf("run %v", run)
	}
	if len(got) != 1 || got[0] != (seen{"MISSING_IN_BILL", dropped, "SZ01"}) {
		t.Fatalf("SZ manager sees %v", got)
	}
	gzManager := e2eStaffToken(t, s, "manager.gz01")
	if _, got := read(gzManager, "GZ01"); len(got) != 1 || got[0] != (seen{"AMOUNT_DIFFERS", differs, "GZ01"}) {
		t.Fatalf("GZ manager sees %v", got)
	}
	admin := e2eStaffToken(t, s, "admin")
	_, got = read(admin, "")
	want := map[seen]bool{{"MISSING_IN_BILL", dropped, "SZ01"}: true, {"AMOUNT_DIFFERS", differs, "GZ01"}: true,
		{"MISSING_IN_OURS", "TUforeign0000000000000000000009", ""}: true}
	if len(got) != 3 {
		t.Fatalf("admin sees %v", got)
	}
	for _, g := range got {
		if !want[g] || g.outTradeNo == clean {
			t.Fatalf("admin sees %v", got)
		}
	}
	// The amounts and the payment behind a mismatch.
	d := s.gql(t, admin, reconciliationDoc, vars("GZ01", 5))
	node := dig(d, "paymentReconciliation", "mismatches", "edges", 0, "node").(map[string]any)
	if dig(node, "billAmount", "amountFen") != float64(29900) || dig(node, "ourAmount", "amountFen") != float64(30000) ||
		dig(node, "payment", "outTradeNo") != differs || dig(node, "payment", "state") != "PAID" || node["billState"] != "SUCCESS" {
		t.Fatalf("mismatch %v", node)
	}

	// Refused: a manager at another store, other staff roles, owners,
	// nobody signed in.
	for name, c := range map[string]struct{ tok, store, code string }{
		"SZ manager at GZ": {szManager, "GZ01", "FORBIDDEN"},
		"advisor":          {e2eStaffToken(t, s, "advisor.sz01"), "", "FORBIDDEN"},
		"cashier":          {e2eStaffToken(t, s, "cashier.sz01"), "", "FORBIDDEN"},
		"owner":            {tok, "", "FORBIDDEN"},
		"anonymous":        {"", "", "UNAUTHENTICATED"},
	} {
		r := s.do(t, req{Query: reconciliationDoc, Token: c.tok, Vars: vars(c.store, 5)})
		if r.Code() != c.code || dig(r.Data, "paymentReconciliation") != nil {
			t.Fatalf("%s: %s", name, r.Raw)
		}
	}
	// A day never run is null.
	v := vars("", 5)
	v["date"] = day.AddDate(0, 0, -10).String()
	if d := s.gql(t, szManager, reconciliationDoc, v); d["paymentReconciliation"] != nil {
		t.Fatalf("a day never run: %v", d)
	}
	auditWallet(t, s.DB)
}

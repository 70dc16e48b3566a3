package payments_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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

// at is hh:mm on date, China time.
func at(date models.Date, h, m int) time.Time {
	return time.Date(date.Year, date.Month, date.Day, h, m, 0, 0, models.ChinaTime)
}

// reconDay is the bill day the reconciliation tests use: yesterday.
func reconDay() models.Date { return testdb.Today().AddDate(0, 0, -1) }

// paidAt starts a top-up at store, has WeChat Pay take it at when, and
// applies WeChat Pay's answer as the sweep would.
func (e *env) paidAt(t *testing.T, store uuid.UUID, amount int64, when time.Time) *payments.Payment {
	t.Helper()
	e.clock.Set(when.Add(-2 * time.Minute))
	p, _, err := e.svc.Start(e.ctx, e.as, payments.StartInput{Purpose: payments.PurposeTopUp, StoreID: store,
		AmountFen: amount, TradeType: payments.TradeJSAPI, IdempotencyKey: "k-" + uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	testdb.Must(t, e.fake.PayAt(p.OutTradeNo, when))
	e.clock.Set(when.Add(time.Minute))
	tx, err := e.svc.Provider.Query(e.ctx, p.OutTradeNo)
	testdb.Must(t, err)
	p, err = e.svc.Apply(e.ctx, tx)
	testdb.Must(t, err)
	if p.State != payments.StatePaid || !p.PaidAt.Equal(when) {
		t.Fatalf("paid %+v", p)
	}
	return p
}

// refunded refunds amount of p through the fake's refund API, accepted
// and finished at when (the refund SUCCESS at that time, the payment's
// refunded amount); inBill says whether the fake's bill has it too.
func (e *env) refunded(t *testing.T, p *payments.Payment, amount int64, when time.Time, inBill bool) *payments.Refund {
	t.Helper()
	e.clock.Set(when.Add(-time.Minute))
	f, err := e.svc.RequestRefund(e.ctx, payments.RefundRequest{PaymentID: p.ID, AmountFen: amount, Cause: payments.CauseStaff, Reason: "退款"})
	testdb.Must(t, err)
	// Sent after the commit: the fake took it (now); it took it at when.
	testdb.Must(t, e.fake.SetRefundTime(f.OutRefundNo, when))
	conn := e.w.DB.Conn(e.ctx)
	testdb.Must(t, conn.Model(f).Updates(map[string]any{"state": payments.RefundSuccess, "succeeded_at": when.UTC(), "refund_id": "503" + f.OutRefundNo}).Error)
	testdb.Must(t, conn.Model(p).Updates(map[string]any{"refunded_fen": amount}).Error)
	if !inBill {
		e.fake.DropFromBill(f.OutRefundNo)
	}
	return f
}

// reconcile runs the day's reconciliation at 11:00 the next morning.
func (e *env) reconcile(t *testing.T, day models.Date) *payments.Reconciliation {
	t.Helper()
	e.clock.Set(at(day.AddDate(0, 0, 1), 11, 0))
	run, err := e.svc.Reconcile(e.ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func (e *env) mismatches(t *testing.T, run *payments.Reconciliation) []*payments.Mismatch {
	t.Helper()
	var out []*payments.Mismatch
	testdb.Must(t, e.w.DB.Conn(e.ctx).Where("reconciliation_id = ?", run.ID).Order("id").Find(&out).Error)
	return out
}

// cleanDay is a day of three top-ups (two at SZ, one at GZ) and a refund,
// with a top-up the evening before and one the next morning (other days'
// bills), and one started and never paid.
func (e *env) cleanDay(t *testing.T, day models.Date) []*payments.Payment {
	t.Helper()
	e.paidAt(t, e.w.SZ.ID, 7000, at(day.AddDate(0, 0, -1), 23, 59))
	ps := []*payments.Payment{
		e.paidAt(t, e.w.SZ.ID, 20000, at(day, 0, 0)),
		e.paidAt(t, e.w.SZ.ID, 12345, at(day, 13, 30)),
		e.paidAt(t, e.w.GZ.ID, 50001, at(day, 23, 59)),
	}
	e.paidAt(t, e.w.GZ.ID, 8000, at(day.AddDate(0, 0, 1), 0, 1))
	e.clock.Set(at(day, 16, 0))
	e.start(t, 3000, "never-paid")
	e.refunded(t, ps[1], 2345, at(day, 18, 0), true)
	return ps
}

func TestReconcileCleanDay(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	e.cleanDay(t, day)
	run := e.reconcile(t, day)
	if run.State != payments.ReconMatched || run.MismatchCount != 0 {
		t.Fatalf("run %+v mismatches %+v", run, e.mismatches(t, run))
	}
	want := payments.Reconciliation{BillPayments: 3, BillPaymentFen: 82346, BillRefunds: 1, BillRefundFen: 2345,
		Payments: 3, PaymentFen: 82346, Refunds: 1, RefundFen: 2345}
	if run.BillPayments != want.BillPayments || run.BillPaymentFen != want.BillPaymentFen || run.BillRefunds != want.BillRefunds ||
		run.BillRefundFen != want.BillRefundFen || run.Payments != want.Payments || run.PaymentFen != want.PaymentFen ||
		run.Refunds != want.Refunds || run.RefundFen != want.RefundFen || run.BillDate != day {
		t.Fatalf("figures %+v, want %+v", run, want)
	}
	// The neighbouring days reconcile clean too: each payment counts on
	// its own day only.
	for _, d := range []models.Date{day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)} {
		if r := e.reconcile(t, d); r.State != payments.ReconMatched || r.Payments != 1 || r.BillPayments != 1 {
			t.Fatalf("%s: %+v %+v", d, r, e.mismatches(t, r))
		}
	}
	e.audit(t)
}

func TestReconcileFindsEachPlantedMismatch(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	ps := e.cleanDay(t, day)
	conn := e.w.DB.Conn(e.ctx)

	// The bill has a payment we never had, and a refund we never made.
	e.fake.PlantBillLine(authtest.FakeBillLine{At: at(day, 9, 0), OutTradeNo: "TUforeign0000000000000000000001",
		TransactionID: "4200000000000000000000000001", AmountFen: 999, Name: "外来交易, 含逗号"})
	e.fake.PlantBillLine(authtest.FakeBillLine{At: at(day, 9, 5), OutTradeNo: ps[0].OutTradeNo, Refund: true,
		OutRefundNo: "RFforeign000000000000000000001", RefundID: "503000001", AmountFen: 100, OrderFen: 20000})
	// Another amount for one payment; another left out of the bill.
	e.fake.SetBillAmount(ps[0].OutTradeNo, 19999)
	e.fake.DropFromBill(ps[2].OutTradeNo)
	// WeChat Pay took a payment we recorded closed.
	e.clock.Set(at(day, 10, 0))
	closed, _ := e.start(t, 4000, "closed-here")
	testdb.Must(t, e.fake.PayAt(closed.OutTradeNo, at(day, 10, 1)))
	testdb.Must(t, conn.Model(closed).Updates(map[string]any{"state": payments.StateClosed, "closed_at": at(day, 10, 20).UTC()}).Error)
	// A payment recorded paid without its ledger entry (as a bug would).
	uncredited, _ := e.start(t, 4100, "uncredited")
	testdb.Must(t, e.fake.PayAt(uncredited.OutTradeNo, at(day, 10, 2)))
	o, _ := e.fake.Order(uncredited.OutTradeNo)
	testdb.Must(t, conn.Model(uncredited).Updates(map[string]any{"state": payments.StatePaid, "paid_at": at(day, 10, 2).UTC(),
		"transaction_id": o.TransactionID}).Error)
	// A payment in the day's bill that we recorded paid the next day.
	moved := e.paidAt(t, e.w.SZ.ID, 4200, at(day, 11, 0))
	testdb.Must(t, conn.Model(moved).Update("paid_at", at(day.AddDate(0, 0, 1), 3, 0).UTC()).Error)
	// A refund the bill lacks, and one whose amount it shows otherwise.
	lost := e.refunded(t, ps[0], 500, at(day, 19, 0), false)
	other := e.paidAt(t, e.w.GZ.ID, 6000, at(day, 12, 0))
	wrong := e.refunded(t, other, 6000, at(day, 20, 0), true)
	e.fake.SetBillAmount(wrong.OutRefundNo, 5000)

	run := e.reconcile(t, day)
	got := map[string][]*payments.Mismatch{}
	for _, m := range e.mismatches(t, run) {
		got[m.Kind] = append(got[m.Kind], m)
	}
	want := map[string]struct {
		payment *uuid.UUID
		store   *uuid.UUID
	}{
		payments.MismatchMissingInOurs:       {nil, nil},
		payments.MismatchAmountDiffers:       {&ps[0].ID, &e.w.SZ.ID},
		payments.MismatchMissingInBill:       {&ps[2].ID, &e.w.GZ.ID},
		payments.MismatchStateDiffers:        {&closed.ID, &e.w.SZ.ID},
		payments.MismatchLedgerMissing:       {&uncredited.ID, &e.w.SZ.ID},
		payments.MismatchDateDiffers:         {&moved.ID, &e.w.SZ.ID},
		payments.MismatchRefundMissingInOurs: {nil, nil},
		payments.MismatchRefundMissingInBill: {&ps[0].ID, &e.w.SZ.ID},
		payments.MismatchRefundAmountDiffers: {&other.ID, &e.w.GZ.ID},
	}
	if len(got) != len(want) || run.MismatchCount != int64(len(want)) || run.State != payments.ReconMismatched {
		t.Fatalf("run %+v found %v", run, kinds(got))
	}
	for kind, w := range want {
		ms := got[kind]
		if len(ms) != 1 {
			t.Fatalf("%s: %d mismatches (%v)", kind, len(ms), kinds(got))
		}
		m := ms[0]
		if !sameID(m.PaymentID, w.payment) || !sameID(m.StoreID, w.store) {
			t.Fatalf("%s: %+v", kind, m)
		}
	}
	if m := got[payments.MismatchAmountDiffers][0]; *m.BillAmountFen != 19999 || *m.OurAmountFen != 20000 {
		t.Fatalf("amounts %+v", m)
	}
	if m := got[payments.MismatchMissingInOurs][0]; m.OutTradeNo != "TUforeign0000000000000000000001" || *m.BillAmountFen != 999 {
		t.Fatalf("foreign %+v", m)
	}
	if m := got[payments.MismatchStateDiffers][0]; m.OurState != payments.StateClosed || m.BillState != "SUCCESS" {
		t.Fatalf("state %+v", m)
	}
	if m := got[payments.MismatchRefundMissingInBill][0]; m.OutRefundNo != lost.OutRefundNo {
		t.Fatalf("refund %+v", m)
	}
	if m := got[payments.MismatchRefundAmountDiffers][0]; *m.BillAmountFen != 5000 || *m.OurAmountFen != 6000 {
		t.Fatalf("refund amounts %+v", m)
	}
}

func kinds(m map[string][]*payments.Mismatch) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, len(v)))
	}
	sort.Strings(out)
	return out
}

func sameID(a, b *uuid.UUID) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// A top-up refunded whole because the card had no room has no ledger
// entry, rightly: not a mismatch.
func TestReconcileExcusesTopUpRefundedForWantOfRoom(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	e.clock.Set(at(day, 8, 58))
	p, _ := e.start(t, 20000, "no-room")
	testdb.Must(t, e.fake.PayAt(p.OutTradeNo, at(day, 9, 0)))
	// Meanwhile the card filled up at the counter.
	e.clock.Set(at(day, 9, 1))
	_, err := e.wal.TopUpOnline(e.ctx, wallet.OnlineTopUp{OwnerID: e.owner.ID, StoreID: e.w.SZ.ID, AmountFen: 490_000,
		PaymentID: uuid.New(), Method: "WECHAT_PAY", Reference: "4200counter"})
	testdb.Must(t, err)
	tx, err := e.svc.Provider.Query(e.ctx, p.OutTradeNo)
	testdb.Must(t, err)
	p, err = e.svc.Apply(e.ctx, tx)
	testdb.Must(t, err)
	if p.State != payments.StateRefunding {
		t.Fatalf("payment %+v", p)
	}
	if run := e.reconcile(t, day); run.State != payments.ReconMatched || run.Payments != 1 {
		t.Fatalf("run %+v mismatches %+v", run, e.mismatches(t, run))
	}
}

func TestReconcileTwiceAndConcurrentlyLeavesOneResult(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	ps := e.cleanDay(t, day)
	e.fake.DropFromBill(ps[0].OutTradeNo)
	e.fake.SetBillAmount(ps[2].OutTradeNo, 1)
	first := e.reconcile(t, day)
	second := e.reconcile(t, day)
	if first.ID != second.ID || second.MismatchCount != 2 {
		t.Fatalf("runs %+v %+v", first, second)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := e.svc.Reconcile(e.ctx, day); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := e.w.Count(&payments.Reconciliation{}); n != 1 {
		t.Fatalf("%d runs", n)
	}
	if n := e.w.Count(&payments.Mismatch{}); n != 2 {
		t.Fatalf("%d mismatch rows", n)
	}
	// The bill corrected: running again replaces the result.
	e.fake.SetBillAmount(ps[2].OutTradeNo, ps[2].AmountFen)
	if run := e.reconcile(t, day); run.MismatchCount != 1 || e.w.Count(&payments.Mismatch{}) != 1 {
		t.Fatalf("rerun %+v", run)
	}
}

func TestReconcileWaitsForTheBill(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	e.cleanDay(t, day)
	e.fake.SetBillNotReady(day.String(), true)

	// Before the day is over there is nothing to ask for.
	e.clock.Set(at(day, 23, 0))
	_, err := e.svc.Reconcile(e.ctx, day)
	testdb.WantCode(t, err, models.CodeInvalidArgument, "date")

	// At 09:00 the bill is still being made: recorded NOT_READY, and the
	// job says so (it is run again).
	e.clock.Set(at(day.AddDate(0, 0, 1), 9, 0))
	run, err := e.svc.Reconcile(e.ctx, day)
	if !errors.Is(err, payments.ErrBillNotReady) || run.State != payments.ReconNotReady {
		t.Fatalf("run %+v err %v", run, err)
	}
	n, err := e.svc.ReconcileDue(e.ctx, at(day.AddDate(0, 0, 1), 9, 30))
	if !errors.Is(err, payments.ErrBillNotReady) || n != 0 {
		t.Fatalf("job: %d %v", n, err)
	}
	// The bill is there at 10:30: the job's retry reconciles the day.
	e.fake.SetBillNotReady(day.String(), false)
	e.clock.Set(at(day.AddDate(0, 0, 1), 10, 30))
	n, err = e.svc.ReconcileDue(e.ctx, e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("job: %d %v", n, err)
	}
	run, err = e.svc.ReconciliationOf(e.ctx, e.w.Admin, day, nil)
	if err != nil || run.State != payments.ReconMatched || run.Payments != 3 {
		t.Fatalf("run %+v %v", run, err)
	}
	if e.w.Count(&payments.Reconciliation{}) != 1 {
		t.Fatal("more than one run")
	}
	// A run that missed its bill is tried again by a later day's job.
	late := day.AddDate(0, 0, -2)
	e.paidAt(t, e.w.SZ.ID, 1500, at(late, 12, 0))
	e.fake.SetBillNotReady(late.String(), true)
	e.clock.Set(at(late.AddDate(0, 0, 1), 9, 0))
	if _, err := e.svc.Reconcile(e.ctx, late); !errors.Is(err, payments.ErrBillNotReady) {
		t.Fatal(err)
	}
	e.fake.SetBillNotReady(late.String(), false)
	e.clock.Set(at(day.AddDate(0, 0, 1), 10, 45))
	if n, err := e.svc.ReconcileDue(e.ctx, e.clock.Now()); err != nil || n != 2 {
		t.Fatalf("catch-up: %d %v", n, err)
	}
	if r, _ := e.svc.ReconciliationOf(e.ctx, e.w.Admin, late, nil); r.State != payments.ReconMatched || r.Payments != 1 {
		t.Fatalf("late day %+v", r)
	}
}

// WeChat Pay makes no bill for a day without transactions: past noon the
// next day, that is an empty day, reconciled against what we have.
func TestReconcileDayWithoutBill(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	empty := day.AddDate(0, 0, -3)
	e.clock.Set(at(empty.AddDate(0, 0, 1), 12, 30))
	run, err := e.svc.Reconcile(e.ctx, empty)
	testdb.Must(t, err)
	if run.State != payments.ReconMatched || run.BillPayments != 0 || run.Payments != 0 {
		t.Fatalf("empty day %+v", run)
	}
	// A payment of ours on a day WeChat Pay has no bill for is reported.
	e.paidAt(t, e.w.SZ.ID, 1000, at(day, 8, 0))
	e.fake.SetBillNotReady(day.String(), true)
	e.clock.Set(at(day.AddDate(0, 0, 1), 12, 30))
	run, err = e.svc.Reconcile(e.ctx, day)
	testdb.Must(t, err)
	if run.State != payments.ReconMismatched || run.MismatchCount != 1 || e.mismatches(t, run)[0].Kind != payments.MismatchMissingInBill {
		t.Fatalf("run %+v", run)
	}
}

func TestReconcileRefusesADamagedBill(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	e.cleanDay(t, day)
	e.fake.CorruptNextBill()
	e.clock.Set(at(day.AddDate(0, 0, 1), 11, 0))
	if _, err := e.svc.Reconcile(e.ctx, day); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("damaged bill: %v", err)
	}
	if n := e.w.Count(&payments.Reconciliation{}); n != 0 {
		t.Fatalf("%d runs recorded from a damaged bill", n)
	}
	if run := e.reconcile(t, day); run.State != payments.ReconMatched {
		t.Fatalf("run %+v", run)
	}
}

func TestReconciliationVisibility(t *testing.T) {
	e := newEnv(t)
	day := reconDay()
	ps := e.cleanDay(t, day)
	e.fake.DropFromBill(ps[0].OutTradeNo) // SZ
	e.fake.DropFromBill(ps[1].OutTradeNo) // SZ
	e.fake.DropFromBill(ps[2].OutTradeNo) // GZ
	e.fake.PlantBillLine(authtest.FakeBillLine{At: at(day, 9, 0), OutTradeNo: "TUforeign0000000000000000000002", AmountFen: 1})
	e.reconcile(t, day)
	w := e.w

	page := func(first int, after models.Cursor) models.Page { return models.Page{First: first, After: after} }
	read := func(as *auth.Principal, store *uuid.UUID) []*payments.Mismatch {
		t.Helper()
		run, err := e.svc.ReconciliationOf(e.ctx, as, day, store)
		testdb.Must(t, err)
		var out []*payments.Mismatch
		var after models.Cursor
		for {
			rows, more, err := e.svc.MismatchesOf(e.ctx, as, run, page(1, after))
			testdb.Must(t, err)
			out = append(out, rows...)
			if !more {
				return out
			}
			after = models.Cursor{ID: rows[len(rows)-1].ID}
		}
	}
	if got := read(w.SZManager, nil); len(got) != 2 {
		t.Fatalf("SZ manager sees %d", len(got))
	}
	if got := read(w.GZManager, &w.GZ.ID); len(got) != 1 || *got[0].PaymentID != ps[2].ID {
		t.Fatalf("GZ manager sees %+v", got)
	}
	if got := read(w.Admin, nil); len(got) != 4 { // with the one only the bill names
		t.Fatalf("admin sees %d", len(got))
	}
	if got := read(w.Admin, &w.GZ.ID); len(got) != 1 {
		t.Fatalf("admin at GZ sees %d", len(got))
	}
	_, err := e.svc.ReconciliationOf(e.ctx, w.SZManager, day, &w.GZ.ID)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.ReconciliationOf(e.ctx, w.SZAdvisor, day, nil)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.ReconciliationOf(e.ctx, e.as, day, nil)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	if run, err := e.svc.ReconciliationOf(e.ctx, w.Admin, day.AddDate(0, 0, -5), nil); run != nil || err != nil {
		t.Fatalf("a date never run: %+v %v", run, err)
	}
}

func TestParseYuan(t *testing.T) {
	for s, want := range map[string]int64{"0.01": 1, "12.30": 1230, "12.3": 1230, "5": 500, "`199.99": 19999, "0.00": 0,
		"123456789012.34": 12345678901234} {
		if got, err := payments.ParseYuan(s); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".5", "1.", "1.234", "-1.00", "1,00", "1e3", "¥1.00", "0.0x"} {
		if _, err := payments.ParseYuan(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseTradeBill(t *testing.T) {
	head := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n"
	pay := "`2026-03-21 13:51:31,`wx1,`1900000109,`0,`,`4200001,`TU1,`oX,`JSAPI,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`充值, 赠品,`,`0.00000,`0.60%,`0.01,`0.00,`\n"
	ref := "`2026-03-21 20:00:00,`wx1,`1900000109,`0,`,`4200001,`TU1,`oX,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5030,`RF1,`0.01,`0.00,`ORIGINAL,`PROCESSING,`充值,`,`0.00000,`0.60%,`0.01,`0.01,`\n"
	sum := "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`2,`0.01,`0.01,`0.00,`0.00000,`0.01,`0.01\n"
	b, err := payments.ParseTradeBill([]byte("\ufeff" + head + pay + ref + sum))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Payments) != 1 || len(b.Refunds) != 1 || b.Payments[0].AmountFen != 1 || b.Payments[0].OutTradeNo != "TU1" ||
		!b.Payments[0].At.Equal(time.Date(2026, 3, 21, 5, 51, 31, 0, time.UTC)) || b.Refunds[0].OutRefundNo != "RF1" ||
		b.Refunds[0].State != "PROCESSING" || b.Refunds[0].AmountFen != 1 {
		t.Fatalf("%+v", b)
	}
	for name, bad := range map[string]string{
		"count":   head + pay + ref + "总交易单数,应结订单总金额\n`3,`0.01\n",
		"amount":  head + strings.Replace(pay, ",`0.01,`0.00,`\n", ",`0.015,`0.00,`\n", 1) + sum,
		"header":  pay + sum,
		"summary": head + pay,
	} {
		if _, err := payments.ParseTradeBill([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReconciliationSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &payments.Reconciliation{}, &payments.Mismatch{}, &payments.Refund{})
}

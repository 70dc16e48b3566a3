package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestCharge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("郑八")
	e.topUp(o, 50_000)
	staff := e.who("cashier.sz01").ID
	order := models.NewID()
	// A first sale paid 300 from the wallet and 200 by card earns 5 points.
	got, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 30_000, MoneyFen: 50_000, RefType: wallet.RefRepairOrder,
		RefID: order, StoreID: &e.sz.ID, StaffID: &staff, Key: "order:" + order.String(), Memo: "维修工单 SZ01-1"})
	must(t, err)
	if !slices.Equal(kinds(got), []wallet.EntryKind{wallet.Spend, wallet.PointsEarn}) {
		t.Fatalf("entries %v", kinds(got))
	}
	spend, earn := got[0], got[1]
	if spend.AmountFen != -30_000 || spend.BalanceAfter != 20_000 || spend.SpendFen != 0 || spend.IdempotencyKey != "order:"+order.String()+":spend" ||
		*spend.RefType != wallet.RefRepairOrder || *spend.RefID != order || spend.Memo != "维修工单 SZ01-1" || *spend.StaffID != staff {
		t.Fatalf("SPEND %+v", spend)
	}
	if earn.Points != 500 || earn.PointsAfter != 500 || earn.SpendFen != 50_000 || earn.BalanceAfter != 20_000 || earn.AmountFen != 0 ||
		earn.IdempotencyKey != "order:"+order.String()+":earn" {
		t.Fatalf("POINTS_EARN %+v", earn)
	}
	if lots := e.lots(o); len(lots) != 1 || lots[0].Remaining != 500 || lots[0].EntryID != earn.ID {
		t.Fatalf("lots %+v", lots)
	}
	// The same sale cannot be charged twice.
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 1, MoneyFen: 1, Key: "order:" + order.String()})
	wantCode(t, err, models.CodeConflict, "")

	// A second sale: 120.00 of which 3.00 by points, 100.00 from the wallet.
	e.clock.Advance(time.Hour)
	got, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 10_000, Points: 300, MoneyFen: 11_700, Key: "sale-2"})
	must(t, err)
	if !slices.Equal(kinds(got), []wallet.EntryKind{wallet.Spend, wallet.PointsRedeem, wallet.PointsEarn}) ||
		got[1].Points != -300 || got[1].PointsAfter != 200 || got[2].Points != 117 || got[2].PointsAfter != 317 || got[1].RefType != nil {
		t.Fatalf("entries %+v", got)
	}

	// Refusals roll the whole charge back.
	before := len(e.entries(o))
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 10_001, MoneyFen: 10_001, Key: "sale-3"})
	wantCode(t, err, wallet.CodeInsufficientBalance, "")
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 100, Points: 318, MoneyFen: 100, Key: "sale-4"})
	wantCode(t, err, wallet.CodeInsufficientPoints, "")
	_, err = e.charge(wallet.ChargeInput{OwnerID: models.NewID(), MoneyFen: 100, Key: "sale-5"})
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 200, MoneyFen: 100, Key: "sale-6"})
	wantCode(t, err, models.CodeInvalidArgument, "")
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, MoneyFen: 100})
	wantCode(t, err, models.CodeInvalidArgument, "")
	if n := len(e.entries(o)); n != before {
		t.Fatalf("refused charges wrote %d entries", n-before)
	}
	if a := e.account(o); a.BalanceFen != 10_000 || a.Points != 317 {
		t.Fatalf("account %+v", a)
	}
}

// Spending takes the points closest to expiry first.
func TestRedeemTakesLotsClosestToExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("王九")
	start := e.clock.Now()
	// Lots earned a year apart: 100 (oldest), 200, 300.
	for i, money := range []int64{10_000, 20_000, 30_000} {
		e.clock.Set(start.AddDate(0, 0, -400+200*i))
		_, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, MoneyFen: money, Key: fmt.Sprintf("sale-%d", i)})
		must(t, err)
	}
	e.clock.Set(start)
	_, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, Points: 250, Key: "redeem-1"})
	must(t, err)
	lots := e.lots(o)
	if lots[0].Remaining != 0 || lots[1].Remaining != 50 || lots[2].Remaining != 300 {
		t.Fatalf("lots left %d, %d, %d; want 0, 50, 300", lots[0].Remaining, lots[1].Remaining, lots[2].Remaining)
	}
	m := e.membership(o)
	if m.Points != 350 || m.PointsExpiringSoon != 0 || m.NextPointsExpiry != nil {
		t.Fatalf("membership %+v", m)
	}
	// 23.5 months after the second lot was earned, its 50 points expire soon.
	e.clock.Set(lots[1].ExpiresAt.AddDate(0, 0, -10))
	m = e.membership(o)
	if m.PointsExpiringSoon != 50 || m.NextPointsExpiry == nil || !m.NextPointsExpiry.Equal(lots[1].ExpiresAt) {
		t.Fatalf("expiring soon %d at %v; want 50 at %v", m.PointsExpiringSoon, m.NextPointsExpiry, lots[1].ExpiresAt)
	}
	// Past its expiry, a spend expires it first: those 50 points never pay.
	e.clock.Set(lots[1].ExpiresAt.Add(time.Minute))
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, Points: 301, Key: "redeem-2"})
	wantCode(t, err, wallet.CodeInsufficientPoints, "")
	got, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, Points: 300, Key: "redeem-3"})
	must(t, err)
	if !slices.Equal(kinds(got), []wallet.EntryKind{wallet.PointsExpire, wallet.PointsRedeem}) || got[0].Points != -50 ||
		*got[0].RefID != lots[1].ID || got[1].PointsAfter != 0 {
		t.Fatalf("entries %+v", got)
	}
}

func TestCredit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("冯十")
	reg := models.NewID()
	got, err := e.svc.Credit(e.ctx, wallet.CreditInput{OwnerID: o.ID, WalletFen: 8_800, Points: 400, RefType: wallet.RefRegistration,
		RefID: reg, Key: "registration:" + reg.String(), Memo: "活动取消退款"})
	must(t, err)
	x := got[0]
	if len(got) != 1 || x.Kind != wallet.Refund || x.AmountFen != 8_800 || x.Points != 400 || x.BalanceAfter != 8_800 ||
		x.PointsAfter != 400 || *x.RefType != wallet.RefRegistration || x.IdempotencyKey != "registration:"+reg.String()+":refund" {
		t.Fatalf("credit %+v", x)
	}
	if lots := e.lots(o); len(lots) != 1 || lots[0].Points != 400 {
		t.Fatalf("lots %+v", lots)
	}
	// The cap does not apply to money given back.
	e.topUp(o, 480_000) // with its ¥100 bonus: 498,800
	_, err = e.svc.Credit(e.ctx, wallet.CreditInput{OwnerID: o.ID, WalletFen: 20_000, Key: "credit-2"})
	must(t, err)
	if a := e.account(o); a.BalanceFen != 518_800 {
		t.Fatalf("balance %d", a.BalanceFen)
	}
	_, err = e.svc.Credit(e.ctx, wallet.CreditInput{OwnerID: o.ID, WalletFen: 1, Key: "credit-2"})
	wantCode(t, err, models.CodeConflict, "")
	_, err = e.svc.Credit(e.ctx, wallet.CreditInput{OwnerID: o.ID, Key: "credit-3"})
	wantCode(t, err, models.CodeInvalidArgument, "")
}

// 100 spends at once against a balance that covers exactly 10.
func TestConcurrentSpends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("陈十一")
	e.topUp(o, 10*1_234)
	ok, refused := spendRace(t, []*models.DB{e.db}, e.svc.Config, o.ID, 100, 1_234)
	if ok != 10 || refused != 90 {
		t.Fatalf("%d spends succeeded, %d refused; want 10 and 90", ok, refused)
	}
	a := e.account(o)
	if a.BalanceFen != 0 || len(e.entries(o)) != 1+10+10 {
		t.Fatalf("account %+v with %d entries", a, len(e.entries(o)))
	}
	checkSpendHistory(t, e.entries(o))
}

// The same race split over two instances (two connection pools) on one
// PostgreSQL database.
func TestConcurrentSpendsTwoInstances(t *testing.T) {
	t.Parallel()
	dbs := testdb.Instances(t, 2, nil)
	if dbs == nil {
		t.Skip("two instances share one database only on PostgreSQL: set TEST_DATABASE_URL to run this test")
	}
	ctx := context.Background()
	o := &models.Owner{ID: models.NewID(), Phone: "+8613700000001", Name: "双实例"}
	must(t, dbs[0].Conn(ctx).Create(o).Error)
	_, err := (&wallet.Service{DB: dbs[1]}).Credit(ctx, wallet.CreditInput{OwnerID: o.ID, WalletFen: 10 * 999, Key: "seed"})
	must(t, err)
	ok, refused := spendRace(t, dbs, wallet.Config{}, o.ID, 100, 999)
	if ok != 10 || refused != 90 {
		t.Fatalf("%d spends succeeded, %d refused; want 10 and 90", ok, refused)
	}
	var entries []*wallet.Entry
	must(t, dbs[1].Conn(ctx).Where("owner_id = ?", o.ID).Order("id").Find(&entries).Error)
	var a wallet.Account
	must(t, dbs[0].Conn(ctx).Where("owner_id = ?", o.ID).Take(&a).Error)
	if a.BalanceFen != 0 || len(entries) != 21 {
		t.Fatalf("account %+v with %d entries", a, len(entries))
	}
	checkSpendHistory(t, entries)
	checkLedger(t, dbs[0])
}

// spendRace runs n charges of fen each, all at once, each in a transaction
// of its own, spread round-robin over the databases, and counts the
// outcomes. Anything but success or INSUFFICIENT_BALANCE fails the test.
func spendRace(t *testing.T, dbs []*models.DB, cfg wallet.Config, ownerID uuid.UUID, n int, fen int64) (ok, refused int64) {
	t.Helper()
	var okN, refusedN atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		db := dbs[i%len(dbs)]
		svc := &wallet.Service{DB: db, Config: cfg}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := db.WithTx(context.Background(), func(ctx context.Context) error {
				_, err := svc.Charge(ctx, wallet.ChargeInput{OwnerID: ownerID, WalletFen: fen, MoneyFen: fen, Key: fmt.Sprintf("race-%d", i)})
				return err
			})
			switch {
			case err == nil:
				okN.Add(1)
			case errors.Is(err, wallet.ErrInsufficientBalance):
				refusedN.Add(1)
			default:
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("spend: %v", err)
	}
	return okN.Load(), refusedN.Load()
}

// checkSpendHistory checks each SPEND's balance after is the one before
// minus the spend: no two spends saw the same balance.
func checkSpendHistory(t *testing.T, entries []*wallet.Entry) {
	t.Helper()
	seen := map[int64]bool{}
	for _, x := range entries {
		if x.Kind != wallet.Spend {
			continue
		}
		if seen[x.BalanceAfter] || x.BalanceAfter < 0 {
			t.Fatalf("two spends left the balance at %d", x.BalanceAfter)
		}
		seen[x.BalanceAfter] = true
	}
}

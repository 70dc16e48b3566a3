package workshop_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Settlement with the membership wallet: stored
// value, points and external money in one transaction.

// billed is the payable amount of an order opened with e.open: oil and labour.
const billed = 41160 + 18000

// readyToSettle opens an order for a new customer and brings it to quality check.
func (e *env) readyToSettle(name string) (*models.Owner, *workshop.RepairOrder) {
	e.t.Helper()
	owner, car := e.customer(name)
	o := e.open(car)
	o = e.move(o, workshop.InProgress, "")
	return owner, e.move(o, workshop.QualityCheck, "")
}

// fund tops the owner's card up by fen (plus any bonus) and gives points.
func (e *env) fund(o *models.Owner, fen, points int64) {
	e.t.Helper()
	if fen > 0 {
		_, err := e.wallet.TopUp(e.ctx, e.who("cashier.sz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: fen,
			Method: "CASH", IdempotencyKey: uuid.NewString()})
		must(e.t, err)
	}
	if points > 0 {
		_, err := e.wallet.Adjust(e.ctx, e.who("manager.sz01"), wallet.AdjustInput{OwnerID: o.ID, StoreID: e.sz.ID, Points: points,
			Reason: "测试积分", IdempotencyKey: uuid.NewString()})
		must(e.t, err)
	}
}

func (e *env) ledger(o *models.Owner) []*wallet.Entry {
	e.t.Helper()
	var out []*wallet.Entry
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Order("id ASC").Find(&out).Error)
	return out
}

func (e *env) orderEntries(o *workshop.RepairOrder) []*wallet.Entry {
	e.t.Helper()
	var out []*wallet.Entry
	must(e.t, e.db.Conn(e.ctx).Where("ref_type = ? AND ref_id = ?", wallet.RefRepairOrder, o.ID).Order("id ASC").Find(&out).Error)
	return out
}

func (e *env) account(o *models.Owner) *wallet.Account {
	e.t.Helper()
	var a wallet.Account
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Take(&a).Error)
	return &a
}

func entryKinds(entries []*wallet.Entry) []wallet.EntryKind {
	out := make([]wallet.EntryKind, len(entries))
	for i, x := range entries {
		out[i] = x.Kind
	}
	return out
}

func TestSettleWithWalletPointsAndCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("欧阳一")
	e.fund(owner, 100_000, 20_000) // ¥1,000 + ¥100 bonus, 20,000 points
	cashier := e.who("cashier.sz01")
	// ¥200 in points (amount computed), ¥300 from the card, the rest by bank card.
	pays := []workshop.PaymentInput{
		{Method: workshop.Points, Points: 20_000},
		{Method: workshop.Wallet, AmountFen: 30_000},
		{Method: workshop.BankCard, AmountFen: billed - 50_000, Reference: "POS-55"},
	}
	o, err := e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays, IdempotencyKey: "s-" + o.ID.String()})
	must(t, err)
	if o.SettledAt == nil || o.PayableFen != billed {
		t.Fatalf("settled %+v", o)
	}
	entries := e.orderEntries(o)
	if !slices.Equal(entryKinds(entries), []wallet.EntryKind{wallet.Spend, wallet.PointsRedeem, wallet.PointsEarn}) {
		t.Fatalf("entries %v", entryKinds(entries))
	}
	spend, redeem, earn := entries[0], entries[1], entries[2]
	money := int64(billed - 20_000) // wallet and card, not points
	if spend.AmountFen != -30_000 || spend.BalanceAfter != 80_000 || redeem.Points != -20_000 || redeem.PointsAfter != 0 ||
		earn.Points != money/100 || earn.SpendFen != money || earn.PointsAfter != money/100 ||
		*spend.StoreID != e.sz.ID || *spend.StaffID != cashier.ID || spend.Memo != "维修工单 "+o.Number {
		t.Fatalf("entries %+v / %+v / %+v", spend, redeem, earn)
	}
	payments, err := e.svc.PaymentsByOrderIDs(e.ctx, []uuid.UUID{o.ID})
	must(t, err)
	byMethod := map[workshop.PaymentMethod]*workshop.Payment{}
	for _, p := range payments[o.ID] {
		byMethod[p.Method] = p
	}
	if p := byMethod[workshop.Points]; p == nil || p.AmountFen != 20_000 || p.Points != 20_000 || *p.LedgerEntryID != redeem.ID {
		t.Fatalf("points payment %+v", p)
	}
	if p := byMethod[workshop.Wallet]; p == nil || p.AmountFen != 30_000 || *p.LedgerEntryID != spend.ID {
		t.Fatalf("wallet payment %+v", p)
	}
	if p := byMethod[workshop.BankCard]; p == nil || p.LedgerEntryID != nil {
		t.Fatalf("card payment %+v", p)
	}
	if a := e.account(owner); a.BalanceFen != 80_000 || a.Points != money/100 {
		t.Fatalf("account %+v", a)
	}
	// Settled once: again without a key is refused.
	_, err = e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: pays})
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	if len(e.orderEntries(o)) != 3 {
		t.Fatal("a refused second settlement wrote entries")
	}
}

func TestSettlePointsCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("司马二")
	e.fund(owner, 0, 50_000)
	cashier := e.who("cashier.sz01")
	most := wallet.MaxPointsFen(billed) // 29,580: half the bill
	over := []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed - most - 1}, {Method: workshop.Points, AmountFen: most + 1, Points: most + 1}}
	_, err := e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: over})
	wantCode(t, err, wallet.CodePointsOverCap, "payments[1].points")
	for _, c := range []struct {
		name  string
		pays  []workshop.PaymentInput
		code  models.Code
		field string
	}{
		{"amount not the points' value", []workshop.PaymentInput{{Method: workshop.Points, AmountFen: 100, Points: 10_000}, {Method: workshop.Cash, AmountFen: billed - 100}}, models.CodeInvalidArgument, "payments[0].amountFen"},
		{"points payment without points", []workshop.PaymentInput{{Method: workshop.Points, AmountFen: 100}, {Method: workshop.Cash, AmountFen: billed - 100}}, models.CodeInvalidArgument, "payments[0].points"},
		{"two wallet payments", []workshop.PaymentInput{{Method: workshop.Wallet, AmountFen: 100}, {Method: workshop.Wallet, AmountFen: billed - 100}}, models.CodeInvalidArgument, "payments[1].method"},
		{"not adding up", []workshop.PaymentInput{{Method: workshop.Points, Points: 100}, {Method: workshop.Cash, AmountFen: billed}}, workshop.CodePaymentsDoNotAddUp, "payments"},
	} {
		_, err := e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: c.pays})
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code, c.field) })
	}
	if len(e.orderEntries(o)) != 0 || e.account(owner).Points != 50_000 {
		t.Fatal("refused settlements moved points")
	}
	// Exactly half is fine.
	_, err = e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Cash, AmountFen: billed - most}, {Method: workshop.Points, AmountFen: most, Points: most}}})
	must(t, err)
	if a := e.account(owner); a.Points != 50_000-most+(billed-most)/100 {
		t.Fatalf("points %d", a.Points)
	}
}

// Not enough on the card: nothing of the settlement happens.
func TestSettleInsufficientBalanceRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("上官三")
	e.fund(owner, 50_000, 10_000)
	before := e.ledger(owner)
	pays := []workshop.PaymentInput{{Method: workshop.Points, Points: 5_000}, {Method: workshop.Wallet, AmountFen: 50_001}}
	pays = append(pays, workshop.PaymentInput{Method: workshop.Cash, AmountFen: billed - 5_000 - 50_001})
	_, err := e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: pays, IdempotencyKey: "short-" + o.ID.String()})
	wantCode(t, err, wallet.CodeInsufficientBalance, "payments[1].amountFen")
	got := e.reload(o)
	if got.SettledAt != nil || got.Version != o.Version || e.countRows(&workshop.Payment{}, "order_id = ?", o.ID) != 0 {
		t.Fatalf("refused settlement changed the order: %+v", got)
	}
	if after := e.ledger(owner); len(after) != len(before) || len(e.orderEntries(o)) != 0 {
		t.Fatalf("refused settlement wrote entries: %v", entryKinds(after))
	}
	if a := e.account(owner); a.BalanceFen != 50_000 || a.Points != 10_000 {
		t.Fatalf("account %+v", a)
	}
	// Points short, likewise.
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Points, Points: 10_001}, {Method: workshop.Cash, AmountFen: billed - 10_001}}})
	wantCode(t, err, wallet.CodeInsufficientPoints, "payments[0].points")
	// The refused key is free: the corrected request settles with it.
	pays[1].AmountFen, pays[2].AmountFen = 50_000, billed-5_000-50_000
	o, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: pays, IdempotencyKey: "short-" + o.ID.String()})
	must(t, err)
	if a := e.account(owner); o.SettledAt == nil || a.BalanceFen != 0 || a.Points != 10_000-5_000+(billed-5_000)/100 {
		t.Fatalf("account %+v", a)
	}
}

// Money earns points, points do not; external money counts as spend too.
func TestSettleEarnsPointsOnMoneyOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("诸葛四")
	_, err := e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.WeChatPay, AmountFen: billed, Reference: "4200009"}}})
	must(t, err)
	entries := e.orderEntries(o)
	if len(entries) != 1 || entries[0].Kind != wallet.PointsEarn || entries[0].Points != billed/100 || entries[0].SpendFen != billed {
		t.Fatalf("entries %+v", entries)
	}
	owner2, o2 := e.readyToSettle("诸葛五")
	e.fund(owner2, 0, 29_580)
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o2.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Points, Points: 29_580}, {Method: workshop.Cash, AmountFen: billed - 29_580}}})
	must(t, err)
	earn := e.orderEntries(o2)[1]
	if earn.Points != (billed-29_580)/100 || earn.SpendFen != billed-29_580 {
		t.Fatalf("earned %d points on %d spend; want %d on %d", earn.Points, earn.SpendFen, (billed-29_580)/100, billed-29_580)
	}
	m, err := e.wallet.Membership(e.ctx, ownerOf(owner), owner.ID)
	must(t, err)
	if m.SpentLast12MFen != billed || m.Points != billed/100 {
		t.Fatalf("membership %+v", m)
	}

	// A warranty-only bill moves nothing.
	_, car := e.customer("诸葛六")
	o3 := e.open(car, func(in *workshop.OpenInput) {
		in.Items = []workshop.ItemInput{{Kind: workshop.Part, Code: "HU", Description: "中控屏", QuantityMilli: 1000, UnitPriceFen: 352000, Warranty: true}}
	})
	o3 = e.move(o3, workshop.InProgress, "")
	o3 = e.move(o3, workshop.QualityCheck, "")
	_, err = e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o3.ID})
	must(t, err)
	if n := len(e.orderEntries(o3)); n != 0 {
		t.Fatalf("a free bill wrote %d entries", n)
	}
}

func TestSettleIdempotentRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("慕容七")
	e.fund(owner, 100_000, 0)
	cashier := e.who("cashier.sz01")
	in := workshop.SettleInput{OrderID: o.ID, IdempotencyKey: "till-3-" + o.ID.String(), Payments: []workshop.PaymentInput{
		{Method: workshop.Wallet, AmountFen: 50_000}, {Method: workshop.Cash, AmountFen: billed - 50_000}}}
	const n = 10
	orders := make([]*workshop.RepairOrder, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			orders[i], errs[i] = e.svc.Settle(e.ctx, cashier, in)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if orders[i].SettledAt == nil || !orders[i].SettledAt.Equal(*orders[0].SettledAt) || orders[i].Version != orders[0].Version {
			t.Fatalf("retry %d answered %+v; retry 0 %+v", i, orders[i], orders[0])
		}
	}
	// Later, payments listed the other way round: still the same request.
	slices.Reverse(in.Payments)
	again, err := e.svc.Settle(e.ctx, cashier, in)
	must(t, err)
	if again.Version != orders[0].Version {
		t.Fatalf("retry changed the order: version %d", again.Version)
	}
	if got := entryKinds(e.orderEntries(o)); !slices.Equal(got, []wallet.EntryKind{wallet.Spend, wallet.PointsEarn}) {
		t.Fatalf("entries %v; want one settlement's", got)
	}
	if e.countRows(&workshop.Payment{}, "order_id = ?", o.ID) != 2 || e.account(owner).BalanceFen != 60_000 {
		t.Fatalf("payments %d, balance %d", e.countRows(&workshop.Payment{}, "order_id = ?", o.ID), e.account(owner).BalanceFen)
	}
	// The key with other payments is another request.
	in.Payments = []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed}}
	_, err = e.svc.Settle(e.ctx, cashier, in)
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
}

// Without the wallet connected, WALLET and POINTS are unavailable and
// nothing earns points.
func TestSettleWithoutWallet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := &workshop.Service{DB: e.db, Clock: e.clock.Now}
	owner, o := e.readyToSettle("东方八")
	e.fund(owner, 100_000, 100)
	cashier := e.who("cashier.sz01")
	_, err := svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{{Method: workshop.Wallet, AmountFen: billed}}})
	wantCode(t, err, models.CodePaymentMethodUnavailable, "payments[0].method")
	_, err = svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Cash, AmountFen: billed - 100}, {Method: workshop.Points, Points: 100}}})
	wantCode(t, err, models.CodePaymentMethodUnavailable, "payments[1].method")
	_, err = svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: billed}}})
	must(t, err)
	if n := len(e.orderEntries(o)); n != 0 {
		t.Fatalf("%d entries without a wallet", n)
	}
}

// Another store's cashier cannot settle (nor see) the order.
func TestSettleAnotherStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, o := e.readyToSettle("独孤九")
	e.fund(owner, 100_000, 0)
	_, err := e.svc.Settle(e.ctx, e.who("cashier.gz01"), workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Wallet, AmountFen: billed}}, IdempotencyKey: "gz-" + o.ID.String()})
	wantCode(t, err, models.CodeNotFound, "")
	if len(e.orderEntries(o)) != 0 || e.account(owner).BalanceFen != 110_000 {
		t.Fatal("another store's settlement moved money")
	}
}

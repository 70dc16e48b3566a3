package wallet_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestTopUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("钱一")
	cashier := e.who("cashier.sz01")

	// Below the bonus threshold: one TOP_UP.
	r, err := e.svc.TopUp(e.ctx, cashier, wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 50_000,
		Method: "WECHAT_PAY", Reference: " 4200001234 ", IdempotencyKey: key()})
	must(t, err)
	if len(r.Entries) != 1 || r.Membership.BalanceFen != 50_000 || r.Membership.BalanceCapFen != 500_000 {
		t.Fatalf("top-up: %+v, %+v", r.Membership, r.Entries)
	}
	top := r.Entries[0]
	if top.Kind != wallet.TopUp || top.AmountFen != 50_000 || top.BalanceAfter != 50_000 || top.PointsAfter != 0 ||
		*top.Method != "WECHAT_PAY" || top.Reference != "4200001234" || *top.StoreID != e.sz.ID || *top.StaffID != cashier.ID ||
		*top.RefType != wallet.RefTopUp || *top.RefID != top.ID || top.SpendFen != 0 {
		t.Fatalf("TOP_UP entry %+v", top)
	}

	// ¥1,000 earns the ¥100 bonus: TOP_UP then TOP_UP_BONUS, each with its balance after.
	r, err = e.svc.TopUp(e.ctx, e.who("manager.sz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 100_000,
		Method: "CASH", IdempotencyKey: key()})
	must(t, err)
	if !slices.Equal(kinds(r.Entries), []wallet.EntryKind{wallet.TopUp, wallet.TopUpBonus}) ||
		r.Entries[0].BalanceAfter != 150_000 || r.Entries[1].AmountFen != 10_000 || r.Entries[1].BalanceAfter != 160_000 ||
		*r.Entries[1].RefID != r.Entries[0].ID || r.Membership.BalanceFen != 160_000 {
		t.Fatalf("top-up with bonus: %+v / %+v", r.Entries[0], r.Entries[1])
	}

	// The cap counts the bonus: 160,000 + 330,000 + 10,000 = 500,000 fits,
	// one fen more does not.
	in := wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 330_001, Method: "CARD", Reference: "POS-1", IdempotencyKey: key()}
	_, err = e.svc.TopUp(e.ctx, cashier, in)
	wantCode(t, err, wallet.CodeBalanceCapExceeded, "amountFen")
	in.AmountFen = 330_000
	r, err = e.svc.TopUp(e.ctx, cashier, in) // the refused key is still free
	must(t, err)
	if r.Membership.BalanceFen != 500_000 {
		t.Fatalf("balance %d; want the cap", r.Membership.BalanceFen)
	}
	_, err = e.svc.TopUp(e.ctx, cashier, wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 1, Method: "CASH", IdempotencyKey: key()})
	wantCode(t, err, wallet.CodeBalanceCapExceeded, "amountFen")

	// GROUP_ADMIN anywhere; entries carry the store where the money was taken.
	o2 := e.customer("钱二")
	r, err = e.svc.TopUp(e.ctx, e.who("admin"), wallet.TopUpInput{OwnerID: o2.ID, StoreID: e.gz.ID, AmountFen: 100, Method: "CASH", IdempotencyKey: key()})
	must(t, err)
	if *r.Entries[0].StoreID != e.gz.ID {
		t.Fatalf("store %v", r.Entries[0].StoreID)
	}
	if len(e.entries(o)) != 5 || e.account(o).BalanceFen != 500_000 {
		t.Fatalf("ledger %v", kinds(e.entries(o)))
	}
}

func TestTopUpRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("孙三")
	cashier := e.who("cashier.sz01")
	ok := wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 10_000, Method: "CARD", Reference: "POS-9"}
	for _, c := range []struct {
		name  string
		actor *auth.Principal
		mod   func(*wallet.TopUpInput)
		code  models.Code
		field string
	}{
		{"no caller", nil, nil, models.CodeUnauthenticated, ""},
		{"advisor", e.who("advisor.sz01"), nil, models.CodeForbidden, ""},
		{"technician", e.who("technician1.sz01"), nil, models.CodeForbidden, ""},
		{"owner", ownerOf(o), nil, models.CodeForbidden, ""},
		{"another store's cashier", e.who("cashier.gz01"), nil, models.CodeForbidden, ""},
		{"another store's manager", e.who("manager.gz01"), nil, models.CodeForbidden, ""},
		{"no such owner", cashier, func(in *wallet.TopUpInput) { in.OwnerID = models.NewID() }, models.CodeNotFound, "ownerId"},
		{"no such store", e.who("admin"), func(in *wallet.TopUpInput) { in.StoreID = models.NewID() }, models.CodeNotFound, "storeId"},
		{"zero", cashier, func(in *wallet.TopUpInput) { in.AmountFen = 0 }, models.CodeInvalidArgument, "amountFen"},
		{"negative", cashier, func(in *wallet.TopUpInput) { in.AmountFen = -100 }, models.CodeInvalidArgument, "amountFen"},
		{"above the cap", cashier, func(in *wallet.TopUpInput) { in.AmountFen = 500_001 }, models.CodeInvalidArgument, "amountFen"},
		{"unknown method", cashier, func(in *wallet.TopUpInput) { in.Method = "WALLET" }, models.CodeInvalidArgument, "method"},
		{"card without reference", cashier, func(in *wallet.TopUpInput) { in.Reference = " " }, models.CodeInvalidArgument, "reference"},
		{"no key", cashier, func(in *wallet.TopUpInput) { in.IdempotencyKey = "" }, models.CodeInvalidArgument, "idempotencyKey"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			in.IdempotencyKey = key()
			if c.mod != nil {
				c.mod(&in)
			}
			_, err := e.svc.TopUp(e.ctx, c.actor, in)
			wantCode(t, err, c.code, c.field)
		})
	}
	if n := len(e.entries(o)); n != 0 || e.account(o).BalanceFen != 0 {
		t.Fatalf("refused top-ups wrote %d entries", n)
	}
}

func TestTopUpIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("李四")
	cashier := e.who("cashier.sz01")
	in := wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 100_000, Method: "ALIPAY", Reference: "2088-1", IdempotencyKey: "till-7-" + o.ID.String()}

	t.Run("sequential retries", func(t *testing.T) {
		first, err := e.svc.TopUp(e.ctx, cashier, in)
		must(t, err)
		e.clock.Advance(1000)
		for range 3 {
			again, err := e.svc.TopUp(e.ctx, cashier, in)
			must(t, err)
			sameResult(t, first, again)
		}
		if got := kinds(e.entries(o)); !slices.Equal(got, []wallet.EntryKind{wallet.TopUp, wallet.TopUpBonus}) {
			t.Fatalf("entries %v; want one pair", got)
		}
		// The same key with other parameters is refused, changing nothing.
		other := in
		other.AmountFen++
		_, err = e.svc.TopUp(e.ctx, cashier, other)
		wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
		// Another cashier's key of the same name is theirs.
		r, err := e.svc.TopUp(e.ctx, e.who("manager.sz01"), in)
		must(t, err)
		if r.Entries[0].ID == first.Entries[0].ID || e.account(o).BalanceFen != 220_000 {
			t.Fatalf("another caller's key replayed: %+v", r.Membership)
		}
	})

	t.Run("20 concurrent retries", func(t *testing.T) {
		o := e.customer("李五")
		in := in
		in.OwnerID, in.IdempotencyKey = o.ID, "till-7-"+o.ID.String()
		const n = 20
		results := make([]*wallet.Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = e.svc.TopUp(e.ctx, cashier, in)
			}()
		}
		close(start)
		wg.Wait()
		for i := range n {
			must(t, errs[i])
			sameResult(t, results[0], results[i])
		}
		if got := kinds(e.entries(o)); !slices.Equal(got, []wallet.EntryKind{wallet.TopUp, wallet.TopUpBonus}) {
			t.Fatalf("entries %v; want one pair", got)
		}
		if a := e.account(o); a.BalanceFen != 110_000 {
			t.Fatalf("balance %d after 20 retries of one top-up", a.BalanceFen)
		}
	})
}

// sameResult fails unless a replayed result is the first one.
func sameResult(t *testing.T, first, again *wallet.Result) {
	t.Helper()
	if len(again.Entries) != len(first.Entries) || again.Membership.BalanceFen != first.Membership.BalanceFen ||
		again.Membership.Points != first.Membership.Points {
		t.Fatalf("replay %+v; first %+v", again.Membership, first.Membership)
	}
	for i := range first.Entries {
		a, b := first.Entries[i], again.Entries[i]
		if a.ID != b.ID || a.Kind != b.Kind || a.AmountFen != b.AmountFen || a.BalanceAfter != b.BalanceAfter || !a.CreatedAt.Equal(b.CreatedAt) {
			t.Fatalf("replayed entry %+v; first %+v", b, a)
		}
	}
}

func TestRefund(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("周六")
	e.topUp(o, 30_000)
	manager := e.who("manager.sz01")
	in := wallet.RefundInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 20_000, Method: "CASH", Reason: "客户退卡", IdempotencyKey: key()}
	r, err := e.svc.Refund(e.ctx, manager, in)
	must(t, err)
	x := r.Entries[0]
	if len(r.Entries) != 1 || x.Kind != wallet.Refund || x.AmountFen != -20_000 || x.BalanceAfter != 10_000 || x.Memo != "客户退卡" ||
		*x.Method != "CASH" || *x.StaffID != manager.ID || r.Membership.BalanceFen != 10_000 {
		t.Fatalf("refund %+v", x)
	}
	for _, c := range []struct {
		name  string
		actor *auth.Principal
		mod   func(*wallet.RefundInput)
		code  models.Code
		field string
	}{
		{"more than the balance", manager, func(in *wallet.RefundInput) { in.AmountFen = 10_001 }, wallet.CodeInsufficientBalance, "amountFen"},
		{"cashier", e.who("cashier.sz01"), nil, models.CodeForbidden, ""},
		{"another store's manager", e.who("manager.gz01"), nil, models.CodeForbidden, ""},
		{"no reason", manager, func(in *wallet.RefundInput) { in.Reason = "  " }, models.CodeInvalidArgument, "reason"},
		{"zero", manager, func(in *wallet.RefundInput) { in.AmountFen = 0 }, models.CodeInvalidArgument, "amountFen"},
		{"no reference", manager, func(in *wallet.RefundInput) { in.Method = "WECHAT_PAY" }, models.CodeInvalidArgument, "reference"},
		{"no key", manager, func(in *wallet.RefundInput) { in.IdempotencyKey = "" }, models.CodeInvalidArgument, "idempotencyKey"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := in
			in.AmountFen, in.IdempotencyKey = 5_000, key()
			if c.mod != nil {
				c.mod(&in)
			}
			_, err := e.svc.Refund(e.ctx, c.actor, in)
			wantCode(t, err, c.code, c.field)
		})
	}
	if a := e.account(o); a.BalanceFen != 10_000 || len(e.entries(o)) != 2 {
		t.Fatalf("refusals changed the account: %+v", a)
	}
}

func TestAdjust(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("吴七")
	manager := e.who("manager.sz01")
	adjust := func(fen, points int64, reason string) (*wallet.Result, error) {
		return e.svc.Adjust(e.ctx, manager, wallet.AdjustInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: fen, Points: points,
			Reason: reason, IdempotencyKey: key()})
	}
	// Corrections up: balance and points in one ADJUST; the points make a lot.
	r, err := adjust(5_000, 300, "系统迁移补录")
	must(t, err)
	x := r.Entries[0]
	if len(r.Entries) != 1 || x.Kind != wallet.Adjust || x.AmountFen != 5_000 || x.Points != 300 || x.BalanceAfter != 5_000 ||
		x.PointsAfter != 300 || x.Memo != "系统迁移补录" {
		t.Fatalf("adjust %+v", x)
	}
	lots := e.lots(o)
	if len(lots) != 1 || lots[0].Points != 300 || lots[0].EntryID != x.ID || !lots[0].ExpiresAt.Equal(wallet.PointsExpiry(x.CreatedAt)) {
		t.Fatalf("lots %+v", lots)
	}
	e.clock.Advance(24 * 3600e9)
	_, err = adjust(0, 200, "活动赠送")
	must(t, err)
	// Down: points come from the lot closest to expiry first.
	r, err = adjust(-1_000, -350, "重复录入冲正")
	must(t, err)
	if r.Membership.BalanceFen != 4_000 || r.Membership.Points != 150 {
		t.Fatalf("after correction down: %+v", r.Membership)
	}
	lots = e.lots(o)
	if lots[0].Remaining != 0 || lots[1].Remaining != 150 {
		t.Fatalf("lots after taking 350: %d, %d; want 0, 150", lots[0].Remaining, lots[1].Remaining)
	}
	_, err = adjust(-4_001, 0, "x")
	wantCode(t, err, wallet.CodeInsufficientBalance, "amountFen")
	_, err = adjust(0, -151, "x")
	wantCode(t, err, wallet.CodeInsufficientPoints, "points")
	_, err = adjust(100, -151, "x")
	wantCode(t, err, wallet.CodeInsufficientPoints, "points")
	_, err = adjust(0, 0, "x")
	wantCode(t, err, models.CodeInvalidArgument, "amountFen")
	_, err = adjust(1, 0, "")
	wantCode(t, err, models.CodeInvalidArgument, "reason")
	long := make([]rune, wallet.MaxReasonRunes+1)
	for i := range long {
		long[i] = '错'
	}
	_, err = adjust(1, 0, string(long))
	wantCode(t, err, models.CodeInvalidArgument, "reason")
	_, err = adjust(1, 0, string(long[:wallet.MaxReasonRunes]))
	must(t, err)
	_, err = e.svc.Adjust(e.ctx, e.who("cashier.sz01"), wallet.AdjustInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 1, Reason: "x", IdempotencyKey: key()})
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Adjust(e.ctx, e.who("manager.gz01"), wallet.AdjustInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 1, Reason: "x", IdempotencyKey: key()})
	wantCode(t, err, models.CodeForbidden, "")
	if a := e.account(o); a.BalanceFen != 4_001 || a.Points != 150 {
		t.Fatalf("account %+v", a)
	}
}

// Money goes back out of an account only at the owner's own stores: a
// manager cannot refund or correct a customer they may not even see.
func TestRefundAndAdjustOnlyForTheStoresCustomers(t *testing.T) {
	e := newEnv(t)
	o := e.customer("孙八") // an SZ01 customer
	e.topUp(o, 30_000)
	gzManager := e.who("manager.gz01")
	_, err := e.svc.Refund(e.ctx, gzManager, wallet.RefundInput{OwnerID: o.ID, StoreID: e.gz.ID, AmountFen: 1_000,
		Method: "CASH", Reason: "退款", IdempotencyKey: key()})
	wantCode(t, err, models.CodeNotFound, "ownerId")
	_, err = e.svc.Adjust(e.ctx, gzManager, wallet.AdjustInput{OwnerID: o.ID, StoreID: e.gz.ID, Points: -1,
		Reason: "更正", IdempotencyKey: key()})
	wantCode(t, err, models.CodeNotFound, "ownerId")
	if a := e.account(o); a.BalanceFen != 30_000 {
		t.Fatalf("balance changed: %d", a.BalanceFen)
	}
	checkLedger(t, e.db)
}

func TestTopUpWritesAtTheServiceClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("钱钟")
	at := testdb.Now().Add(-3*time.Hour - 7*time.Minute)
	e.clock.Set(at)

	// ¥1,000 earns a bonus: two entries, the account and the idempotency
	// key, all written in one transaction at the service's time.
	k := key()
	r, err := e.svc.TopUp(e.ctx, e.who("cashier.sz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: 100_000,
		Method: "CASH", IdempotencyKey: k})
	must(t, err)
	for _, en := range e.entries(o) {
		if !en.CreatedAt.Equal(at) {
			t.Errorf("%s entry at %v; want %v", en.Kind, en.CreatedAt, at)
		}
	}
	if len(r.Entries) != 2 {
		t.Fatalf("entries %v", kinds(r.Entries))
	}
	if a := e.account(o); !a.UpdatedAt.Equal(at) {
		t.Errorf("account updated at %v; want %v", a.UpdatedAt, at)
	}
	var ik models.IdempotencyKey
	must(t, e.db.Conn(e.ctx).Where("key = ?", k).Take(&ik).Error)
	if !ik.CreatedAt.Equal(at) {
		t.Errorf("idempotency key created at %v; want %v", ik.CreatedAt, at)
	}
}

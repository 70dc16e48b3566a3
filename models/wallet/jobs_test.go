package wallet_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Points expire 24 months after they were earned, once, however often and
// wherever the job runs.
func TestExpirePoints(t *testing.T) {
	t.Parallel()
	e := emptyEnv(t) // counts every lot
	start := e.clock.Now()
	a, b := e.customer("褚一"), e.customer("卫二")
	_, err := e.charge(wallet.ChargeInput{OwnerID: a.ID, MoneyFen: 40_000, Key: "a-1"}) // 400 points
	must(t, err)
	_, err = e.charge(wallet.ChargeInput{OwnerID: b.ID, MoneyFen: 10_000, Key: "b-1"}) // 100 points
	must(t, err)
	e.clock.Advance(30 * 24 * time.Hour)
	_, err = e.charge(wallet.ChargeInput{OwnerID: a.ID, MoneyFen: 5_000, Key: "a-2"}) // 50 points, a month later
	must(t, err)
	_, err = e.charge(wallet.ChargeInput{OwnerID: a.ID, Points: 150, Key: "a-3"}) // from the first lot
	must(t, err)

	// Nothing is due a minute before the first lots expire.
	due := wallet.PointsExpiry(start)
	n, err := e.svc.ExpirePoints(e.ctx, due.Add(-time.Minute))
	must(t, err)
	if n != 0 {
		t.Fatalf("expired %d lots early", n)
	}
	// At 24 months, from two instances at once, then again: one entry per lot.
	e.clock.Set(due)
	var wg sync.WaitGroup
	counts := make([]int64, 2)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			counts[i], err = e.svc.ExpirePoints(e.ctx, due)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	again, err := e.svc.ExpirePoints(e.ctx, due)
	must(t, err)
	if counts[0]+counts[1] != 2 || again != 0 {
		t.Fatalf("runs expired %v then %d lots; want 2 in all, then 0", counts, again)
	}
	expiries := func(o *models.Owner) []*wallet.Entry {
		var out []*wallet.Entry
		for _, x := range e.entries(o) {
			if x.Kind == wallet.PointsExpire {
				out = append(out, x)
			}
		}
		return out
	}
	ea, eb := expiries(a), expiries(b)
	if len(ea) != 1 || ea[0].Points != -250 || ea[0].PointsAfter != 50 || *ea[0].RefType != wallet.RefPointsLot ||
		ea[0].IdempotencyKey != "expire:"+ea[0].RefID.String() {
		t.Fatalf("expiry of a: %+v", ea)
	}
	if len(eb) != 1 || eb[0].Points != -100 || eb[0].PointsAfter != 0 {
		t.Fatalf("expiry of b: %+v", eb)
	}
	if m := e.membership(a); m.Points != 50 || m.PointsExpiringSoon != 50 {
		t.Fatalf("a after expiry: %+v", m)
	}
	// The later lot goes a month on.
	n, err = e.svc.ExpirePoints(e.ctx, due.AddDate(0, 1, 0))
	must(t, err)
	if n != 1 || e.account(a).Points != 0 || len(expiries(a)) != 2 {
		t.Fatalf("second expiry: %d lots, account %+v", n, e.account(a))
	}
}

// Tiers follow the money spent over the trailing 12 months: up with a
// spend, down as it ages out.
func TestTiers(t *testing.T) {
	t.Parallel()
	e := emptyEnv(t) // counts every account
	o, other := e.customer("蒋三"), e.customer("沈四")
	start := e.clock.Now()
	m := e.membership(o)
	if m.Tier != wallet.Basic || *m.NextTier != wallet.Silver || *m.SpendToNextTierFen != 300_000 || m.SpentLast12MFen != 0 {
		t.Fatalf("new member: %+v", m)
	}
	_, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, MoneyFen: 250_000, Key: "t-1"})
	must(t, err)
	m = e.membership(o)
	if m.Tier != wallet.Basic || m.SpentLast12MFen != 250_000 || *m.SpendToNextTierFen != 50_000 {
		t.Fatalf("after ¥2,500: %+v", m)
	}
	e.clock.Advance(60 * 24 * time.Hour)
	_, err = e.charge(wallet.ChargeInput{OwnerID: o.ID, MoneyFen: 800_000, Key: "t-2"})
	must(t, err)
	if m = e.membership(o); m.Tier != wallet.Gold || *m.NextTier != wallet.Platinum || *m.SpendToNextTierFen != 3_000_000-1_050_000 {
		t.Fatalf("after ¥10,500: %+v", m)
	}
	_, err = e.charge(wallet.ChargeInput{OwnerID: other.ID, MoneyFen: 3_000_000, Key: "t-3"})
	must(t, err)
	if m := e.membership(other); m.Tier != wallet.Platinum || m.NextTier != nil || m.SpendToNextTierFen != nil {
		t.Fatalf("platinum: %+v", m)
	}

	// Nothing changes while the spend is in the window.
	n, err := e.svc.RecomputeTiers(e.ctx, e.clock.Now())
	must(t, err)
	if n != 0 {
		t.Fatalf("recompute changed %d tiers", n)
	}
	// 12 months after the first spend it no longer counts: ¥8,000 is SILVER.
	n, err = e.svc.RecomputeTiers(e.ctx, start.AddDate(1, 0, 1))
	must(t, err)
	if a := e.account(o); n != 1 || a.Tier != wallet.Silver {
		t.Fatalf("%d changed; tier %s a year on; want SILVER", n, a.Tier)
	}
	// 15 months on, both spends are out of the window.
	n, err = e.svc.RecomputeTiers(e.ctx, start.AddDate(1, 3, 0))
	must(t, err)
	if n != 2 || e.account(o).Tier != wallet.Basic || e.account(other).Tier != wallet.Basic {
		t.Fatalf("%d changed; tiers %s, %s after 15 months; want BASIC", n, e.account(o).Tier, e.account(other).Tier)
	}
	// Running it again changes nothing.
	if n, err = e.svc.RecomputeTiers(e.ctx, start.AddDate(1, 3, 0)); err != nil || n != 0 {
		t.Fatalf("second run changed %d (%v)", n, err)
	}
}

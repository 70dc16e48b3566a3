package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The demo memberships: balances, top-ups with bonus, wallet and points
// payments, expiry, varied tiers; the demo owner has all of it.
func TestSeedWallet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	start := time.Now()
	if _, err := demo.Seed(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	t.Logf("Seed took %v on %s", time.Since(start), db.Dialect)
	if bad, err := wallet.Audit(ctx, db); err != nil || len(bad) > 0 {
		t.Fatalf("ledger invariant: %v %+v", err, bad)
	}

	var owner models.Owner
	if err := db.Conn(ctx).Where("phone = ?", demo.DemoOwnerPhone).Take(&owner).Error; err != nil {
		t.Fatal(err)
	}
	svc := &wallet.Service{DB: db}
	me := &auth.Principal{Kind: auth.KindOwner, ID: owner.ID}
	m, err := svc.Membership(ctx, me, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.BalanceFen <= 0 || m.Points < 2_000 || m.PointsExpiringSoon < 2_000 || m.NextPointsExpiry == nil ||
		m.Tier != wallet.Silver || m.SpentLast12MFen < 300_000 {
		t.Errorf("demo owner's membership %+v", m)
	}
	entries, _, err := svc.Entries(ctx, me, owner.ID, models.Page{First: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[wallet.EntryKind]int{}
	for i, e := range entries {
		kinds[e.Kind]++
		if i > 0 && e.CreatedAt.After(entries[i-1].CreatedAt) {
			t.Errorf("demo owner's history is not newest first: %s %v after %s %v", entries[i-1].Kind, entries[i-1].CreatedAt, e.Kind, e.CreatedAt)
		}
	}
	for _, k := range []wallet.EntryKind{wallet.TopUp, wallet.TopUpBonus, wallet.Spend, wallet.PointsEarn, wallet.PointsRedeem, wallet.Adjust} {
		if kinds[k] == 0 {
			t.Errorf("demo owner has no %s entry (has %v)", k, kinds)
		}
	}

	var tiers []wallet.Tier
	if err := db.Conn(ctx).Model(&wallet.Account{}).Distinct("tier").Pluck("tier", &tiers).Error; err != nil {
		t.Fatal(err)
	}
	if len(tiers) != 4 {
		t.Errorf("tiers in the demo: %v; want all four", tiers)
	}
	counts := map[string]int64{}
	for name, q := range map[string]string{
		"wallet payments":  `SELECT COUNT(*) FROM repair_order_payments WHERE method = 'WALLET' AND ledger_entry_id IS NOT NULL`,
		"points payments":  `SELECT COUNT(*) FROM repair_order_payments WHERE method = 'POINTS' AND ledger_entry_id IS NOT NULL`,
		"expiries":         `SELECT COUNT(*) FROM ledger_entries WHERE kind = 'POINTS_EXPIRE'`,
		"bonuses":          `SELECT COUNT(*) FROM ledger_entries WHERE kind = 'TOP_UP_BONUS'`,
		"balances":         `SELECT COUNT(*) FROM membership_accounts WHERE balance_fen > 0`,
		"members w/points": `SELECT COUNT(*) FROM membership_accounts WHERE points > 0`,
	} {
		var n int64
		if err := db.Conn(ctx).Raw(q).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		counts[name] = n
		if n < 2 {
			t.Errorf("%d %s in the demo; want several", n, name)
		}
	}
	t.Logf("demo wallet: %v, tiers %v", counts, tiers)
	// Every settled order with money paid earned its owner points.
	var unearned int64
	err = db.Conn(ctx).Raw(`SELECT COUNT(*) FROM repair_orders o WHERE o.settled_at IS NOT NULL AND o.payable_fen >= 100
		AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.ref_type = ? AND e.ref_id = o.id AND e.kind = 'POINTS_EARN')`,
		wallet.RefRepairOrder).Scan(&unearned).Error
	if err != nil || unearned != 0 {
		t.Errorf("%d settled orders earned no points (%v)", unearned, err)
	}
}

package wallet_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestPointsRules(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ points, fen int64 }{{0, 0}, {1, 1}, {100, 100}, {12345, 12345}} {
		if got := wallet.PointsValueFen(c.points); got != c.fen {
			t.Errorf("PointsValueFen(%d) = %d; want %d (100 points = ¥1)", c.points, got, c.fen)
		}
	}
	for _, c := range []struct{ bill, max int64 }{{0, 0}, {-5, 0}, {1, 0}, {2, 1}, {12701, 6350}, {59160, 29580}} {
		if got := wallet.MaxPointsFen(c.bill); got != c.max {
			t.Errorf("MaxPointsFen(%d) = %d; want %d", c.bill, got, c.max)
		}
	}
	for _, c := range []struct{ money, points int64 }{{0, 0}, {-100, 0}, {99, 0}, {100, 1}, {199, 1}, {59160, 591}} {
		if got := wallet.PointsEarned(c.money); got != c.points {
			t.Errorf("PointsEarned(%d) = %d; want %d", c.money, got, c.points)
		}
	}
	earned := time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)
	if got := wallet.PointsExpiry(earned); !got.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("PointsExpiry(%v) = %v", earned, got)
	}
}

func TestTierFor(t *testing.T) {
	t.Parallel()
	th := wallet.DefaultConfig().TierThresholdsFen
	for _, c := range []struct {
		spent int64
		want  wallet.Tier
	}{
		{0, wallet.Basic}, {299_999, wallet.Basic}, {300_000, wallet.Silver}, {999_999, wallet.Silver},
		{1_000_000, wallet.Gold}, {2_999_999, wallet.Gold}, {3_000_000, wallet.Platinum}, {90_000_000, wallet.Platinum},
	} {
		if got := wallet.TierFor(c.spent, th); got != c.want {
			t.Errorf("TierFor(%d) = %s; want %s", c.spent, got, c.want)
		}
	}
	next, min := wallet.NextTier(wallet.Silver, th)
	if *next != wallet.Gold || *min != 1_000_000 {
		t.Errorf("NextTier(SILVER) = %s, %d", *next, *min)
	}
	if next, min := wallet.NextTier(wallet.Platinum, th); next != nil || min != nil {
		t.Errorf("NextTier(PLATINUM) = %v, %v; want none", next, min)
	}
}

func TestBonusFor(t *testing.T) {
	t.Parallel()
	def := wallet.DefaultConfig().BonusRules
	rules := []wallet.BonusRule{{MinFen: 100_000, BonusFen: 10_000}, {MinFen: 200_000, BonusFen: 25_000}, {MinFen: 300_000, BonusFen: 20_000}}
	for _, c := range []struct {
		amount int64
		rules  []wallet.BonusRule
		want   int64
	}{
		{99_999, def, 0}, {100_000, def, 10_000}, {450_000, def, 10_000},
		{150_000, rules, 10_000}, {200_000, rules, 25_000}, {300_000, rules, 25_000}, // the best single rule
		{500_000, nil, 0},
	} {
		if got := wallet.BonusFor(c.amount, c.rules); got != c.want {
			t.Errorf("BonusFor(%d, %v) = %d; want %d", c.amount, c.rules, got, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (wallet.Config{}).Validate(); err != nil {
		t.Errorf("zero config (defaults): %v", err)
	}
	if err := wallet.DefaultConfig().Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
	for name, c := range map[string]wallet.Config{
		"thresholds fall":   {TierThresholdsFen: [4]int64{0, 5, 4, 9}},
		"thresholds from 1": {TierThresholdsFen: [4]int64{1, 5, 6, 9}},
		"bonus past cap":    {BalanceCapFen: 100_000, BonusRules: []wallet.BonusRule{{MinFen: 100_000, BonusFen: 1}}},
		"negative bonus":    {BonusRules: []wallet.BonusRule{{MinFen: 100, BonusFen: -1}}},
		"negative cap":      {BalanceCapFen: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}

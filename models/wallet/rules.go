package wallet

import (
	"fmt"
	"slices"
	"time"
)

// The pure rules of the wallet: what points are worth,
// how many a bill may take and a payment earns, the tier a spend reaches and
// the bonus a top-up gets. No I/O; operations call them in their transaction.

// Config is what a dealer group may set. The zero value of each field means
// its default (DefaultConfig); Service fills them in.
type Config struct {
	// BalanceCapFen is the most a stored-value card may hold (default
	// ¥5,000); a top-up that would pass it, bonus included, is refused.
	BalanceCapFen int64
	// BonusRules are the top-up bonuses (default 充1000送100). The best
	// single rule a top-up reaches applies; rules do not add up. nil means
	// the default; an empty, non-nil slice means no bonus.
	BonusRules []BonusRule
	// TierThresholdsFen are the minimum spend over the trailing 12 months
	// of BASIC, SILVER, GOLD and PLATINUM (default 0 / ¥3,000 / ¥10,000 /
	// ¥30,000). All zero means the default.
	TierThresholdsFen [4]int64
}

// BonusRule gives BonusFen on a top-up of at least MinFen.
type BonusRule struct{ MinFen, BonusFen int64 }

// DefaultConfig is the wallet's numbers where the configuration sets none
// (each field of Config says its default).
func DefaultConfig() Config {
	return Config{
		BalanceCapFen:     500_000,
		BonusRules:        []BonusRule{{MinFen: 100_000, BonusFen: 10_000}},
		TierThresholdsFen: [4]int64{0, 300_000, 1_000_000, 3_000_000},
	}
}

// withDefaults fills the unset fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BalanceCapFen == 0 {
		c.BalanceCapFen = d.BalanceCapFen
	}
	if c.BonusRules == nil {
		c.BonusRules = d.BonusRules
	}
	if c.TierThresholdsFen == [4]int64{} {
		c.TierThresholdsFen = d.TierThresholdsFen
	}
	return c
}

// Validate reports a configuration that cannot work: a negative cap or
// bonus, a rule whose bonus alone passes the cap, thresholds that do not
// start at 0 and rise.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.BalanceCapFen < 0 {
		return fmt.Errorf("wallet: balance cap %d is negative", c.BalanceCapFen)
	}
	for _, r := range c.BonusRules {
		if r.MinFen <= 0 || r.BonusFen <= 0 || r.MinFen+r.BonusFen > c.BalanceCapFen {
			return fmt.Errorf("wallet: bonus rule %+v is not positive or passes the balance cap", r)
		}
	}
	t := c.TierThresholdsFen
	if t[0] != 0 || t[1] <= t[0] || t[2] <= t[1] || t[3] <= t[2] {
		return fmt.Errorf("wallet: tier thresholds %v must start at 0 and rise", t)
	}
	return nil
}

// Tiers lists the tiers, lowest first.
var Tiers = []Tier{Basic, Silver, Gold, Platinum}

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool {
	for _, x := range Tiers {
		if x == t {
			return true
		}
	}
	return false
}

// AtLeast reports whether t is min or a higher tier.
func (t Tier) AtLeast(min Tier) bool {
	return slices.Index(Tiers, t) >= slices.Index(Tiers, min)
}

// Kinds lists every kind of ledger entry.
var Kinds = []EntryKind{TopUp, TopUpBonus, Spend, Refund, Adjust, PointsEarn, PointsRedeem, PointsExpire}

// Valid reports whether k is a known kind of entry.
func (k EntryKind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Points rules.
const (
	// PointsLifetimeMonths: points expire 24 months after they were earned.
	PointsLifetimeMonths = 24
	// ExpiringSoonDays: the window of Membership.PointsExpiringSoon.
	ExpiringSoonDays = 30
	// TierWindowMonths: tiers follow the spend of the trailing 12 months.
	TierWindowMonths = 12
)

// PointsValueFen is what points pay: 100 points are ¥1, so one point is one
// fen.
func PointsValueFen(points int64) int64 { return points }

// MaxPointsFen is the most of a bill points may pay: half of it, rounded
// down to the fen.
func MaxPointsFen(billFen int64) int64 {
	if billFen <= 0 {
		return 0
	}
	return billFen / 2
}

// PointsEarned is what money paid earns: one point per whole yuan.
func PointsEarned(moneyFen int64) int64 {
	if moneyFen <= 0 {
		return 0
	}
	return moneyFen / 100
}

// TierFor is the highest tier whose threshold the spend reaches.
func TierFor(spentFen int64, thresholds [4]int64) Tier {
	tier := Basic
	for i, min := range thresholds {
		if spentFen >= min {
			tier = Tiers[i]
		}
	}
	return tier
}

// NextTier is the tier above t and the spend it needs, or nil at the top.
func NextTier(t Tier, thresholds [4]int64) (*Tier, *int64) {
	for i, x := range Tiers {
		if x == t && i+1 < len(Tiers) {
			next, min := Tiers[i+1], thresholds[i+1]
			return &next, &min
		}
	}
	return nil, nil
}

// BonusFor is the bonus of a top-up: the largest of the rules it reaches.
func BonusFor(amountFen int64, rules []BonusRule) int64 {
	var best int64
	for _, r := range rules {
		if amountFen >= r.MinFen && r.BonusFen > best {
			best = r.BonusFen
		}
	}
	return best
}

// PointsExpiry is when points earned at t expire.
func PointsExpiry(earnedAt time.Time) time.Time {
	return earnedAt.AddDate(0, PointsLifetimeMonths, 0)
}

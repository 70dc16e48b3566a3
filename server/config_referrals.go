package main

import (
	"fmt"
	"net/url"

	"github.com/ownerhub/ownerhub/models/referrals"
)

// loadReferrals reads the referral link base and reward
// (docs/referrals.md): REFERRAL_LINK_BASE, an http(s) URL the code is
// appended to, and REFERRAL_REWARD, "points:N" or "coupon:<template id>".
func loadReferrals(c *Config, env func(key, def string) string) error {
	base := env("REFERRAL_LINK_BASE", referrals.DefaultLinkBase)
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("REFERRAL_LINK_BASE must be an http(s) URL like https://app.example.com/r/, not %q", base)
	}
	reward, err := referrals.ParseReward(env("REFERRAL_REWARD", ""))
	if err != nil {
		return fmt.Errorf("REFERRAL_REWARD: %w", err)
	}
	c.Referrals = referrals.Config{LinkBase: base, Reward: reward}
	return nil
}

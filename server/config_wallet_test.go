package main

import (
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestConfigWallet(t *testing.T) {
	env := map[string]string{
		"WALLET_BALANCE_CAP_FEN": "800000",
		"WALLET_TOP_UP_BONUS":    "100000:10000, 300000:50000",
		"TIER_THRESHOLDS_FEN":    "0,200000,800000,2000000",
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Wallet.BalanceCapFen != 800000 || len(cfg.Wallet.BonusRules) != 2 ||
		cfg.Wallet.BonusRules[1] != (wallet.BonusRule{MinFen: 300000, BonusFen: 50000}) ||
		cfg.Wallet.TierThresholdsFen != [4]int64{0, 200000, 800000, 2000000} {
		t.Fatalf("wallet config: %+v", cfg.Wallet)
	}
	for name, bad := range map[string]map[string]string{
		"WALLET_BALANCE_CAP_FEN": {"WALLET_BALANCE_CAP_FEN": "-1"},
		"WALLET_TOP_UP_BONUS":    {"WALLET_TOP_UP_BONUS": "1000-100"},
		"TIER_THRESHOLDS_FEN":    {"TIER_THRESHOLDS_FEN": "0,500,400,900"},
	} {
		_, err := LoadConfig(func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

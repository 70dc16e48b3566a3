package main

import (
	"strings"
	"testing"
)

func TestConfigReferralsRefusals(t *testing.T) {
	for value, bad := range map[string]map[string]string{
		"link not a URL":     {"REFERRAL_LINK_BASE": "ownerhub.example.com/r/"},
		"link not http(s)":   {"REFERRAL_LINK_BASE": "ftp://ownerhub.example.com/r/"},
		"reward kind":        {"REFERRAL_REWARD": "cash:500"},
		"reward points zero": {"REFERRAL_REWARD": "points:0"},
		"coupon not an id":   {"REFERRAL_REWARD": "coupon:welcome"},
	} {
		_, err := LoadConfig(func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), "REFERRAL_") {
			t.Errorf("%s: %v", value, err)
		}
	}
}

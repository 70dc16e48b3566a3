package main

import (
	"strings"
	"testing"
)

func TestConfigSegmentsRefusals(t *testing.T) {
	for value, bad := range map[string]map[string]string{
		"window below 12":    {"CRM_SEGMENT_WINDOW_MONTHS": "6"},
		"window not a count": {"CRM_SEGMENT_WINDOW_MONTHS": "two years"},
		"unknown kind":       {"CRM_SEGMENT_THRESHOLDS": "tyres:2"},
		"zero visits":        {"CRM_SEGMENT_THRESHOLDS": "maintenance:0"},
		"no count":           {"CRM_SEGMENT_THRESHOLDS": "maintenance"},
	} {
		_, err := LoadConfig(func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), "CRM_SEGMENT_") {
			t.Errorf("%s: %v", value, err)
		}
	}
	for _, bad := range []string{"0", "366", "a month"} {
		_, err := LoadConfig(func(k string) string { return map[string]string{"CRM_CONVERSION_DAYS": bad}[k] })
		if err == nil || !strings.Contains(err.Error(), "CRM_CONVERSION_DAYS") {
			t.Errorf("CRM_CONVERSION_DAYS=%s: %v", bad, err)
		}
	}
}

package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ownerhub/ownerhub/models/crm"
)

// loadSegments reads the aftersales segments' window and thresholds
// (docs/crm.md): CRM_SEGMENT_WINDOW_MONTHS and CRM_SEGMENT_THRESHOLDS,
// "insurance:1,maintenance:3,mechanical:2" (a kind left out keeps its
// default); and CRM_CONVERSION_DAYS, the campaigns' conversion window.
func loadSegments(c *Config, env func(key, def string) string) error {
	t := crm.DefaultThresholds
	if v := env("CRM_SEGMENT_WINDOW_MONTHS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("CRM_SEGMENT_WINDOW_MONTHS must be a number of months, not %q", v)
		}
		t.WindowMonths = n
	}
	if v := env("CRM_SEGMENT_THRESHOLDS", ""); v != "" {
		for _, part := range strings.Split(v, ",") {
			kind, nS, ok := strings.Cut(strings.TrimSpace(part), ":")
			n, err := strconv.Atoi(strings.TrimSpace(nS))
			if !ok || err != nil {
				return fmt.Errorf("CRM_SEGMENT_THRESHOLDS: %q is not <kind>:<visits>", part)
			}
			switch strings.TrimSpace(kind) {
			case "insurance":
				t.Insurance = n
			case "maintenance":
				t.Maintenance = n
			case "mechanical":
				t.Mechanical = n
			default:
				return fmt.Errorf("CRM_SEGMENT_THRESHOLDS: %q is not insurance, maintenance or mechanical", kind)
			}
		}
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("CRM_SEGMENT_*: %w", err)
	}
	c.Segments = t
	c.ConversionDays = crm.DefaultConversionDays
	if v := env("CRM_CONVERSION_DAYS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !crm.ValidConversionDays(n) {
			return fmt.Errorf("CRM_CONVERSION_DAYS must be a number of days from 1 to %d, not %q", crm.MaxConversionDays, v)
		}
		c.ConversionDays = n
	}
	return nil
}

package models

import "testing"

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{0: "¥0", 1: "¥0.01", 30: "¥0.30", 18000: "¥180", 123450: "¥1,234.50",
		100000000: "¥1,000,000", -2005: "-¥20.05"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

package models

import (
	"fmt"
	"strings"
)

// Yuan formats an amount in fen for people: "¥1,234.50", "¥1,000" (no
// cents when there are none), "-¥20.05".
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	whole := fmt.Sprint(fen / 100)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if fen%100 == 0 {
		return sign + "¥" + b.String()
	}
	return fmt.Sprintf("%s¥%s.%02d", sign, b.String(), fen%100)
}

package models

import "testing"

func TestHiddenControl(t *testing.T) {
	hidden := map[rune]bool{0: true, 0x061C: true, 0x200E: true, 0x200F: true,
		0x202A: true, 0x202B: true, 0x202C: true, 0x202D: true, 0x202E: true,
		0x2066: true, 0x2067: true, 0x2068: true, 0x2069: true}
	for r := rune(0); r < 0x3000; r++ {
		if got := HiddenControl(r); got != hidden[r] {
			t.Errorf("HiddenControl(U+%04X) = %v", r, got)
		}
	}
	if HasHiddenControl("张三\n李四 \t") || !HasHiddenControl("ab\u202ec") || !HasHiddenControl("\x00") ||
		!HasHiddenControl("王\u200f五") {
		t.Error("HasHiddenControl")
	}
}

package models

import (
	"strings"
	"unicode"
)

// HiddenControl reports whether r is a character no input may carry, even
// where control characters are otherwise allowed: NUL, which PostgreSQL
// cannot store in text, and the bidirectional controls (U+061C,
// U+200E-U+200F, U+202A-U+202E, U+2066-U+2069: Unicode's Bidi_Control),
// which make text display in another order than it is stored, so that a
// name, plate or message would read differently from what it is. The
// GraphQL scalars refuse them in every string; Text and PlainText too.
func HiddenControl(r rune) bool {
	return r == 0 || unicode.Is(unicode.Bidi_Control, r)
}

// HasHiddenControl reports whether s holds a HiddenControl character.
func HasHiddenControl(s string) bool { return strings.IndexFunc(s, HiddenControl) >= 0 }

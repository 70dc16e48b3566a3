package models

import "strings"

// HiddenControl reports whether r is a character no input may carry, even
// where control characters are otherwise allowed: NUL, which PostgreSQL
// cannot store in text, and the bidirectional embedding, override and
// isolate controls (U+202A-U+202E, U+2066-U+2069), which make text display
// in another order than it is stored, so that a name, plate or message
// would read differently from what it is.
func HiddenControl(r rune) bool {
	return r == 0 || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// HasHiddenControl reports whether s holds a HiddenControl character.
func HasHiddenControl(s string) bool { return strings.IndexFunc(s, HiddenControl) >= 0 }

package models

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text trims s and checks it has between minRunes and maxRunes runes, is
// valid UTF-8 and holds no control characters (line breaks and tabs are
// allowed when multiline) and no bidirectional controls, which would let a
// name or note display as something other than what it says; the refusal is
// INVALID_ARGUMENT on field, label naming it in Chinese. Every capability
// checks free text with it.
func Text(field, label, s string, minRunes, maxRunes int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !PlainText(s, multiline) {
		return "", Ef(CodeInvalidArgument, label+"包含无效字符", "%s contains control or bidirectional formatting characters", field).On(field)
	}
	n := utf8.RuneCountInString(s)
	if n < minRunes {
		return "", Ef(CodeInvalidArgument, label+"不能为空", "%s is required", field).On(field)
	}
	if n > maxRunes {
		return "", Ef(CodeInvalidArgument, fmt.Sprintf("%s不能超过 %d 个字", label, maxRunes),
			"%s is longer than %d characters", field, maxRunes).On(field)
	}
	return s, nil
}

// PlainText reports whether s is valid UTF-8 without control characters
// (but line breaks and tabs when multiline) and without HiddenControl
// characters. Strings that reach SQL as lookup keys (codes, search text)
// are checked with it too: NUL is a control character PostgreSQL refuses to
// store.
func PlainText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			return false
		}
		return unicode.IsControl(r) || HiddenControl(r)
	}) < 0
}

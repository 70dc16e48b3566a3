package models

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// earliestDate bounds every vehicle date (no car of interest predates it).
var earliestDate = Date{1980, time.January, 1}

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

// checkText is Text on one line.
func checkText(field, label, s string, minRunes, maxRunes int) (string, error) {
	return Text(field, label, s, minRunes, maxRunes, false)
}

// checkDate checks lo <= d <= hi; the refusal is INVALID_ARGUMENT on field.
func checkDate(field, label string, d *Date, lo, hi Date) error {
	if d == nil {
		return nil
	}
	if d.IsZero() || d.Before(lo) || hi.Before(*d) {
		return Ef(CodeInvalidArgument, label+"须在 "+lo.String()+" 至 "+hi.String()+" 之间",
			"%s must be between %s and %s", field, lo, hi).On(field)
	}
	return nil
}

// checkInt checks lo <= n <= hi; the refusal is INVALID_ARGUMENT on field.
func checkInt(field, label string, n *int, lo, hi int) error {
	if n == nil {
		return nil
	}
	if *n < lo || *n > hi {
		return Ef(CodeInvalidArgument, label+"超出允许范围", "%s must be between %d and %d", field, lo, hi).On(field)
	}
	return nil
}

package models

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// chinaTime is the dealer group's civil time. Mainland China has kept UTC+8
// without daylight saving since 1991, so a fixed zone is exact and needs no
// tzdata on the host.
var chinaTime = time.FixedZone("CST", 8*60*60)

// Today is the current calendar date in mainland China, the reference for
// date rules ("a birthday is not in the future").
func Today() Date { return DateOf(time.Now().In(chinaTime)) }

// earliestDate bounds every vehicle date (no car of interest predates it).
var earliestDate = Date{1980, time.January, 1}

// Text trims s and checks it has between minRunes and maxRunes runes and no
// control characters (line breaks and tabs are allowed when multiline); the
// refusal is INVALID_ARGUMENT on field, label naming it in Chinese. Every
// capability checks free text with it.
func Text(field, label, s string, minRunes, maxRunes int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n < minRunes {
		return "", Ef(CodeInvalidArgument, label+"不能为空", "%s is required", field).On(field)
	}
	if n > maxRunes {
		return "", Ef(CodeInvalidArgument, fmt.Sprintf("%s不能超过 %d 个字", label, maxRunes),
			"%s is longer than %d characters", field, maxRunes).On(field)
	}
	bad := func(r rune) bool {
		if multiline && (r == '\n' || r == '\t' || r == '\r') {
			return false
		}
		return unicode.IsControl(r)
	}
	if strings.IndexFunc(s, bad) >= 0 {
		return "", Ef(CodeInvalidArgument, label+"包含无效字符", "%s contains control characters", field).On(field)
	}
	return s, nil
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

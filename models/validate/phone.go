package validate

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// chinaCountryCode is the ITU calling code of mainland China. Hong Kong (852),
// Macau (853) and Taiwan (886) have their own codes and are refused.
const chinaCountryCode = 86

// NormalizePhone validates a mainland China mobile number and returns it in
// E.164 form ("+8613800000001").
//
// It accepts the forms people type: "13800000001", "+86 138 0000 0001",
// "+8613800000001", "86-138-0000-0001", "0086 13800000001", with spaces,
// dashes and parentheses as separators (full-width variants included).
// Landlines, non-Chinese numbers, wrong lengths and any other characters
// are refused with an error wrapping ErrInvalidPhone.
func NormalizePhone(s string) (string, error) {
	// Pre-filter ourselves: phonenumbers.Parse is lenient and would, for
	// example, silently drop a trailing letter ("13800000001x") or read
	// "ext." suffixes.
	var b strings.Builder
	for _, r := range s {
		r = foldWidth(r)
		switch {
		case isDigit(r):
			b.WriteRune(r)
		case r == '+':
			if b.Len() != 0 {
				return "", fmt.Errorf("%w: '+' is only allowed before the country code", ErrInvalidPhone)
			}
			b.WriteRune(r)
		case r == '-' || r == '(' || r == ')' || unicode.IsSpace(r):
			// separator
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrInvalidPhone, r)
		}
	}
	cleaned := b.String()
	if strings.TrimPrefix(cleaned, "+") == "" {
		return "", fmt.Errorf("%w: no digits", ErrInvalidPhone)
	}

	// Region "CN" makes national forms work and lets the library strip the
	// "00" international prefix and a bare "86" country code.
	num, err := phonenumbers.Parse(cleaned, "CN")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidPhone, err)
	}
	if cc := num.GetCountryCode(); cc != chinaCountryCode {
		return "", fmt.Errorf("%w: not a mainland China number (country code +%d)", ErrInvalidPhone, cc)
	}
	if !phonenumbers.IsValidNumber(num) {
		if nsn := phonenumbers.GetNationalSignificantNumber(num); strings.HasPrefix(nsn, "1") && len(nsn) != 11 {
			return "", fmt.Errorf("%w: mobile numbers have 11 digits, got %d", ErrInvalidPhone, len(nsn))
		}
		return "", fmt.Errorf("%w: not an assigned mainland China number", ErrInvalidPhone)
	}
	// Only MOBILE: the account is verified by SMS, which landlines cannot
	// receive. CN metadata never yields FIXED_LINE_OR_MOBILE because mobile
	// (1xx) and fixed-line (area code) ranges do not overlap.
	if t := phonenumbers.GetNumberType(num); t != phonenumbers.MOBILE {
		if t == phonenumbers.FIXED_LINE {
			return "", fmt.Errorf("%w: landline numbers are not accepted", ErrInvalidPhone)
		}
		return "", fmt.Errorf("%w: not a mobile number", ErrInvalidPhone)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

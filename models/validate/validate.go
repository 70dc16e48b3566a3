// Package validate normalizes and validates the identifiers OwnerHub receives
// from users and dealer systems: mainland China mobile phone numbers, vehicle
// identification numbers (VINs) and mainland China licence plates.
//
// Every function is pure (no I/O, no database). Failures wrap one of the
// sentinel errors below, so callers can branch with errors.Is and still show
// the specific reason from err.Error().
package validate

import "errors"

// Sentinel errors. Returned errors wrap one of these with a specific reason,
// e.g. "invalid phone number: landline numbers are not accepted".
var (
	// ErrInvalidPhone reports an unusable phone number.
	ErrInvalidPhone = errors.New("invalid phone number")
	// ErrInvalidVIN reports a malformed VIN or one whose check digit is wrong.
	ErrInvalidVIN = errors.New("invalid VIN")
	// ErrInvalidPlate reports a string that is not a mainland China licence plate.
	ErrInvalidPlate = errors.New("invalid licence plate")
)

// foldWidth maps full-width ASCII variants (U+FF01..U+FF5E) and the
// ideographic space to their ASCII forms. Chinese IMEs in full-width mode
// produce "１３８" or "粤Ｂ" that users cannot tell apart from ASCII.
func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// asciiUpper upper-cases ASCII letters only. unicode.ToUpper would turn
// e.g. 'ı' (dotless i) into 'I' or 'ſ' into 'S', letting non-ASCII input
// sneak past the alphabet checks.
func asciiUpper(r rune) rune {
	if r >= 'a' && r <= 'z' {
		return r - ('a' - 'A')
	}
	return r
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

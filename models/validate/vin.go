package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	vinLength   = 17
	vinCheckPos = 8 // zero-based index of the check digit (position 9)
)

// vinWeights are the per-position weights of the North-American check digit
// algorithm (49 CFR 565), which GB 16735 also mandates for Chinese VINs.
var vinWeights = [vinLength]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// vinValue transliterates one VIN character to its check-digit value, or
// returns -1 if the character is outside the ISO 3779 alphabet
// (digits and A-Z without I, O and Q, which look like 1 and 0).
func vinValue(r rune) int {
	switch {
	case isDigit(r):
		return int(r - '0')
	case r >= 'A' && r <= 'H': // A1 .. H8
		return int(r-'A') + 1
	case r >= 'J' && r <= 'N': // J1 .. N5
		return int(r-'J') + 1
	case r == 'P':
		return 7
	case r == 'R':
		return 9
	case r >= 'S' && r <= 'Z': // S2 .. Z9
		return int(r-'S') + 2
	}
	return -1
}

// parseVIN trims and upper-cases s and checks its length and alphabet. The
// check digit position is returned as typed and not validated, so callers
// can pass a placeholder there when generating VINs.
func parseVIN(s string) ([]rune, error) {
	s = strings.TrimSpace(strings.Map(foldWidth, s))
	if n := utf8.RuneCountInString(s); n != vinLength {
		return nil, fmt.Errorf("%w: must be %d characters, got %d", ErrInvalidVIN, vinLength, n)
	}
	vin := []rune(s)
	for i, r := range vin {
		r = asciiUpper(r)
		vin[i] = r
		if i != vinCheckPos && vinValue(r) < 0 {
			return nil, fmt.Errorf("%w: invalid character %q at position %d (only digits and A-Z without I, O, Q)", ErrInvalidVIN, r, i+1)
		}
	}
	return vin, nil
}

// checkDigit computes the check character of an already parsed VIN.
func checkDigit(vin []rune) byte {
	sum := 0
	for i, r := range vin {
		if i != vinCheckPos {
			sum += vinValue(r) * vinWeights[i]
		}
	}
	if rem := sum % 11; rem != 10 {
		return byte('0' + rem)
	}
	return 'X'
}

// NormalizeVIN trims and upper-cases s, checks that it has 17 characters
// from the ISO 3779 alphabet and that position 9 holds the correct check
// digit, and returns the normalized VIN.
func NormalizeVIN(s string) (string, error) {
	vin, err := parseVIN(s)
	if err != nil {
		return "", err
	}
	if got, want := vin[vinCheckPos], checkDigit(vin); got != rune(want) {
		return "", fmt.Errorf("%w: check digit (position 9) is %q, want %q", ErrInvalidVIN, got, want)
	}
	return string(vin), nil
}

// VINCheckDigit computes the check character ('0'-'9' or 'X') for a
// 17-character VIN. Whatever is at position 9 is ignored; all other
// positions must be valid VIN characters (case-insensitive).
func VINCheckDigit(vin string) (byte, error) {
	v, err := parseVIN(vin)
	if err != nil {
		return 0, err
	}
	return checkDigit(v), nil
}

// WithVINCheckDigit returns vin, normalized like NormalizeVIN, with position 9
// replaced by the correct check digit. It is meant for generating demo data.
func WithVINCheckDigit(vin string) (string, error) {
	v, err := parseVIN(vin)
	if err != nil {
		return "", err
	}
	v[vinCheckPos] = rune(checkDigit(v))
	return string(v), nil
}

package validate

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz tests of the parsers: no input panics, a refusal wraps the package's
// sentinel, and what is accepted is canonical: it parses again to itself,
// and the other spellings people type parse to it too. Seeds are in
// testdata/fuzz; `go test` runs them, `go test -fuzz=FuzzNormalizePhone`
// searches further.

func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e164, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPhone) || e164 != "" {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want \"\" and ErrInvalidPhone", s, e164, err)
			}
			return
		}
		if len(e164) != 14 || !strings.HasPrefix(e164, "+861") || strings.Trim(e164[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q; want +86 and 11 digits starting with 1", s, e164)
		}
		national := e164[3:]
		for _, spelling := range []string{
			e164,
			national,
			"+86 " + national[:3] + " " + national[3:7] + " " + national[7:],
			"0086-" + national,
		} {
			if again, err := NormalizePhone(spelling); again != e164 || err != nil {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q (from %q)", spelling, again, err, e164, s)
			}
		}
	})
}

func FuzzNormalizePlate(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		masked := MaskPlate(s)
		plate, err := NormalizePlate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPlate) || plate != "" {
				t.Fatalf("NormalizePlate(%q) = %q, %v; want \"\" and ErrInvalidPlate", s, plate, err)
			}
			if n := utf8.RuneCountInString(strings.TrimSpace(s)); n > 0 && utf8.RuneCountInString(masked) != n {
				t.Fatalf("MaskPlate(%q) = %q: not one character per character", s, masked)
			}
			return
		}
		rs := []rune(plate)
		if !utf8.ValidString(plate) || (len(rs) != regularPlateLen && len(rs) != newEnergyPlateLen) {
			t.Fatalf("NormalizePlate(%q) = %q: not 7 or 8 characters", s, plate)
		}
		for _, r := range rs[1:] {
			if !isPlateAlnum(r) {
				t.Fatalf("NormalizePlate(%q) = %q: %q is not an upper-case plate character", s, plate, r)
			}
		}
		for _, spelling := range []string{
			plate,
			strings.ToLower(plate),
			string(rs[:2]) + "·" + string(rs[2:]),
			" " + string(rs[:2]) + " " + string(rs[2:]) + " ",
		} {
			if again, err := NormalizePlate(spelling); again != plate || err != nil {
				t.Fatalf("NormalizePlate(%q) = %q, %v; want %q (from %q)", spelling, again, err, plate, s)
			}
		}
		// The mask keeps province, authority and the last two characters.
		m := []rune(MaskPlate(plate))
		n := len(rs)
		if masked != string(m) || len(m) != n+1 || string(m[:2]) != string(rs[:2]) || string(m[n-1:]) != string(rs[n-2:]) ||
			strings.Trim(string(m[3:n-1]), "*") != "" {
			t.Fatalf("MaskPlate(%q) = %q, MaskPlate(%q) = %q", s, masked, plate, string(m))
		}
	})
}

func FuzzNormalizeVIN(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		digit, digitErr := VINCheckDigit(s)
		withDigit, withErr := WithVINCheckDigit(s)
		vin, err := NormalizeVIN(s)
		if (digitErr == nil) != (withErr == nil) || (withErr == nil && withDigit[vinCheckPos] != digit) {
			t.Fatalf("VINCheckDigit(%q) = %q, %v but WithVINCheckDigit = %q, %v", s, digit, digitErr, withDigit, withErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidVIN) || vin != "" {
				t.Fatalf("NormalizeVIN(%q) = %q, %v; want \"\" and ErrInvalidVIN", s, vin, err)
			}
			return
		}
		if len(vin) != vinLength {
			t.Fatalf("NormalizeVIN(%q) = %q: not 17 bytes", s, vin)
		}
		for i, r := range vin {
			if vinValue(r) < 0 && !(i == vinCheckPos && r == 'X') {
				t.Fatalf("NormalizeVIN(%q) = %q: %q at position %d is not an upper-case VIN character", s, vin, r, i+1)
			}
		}
		if digit != vin[vinCheckPos] || withDigit != vin {
			t.Fatalf("NormalizeVIN(%q) = %q, but its check digit is %q and WithVINCheckDigit gives %q", s, vin, digit, withDigit)
		}
		for _, spelling := range []string{vin, strings.ToLower(vin), " " + vin + "\t"} {
			if again, err := NormalizeVIN(spelling); again != vin || err != nil {
				t.Fatalf("NormalizeVIN(%q) = %q, %v; want %q (from %q)", spelling, again, err, vin, s)
			}
		}
	})
}

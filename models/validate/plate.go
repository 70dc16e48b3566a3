package validate

import (
	"fmt"
	"strings"
	"unicode"
)

// plateProvinces lists the one-character abbreviations of the 31 mainland
// provincial-level divisions, the first character of every civilian plate.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// smallNEVPrefixes are the letters that may open a small new-energy serial:
// D/F originally, extended with A-C, E (electric) and G, H, J, K (other
// new-energy) when the D/F ranges ran out. I is skipped like everywhere else.
const smallNEVPrefixes = "ABCDEFGHJK"

const (
	regularPlateLen    = 7
	newEnergyPlateLen  = 8
	plateMaskSeparator = "·"
)

// isPlateSeparator reports whether r may separate plate parts in user input:
// the middle dot printed on plates and its look-alikes, spaces and dashes.
func isPlateSeparator(r rune) bool {
	switch r {
	case '·', '•', '・', '‧', '-', '‐', '–', '—':
		return true
	}
	return unicode.IsSpace(r)
}

// isPlateLetter reports an uppercase letter allowed on plates: I and O are
// never issued because they are confused with 1 and 0.
func isPlateLetter(r rune) bool {
	return r >= 'A' && r <= 'Z' && r != 'I' && r != 'O'
}

func isPlateAlnum(r rune) bool { return isDigit(r) || isPlateLetter(r) }

func allDigits(rs []rune) bool {
	for _, r := range rs {
		if !isDigit(r) {
			return false
		}
	}
	return true
}

// isNewEnergySerial checks the 6-character serial of a green plate:
// small vehicles "D12345"/"DF1234" (letter, letter-or-digit, 4 digits),
// large vehicles "12345D" (5 digits, then D or F).
func isNewEnergySerial(s []rune) bool {
	if len(s) != newEnergyPlateLen-2 {
		return false
	}
	small := strings.ContainsRune(smallNEVPrefixes, s[0]) && isPlateAlnum(s[1]) && allDigits(s[2:])
	large := allDigits(s[:5]) && (s[5] == 'D' || s[5] == 'F')
	return small || large
}

// NormalizePlate validates a mainland China licence plate and returns its
// canonical form: no separator, uppercase, e.g. "粤B12345" (regular, 7
// characters) or "粤BD12345" / "粤B12345D" (new-energy, 8 characters).
//
// Input may contain a middle dot ("·", "•"), spaces or dashes and lowercase
// or full-width letters. Lengths are counted in runes.
func NormalizePlate(s string) (string, error) {
	rs := make([]rune, 0, newEnergyPlateLen)
	for _, r := range s {
		r = foldWidth(r)
		if isPlateSeparator(r) {
			continue
		}
		rs = append(rs, asciiUpper(r))
	}
	if len(rs) != regularPlateLen && len(rs) != newEnergyPlateLen {
		return "", fmt.Errorf("%w: want %d (regular) or %d (new-energy) characters, got %d",
			ErrInvalidPlate, regularPlateLen, newEnergyPlateLen, len(rs))
	}
	if !strings.ContainsRune(plateProvinces, rs[0]) {
		return "", fmt.Errorf("%w: %q is not a province abbreviation", ErrInvalidPlate, rs[0])
	}
	if !isPlateLetter(rs[1]) {
		return "", fmt.Errorf("%w: issuing authority %q must be a letter A-Z other than I and O", ErrInvalidPlate, rs[1])
	}
	serial := rs[2:]
	for i, r := range serial {
		if !isPlateAlnum(r) {
			return "", fmt.Errorf("%w: invalid character %q at position %d (digits and letters except I, O)", ErrInvalidPlate, r, i+3)
		}
	}
	if len(rs) == newEnergyPlateLen && !isNewEnergySerial(serial) {
		return "", fmt.Errorf("%w: new-energy serial %q must be A-K + letter/digit + 4 digits, or 5 digits + D/F",
			ErrInvalidPlate, string(serial))
	}
	return string(rs), nil
}

// MaskPlate hides a plate for display, keeping the province, the issuing
// authority and the last two characters: "粤B12345" -> "粤B·***45",
// "粤BD12345" -> "粤B·****45". Input that is not a valid plate is masked
// entirely except its first rune, so nothing identifying leaks.
func MaskPlate(plate string) string {
	p, err := NormalizePlate(plate)
	if err != nil {
		rs := []rune(strings.TrimSpace(plate))
		if len(rs) == 0 {
			return ""
		}
		return string(rs[0]) + strings.Repeat("*", len(rs)-1)
	}
	rs := []rune(p)
	n := len(rs)
	return string(rs[:2]) + plateMaskSeparator + strings.Repeat("*", n-4) + string(rs[n-2:])
}

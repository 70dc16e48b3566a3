package validate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string // empty means an error is expected
		reason string // substring expected in the error message
	}{
		{name: "national", in: "13800000001", want: "+8613800000001"},
		{name: "plus with spaces", in: "+86 138 0000 0001", want: "+8613800000001"},
		{name: "plus compact", in: "+8613800000001", want: "+8613800000001"},
		{name: "bare country code with dashes", in: "86-138-0000-0001", want: "+8613800000001"},
		{name: "bare country code compact", in: "8613800000001", want: "+8613800000001"},
		{name: "00 international prefix", in: "0086 13800000001", want: "+8613800000001"},
		{name: "parentheses", in: "(+86) 138-0000-0001", want: "+8613800000001"},
		{name: "parenthesised prefix", in: "+86 (138) 0000 0001", want: "+8613800000001"},
		{name: "surrounding whitespace", in: "  139 1234 5678\t", want: "+8613912345678"},
		{name: "full-width digits", in: "＋８６ １３８００００００９９", want: "+8613800000099"},
		{name: "demo number 42", in: "+8613800000042", want: "+8613800000042"},
		{name: "150", in: "15012345678", want: "+8615012345678"},
		{name: "186", in: "18612345678", want: "+8618612345678"},
		{name: "199", in: "19912345678", want: "+8619912345678"},
		{name: "177", in: "17712345678", want: "+8617712345678"},

		{name: "empty", in: "", reason: "no digits"},
		{name: "only plus", in: "+", reason: "no digits"},
		{name: "only separators", in: " - ( ) ", reason: "no digits"},
		{name: "letters", in: "abc", reason: "unexpected character"},
		{name: "trailing letter", in: "13800000001x", reason: "unexpected character 'x'"},
		{name: "extension", in: "13800000001 ext 12", reason: "unexpected character"},
		{name: "dots not allowed", in: "138.0000.0001", reason: "unexpected character '.'"},
		{name: "plus in the middle", in: "138+00000001", reason: "'+'"},
		{name: "landline Beijing", in: "010-12345678", reason: "landline"},
		{name: "landline Shenzhen international", in: "+86 755 8888 6666", reason: "landline"},
		{name: "US number", in: "+1 415 555 2671", reason: "country code +1"},
		{name: "Hong Kong mobile", in: "+852 6123 4567", reason: "country code +852"},
		{name: "too short mobile", in: "1380000000", reason: "11 digits, got 10"},
		{name: "too short with country code", in: "+86 138 0000", reason: "11 digits, got 7"},
		{name: "too long mobile", in: "138000000012", reason: "11 digits, got 12"},
		{name: "unassigned 1xx prefix", in: "12012345678", reason: "not an assigned"},
		{name: "IoT-only 140 prefix", in: "14012345678", reason: "not an assigned"},
		{name: "wrong trunk prefix", in: "086 13800000001", reason: "not an assigned"},
		{name: "service number", in: "+86 400 800 8888", reason: "not a mobile number"},
		{name: "country code only", in: "+86", reason: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want ErrInvalidPhone", tt.in, got, err)
			}
			if got != "" {
				t.Errorf("NormalizePhone(%q) returned %q alongside an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("NormalizePhone(%q) error %q does not mention %q", tt.in, err, tt.reason)
			}
		})
	}
}

// TestNormalizePhonePrefixes guards against library metadata that lags
// behind newly issued consumer mobile prefixes.
func TestNormalizePhonePrefixes(t *testing.T) {
	prefixes := []string{
		"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
		"145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159",
		"162", "165", "166", "167", "170", "171", "172", "173", "175", "176", "177", "178",
		"180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
		"190", "191", "192", "193", "195", "196", "197", "198", "199",
	}
	for _, p := range prefixes {
		in := p + "12345678"
		if got, err := NormalizePhone(in); err != nil || got != "+86"+in {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, "+86"+in)
		}
	}
	for i := range 100 {
		in := fmt.Sprintf("+86138000000%02d", i)
		if got, err := NormalizePhone(in); err != nil || got != in {
			t.Errorf("demo number NormalizePhone(%q) = %q, %v", in, got, err)
		}
	}
}

func TestNormalizeVIN(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string // empty means an error is expected
		reason string
	}{
		{name: "check digit X", in: "1M8GDM9AXKP042788", want: "1M8GDM9AXKP042788"},
		{name: "GM", in: "5GZCZ43D13S812715", want: "5GZCZ43D13S812715"},
		{name: "Honda", in: "1HGCM82633A004352", want: "1HGCM82633A004352"},
		{name: "BMW sample with corrected check digit", in: "WBA3A5C57CF256651", want: "WBA3A5C57CF256651"},
		{name: "all ones", in: "11111111111111111", want: "11111111111111111"},
		{name: "lowercase and spaces", in: "  5gzcz43d13s812715\n", want: "5GZCZ43D13S812715"},
		{name: "full-width", in: "５ＧＺＣＺ４３Ｄ１３Ｓ８１２７１５", want: "5GZCZ43D13S812715"},

		{name: "empty", in: "", reason: "got 0"},
		{name: "16 chars", in: "WBA3A5C51CF25665", reason: "must be 17 characters, got 16"},
		{name: "18 chars", in: "WBA3A5C51CF2566511", reason: "got 18"},
		{name: "inner space", in: "WBA3A5C51 CF25665", reason: "invalid character ' ' at position 10"},
		{name: "wrong check digit", in: "5GZCZ43D23S812715", reason: "is '2', want '1'"},
		// Widely copied "BMW sample" VIN; its check digit does not verify
		// (weighted sum 348, 348 mod 11 = 7).
		{name: "popular sample VIN with bad check digit", in: "WBA3A5C51CF256651", reason: "is '1', want '7'"},
		{name: "X expected", in: "1M8GDM9A1KP042788", reason: "want 'X'"},
		{name: "letter I", in: "1M8GDM9AXKI042788", reason: "'I' at position 11"},
		{name: "letter O", in: "1M8GDM9AXKO042788", reason: "'O'"},
		{name: "letter Q", in: "Q5GZCZ43D13S81271", reason: "'Q' at position 1"},
		{name: "lowercase o is still O", in: "1m8gdm9axko042788", reason: "'O'"},
		{name: "punctuation", in: "WBA3A5C51CF25665-", reason: "'-' at position 17"},
		{name: "dotless i does not become I", in: "ıM8GDM9AXKP042788", reason: "'ı' at position 1"},
		{name: "check position not a digit", in: "WBA3A5C5ACF256651", reason: "is 'A'"},
		{name: "multi-byte rune counted once", in: "WBA3A5C5粤CF256651", reason: "is '粤'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeVIN(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizeVIN(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalidVIN) {
				t.Fatalf("NormalizeVIN(%q) = %q, %v; want ErrInvalidVIN", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("NormalizeVIN(%q) error %q does not mention %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestVINCheckDigit(t *testing.T) {
	tests := []struct {
		in      string
		want    byte
		wantErr bool
	}{
		{in: "1M8GDM9AXKP042788", want: 'X'},
		{in: "1M8GDM9A0KP042788", want: 'X'}, // position 9 is ignored
		{in: "5GZCZ43D13S812715", want: '1'},
		{in: "1HGCM82633A004352", want: '3'},
		{in: "WBA3A5C51CF256651", want: '7'},
		{in: "wba3a5c5?cf256651", want: '7'}, // placeholder at position 9, lowercase
		{in: "11111111111111111", want: '1'},
		{in: "WBA3A5C51CF25665", wantErr: true},
		{in: "WBA3A5C51CF2566511", wantErr: true},
		{in: "WBA3A5C51CF25665O", wantErr: true},
	}
	for _, tt := range tests {
		got, err := VINCheckDigit(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidVIN) {
				t.Errorf("VINCheckDigit(%q) = %q, %v; want ErrInvalidVIN", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("VINCheckDigit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWithVINCheckDigit(t *testing.T) {
	tests := []struct {
		in   string
		want string // empty means an error is expected
	}{
		{in: "1M8GDM9A0KP042788", want: "1M8GDM9AXKP042788"},
		{in: "WBA3A5C51CF256651", want: "WBA3A5C57CF256651"},
		{in: "5GZCZ43D_3S812715", want: "5GZCZ43D13S812715"},
		{in: "LSVAU2180N2123456"},
		{in: "LFV2A21K5N3000001"},
		{in: "LGBH52E09PY000123"},
		{in: "lvsha2a30n1000042"},
		{in: "LSVAU2180N212345", want: ""},
		{in: "LSVAU2180N2I23456", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, parseErr := parseVIN(tt.in)
			got, err := WithVINCheckDigit(tt.in)
			if parseErr != nil {
				if !errors.Is(err, ErrInvalidVIN) || got != "" {
					t.Fatalf("WithVINCheckDigit(%q) = %q, %v; want ErrInvalidVIN", tt.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("WithVINCheckDigit(%q): %v", tt.in, err)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("WithVINCheckDigit(%q) = %q; want %q", tt.in, got, tt.want)
			}
			// Only position 9 may change (apart from case).
			if up := strings.ToUpper(tt.in); got[:8] != up[:8] || got[9:] != up[9:] {
				t.Errorf("WithVINCheckDigit(%q) = %q changed more than position 9", tt.in, got)
			}
			if norm, err := NormalizeVIN(got); err != nil || norm != got {
				t.Errorf("NormalizeVIN(%q) = %q, %v; generated VIN must be accepted", got, norm, err)
			}
		})
	}
}

func TestNormalizePlate(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string // empty means an error is expected
		reason string
	}{
		{name: "regular", in: "粤B12345", want: "粤B12345"},
		{name: "regular Beijing", in: "京A88888", want: "京A88888"},
		{name: "regular with letters", in: "浙A1B2C3", want: "浙A1B2C3"},
		{name: "regular letters at end", in: "川A7XY21", want: "川A7XY21"},
		{name: "middle dot", in: "粤B·12345", want: "粤B12345"},
		{name: "bullet", in: "粤B•12345", want: "粤B12345"},
		{name: "space and lowercase", in: " 粤b 12345 ", want: "粤B12345"},
		{name: "dash", in: "苏E-5K8P2", want: "苏E5K8P2"},
		{name: "full-width", in: "粤Ｂ·１２３４５", want: "粤B12345"},
		{name: "small NEV D", in: "沪AD12345", want: "沪AD12345"},
		{name: "small NEV F with dot", in: "粤B·F12345", want: "粤BF12345"},
		{name: "small NEV letter second", in: "京AD·F1234", want: "京ADF1234"},
		{name: "small NEV new letters", in: "浙AA12345", want: "浙AA12345"},
		{name: "small NEV K", in: "苏AK12345", want: "苏AK12345"},
		{name: "small NEV lowercase", in: "粤bd12345", want: "粤BD12345"},
		{name: "large NEV D", in: "粤B12345D", want: "粤B12345D"},
		{name: "large NEV F", in: "粤B12345F", want: "粤B12345F"},

		{name: "empty", in: "", reason: "got 0"},
		{name: "6 chars", in: "粤B1234", reason: "got 6"},
		{name: "9 chars", in: "粤B1234567", reason: "got 9"},
		{name: "bytes are not runes", in: "粤B123", reason: "got 5"},
		{name: "bad province", in: "港B12345", reason: "'港' is not a province"},
		{name: "latin province", in: "GDB12345", reason: "not a province"},
		{name: "authority digit", in: "粤112345", reason: "issuing authority '1'"},
		{name: "authority I", in: "粤I12345", reason: "issuing authority 'I'"},
		{name: "authority O", in: "粤O12345", reason: "issuing authority 'O'"},
		{name: "serial I", in: "粤B1234I", reason: "'I' at position 7"},
		{name: "serial O", in: "粤BO1234", reason: "'O' at position 3"},
		{name: "serial lowercase o", in: "粤B12o45", reason: "'O' at position 5"},
		{name: "suffix hanzi", in: "粤B1234学", reason: "'学' at position 7"},
		{name: "punctuation", in: "粤B123.45", reason: "'.' at position 6"},
		{name: "NEV wrong small letter", in: "粤BL12345", reason: "new-energy"},
		{name: "NEV small letters in tail", in: "粤BD1234A", reason: "new-energy"},
		{name: "NEV large wrong suffix", in: "粤B12345A", reason: "new-energy"},
		{name: "NEV all digits", in: "粤B123456", reason: "new-energy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePlate(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormalizePlate(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPlate) {
				t.Fatalf("NormalizePlate(%q) = %q, %v; want ErrInvalidPlate", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("NormalizePlate(%q) error %q does not mention %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestMaskPlate(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{in: "粤B12345", want: "粤B·***45"},
		{in: "粤b·12345", want: "粤B·***45"},
		{in: "粤BD12345", want: "粤B·****45"},
		{in: "粤B12345F", want: "粤B·****5F"},
		{in: "浙A1B2C3", want: "浙A·***C3"},
		// Invalid input: only the first rune survives.
		{in: "粤B1234", want: "粤*****"},
		{in: "港B12345", want: "港******"},
		{in: " x ", want: "x"},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		if got := MaskPlate(tt.in); got != tt.want {
			t.Errorf("MaskPlate(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

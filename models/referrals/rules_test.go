package referrals

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestSignUpRefusal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		f    SignUpFacts
		want Refusal
	}{
		{"new phone, no device", SignUpFacts{}, ""},
		{"new phone, new device", SignUpFacts{DeviceID: "d1", ReferrerDevices: []string{"d0"}, EarlierDevices: []string{"d2"}}, ""},
		{"erased phone", SignUpFacts{PhoneErased: true}, SamePhone},
		{"erased phone beats device", SignUpFacts{PhoneErased: true, DeviceID: "d0", ReferrerDevices: []string{"d0"}}, SamePhone},
		{"referrer's device", SignUpFacts{DeviceID: "d0", ReferrerDevices: []string{"d9", "d0"}}, SameDevice},
		{"an earlier friend's device", SignUpFacts{DeviceID: "d2", EarlierDevices: []string{"d2"}}, SameDevice},
		{"no device is no match", SignUpFacts{DeviceID: "", ReferrerDevices: []string{""}}, ""},
	} {
		if got := SignUpRefusal(c.f); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCarRefusal(t *testing.T) {
	t.Parallel()
	referrer, earlier, stranger := uuid.New(), uuid.New(), uuid.New()
	const vin = "LSVAU2180N2183294"
	for _, c := range []struct {
		name string
		f    CarFacts
		want Refusal
	}{
		{"a new car", CarFacts{VIN: vin, Referrer: referrer, Earlier: []uuid.UUID{earlier}, KnownVINs: []string{"LFV2A21K7N3000001"}}, ""},
		{"the car had a stranger", CarFacts{VIN: vin, Referrer: referrer, PastOwners: []uuid.UUID{stranger}}, ""},
		{"the referrer's car", CarFacts{VIN: vin, Referrer: referrer, KnownVINs: []string{vin}}, SameCar},
		{"the referrer serviced it", CarFacts{VIN: vin, Referrer: referrer, PastOwners: []uuid.UUID{stranger, referrer}}, SameCar},
		{"an earlier friend serviced it", CarFacts{VIN: vin, Referrer: referrer, Earlier: []uuid.UUID{earlier}, PastOwners: []uuid.UUID{earlier}}, SameCar},
		{"no VIN is no match", CarFacts{Referrer: referrer, KnownVINs: []string{""}}, ""},
	} {
		if got := CarRefusal(c.f); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseReward(t *testing.T) {
	t.Parallel()
	tpl := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "points:500", true},
		{"points:800", "points:800", true},
		{" coupon:" + tpl.String(), "coupon:" + tpl.String(), true},
		{"points:0", "", false},
		{"points:100001", "", false},
		{"points:x", "", false},
		{"coupon:nope", "", false},
		{"cash:5", "", false},
		{"500", "", false},
	} {
		r, err := ParseReward(c.in)
		if (err == nil) != c.ok || (c.ok && r.String() != c.want) {
			t.Errorf("ParseReward(%q) = %v, %v; want %q ok=%v", c.in, r, err, c.want, c.ok)
		}
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		c, err := newCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != CodeLength || strings.Trim(c, Alphabet) != "" {
			t.Fatalf("code %q", c)
		}
		if n, ok := NormalizeCode(strings.ToLower(c[:2]) + " " + c[2:4] + "-" + c[4:]); !ok || n != c {
			t.Fatalf("NormalizeCode of %q typed loosely: %q %v", c, n, ok)
		}
		seen[c] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct codes of 1000", len(seen))
	}
	for _, bad := range []string{"", "AB2", "ABCDEFGHJKMNP", "ABC0EF", "ABCIEF", "ABC1EF", "ABCOEF", "ABCLEF", "ABC!EF"} {
		if _, ok := NormalizeCode(bad); ok {
			t.Errorf("NormalizeCode(%q) accepted", bad)
		}
	}
	for _, c := range []struct {
		id string
		ok bool
	}{{"", true}, {"ios-8F2A", true}, {strings.Repeat("a", 128), true}, {strings.Repeat("a", 129), false}, {"a b", false}, {"设备", false}} {
		if _, err := CheckDeviceID("deviceId", c.id); (err == nil) != c.ok {
			t.Errorf("CheckDeviceID(%q): %v", c.id, err)
		}
	}
}

// An erased phone's digest is keyed: the same phone and key give the same
// digest (so a second instance recognises it), another key another digest,
// and neither the phone nor its plain SHA-256 appears in it.
func TestPhoneDigestIsKeyed(t *testing.T) {
	t.Parallel()
	const phone = "+8613800000001"
	a, b := []byte("key-a-key-a-key-a-key-a-key-a-00"), []byte("key-b-key-b-key-b-key-b-key-b-00")
	// The same key as another instance would hold it: a copy.
	if PhoneDigest(a, phone) != PhoneDigest(slices.Clone(a), phone) {
		t.Fatal("one phone and key gave two digests")
	}
	if PhoneDigest(a, phone) == PhoneDigest(b, phone) {
		t.Fatal("two keys gave one digest")
	}
	if PhoneDigest(a, phone) == PhoneDigest(a, "+8613800000002") {
		t.Fatal("two phones gave one digest")
	}
	plain := sha256.Sum256([]byte(phone))
	for _, d := range []string{PhoneDigest(a, phone), PhoneDigest(nil, phone)} {
		if d == hex.EncodeToString(plain[:]) || strings.Contains(d, "13800000001") {
			t.Fatalf("digest %s is the plain hash or holds the phone", d)
		}
	}
}

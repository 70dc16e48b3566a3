package referrals

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Alphabet is what codes are made of: digits and capitals without the
// ones people confuse (0/O, 1/I/L), so a code read aloud or typed from a
// poster comes out right.
const Alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLength is the length of a new code: 31^6, about 887 million codes.
const CodeLength = 6

// DefaultRewardPoints is what each side earns without configuration.
const DefaultRewardPoints = 500

// MaxDeviceIDLength bounds the device id an app sends at sign-in.
const MaxDeviceIDLength = 128

// newCode draws a random code from Alphabet.
func newCode() (string, error) {
	b := make([]byte, CodeLength)
	n := big.NewInt(int64(len(Alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		b[i] = Alphabet[k.Int64()]
	}
	return string(b), nil
}

// NormalizeCode reads a code as people type it: spaces and dashes
// dropped, capitals; ok is false when it cannot be a code.
func NormalizeCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(s))
	if len(s) < 4 || len(s) > 12 {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(Alphabet, r) {
			return "", false
		}
	}
	return s, true
}

// CheckDeviceID validates the device id an app sends (empty: none): 1 to
// MaxDeviceIDLength printable ASCII characters.
func CheckDeviceID(field, id string) (string, error) {
	id = strings.TrimSpace(id)
	if len(id) > MaxDeviceIDLength {
		return "", models.Invalid(field, "设备标识过长", fmt.Sprintf("%s is longer than %d characters", field, MaxDeviceIDLength))
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return "", models.Invalid(field, "设备标识无效", field+" must be printable ASCII")
		}
	}
	return id, nil
}

// PhoneDigest is what is kept of an erased owner's phone: a keyed one-way
// digest (HMAC-SHA256 under key), enough to recognise the phone signing up
// again. A plain hash would not do: mainland mobile numbers are few enough
// (about 10^10) to hash them all and read every erased phone back; without
// the key nobody can.
func PhoneDigest(key []byte, e164 string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

// maskPhone shows a mainland number as "138****0001".
func maskPhone(e164 string) string {
	d := strings.TrimPrefix(e164, "+86")
	if len(d) != 11 {
		return "****"
	}
	return d[:3] + "****" + d[7:]
}

// Reward is what each side of a rewarded referral earns: Points, or a
// coupon of CouponTemplateID.
type Reward struct {
	Points           int64
	CouponTemplateID *uuid.UUID
}

// Kind is the reward's kind.
func (r Reward) Kind() RewardKind {
	if r.CouponTemplateID != nil {
		return RewardCoupon
	}
	return RewardPoints
}

// String is the reward as configured ("points:500", "coupon:<id>").
func (r Reward) String() string {
	if r.CouponTemplateID != nil {
		return "coupon:" + r.CouponTemplateID.String()
	}
	return "points:" + strconv.FormatInt(r.Points, 10)
}

// ParseReward reads REFERRAL_REWARD: "points:N" (1..100000) or
// "coupon:<template id>"; empty is DefaultRewardPoints points.
func ParseReward(s string) (Reward, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Reward{Points: DefaultRewardPoints}, nil
	}
	kind, value, ok := strings.Cut(s, ":")
	switch {
	case ok && kind == "points":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 1 || n > 100_000 {
			return Reward{}, fmt.Errorf("points must be 1..100000, not %q", value)
		}
		return Reward{Points: n}, nil
	case ok && kind == "coupon":
		id, err := uuid.Parse(value)
		if err != nil {
			return Reward{}, fmt.Errorf("coupon template id %q: %w", value, err)
		}
		return Reward{CouponTemplateID: &id}, nil
	}
	return Reward{}, fmt.Errorf("want points:N or coupon:<template id>, not %q", s)
}

// SignUpFacts is what the sign-up checks look at.
type SignUpFacts struct {
	// PhoneErased: the phone belonged to an owner who erased the account.
	PhoneErased bool
	// DeviceID is the device the referred owner signed up on ("" unknown).
	DeviceID string
	// ReferrerDevices are the devices the referrer signed in on;
	// EarlierDevices those the owners they referred before signed up or
	// signed in on.
	ReferrerDevices, EarlierDevices []string
}

// SignUpRefusal is the abuse check at sign-up: "" when the referral may
// earn a reward later.
func SignUpRefusal(f SignUpFacts) Refusal {
	switch {
	case f.PhoneErased:
		return SamePhone
	case f.DeviceID != "" && (slices.Contains(f.ReferrerDevices, f.DeviceID) || slices.Contains(f.EarlierDevices, f.DeviceID)):
		return SameDevice
	}
	return ""
}

// CarFacts is what the qualifying check looks at.
type CarFacts struct {
	// VIN is the qualifying car's.
	VIN string
	// PastOwners are the owners the car had before (its visits' owners).
	PastOwners []uuid.UUID
	// Referrer and Earlier (the owners the referrer referred before).
	Referrer uuid.UUID
	Earlier  []uuid.UUID
	// KnownVINs are the cars of the referrer and of the earlier referred
	// owners, and the cars earlier referrals qualified with.
	KnownVINs []string
}

// CarRefusal is the abuse check at qualification: SAME_CAR when the car
// belonged to the referrer or to an earlier referred owner.
func CarRefusal(f CarFacts) Refusal {
	if f.VIN != "" && slices.Contains(f.KnownVINs, f.VIN) {
		return SameCar
	}
	for _, o := range f.PastOwners {
		if o == f.Referrer || slices.Contains(f.Earlier, o) {
			return SameCar
		}
	}
	return ""
}

package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// base64url is the alphabet of token segments, in value order.
const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// FuzzVerify checks the access token verifier on any input: it never
// panics; a token it accepts is canonical (each segment re-encodes to
// exactly itself); and any change to the bytes of an issued token is refused.
//
// The change is (pos, b, insert): at pos, insert byte b, or replace the byte
// there. A base64url character replaced by b < 64 becomes the character
// whose value is its own XOR b, so that b = 1, 2, 3 on the last character
// spell the signature's last 4 bits with other unused bits. Seeds are in
// testdata/fuzz/FuzzVerify; their tokens are signed with testSecret and
// valid at testNow.
func FuzzVerify(f *testing.F) {
	tk, err := NewTokens(testSecret, testTTL)
	if err != nil {
		f.Fatal(err)
	}
	tk = tk.WithClock(func() time.Time { return testNow })
	issued, _, err := tk.Issue(Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleAdvisor}, StoreIDs: []uuid.UUID{uuid.New()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string, pos uint16, b byte, insert bool) {
		if p, err := tk.Verify(token); err == nil {
			if p == nil {
				t.Fatalf("Verify(%q) accepted without a principal", token)
			}
			if !canonical(token) {
				t.Fatalf("Verify accepted %q, which is not spelled as issued tokens are", token)
			}
		}
		changed := change(issued, int(pos), b, insert)
		if changed == issued {
			return
		}
		if _, err := tk.Verify(changed); err == nil {
			t.Fatalf("Verify accepted a changed token:\n issued  %q\n changed %q", issued, changed)
		}
	})
}

// canonical reports whether every segment of token is the unpadded
// base64url encoding of what it decodes to.
func canonical(token string) bool {
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return false
	}
	for _, s := range segs {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != s {
			return false
		}
	}
	return true
}

// change applies one edit to token (see FuzzVerify).
func change(token string, pos int, b byte, insert bool) string {
	i := pos % (len(token) + 1)
	if insert {
		return token[:i] + string([]byte{b}) + token[i:]
	}
	if i == len(token) {
		return token[:len(token)-1] // drop the last byte
	}
	c := b
	if v := strings.IndexByte(base64url, token[i]); v >= 0 && b < 64 {
		c = base64url[v^int(b)]
	}
	return token[:i] + string([]byte{c}) + token[i+1:]
}

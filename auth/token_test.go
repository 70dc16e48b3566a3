package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	testNow    = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	testTTL    = 15 * time.Minute
)

// newTestTokens returns a service whose clock is frozen at testNow.
func newTestTokens(t *testing.T) *Tokens {
	t.Helper()
	tk, err := NewTokens(testSecret, testTTL)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk.WithClock(func() time.Time { return testNow })
}

// at returns a clock frozen at testNow+d.
func at(d time.Duration) func() time.Time {
	return func() time.Time { return testNow.Add(d) }
}

// validClaims returns a payload Verify accepts, for tests that change one claim.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": Issuer,
		"aud": Audience,
		"sub": uuid.NewString(),
		"exp": testNow.Add(testTTL).Unix(),
		"iat": testNow.Unix(),
		"nbf": testNow.Unix(),
		"jti": uuid.NewString(),
		"knd": string(KindOwner),
	}
}

// sign builds a token by hand, bypassing Issue's checks.
func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// assertInvalid checks that Verify refuses token and does not call it expired.
func assertInvalid(t *testing.T, tk *Tokens, token string) {
	t.Helper()
	p, err := tk.Verify(token)
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify = %v, %v; want ErrInvalidToken", p, err)
	}
	if errors.Is(err, ErrTokenExpired) {
		t.Fatalf("Verify error %v wrongly reports expiry", err)
	}
	if p != nil {
		t.Fatalf("Verify returned principal %+v with error", p)
	}
}

func TestRoundTrip(t *testing.T) {
	tk := newTestTokens(t)
	store1, store2 := uuid.New(), uuid.New()
	cases := map[string]Principal{
		"owner":  {Kind: KindOwner, ID: uuid.New()},
		"staff":  {Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleAdvisor, RoleCashier}, StoreIDs: []uuid.UUID{store1, store2}},
		"admin":  {Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleGroupAdmin}},
		"screen": {Kind: KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{store1}},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			token, exp, err := tk.Issue(want)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if !exp.Equal(testNow.Add(testTTL)) {
				t.Errorf("expiresAt = %v, want %v", exp, testNow.Add(testTTL))
			}
			got, err := tk.Verify(token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !got.ExpiresAt.Equal(exp) {
				t.Errorf("principal expires %v, token %v", got.ExpiresAt, exp)
			}
			want.ExpiresAt = got.ExpiresAt
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Verify = %+v, want %+v", *got, want)
			}
		})
	}
}

func TestTokensAreUnique(t *testing.T) {
	tk := newTestTokens(t)
	p := Principal{Kind: KindOwner, ID: uuid.New()}
	a, _, _ := tk.Issue(p)
	b, _, _ := tk.Issue(p)
	if a == b {
		t.Error("two tokens issued at the same instant are identical; jti should differ")
	}
}

func TestExpired(t *testing.T) {
	tk := newTestTokens(t)
	token, _, err := tk.Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	// Within the leeway the token is still accepted.
	if _, err := tk.WithClock(at(testTTL + 20*time.Second)).Verify(token); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	_, err = tk.WithClock(at(testTTL + leeway + time.Second)).Verify(token)
	if !errors.Is(err, ErrTokenExpired) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify = %v; want ErrTokenExpired and ErrInvalidToken", err)
	}
	if errors.Is(ErrTokenExpired, ErrInvalidToken) || errors.Is(ErrInvalidToken, ErrTokenExpired) {
		t.Error("sentinels should be distinct")
	}
}

func TestExpiredButOtherwiseBadIsNotExpired(t *testing.T) {
	tk := newTestTokens(t).WithClock(at(time.Hour))
	c := validClaims()
	c["aud"] = "other-api"
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testSecret, c))

	c = validClaims()
	c["knd"] = "ROOT"
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testSecret, c))

	// Forged and expired: must not be told to refresh.
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), validClaims()))
}

func TestNotYetValid(t *testing.T) {
	tk := newTestTokens(t)
	c := validClaims()
	c["iat"] = testNow.Add(time.Hour).Unix()
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testSecret, c))

	c = validClaims()
	c["nbf"] = testNow.Add(time.Hour).Unix()
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testSecret, c))
}

func TestTamperedSignature(t *testing.T) {
	tk := newTestTokens(t)
	token, _, err := tk.Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	// Change the first signature character: the last one may only carry
	// padding bits and decode to the same bytes.
	sig := []byte(parts[2])
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	assertInvalid(t, tk, parts[0]+"."+parts[1]+"."+string(sig))
	assertInvalid(t, tk, parts[0]+"."+parts[1]+".")
	assertInvalid(t, tk, parts[0]+"."+parts[1])
}

func TestTamperedPayload(t *testing.T) {
	tk := newTestTokens(t)
	token, _, err := tk.Issue(Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleTechnician}, StoreIDs: []uuid.UUID{uuid.New()}})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["rol"] = []string{string(RoleGroupAdmin)}
	raw, err = json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	assertInvalid(t, tk, parts[0]+"."+base64.RawURLEncoding.EncodeToString(raw)+"."+parts[2])
}

func TestAlgNoneRefused(t *testing.T) {
	tk := newTestTokens(t)
	token := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims())
	assertInvalid(t, tk, token)
}

func TestOtherAlgorithmsRefused(t *testing.T) {
	tk := newTestTokens(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	assertInvalid(t, tk, sign(t, jwt.SigningMethodRS256, rsaKey, validClaims()))
	// Same secret, stronger HMAC: still refused, only HS256 is allowed.
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS512, testSecret, validClaims()))
	assertInvalid(t, tk, sign(t, jwt.SigningMethodHS384, testSecret, validClaims()))
}

func TestClaimChecks(t *testing.T) {
	tk := newTestTokens(t)
	// The baseline must pass, or the cases below prove nothing.
	if _, err := tk.Verify(sign(t, jwt.SigningMethodHS256, testSecret, validClaims())); err != nil {
		t.Fatalf("baseline claims refused: %v", err)
	}
	cases := map[string]func(jwt.MapClaims){
		"wrong audience":  func(c jwt.MapClaims) { c["aud"] = "other-api" },
		"no audience":     func(c jwt.MapClaims) { delete(c, "aud") },
		"wrong issuer":    func(c jwt.MapClaims) { c["iss"] = "someone-else" },
		"no issuer":       func(c jwt.MapClaims) { delete(c, "iss") },
		"missing exp":     func(c jwt.MapClaims) { delete(c, "exp") },
		"string exp":      func(c jwt.MapClaims) { c["exp"] = "tomorrow" },
		"subject not id":  func(c jwt.MapClaims) { c["sub"] = "admin" },
		"nil subject":     func(c jwt.MapClaims) { c["sub"] = uuid.Nil.String() },
		"unknown kind":    func(c jwt.MapClaims) { c["knd"] = "ROOT" },
		"no kind":         func(c jwt.MapClaims) { delete(c, "knd") },
		"owner with role": func(c jwt.MapClaims) { c["rol"] = []string{"GROUP_ADMIN"} },
		"unknown role": func(c jwt.MapClaims) {
			c["knd"] = string(KindStaff)
			c["rol"] = []string{"SUPERUSER"}
		},
		"bad store id": func(c jwt.MapClaims) {
			c["knd"] = string(KindStaff)
			c["sto"] = []string{"not-a-uuid"}
		},
		"screen without store": func(c jwt.MapClaims) { c["knd"] = string(KindScreen) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := validClaims()
			mutate(c)
			assertInvalid(t, tk, sign(t, jwt.SigningMethodHS256, testSecret, c))
		})
	}
}

func TestOtherSecretRefused(t *testing.T) {
	tk := newTestTokens(t)
	other, err := NewTokens([]byte("fedcba9876543210fedcba9876543210"), testTTL)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := other.WithClock(at(0)).Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	assertInvalid(t, tk, token)
}

func TestGarbageRefused(t *testing.T) {
	tk := newTestTokens(t)
	for _, s := range []string{
		"",
		"garbage",
		"a.b.c",
		"...",
		"eyJhbGciOiJIUzI1NiJ9.%%%.xyz",
		strings.Repeat("a", maxTokenLen+1),
	} {
		assertInvalid(t, tk, s)
	}
}

func TestNewTokensChecks(t *testing.T) {
	if _, err := NewTokens(make([]byte, 31), testTTL); err == nil {
		t.Error("31-byte secret accepted")
	}
	if _, err := NewTokens(nil, testTTL); err == nil {
		t.Error("nil secret accepted")
	}
	if _, err := NewTokens(make([]byte, 32), 0); err == nil {
		t.Error("zero ttl accepted")
	}
	if _, err := NewTokens(make([]byte, 32), testTTL); err != nil {
		t.Errorf("32-byte secret refused: %v", err)
	}
}

func TestSecretIsCopied(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	tk, err := NewTokens(secret, testTTL)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tk.Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	if _, err := tk.Verify(token); err != nil {
		t.Fatalf("caller mutating its slice changed the key: %v", err)
	}
}

func TestWithClockReturnsCopy(t *testing.T) {
	tk, err := NewTokens(testSecret, testTTL)
	if err != nil {
		t.Fatal(err)
	}
	past := tk.WithClock(func() time.Time { return testNow })
	_, exp, err := tk.Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if exp.Before(time.Now()) {
		t.Error("WithClock changed the original's clock")
	}
	if past == tk {
		t.Error("WithClock returned the receiver")
	}
}

func TestIssueRefusesMalformedPrincipal(t *testing.T) {
	tk := newTestTokens(t)
	for name, p := range map[string]Principal{
		"nil id":             {Kind: KindOwner},
		"no kind":            {ID: uuid.New()},
		"owner with roles":   {Kind: KindOwner, ID: uuid.New(), Roles: []Role{RoleManager}},
		"owner with stores":  {Kind: KindOwner, ID: uuid.New(), StoreIDs: []uuid.UUID{uuid.New()}},
		"screen two stores":  {Kind: KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{uuid.New(), uuid.New()}},
		"screen with role":   {Kind: KindScreen, ID: uuid.New(), Roles: []Role{RoleManager}, StoreIDs: []uuid.UUID{uuid.New()}},
		"staff unknown role": {Kind: KindStaff, ID: uuid.New(), Roles: []Role{"ROOT"}},
		"staff nil store":    {Kind: KindStaff, ID: uuid.New(), StoreIDs: []uuid.UUID{uuid.Nil}},
	} {
		if _, _, err := tk.Issue(p); err == nil {
			t.Errorf("%s: Issue accepted %+v", name, p)
		}
	}
}

// The principal tests live here because tokens are how principals travel and
// Verify relies on the same rules.

func TestRoles(t *testing.T) {
	if len(AllRoles) != 8 || AllRoles[0] != RoleAdvisor || AllRoles[7] != RoleGroupAdmin {
		t.Errorf("AllRoles = %v", AllRoles)
	}
	for _, r := range AllRoles {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
	}
	if Role("ROOT").Valid() || Role("").Valid() || Role("advisor").Valid() {
		t.Error("unknown role valid")
	}
}

func TestHasAnyRole(t *testing.T) {
	advisor := &Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleAdvisor}}
	admin := &Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleGroupAdmin}}
	fakeOwner := &Principal{Kind: KindOwner, ID: uuid.New(), Roles: []Role{RoleGroupAdmin}}
	var nobody *Principal

	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"advisor has advisor", advisor.HasAnyRole(RoleCashier, RoleAdvisor), true},
		{"advisor lacks cashier", advisor.HasAnyRole(RoleCashier), false},
		{"advisor asked nothing", advisor.HasAnyRole(), false},
		{"admin has cashier", admin.HasAnyRole(RoleCashier), true},
		{"admin is group admin", admin.IsGroupAdmin(), true},
		{"advisor not group admin", advisor.IsGroupAdmin(), false},
		{"owner never has roles", fakeOwner.HasAnyRole(RoleGroupAdmin), false},
		{"owner not group admin", fakeOwner.IsGroupAdmin(), false},
		{"nil has no roles", nobody.HasAnyRole(RoleAdvisor), false},
		{"nil not owner", nobody.IsOwner(), false},
		{"nil not staff", nobody.IsStaff(), false},
		{"owner is owner", fakeOwner.IsOwner(), true},
		{"staff is staff", advisor.IsStaff(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
}

func TestCanAccessStore(t *testing.T) {
	s1, s2 := uuid.New(), uuid.New()
	staff := &Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleAdvisor}, StoreIDs: []uuid.UUID{s1}}
	admin := &Principal{Kind: KindStaff, ID: uuid.New(), Roles: []Role{RoleGroupAdmin}}
	screen := &Principal{Kind: KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{s1}}
	badScreen := &Principal{Kind: KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{s1, s2}}
	owner := &Principal{Kind: KindOwner, ID: uuid.New(), StoreIDs: []uuid.UUID{s1}}
	var nobody *Principal

	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"staff own store", staff.CanAccessStore(s1), true},
		{"staff other store", staff.CanAccessStore(s2), false},
		{"admin any store", admin.CanAccessStore(s2), true},
		{"admin nil store", admin.CanAccessStore(uuid.Nil), false},
		{"screen own store", screen.CanAccessStore(s1), true},
		{"screen other store", screen.CanAccessStore(s2), false},
		{"malformed screen", badScreen.CanAccessStore(s1), false},
		{"owner", owner.CanAccessStore(s1), false},
		{"nil", nobody.CanAccessStore(s1), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	ctx := context.Background()
	if p, ok := PrincipalFrom(ctx); ok || p != nil {
		t.Errorf("anonymous context gave %v, %v", p, ok)
	}
	want := &Principal{Kind: KindOwner, ID: uuid.New()}
	if got, ok := PrincipalFrom(WithPrincipal(ctx, want)); !ok || got != want {
		t.Errorf("PrincipalFrom = %v, %v", got, ok)
	}
	if p, ok := PrincipalFrom(WithPrincipal(ctx, nil)); ok || p != nil {
		t.Errorf("nil principal gave %v, %v", p, ok)
	}
}

// A token has one spelling. The signature's last character carries 4 bits
// and 2 unused ones, so lenient base64 would accept four spellings of it;
// Go's decoder also skips line breaks anywhere in a segment.
func TestNonCanonicalSpellingsRefused(t *testing.T) {
	tk := newTestTokens(t)
	token, _, err := tk.Issue(Principal{Kind: KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	last := strings.IndexByte(base64url, token[len(token)-1])
	for unused := 1; unused < 4; unused++ {
		assertInvalid(t, tk, token[:len(token)-1]+string(base64url[last^unused]))
	}
	dot := strings.LastIndexByte(token, '.')
	for _, spelling := range []string{
		token[:dot+5] + "\n" + token[dot+5:],
		token[:dot+5] + "\r\n" + token[dot+5:],
		token + "\n",
		token + "=",
		token[:dot] + ".\n" + token[dot+1:],
	} {
		assertInvalid(t, tk, spelling)
	}
	if _, err := tk.Verify(token); err != nil {
		t.Fatalf("the token as issued: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc"} {
		if got, ok := BearerToken(h); !ok || got != want {
			t.Errorf("BearerToken(%q) = %q, %v", h, got, ok)
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic abc", "Bearerabc", "Token abc"} {
		if got, ok := BearerToken(h); ok {
			t.Errorf("BearerToken(%q) = %q, accepted", h, got)
		}
	}
}

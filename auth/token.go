package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Issuer is the "iss" claim of every access token; Verify refuses any other.
const Issuer = "ownerhub"

// Audience is the "aud" claim of every access token; Verify refuses tokens
// minted for another audience even when signed with the same secret.
const Audience = "ownerhub-api"

const (
	// minSecretLen is the HS256 key size: a shorter key weakens the MAC.
	minSecretLen = 32
	// leeway tolerates clock skew between API replicas.
	leeway = 30 * time.Second
	// maxTokenLen bounds the work done on attacker-supplied input; real
	// tokens are a few hundred bytes.
	maxTokenLen = 8 << 10
)

var (
	// ErrInvalidToken is returned by Verify for every refused token; the
	// wrapped message says why. Callers that only need "accept or refuse"
	// can test for this alone.
	ErrInvalidToken = errors.New("invalid access token")

	// ErrTokenExpired is a distinct sentinel marking a token refused only
	// because it has expired, so clients can be told to refresh rather than
	// log in again. Verify returns it joined with ErrInvalidToken: an expired
	// token matches both errors.Is(err, ErrTokenExpired) and
	// errors.Is(err, ErrInvalidToken), so code checking only the latter
	// still fails closed. The sentinels themselves do not match each other.
	ErrTokenExpired = errors.New("access token expired")
)

// Tokens issues and verifies HS256 access tokens. It is safe for concurrent use.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewTokens returns a token service signing with secret. The secret must be at
// least 32 bytes. ttl is the access token lifetime (15 minutes in production);
// it is kept short because access tokens cannot be revoked.
func NewTokens(secret []byte, ttl time.Duration) (*Tokens, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("auth: token secret must be at least %d bytes, got %d", minSecretLen, len(secret))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("auth: token ttl must be positive, got %s", ttl)
	}
	// Copy so that later changes to the caller's slice cannot alter the key.
	return &Tokens{secret: append([]byte(nil), secret...), ttl: ttl, now: time.Now}, nil
}

// WithClock returns a copy of t that reads the time from now, for tests of
// expiry; t itself is unchanged.
func (t *Tokens) WithClock(now func() time.Time) *Tokens {
	c := *t
	c.now = now
	return &c
}

// claims is the token payload. Short JSON names keep tokens small, since they
// travel on every request.
type claims struct {
	jwt.RegisteredClaims
	Kind     Kind        `json:"knd"`
	Roles    []Role      `json:"rol,omitempty"`
	StoreIDs []uuid.UUID `json:"sto,omitempty"`
}

// Issue signs an access token for p and reports when it expires. It refuses
// malformed principals so that no token can carry an inconsistent identity.
func (t *Tokens) Issue(p Principal) (token string, expiresAt time.Time, err error) {
	return t.IssueFor(p, t.ttl)
}

// ScreenTokenTTL is how long a workshop screen's token lasts: screens hang on
// a wall for years; a manager revokes a token rather than waiting for it.
const ScreenTokenTTL = 2 * 365 * 24 * time.Hour

// IssueFor is Issue with a lifetime of its own, for long-lived screen tokens
// whose revocation is checked on every use.
func (t *Tokens) IssueFor(p Principal, ttl time.Duration) (token string, expiresAt time.Time, err error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("auth: token ttl must be positive, got %s", ttl)
	}
	if err := checkPrincipal(&p); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issue token: %w", err)
	}
	now := t.now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   p.ID.String(),
			Audience:  jwt.ClaimStrings{Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			// A random id makes every token unique, e.g. for audit logs.
			ID: uuid.NewString(),
		},
		Kind:     p.Kind,
		Roles:    p.Roles,
		StoreIDs: p.StoreIDs,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	// Report the expiry as encoded (whole seconds), not the unrounded time.
	return signed, c.ExpiresAt.Time, nil
}

// Verify checks token and returns the principal it carries. A token has one
// spelling: three unpadded base64url segments whose last characters carry
// no stray bits (IsCompactJWS and strict decoding), so that no other string
// passes for an issued token. Only HS256 with this service's secret is
// accepted (never "none" or another algorithm), and
// iss, aud and exp must be present and valid; iat and nbf are checked when
// present, all with 30s leeway for clock skew. Every failure matches
// ErrInvalidToken; expiry additionally matches ErrTokenExpired.
func (t *Tokens) Verify(token string) (*Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: empty or oversized token", ErrInvalidToken)
	}
	if !IsCompactJWS(token) {
		return nil, fmt.Errorf("%w: not three base64url segments", ErrInvalidToken)
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, t.key,
		jwt.WithStrictDecoding(),
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(t.now),
	)
	// An expired token is still checked in full, so that only a token whose
	// sole fault is expiry is reported as expired: a forged or foreign token
	// must not be told to "refresh".
	expired := false
	if err != nil {
		if !onlyExpired(err) {
			// %v, not %w: the jwt library's errors are not part of this API.
			return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
		}
		expired = true
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil {
		return nil, fmt.Errorf("%w: bad subject", ErrInvalidToken)
	}
	p := &Principal{Kind: c.Kind, ID: id, Roles: c.Roles, StoreIDs: c.StoreIDs}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	if err := checkPrincipal(p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if expired {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, ErrTokenExpired)
	}
	return p, nil
}

// IsCompactJWS reports whether s is spelled like a signed JWT: three
// segments of the unpadded base64url alphabet joined by dots, and nothing
// else. Go's base64 decoder skips line breaks and the jwt library accepts
// padding when told to, so without this check more than one string would
// decode to the same token.
func IsCompactJWS(s string) bool {
	dots := 0
	for i := range len(s) {
		switch c := s[i]; {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}

// otherFailures are the parse failures that, alongside expiry, mean the
// token is bad and not merely old.
var otherFailures = []error{
	jwt.ErrTokenMalformed,
	jwt.ErrTokenUnverifiable,
	jwt.ErrTokenSignatureInvalid,
	jwt.ErrTokenRequiredClaimMissing,
	jwt.ErrTokenInvalidAudience,
	jwt.ErrTokenInvalidIssuer,
	jwt.ErrTokenUsedBeforeIssued,
	jwt.ErrTokenNotValidYet,
	jwt.ErrTokenInvalidSubject,
	jwt.ErrTokenInvalidId,
	jwt.ErrInvalidType,
}

// onlyExpired reports whether a parse error says the token has expired and
// nothing else. The jwt library verifies the signature before the claims, so
// an expiry error implies a genuine signature.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, e := range otherFailures {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// key hands the HMAC secret to the parser. The method check duplicates
// WithValidMethods on purpose: an HMAC secret must never be used as, say, an
// RSA public key.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	if tok.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	return t.secret, nil
}

// checkPrincipal enforces the shape each kind must have, so that neither
// Issue nor Verify lets through, e.g., an owner carrying staff roles.
func checkPrincipal(p *Principal) error {
	if !p.Kind.Valid() {
		return fmt.Errorf("unknown principal kind %q", p.Kind)
	}
	if p.ID == uuid.Nil {
		return errors.New("nil principal id")
	}
	for _, r := range p.Roles {
		if !r.Valid() {
			return fmt.Errorf("unknown role %q", r)
		}
	}
	for _, s := range p.StoreIDs {
		if s == uuid.Nil {
			return errors.New("nil store id")
		}
	}
	switch p.Kind {
	case KindOwner:
		if len(p.Roles) > 0 || len(p.StoreIDs) > 0 {
			return errors.New("owner must not carry roles or stores")
		}
	case KindScreen:
		if len(p.Roles) > 0 || len(p.StoreIDs) != 1 {
			return errors.New("screen must carry exactly one store and no roles")
		}
	}
	return nil
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Helpers shared by the end-to-end tests (prefixed e2e): fresh phones,
// plates, VINs and addresses, a server whose sign-in clock can move, the
// sign-in requests, and checks of payloads and errors. Most test files of the
// package use them.

// Shared helpers of the end-to-end tests (signin, owner, vehicle, authz).

// Fresh phones, plates, VINs and client IPs: unique within the run, and
// offset by a random base so that other tests on the shared database are
// unlikely to pick the same ones.
var (
	e2eSeq  atomic.Int64
	e2eBase = 10_000_000 + mrand.Int64N(80_000_000)
)

func e2eNext() int64 { return e2eBase + e2eSeq.Add(1) }

// e2ePhone is a fresh mainland mobile number, E.164.
func e2ePhone() string { return fmt.Sprintf("+86139%08d", e2eNext()%100_000_000) }

// e2eIP is a fresh client address (198.18.0.0/15, which Echo does not treat
// as a trusted proxy) for X-Forwarded-For: sign-in limits count per IP.
func e2eIP() string {
	n := e2eNext()
	return fmt.Sprintf("198.%d.%d.%d", 18+(n>>16)&1, (n>>8)&255, n&255)
}

const e2ePlateLetters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

// e2ePlate is a fresh regular plate in canonical form (琼 keeps it apart
// from the demo data's 粤 plates).
func e2ePlate() string {
	n := e2eNext()
	return fmt.Sprintf("琼%c%05d", e2ePlateLetters[(n/100_000)%int64(len(e2ePlateLetters))], n%100_000)
}

const e2eVINChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

// e2eVIN is a fresh valid VIN (check digit computed).
func e2eVIN(t testing.TB) string {
	t.Helper()
	n := e2eNext()
	hi := n / 1_000_000
	raw := fmt.Sprintf("LE2%c%cTST0RZ%06d", e2eVINChars[hi%33], e2eVINChars[(hi/33)%33], n%1_000_000)
	v, err := validate.WithVINCheckDigit(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// e2eWrongCode is a well-formed code that differs from code.
func e2eWrongCode(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}

// e2eFlip changes one character in the middle of a base64url string, so
// that the decoded bytes change (the last character may carry only padding
// bits).
func e2eFlip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// e2eClaims decodes the payload of a JWT, unverified.
func e2eClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	return c, json.Unmarshal(raw, &c)
}

func e2eHasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// e2eServer is a test server that takes the client IP from X-Forwarded-For,
// so each test signs in from its own address, and whose sign-in clock can be
// moved.
type e2eServer struct {
	*testServer
	ip     string
	offset atomic.Int64 // of the sign-in clock, in nanoseconds
}

func newE2EServer(t testing.TB, tweak ...func(*Config, *Deps)) *e2eServer {
	t.Helper()
	trust := func(c *Config, _ *Deps) { c.TrustProxyHeaders = true }
	s := &e2eServer{testServer: newTestServer(t, append([]func(*Config, *Deps){trust}, tweak...)...), ip: e2eIP()}
	// Set before the first request: from then on only the offset changes.
	s.App.SignIn.Clock = func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }
	return s
}

// setClock moves the sign-in clock to now+d (d = 0: the real time).
func (s *e2eServer) setClock(d time.Duration) { s.offset.Store(int64(d)) }

// call sends a GraphQL request from the server's own client IP.
func (s *e2eServer) call(t testing.TB, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	return s.callFrom(t, s.ip, token, query, vars, nil)
}

// callFrom sends a GraphQL request from ip with extra headers.
func (s *e2eServer) callFrom(t testing.TB, ip, token, query string, vars map[string]any, headers map[string]string) *gqlResponse {
	t.Helper()
	h := map[string]string{"X-Forwarded-For": ip}
	for k, v := range headers {
		h[k] = v
	}
	return s.do(t, req{Query: query, Vars: vars, Token: token, Headers: h})
}

const (
	e2eRequestCodeDoc = `mutation($phone: String!) { requestLoginCode(input: {phone: $phone}) {
		sent retryAfterSeconds userErrors { code field message } } }`
	e2eVerifyDoc = `mutation($phone: String!, $code: String!, $ticket: String) {
		verifyLoginCode(input: {phone: $phone, code: $code, weChatBindingTicket: $ticket}) {
			session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
			owner { id phone name weChatBound }
			userErrors { code field message } } }`
	e2eRefreshDoc = `mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
		session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
		owner { id phone } staff { id username roles stores { code } }
		userErrors { code field message } } }`
	e2eLogoutDoc     = `mutation($t: String!) { logout(input: {refreshToken: $t}) { ok userErrors { code field message } } }`
	e2eStaffLoginDoc = `mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
		session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
		staff { id username roles stores { code } } owner { id }
		userErrors { code field message } } }`
	e2eWeChatDoc = `mutation($c: String!) { loginWithWeChat(input: {code: $c}) {
		session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
		owner { id phone weChatBound } bindingTicket
		userErrors { code field message } } }`
	e2eMeDoc = `{ me { id phone name weChatBound vehicles { totalCount edges { node { id vin plate } } } } }`
)

// e2eAliasedVerifyDoc is one document with n aliased verifyLoginCode
// attempts a0..a(n-1).
func e2eAliasedVerifyDoc(n int) string {
	var b strings.Builder
	b.WriteString("mutation($phone: String!, $code: String!) {")
	for i := range n {
		fmt.Fprintf(&b, " a%d: verifyLoginCode(input: {phone: $phone, code: $code}) { userErrors { code field message } }", i)
	}
	b.WriteString(" }")
	return b.String()
}

// e2ePayload returns data[field] of a response that must have no GraphQL
// errors.
func e2ePayload(t testing.TB, r *gqlResponse, field string) map[string]any {
	t.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("%s: unexpected errors (%d): %s", field, r.Status, r.Raw)
	}
	p, ok := r.Data[field].(map[string]any)
	if !ok {
		t.Fatalf("%s: no payload in %s", field, r.Raw)
	}
	return p
}

// requestCodeAs asks for a code for phone as typed and returns the payload.
func (s *e2eServer) requestCodeAs(t testing.TB, phone string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone}), "requestLoginCode")
}

// requestCode asks for a code for an E.164 phone, which must be sent.
func (s *e2eServer) requestCode(t testing.TB, phone string) map[string]any {
	t.Helper()
	p := s.requestCodeAs(t, phone)
	if dig(p, "sent") != true || len(userErrorCodes(p)) != 0 {
		t.Fatalf("requestLoginCode(%s): %v", phone, p)
	}
	return p
}

// requestCodeSMS asks for a code and returns the one the phone received.
func (s *e2eServer) requestCodeSMS(t testing.TB, phone string) string {
	t.Helper()
	before := s.SMS.Count(phone)
	s.requestCode(t, phone)
	code, ok := s.SMS.Last(phone)
	if !ok || s.SMS.Count(phone) != before+1 {
		t.Fatalf("no SMS reached %s", phone)
	}
	return code
}

func (s *e2eServer) verify(t testing.TB, phone, code string, ticket *string) map[string]any {
	t.Helper()
	vars := map[string]any{"phone": phone, "code": code}
	if ticket != nil {
		vars["ticket"] = *ticket
	}
	return e2ePayload(t, s.call(t, "", e2eVerifyDoc, vars), "verifyLoginCode")
}

func (s *e2eServer) refresh(t testing.TB, token string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", e2eRefreshDoc, map[string]any{"t": token}), "refreshSession")
}

func (s *e2eServer) logout(t testing.TB, token string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", e2eLogoutDoc, map[string]any{"t": token}), "logout")
}

func (s *e2eServer) staffLogin(t testing.TB, username, password string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", e2eStaffLoginDoc, map[string]any{"u": username, "p": password}), "staffLogin")
}

func (s *e2eServer) weChat(t testing.TB, code string) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", e2eWeChatDoc, map[string]any{"c": code}), "loginWithWeChat")
}

// e2eSession is a signed-in session as the client holds it.
type e2eSession struct {
	Access, Refresh string
	OwnerID         string // global id, when an owner signed in
}

// e2eSessionOf reads the session of a sign-in payload, which must have one
// and no userErrors.
func e2eSessionOf(t testing.TB, p map[string]any) e2eSession {
	t.Helper()
	access, _ := dig(p, "session", "accessToken").(string)
	refresh, _ := dig(p, "session", "refreshToken").(string)
	if access == "" || refresh == "" || len(userErrorCodes(p)) != 0 {
		t.Fatalf("want a session, got %v", p)
	}
	for _, f := range []string{"accessTokenExpiresAt", "refreshTokenExpiresAt"} {
		if ts, _ := dig(p, "session", f).(string); ts != "" {
			at, err := time.Parse(time.RFC3339, ts)
			if err != nil || !at.After(time.Now().Add(-time.Minute)) {
				t.Fatalf("session %s = %q", f, ts)
			}
		}
	}
	id, _ := dig(p, "owner", "id").(string)
	return e2eSession{Access: access, Refresh: refresh, OwnerID: id}
}

// signInWith verifies a code and returns the session.
func (s *e2eServer) signInWith(t testing.TB, phone, code string) e2eSession {
	t.Helper()
	return e2eSessionOf(t, s.verify(t, phone, code, nil))
}

// signIn signs an owner in by SMS, creating them on first sign-in.
func (s *e2eServer) signIn(t testing.TB, phone string) e2eSession {
	t.Helper()
	return s.signInWith(t, phone, s.requestCodeSMS(t, phone))
}

// e2eWantUserError checks a payload has exactly one userError with code and
// the input path field (none when field is empty).
func e2eWantUserError(t testing.TB, payload any, code string, field ...string) {
	t.Helper()
	expectUserError(t, payload, code)
	got := e2eStrings(dig(payload, "userErrors", 0, "field"))
	if len(field) == 0 {
		if got != nil {
			t.Fatalf("userError %s: field %v, want none", code, got)
		}
		return
	}
	if !slices.Equal(got, field) {
		t.Fatalf("userError %s: field %v, want %v", code, got, field)
	}
	if m, _ := dig(payload, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("userError %s without a message", code)
	}
}

// e2eWantGQLError checks a response carries a GraphQL error with code (and
// a message), answered with HTTP 200 as resolver errors are.
func e2eWantGQLError(t testing.TB, r *gqlResponse, code string) {
	t.Helper()
	if r.Status != http.StatusOK || r.Code() != code || r.Errors[0].Message == "" {
		t.Fatalf("want GraphQL error %s, got (%d) %s", code, r.Status, r.Raw)
	}
}

// e2eStrings turns a JSON list of strings (or of objects, taking key) into
// a Go slice; nil when v is not a list.
func e2eStrings(v any, key ...string) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		if len(key) > 0 {
			x = dig(x, key[0])
		}
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// e2eCount counts rows of model matching where.
func e2eCount(t testing.TB, s *testServer, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Conn(context.Background()).Model(model).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// e2eOTPFailures counts the wrong codes recorded against phone.
func e2eOTPFailures(t testing.TB, s *testServer, phone string) int64 {
	t.Helper()
	return e2eCount(t, s, &models.AuthFailure{}, "kind = 'OTP' AND subject = ?", phone)
}

// e2eConcurrently runs fn n times at once, released together, and returns
// the results in order.
func e2eConcurrently(n int, fn func(i int) *gqlResponse) []*gqlResponse {
	out := make([]*gqlResponse, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range out {
		if r == nil { // fn failed the test from its goroutine
			out[i] = &gqlResponse{Raw: "(no response)"}
		}
	}
	return out
}

// e2eStoreID reads a demo store's key by its code.
func e2eStoreID(t testing.TB, s *testServer, code string) uuid.UUID {
	t.Helper()
	var st models.Store
	if err := s.DB.Conn(context.Background()).Where("code = ?", code).Take(&st).Error; err != nil {
		t.Fatalf("store %s: %v", code, err)
	}
	return st.ID
}

// e2eHashes caches password hashes: bcrypt is slow by design (very slow
// under -race), and the staff members these tests add share passwords.
var e2eHashes sync.Map

// e2eInsertStaff adds an active or inactive staff member with a password,
// roles and stores, and returns the username.
func e2eInsertStaff(t testing.TB, s *testServer, password string, active bool, stores []string, roles ...string) string {
	t.Helper()
	h, ok := e2eHashes.Load(password)
	if !ok {
		fresh, err := auth.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		h, _ = e2eHashes.LoadOrStore(password, fresh)
	}
	hash := h.(string)
	st := &models.Staff{ID: models.NewID(), Username: fmt.Sprintf("e2e.%d", e2eNext()), Name: "测试员工", PasswordHash: hash, Active: active}
	for _, r := range roles {
		st.Roles = append(st.Roles, models.StaffRole{StaffID: st.ID, Role: r})
	}
	for _, code := range stores {
		st.Stores = append(st.Stores, models.StaffStore{StaffID: st.ID, StoreID: e2eStoreID(t, s, code)})
	}
	if err := s.DB.Conn(context.Background()).Create(st).Error; err != nil {
		t.Fatal(err)
	}
	return st.Username
}

// e2eStaffToken signs an access token for a staff member as staffLogin
// would (roles and stores from the database), for tests that are not about
// signing in: it spares them a deliberately slow password check.
func e2eStaffToken(t testing.TB, s *testServer, username string) string {
	t.Helper()
	var st models.Staff
	if err := s.DB.Conn(context.Background()).Preload("Roles").Preload("Stores").Where("username = ?", username).Take(&st).Error; err != nil {
		t.Fatalf("staff %s: %v", username, err)
	}
	p := auth.Principal{Kind: auth.KindStaff, ID: st.ID}
	for _, r := range st.Roles {
		p.Roles = append(p.Roles, auth.Role(r.Role))
	}
	for _, ss := range st.Stores {
		p.StoreIDs = append(p.StoreIDs, ss.StoreID)
	}
	tok, _, err := s.App.Tokens.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

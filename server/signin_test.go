package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/validate"
)

// End-to-end tests of signing in: owners by phone and SMS code (and WeChat),
// staff by password, refresh rotation and logout. Every step is a real
// GraphQL request to the real app on the shared database; only the SMS
// gateway and WeChat are fakes.
//
// The helpers at the end of this file (prefixed e2e) are shared by
// owner_test.go, vehicle_test.go and authz_test.go.

// ---------------------------------------------------------------------------
// Owner sign-in by phone

func TestSignInOwnerByPhone(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()

	// First sign-in two minutes "ago", so that a second code may be asked for
	// now without waiting out the resend interval.
	s.setClock(-2 * time.Minute)
	p := s.requestCode(t, phone)
	if dig(p, "sent") != true || dig(p, "retryAfterSeconds") != float64(60) {
		t.Fatalf("requestLoginCode = %v; want sent with retryAfterSeconds 60", p)
	}
	if n := s.SMS.Count(phone); n != 1 {
		t.Fatalf("%d SMS sent, want 1", n)
	}
	code, _ := s.SMS.Last(phone)
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 0 {
		t.Fatalf("requesting a code created %d owners", n)
	}
	// The code is stored only as a hash.
	var lc models.LoginCode
	if err := s.DB.Conn(context.Background()).Where("phone = ?", phone).Take(&lc).Error; err != nil {
		t.Fatal(err)
	}
	if lc.CodeHash == "" || strings.Contains(lc.CodeHash, code) {
		t.Fatalf("login code stored as %q for code %s", lc.CodeHash, code)
	}

	v := s.verify(t, phone, code, nil)
	first := e2eSessionOf(t, v)
	// Access tokens last 15 minutes, refresh tokens 30 days (from the
	// sign-in clock, two minutes back).
	signedAt := time.Now().Add(-2 * time.Minute)
	for f, ttl := range map[string]time.Duration{"accessTokenExpiresAt": 15 * time.Minute, "refreshTokenExpiresAt": 30 * 24 * time.Hour} {
		if at := e2eTime(t, dig(v, "session", f)); at.Sub(signedAt) < ttl-time.Minute || at.Sub(signedAt) > ttl+time.Minute {
			t.Fatalf("%s = %v, want about %v after %v", f, at, ttl, signedAt)
		}
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 1 {
		t.Fatalf("first sign-in: %d owners with the phone, want 1", n)
	}
	me := s.call(t, first.Access, e2eMeDoc, nil)
	if len(me.Errors) > 0 || dig(me.Data, "me", "phone") != phone || dig(me.Data, "me", "id") != first.OwnerID {
		t.Fatalf("me with the new session: %s", me.Raw)
	}

	// Second sign-in, now: the same owner, not a new one.
	s.setClock(0)
	code2 := s.requestCodeSMS(t, phone)
	second := s.signInWith(t, phone, code2)
	if second.OwnerID != first.OwnerID {
		t.Fatalf("second sign-in is owner %s, first was %s", second.OwnerID, first.OwnerID)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 1 {
		t.Fatalf("after two sign-ins: %d owners with the phone, want 1", n)
	}
	// A consumed code does not sign in twice.
	again := s.verify(t, phone, code2, nil)
	e2eWantUserError(t, again, "INVALID_CODE", "input", "code")
}

// The demo number has a fixed code (OTP_TEST_NUMBERS) and gets no SMS; it
// also takes the phone forms people type.
func TestSignInTestNumberSendsNoSMS(t *testing.T) {
	s := newE2EServer(t)
	// The demo number is shared by every test and run (-count=N) on this
	// database: leave no code behind whose resend interval would refuse the
	// next one.
	t.Cleanup(func() {
		err := s.DB.Conn(context.Background()).Where("phone = ? AND ip = ?", demo.DemoOwnerPhone, s.ip).Delete(&models.LoginCode{}).Error
		if err != nil {
			t.Error(err)
		}
	})
	p := s.requestCodeAs(t, "13800000001")
	if dig(p, "sent") != true {
		t.Fatalf("requestLoginCode for the test number: %v", p)
	}
	if n := s.SMS.Count(demo.DemoOwnerPhone); n != 0 {
		t.Fatalf("%d SMS sent to the test number, want none", n)
	}
	v := s.verify(t, "+86 138 0000 0001", demo.DemoOTPCode, nil)
	e2eSessionOf(t, v)
	seeded := s.ownerByPhone(t, demo.DemoOwnerPhone)
	me := s.gql(t, s.ownerToken(t, seeded.ID), `{ me { id name } }`, nil)
	if dig(v, "owner", "phone") != demo.DemoOwnerPhone || dig(v, "owner", "name") != seeded.Name ||
		dig(v, "owner", "id") != dig(me, "me", "id") {
		t.Fatalf("signed in as %v, want the demo owner %v", dig(v, "owner"), me)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", demo.DemoOwnerPhone); n != 1 {
		t.Fatalf("%d owners with the demo phone, want 1", n)
	}
}

func TestSignInPhoneFormats(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	national := strings.TrimPrefix(phone, "+86") // 139xxxxxxxx
	spaced := "+86 " + national[:3] + " " + national[3:7] + " " + national[7:]

	p := s.requestCodeAs(t, national)
	if dig(p, "sent") != true || s.SMS.Count(phone) != 1 {
		t.Fatalf("requestLoginCode(%q): %v; SMS to %s: %d", national, p, phone, s.SMS.Count(phone))
	}
	code, _ := s.SMS.Last(phone)
	v := s.verify(t, spaced, code, nil)
	e2eSessionOf(t, v)
	if dig(v, "owner", "phone") != phone {
		t.Fatalf("owner phone %v, want %s (E.164)", dig(v, "owner", "phone"), phone)
	}
}

func TestSignInInvalidPhone(t *testing.T) {
	s := newE2EServer(t)
	for _, phone := range []string{"12345", "+852 9123 4567", "010-6552 9988", "1380000000x", ""} {
		r := s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone})
		p := e2ePayload(t, r, "requestLoginCode")
		e2eWantUserError(t, p, "INVALID_PHONE", "input", "phone")
		if dig(p, "sent") != false {
			t.Fatalf("%q: sent = %v", phone, dig(p, "sent"))
		}
		v := s.verify(t, phone, "123456", nil)
		e2eWantUserError(t, v, "INVALID_PHONE", "input", "phone")
		if dig(v, "session") != nil {
			t.Fatalf("%q: session for an invalid phone", phone)
		}
	}
}

func TestSignInWrongCode(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)

	v := s.verify(t, phone, e2eWrongCode(code), nil)
	e2eWantUserError(t, v, "INVALID_CODE", "input", "code")
	if dig(v, "session") != nil || dig(v, "owner") != nil {
		t.Fatalf("wrong code signed in: %v", v)
	}
	if n := e2eOTPFailures(t, s.testServer, phone); n != 1 {
		t.Fatalf("%d failures recorded, want 1", n)
	}
	// A malformed code cannot be right and costs no try.
	v = s.verify(t, phone, "12ab56", nil)
	e2eWantUserError(t, v, "INVALID_CODE", "input", "code")
	if n := e2eOTPFailures(t, s.testServer, phone); n != 1 {
		t.Fatalf("%d failures recorded after a malformed code, want 1", n)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 0 {
		t.Fatalf("wrong codes created %d owners", n)
	}
	// One wrong try does not kill the code.
	e2eSessionOf(t, s.verify(t, phone, code, nil))
}

func TestSignInCodeExpired(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	s.setClock(-(5*time.Minute + 5*time.Second)) // the code is sent 5 min 5 s ago
	code := s.requestCodeSMS(t, phone)
	s.setClock(0)
	v := s.verify(t, phone, code, nil)
	e2eWantUserError(t, v, "CODE_EXPIRED", "input", "code")
	if dig(v, "session") != nil {
		t.Fatal("expired code signed in")
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 0 {
		t.Fatalf("expired code created %d owners", n)
	}
}

func TestSignInFiveWrongTriesKillTheCode(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	s.setClock(-2 * time.Minute)
	code := s.requestCodeSMS(t, phone)
	for range 5 {
		v := s.verify(t, phone, e2eWrongCode(code), nil)
		e2eWantUserError(t, v, "INVALID_CODE", "input", "code")
	}
	v := s.verify(t, phone, code, nil)
	e2eWantUserError(t, v, "TOO_MANY_ATTEMPTS", "input", "code")
	if dig(v, "session") != nil {
		t.Fatal("a dead code signed in")
	}
	// A new code is a new set of tries.
	s.setClock(0)
	code2 := s.requestCodeSMS(t, phone)
	e2eSessionOf(t, s.verify(t, phone, code2, nil))
}

func TestSignInResendWithinAMinuteRateLimited(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	s.requestCodeSMS(t, phone)
	r := s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	secs, ok := r.Errors[0].Extensions["retryAfterSeconds"].(float64)
	if !ok || secs < 1 || secs > 60 {
		t.Fatalf("retryAfterSeconds = %v, want 1..60: %s", r.Errors[0].Extensions["retryAfterSeconds"], r.Raw)
	}
	if n := s.SMS.Count(phone); n != 1 {
		t.Fatalf("%d SMS sent, want 1", n)
	}
	if n := e2eCount(t, s.testServer, &models.LoginCode{}, "phone = ?", phone); n != 1 {
		t.Fatalf("%d login codes stored, want 1", n)
	}
}

// A code the SMS gateway failed to deliver is an internal error that leaks
// nothing, and is forgotten: it counts against no limit.
func TestSignInSMSGatewayDown(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	s.SMS.FailWith(errors.New("gateway 10.0.0.7:8443: connection refused"))
	r := s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone})
	e2eWantGQLError(t, r, "INTERNAL")
	if strings.Contains(r.Raw, "10.0.0.7") || strings.Contains(r.Raw, "refused") {
		t.Fatalf("internal error leaks its cause: %s", r.Raw)
	}
	if n := e2eCount(t, s.testServer, &models.LoginCode{}, "phone = ?", phone); n != 0 {
		t.Fatalf("%d undelivered codes kept", n)
	}
	s.SMS.FailWith(nil)
	code := s.requestCodeSMS(t, phone) // at once: no resend interval to wait out
	e2eSessionOf(t, s.verify(t, phone, code, nil))
}

// Codes are limited to 10 a day per phone and 100 an hour per IP (generous:
// one address may stand for a whole carrier's NAT).
func TestSignInCodeLimitsPerPhoneAndIP(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	for i := range 10 { // 2 minutes apart, so the resend interval never applies
		s.setClock(-time.Duration(10-i) * 2 * time.Minute)
		s.ip = e2eIP()
		s.requestCodeSMS(t, phone)
	}
	s.setClock(0)
	s.ip = e2eIP()
	r := s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	if secs, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); secs < 23*3600 || secs > 24*3600 {
		t.Fatalf("11th code of the day: retryAfterSeconds %v, want about a day", r.Errors[0].Extensions["retryAfterSeconds"])
	}
	if n := s.SMS.Count(phone); n != 10 {
		t.Fatalf("%d codes sent to the phone, want 10", n)
	}

	s.ip = e2eIP()
	for range 100 {
		s.requestCodeSMS(t, e2ePhone())
	}
	other := e2ePhone()
	r = s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": other})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	if secs, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); secs < 1 || secs > 3600 {
		t.Fatalf("101st code from the IP: retryAfterSeconds %v", r.Errors[0].Extensions["retryAfterSeconds"])
	}
	if s.SMS.Count(other) != 0 {
		t.Fatal("a code was sent past the IP limit")
	}
	// Another IP may still ask for that phone.
	s.ip = e2eIP()
	s.requestCodeSMS(t, other)
}

// 200 wrong codes from one IP within an hour stop phone sign-in from that
// IP (for every phone), not from others.
func TestSignInWrongCodesPerIPLimited(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)
	now := time.Now().UTC()
	rows := make([]models.AuthFailure, 199)
	for i := range rows {
		rows[i] = models.AuthFailure{ID: models.NewID(), Kind: "OTP", Subject: e2ePhone(), IP: s.ip,
			CreatedAt: now.Add(-time.Duration(10+i) * time.Second).Truncate(time.Microsecond)}
	}
	if err := s.DB.Conn(context.Background()).CreateInBatches(&rows, 100).Error; err != nil {
		t.Fatal(err)
	}
	e2eWantUserError(t, s.verify(t, phone, e2eWrongCode(code), nil), "INVALID_CODE", "input", "code") // the 200th

	r := s.call(t, "", e2eVerifyDoc, map[string]any{"phone": phone, "code": code})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	if _, ok := r.Errors[0].Extensions["retryAfterSeconds"].(float64); !ok {
		t.Fatalf("no retryAfterSeconds: %s", r.Raw)
	}
	r = s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": e2ePhone()})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	// The phone itself is not locked: from another IP its code works.
	s.ip = e2eIP()
	e2eSessionOf(t, s.verify(t, phone, code, nil))
}

// Every aliased attempt in one document counts against the code's 5 tries.
func TestSignInAliasedAttemptsAllCount(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)
	wrong := e2eWrongCode(code)

	r := s.call(t, "", e2eAliasedVerifyDoc(4), map[string]any{"phone": phone, "code": wrong})
	if len(r.Errors) > 0 {
		t.Fatalf("4 aliased attempts: %s", r.Raw)
	}
	for i := range 4 {
		e2eWantUserError(t, r.Data[fmt.Sprintf("a%d", i)], "INVALID_CODE", "input", "code")
	}
	if n := e2eOTPFailures(t, s.testServer, phone); n != 4 {
		t.Fatalf("%d failures recorded for 4 aliased attempts", n)
	}
	v := s.verify(t, phone, wrong, nil) // the 5th wrong try
	e2eWantUserError(t, v, "INVALID_CODE", "input", "code")
	v = s.verify(t, phone, code, nil)
	e2eWantUserError(t, v, "TOO_MANY_ATTEMPTS", "input", "code")
}

// A document carrying many sign-in attempts is refused as a whole by the
// complexity limit before any attempt runs.
func TestSignInAliasFloodRefusedBeforeAnyAttempt(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)

	r := s.call(t, "", e2eAliasedVerifyDoc(10), map[string]any{"phone": phone, "code": e2eWrongCode(code)})
	if len(r.Data) != 0 || r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("10 aliased sign-ins: want COMPLEXITY_LIMIT_EXCEEDED and no data, got (%d) %s", r.Status, r.Raw)
	}
	if n := e2eOTPFailures(t, s.testServer, phone); n != 0 {
		t.Fatalf("%d attempts were counted from a refused document", n)
	}
	// Same for requestLoginCode under aliases: nothing sent.
	var b strings.Builder
	b.WriteString("mutation($phone: String!) {")
	for i := range 10 {
		fmt.Fprintf(&b, " r%d: requestLoginCode(input: {phone: $phone}) { sent }", i)
	}
	b.WriteString(" }")
	r = s.call(t, "", b.String(), map[string]any{"phone": e2ePhone()})
	if r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" || len(r.Data) != 0 {
		t.Fatalf("10 aliased code requests: (%d) %s", r.Status, r.Raw)
	}
	// The code is untouched: the right one still signs in.
	e2eSessionOf(t, s.verify(t, phone, code, nil))
}

// Of 20 concurrent sign-ins with the same right code exactly one wins.
func TestSignInConcurrentSameCodeOneSession(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)

	const n = 20
	results := e2eConcurrently(n, func(int) *gqlResponse {
		return s.call(t, "", e2eVerifyDoc, map[string]any{"phone": phone, "code": code})
	})
	sessions, refused := 0, 0
	for _, r := range results {
		if len(r.Errors) > 0 {
			t.Fatalf("concurrent verify: %s", r.Raw)
		}
		p := dig(r.Data, "verifyLoginCode")
		if dig(p, "session", "accessToken") != nil {
			sessions++
			continue
		}
		if codes := userErrorCodes(p); len(codes) == 1 && codes[0] == "INVALID_CODE" {
			refused++
		} else {
			t.Fatalf("unexpected result %v", p)
		}
	}
	if sessions != 1 || refused != n-1 {
		t.Fatalf("%d sessions and %d INVALID_CODE; want 1 and %d", sessions, refused, n-1)
	}
	o := s.ownerByPhone(t, phone)
	if c := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); c != 1 {
		t.Fatalf("%d owners, want 1", c)
	}
	if c := e2eCount(t, s.testServer, &models.RefreshToken{}, "subject_id = ?", o.ID); c != 1 {
		t.Fatalf("%d refresh tokens issued, want 1", c)
	}
}

// Of concurrent code requests for one phone exactly one sends a code: the
// resend interval holds under concurrency.
func TestSignInConcurrentCodeRequestsSendOne(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	const n = 10
	results := e2eConcurrently(n, func(int) *gqlResponse {
		return s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": phone})
	})
	sent, limited := 0, 0
	for _, r := range results {
		switch {
		case len(r.Errors) == 0 && dig(r.Data, "requestLoginCode", "sent") == true:
			sent++
		case r.Code() == "RATE_LIMITED":
			limited++
		default:
			t.Fatalf("unexpected answer: %s", r.Raw)
		}
	}
	codes := e2eCount(t, s.testServer, &models.LoginCode{}, "phone = ?", phone)
	if sent != 1 || limited != n-1 || s.SMS.Count(phone) != 1 || codes != 1 {
		t.Fatalf("%d sent, %d RATE_LIMITED, %d SMS, %d codes stored; want 1, %d, 1, 1",
			sent, limited, s.SMS.Count(phone), codes, n-1)
	}
}

// ---------------------------------------------------------------------------
// Refresh tokens and logout

func TestRefreshSessionRotatesAndReuseRevokesFamily(t *testing.T) {
	s := newE2EServer(t)
	first := s.signIn(t, e2ePhone())

	// T1 -> T2 -> T3: each refresh hands out a new token.
	p2 := s.refresh(t, first.Refresh)
	second := e2eSessionOf(t, p2)
	if second.Refresh == first.Refresh || second.Access == first.Access {
		t.Fatal("refresh returned the same tokens")
	}
	if dig(p2, "owner", "id") != first.OwnerID {
		t.Fatalf("refreshed session is for %v, want owner %s", dig(p2, "owner", "id"), first.OwnerID)
	}
	if me := s.call(t, second.Access, `{ me { id } }`, nil); dig(me.Data, "me", "id") != first.OwnerID {
		t.Fatalf("me with the refreshed access token: %s", me.Raw)
	}
	third := e2eSessionOf(t, s.refresh(t, second.Refresh))

	// T1 again: it was rotated, so it was copied. The whole family dies.
	e2eWantUserError(t, s.refresh(t, first.Refresh), "REFRESH_TOKEN_REUSED", "input", "refreshToken")
	e2eWantUserError(t, s.refresh(t, third.Refresh), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
	e2eWantUserError(t, s.refresh(t, second.Refresh), "REFRESH_TOKEN_REUSED", "input", "refreshToken")

	ownerID := s.ownerByPhone(t, dig(p2, "owner", "phone").(string)).ID
	if n := e2eCount(t, s.testServer, &models.RefreshToken{}, "subject_id = ? AND revoked_at IS NULL", ownerID); n != 0 {
		t.Fatalf("%d refresh tokens of the family still live", n)
	}
}

func TestRefreshSessionUnknownToken(t *testing.T) {
	s := newE2EServer(t)
	for _, tok := range []string{"not-a-token", "", strings.Repeat("A", 43), strings.Repeat("x", 5000)} {
		e2eWantUserError(t, s.refresh(t, tok), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
	}
}

func TestRefreshSessionExpiresAfter30Days(t *testing.T) {
	s := newE2EServer(t)
	sess := s.signIn(t, e2ePhone())
	s.setClock(30*24*time.Hour + time.Minute)
	e2eWantUserError(t, s.refresh(t, sess.Refresh), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
	s.setClock(0)
	// Each rotation starts a new period: a token refreshed on day 29 lives on.
	sess = s.signIn(t, e2ePhone())
	s.setClock(29 * 24 * time.Hour)
	next := e2eSessionOf(t, s.refresh(t, sess.Refresh))
	s.setClock(58 * 24 * time.Hour)
	e2eSessionOf(t, s.refresh(t, next.Refresh))
}

func TestLogoutRevokesSession(t *testing.T) {
	s := newE2EServer(t)
	first := s.signIn(t, e2ePhone())
	second := e2eSessionOf(t, s.refresh(t, first.Refresh))

	out := s.logout(t, second.Refresh)
	if dig(out, "ok") != true || len(userErrorCodes(out)) != 0 {
		t.Fatalf("logout: %v", out)
	}
	e2eWantUserError(t, s.refresh(t, second.Refresh), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
	// Logging out twice, or with a token never issued, is still logging out.
	for _, tok := range []string{second.Refresh, "never-issued"} {
		if out := s.logout(t, tok); dig(out, "ok") != true {
			t.Fatalf("logout(%q) again: %v", tok, out)
		}
	}
	// Logging out with an older token of the session ends the newest too.
	first = s.signIn(t, e2ePhone())
	second = e2eSessionOf(t, s.refresh(t, first.Refresh))
	if out := s.logout(t, first.Refresh); dig(out, "ok") != true {
		t.Fatalf("logout with a rotated token: %v", out)
	}
	e2eWantUserError(t, s.refresh(t, second.Refresh), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
}

func TestRefreshSessionStaffKeepsRoles(t *testing.T) {
	s := newE2EServer(t)
	login := s.staffLogin(t, "advisor.sz01", demo.DefaultPassword)
	sess := e2eSessionOf(t, login)

	p := s.refresh(t, sess.Refresh)
	next := e2eSessionOf(t, p)
	if dig(p, "owner") != nil || dig(p, "staff", "username") != "advisor.sz01" {
		t.Fatalf("refreshed staff session: %v", p)
	}
	if roles := e2eStrings(dig(p, "staff", "roles")); !slices.Equal(roles, []string{"ADVISOR"}) {
		t.Fatalf("roles after refresh %v, want [ADVISOR]", roles)
	}
	if stores := e2eStrings(dig(p, "staff", "stores"), "code"); !slices.Equal(stores, []string{"SZ01"}) {
		t.Fatalf("stores after refresh %v, want [SZ01]", stores)
	}
	// The new access token carries the roles: an ADVISOR-only field works.
	r := s.call(t, next.Access, `{ staffMe { username roles stores { code } } }`, nil)
	if len(r.Errors) > 0 || !slices.Equal(e2eStrings(dig(r.Data, "staffMe", "roles")), []string{"ADVISOR"}) {
		t.Fatalf("staffMe with the refreshed token: %s", r.Raw)
	}
	reg := e2eRegistration(t)
	r = s.call(t, next.Access, e2eRegisterDoc, map[string]any{"in": reg})
	if got := e2ePayload(t, r, "registerVehicle"); len(userErrorCodes(got)) != 0 || dig(got, "vehicle", "sellingStore", "code") != "SZ01" {
		t.Fatalf("registerVehicle with the refreshed staff token: %s", r.Raw)
	}
}

// A refresh reloads the staff member: new roles and stores reach the new
// token, and a deactivated account can no longer refresh.
func TestRefreshSessionStaffReloaded(t *testing.T) {
	s := newE2EServer(t)
	const password = "correct horse battery"
	username := e2eInsertStaff(t, s.testServer, password, true, []string{"SZ01"}, "ADVISOR")
	sess := e2eSessionOf(t, s.staffLogin(t, username, password))

	var st models.Staff
	conn := s.DB.Conn(context.Background())
	if err := conn.Where("username = ?", username).Take(&st).Error; err != nil {
		t.Fatal(err)
	}
	if err := conn.Create(&models.StaffRole{StaffID: st.ID, Role: "MANAGER"}).Error; err != nil {
		t.Fatal(err)
	}
	if err := conn.Create(&models.StaffStore{StaffID: st.ID, StoreID: e2eStoreID(t, s.testServer, "GZ01")}).Error; err != nil {
		t.Fatal(err)
	}
	p := s.refresh(t, sess.Refresh)
	next := e2eSessionOf(t, p)
	stores := e2eStrings(dig(p, "staff", "stores"), "code")
	slices.Sort(stores)
	if roles := e2eStrings(dig(p, "staff", "roles")); !slices.Equal(roles, []string{"ADVISOR", "MANAGER"}) || !slices.Equal(stores, []string{"GZ01", "SZ01"}) {
		t.Fatalf("after refresh: roles %v, stores %v", roles, stores)
	}
	// The new token acts at GZ01 now.
	in := e2eRegistration(t)
	in["sellingStoreId"] = e2eStoreNodeID(t, s.testServer, "GZ01")
	e2eRegister(t, s.testServer, next.Access, in)

	if err := conn.Model(&models.Staff{}).Where("id = ?", st.ID).Update("active", false).Error; err != nil {
		t.Fatal(err)
	}
	e2eWantUserError(t, s.refresh(t, next.Refresh), "INVALID_REFRESH_TOKEN", "input", "refreshToken")
	if n := e2eCount(t, s.testServer, &models.RefreshToken{}, "subject_id = ? AND revoked_at IS NULL", st.ID); n != 0 {
		t.Fatalf("%d refresh tokens of the deactivated staff member still live", n)
	}
}

// Of 20 concurrent refreshes of one token exactly one gets a session; to
// the others it is reuse.
func TestRefreshSessionConcurrentOneWins(t *testing.T) {
	s := newE2EServer(t)
	sess := s.signIn(t, e2ePhone())
	const n = 20
	results := e2eConcurrently(n, func(int) *gqlResponse {
		return s.call(t, "", e2eRefreshDoc, map[string]any{"t": sess.Refresh})
	})
	won, reused := 0, 0
	for _, r := range results {
		p := e2ePayload(t, r, "refreshSession")
		if dig(p, "session", "refreshToken") != nil {
			won++
			continue
		}
		if codes := userErrorCodes(p); len(codes) == 1 && codes[0] == "REFRESH_TOKEN_REUSED" {
			reused++
		} else {
			t.Fatalf("unexpected result %v", p)
		}
	}
	if won != 1 || reused != n-1 {
		t.Fatalf("%d sessions and %d REFRESH_TOKEN_REUSED; want 1 and %d", won, reused, n-1)
	}
}

// ---------------------------------------------------------------------------
// Staff sign-in

func TestStaffLoginPasswords(t *testing.T) {
	s := newE2EServer(t)
	const password = "correct horse battery"
	username := e2eInsertStaff(t, s.testServer, password, true, []string{"SZ01"}, "ADVISOR", "FOREMAN")

	p := s.staffLogin(t, username, password)
	sess := e2eSessionOf(t, p)
	if dig(p, "staff", "username") != username || dig(p, "owner") != nil {
		t.Fatalf("staffLogin payload: %v", p)
	}
	if roles := e2eStrings(dig(p, "staff", "roles")); !slices.Equal(roles, []string{"ADVISOR", "FOREMAN"}) {
		t.Fatalf("roles %v", roles)
	}
	if r := s.call(t, sess.Access, `{ staffMe { username } }`, nil); dig(r.Data, "staffMe", "username") != username {
		t.Fatalf("staffMe: %s", r.Raw)
	}
	// The access token carries the roles and store ids.
	claims, err := e2eClaims(sess.Access)
	if err != nil {
		t.Fatal(err)
	}
	if claims["knd"] != "STAFF" || !slices.Equal(e2eStrings(claims["rol"]), []string{"ADVISOR", "FOREMAN"}) ||
		!slices.Equal(e2eStrings(claims["sto"]), []string{e2eStoreID(t, s.testServer, "SZ01").String()}) {
		t.Fatalf("staff token claims %v", claims)
	}
	// Surrounding blanks in the username are forgiven.
	e2eSessionOf(t, s.staffLogin(t, "  "+username+" ", password))

	wrong := s.staffLogin(t, username, password+"!")
	e2eWantUserError(t, wrong, "INVALID_CREDENTIALS")
	unknown := s.staffLogin(t, "nobody."+uuid.NewString()[:8], password)
	e2eWantUserError(t, unknown, "INVALID_CREDENTIALS")
	if dig(wrong, "session") != nil || dig(unknown, "session") != nil {
		t.Fatal("a refused staff login returned a session")
	}
	// The answer does not tell an unknown user from a wrong password.
	if dig(wrong, "userErrors", 0, "message") != dig(unknown, "userErrors", 0, "message") {
		t.Fatalf("messages differ: %v vs %v", dig(wrong, "userErrors"), dig(unknown, "userErrors"))
	}
	// Nor from an inactive account with the right password.
	inactive := e2eInsertStaff(t, s.testServer, password, false, []string{"SZ01"}, "ADVISOR")
	e2eWantUserError(t, s.staffLogin(t, inactive, password), "INVALID_CREDENTIALS")
}

func TestStaffLoginThrottledAfterFiveFailures(t *testing.T) {
	s := newE2EServer(t)
	const password = "correct horse battery"
	username := e2eInsertStaff(t, s.testServer, password, true, []string{"GZ01"}, "CASHIER")

	// Four guesses under aliases in one document count as four.
	var b strings.Builder
	b.WriteString("mutation($u: String!) {")
	for i := range 4 {
		fmt.Fprintf(&b, ` g%d: staffLogin(input: {username: $u, password: "guess%d"}) { session { accessToken } userErrors { code field message } }`, i, i)
	}
	b.WriteString(" }")
	r := s.call(t, "", b.String(), map[string]any{"u": username})
	if len(r.Errors) > 0 {
		t.Fatalf("aliased guesses: %s", r.Raw)
	}
	for i := range 4 {
		e2eWantUserError(t, r.Data[fmt.Sprintf("g%d", i)], "INVALID_CREDENTIALS")
	}
	e2eWantUserError(t, s.staffLogin(t, username, "guess"), "INVALID_CREDENTIALS")
	// Refused from now on from that client, even with the right password.
	r = s.callFrom(t, s.ip, "", e2eStaffLoginDoc, map[string]any{"u": username, "p": password}, nil)
	e2eWantGQLError(t, r, "RATE_LIMITED")
	if secs, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); secs < 1 || secs > 15*60 {
		t.Fatalf("retryAfterSeconds = %v, want 1..900", r.Errors[0].Extensions["retryAfterSeconds"])
	}
	if n := e2eCount(t, s.testServer, &models.AuthFailure{}, "kind = 'PASSWORD' AND subject = ?", username); n != 5 {
		t.Fatalf("%d failures recorded, want 5", n)
	}
	// Another account from the same IP is not affected.
	other := e2eInsertStaff(t, s.testServer, password, true, []string{"GZ01"}, "CASHIER")
	e2eSessionOf(t, s.staffLogin(t, other, password))
}

// 50 wrong passwords from one IP within 15 minutes stop staff sign-in from
// that IP, for every account.
func TestStaffLoginThrottledPerIP(t *testing.T) {
	s := newE2EServer(t)
	const password = "correct horse battery"
	username := e2eInsertStaff(t, s.testServer, password, true, []string{"SZ01"}, "ADVISOR")
	now := time.Now().UTC()
	rows := make([]models.AuthFailure, 49)
	for i := range rows {
		rows[i] = models.AuthFailure{ID: models.NewID(), Kind: "PASSWORD", Subject: fmt.Sprintf("guess.%d", e2eNext()), IP: s.ip,
			CreatedAt: now.Add(-time.Duration(5+i) * time.Second).Truncate(time.Microsecond)}
	}
	if err := s.DB.Conn(context.Background()).CreateInBatches(&rows, 50).Error; err != nil {
		t.Fatal(err)
	}
	e2eWantUserError(t, s.staffLogin(t, "nobody."+uuid.NewString()[:8], password), "INVALID_CREDENTIALS") // the 50th
	r := s.call(t, "", e2eStaffLoginDoc, map[string]any{"u": username, "p": password})
	e2eWantGQLError(t, r, "RATE_LIMITED")
	s.ip = e2eIP()
	e2eSessionOf(t, s.staffLogin(t, username, password))
}

// Concurrent guesses cannot get past the limit: of 15 at once, 5 are
// checked and the rest refused.
func TestStaffLoginConcurrentGuessesStayWithinLimit(t *testing.T) {
	s := newE2EServer(t)
	username := e2eInsertStaff(t, s.testServer, "correct horse battery", true, []string{"SZ01"}, "CRM")
	const n = 15
	results := e2eConcurrently(n, func(int) *gqlResponse {
		return s.call(t, "", e2eStaffLoginDoc, map[string]any{"u": username, "p": "guess"})
	})
	invalid, limited := 0, 0
	for _, r := range results {
		switch {
		case r.Code() == "RATE_LIMITED":
			limited++
		case len(r.Errors) == 0 && slices.Equal(userErrorCodes(dig(r.Data, "staffLogin")), []string{"INVALID_CREDENTIALS"}):
			invalid++
		default:
			t.Fatalf("unexpected answer %s", r.Raw)
		}
	}
	failures := e2eCount(t, s.testServer, &models.AuthFailure{}, "kind = 'PASSWORD' AND subject = ?", username)
	if invalid != 5 || limited != n-5 || failures != 5 {
		t.Fatalf("%d INVALID_CREDENTIALS, %d RATE_LIMITED, %d failures recorded; want 5, %d, 5", invalid, limited, failures, n-5)
	}
}

// ---------------------------------------------------------------------------
// WeChat mini-program

func TestWeChatBindThenSignIn(t *testing.T) {
	s := newE2EServer(t)
	openid, unionid := "o-"+uuid.NewString(), "u-"+uuid.NewString()
	s.WeChat.AddCode("wx-1", openid, unionid)

	// Unbound: a binding ticket, no session.
	p := s.weChat(t, "wx-1")
	ticket, _ := dig(p, "bindingTicket").(string)
	if ticket == "" || dig(p, "session") != nil || dig(p, "owner") != nil || len(userErrorCodes(p)) != 0 {
		t.Fatalf("unbound WeChat login: %v", p)
	}

	// Phone sign-in with the ticket binds the account.
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)
	v := s.verify(t, phone, code, &ticket)
	bound := e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != true {
		t.Fatalf("owner after binding: %v", dig(v, "owner"))
	}
	o := s.ownerByPhone(t, phone)
	if o.WeChatOpenID == nil || *o.WeChatOpenID != openid || o.WeChatUnionID == nil || *o.WeChatUnionID != unionid {
		t.Fatalf("stored binding: openid %v unionid %v", o.WeChatOpenID, o.WeChatUnionID)
	}

	// The next WeChat login signs that owner in directly.
	s.WeChat.AddCode("wx-2", openid, unionid)
	p = s.weChat(t, "wx-2")
	sess := e2eSessionOf(t, p)
	if dig(p, "bindingTicket") != nil || dig(p, "owner", "id") != bound.OwnerID || dig(p, "owner", "weChatBound") != true {
		t.Fatalf("bound WeChat login: %v", p)
	}
	me := s.call(t, sess.Access, `{ me { id phone weChatBound } }`, nil)
	if dig(me.Data, "me", "phone") != phone || dig(me.Data, "me", "weChatBound") != true {
		t.Fatalf("me after WeChat login: %s", me.Raw)
	}
	// A WeChat session refreshes like any other.
	e2eSessionOf(t, s.refresh(t, sess.Refresh))
}

// A WeChat outage is an internal error, with nothing of WeChat's answer.
func TestWeChatUnreachable(t *testing.T) {
	s := newE2EServer(t)
	s.WeChat.Close()
	r := s.call(t, "", e2eWeChatDoc, map[string]any{"c": "wx-any"})
	e2eWantGQLError(t, r, "INTERNAL")
	if strings.Contains(r.Raw, "127.0.0.1") || strings.Contains(r.Raw, "jscode2session") {
		t.Fatalf("internal error leaks its cause: %s", r.Raw)
	}
}

func TestWeChatInvalidCode(t *testing.T) {
	s := newE2EServer(t)
	e2eWantUserError(t, s.weChat(t, "never-issued"), "WECHAT_CODE_INVALID", "input", "code")
	e2eWantUserError(t, s.weChat(t, "   "), "WECHAT_CODE_INVALID", "input", "code")
	// Codes work once, as in WeChat.
	s.WeChat.AddCode("wx-once", "o-"+uuid.NewString(), "")
	if p := s.weChat(t, "wx-once"); dig(p, "bindingTicket") == nil {
		t.Fatalf("first use: %v", p)
	}
	e2eWantUserError(t, s.weChat(t, "wx-once"), "WECHAT_CODE_INVALID", "input", "code")
}

func TestWeChatAlreadyBoundToAnotherOwner(t *testing.T) {
	s := newE2EServer(t)
	openid := "o-" + uuid.NewString()
	// Two tickets for the same WeChat account, both issued while unbound.
	s.WeChat.AddCode("wx-a", openid, "")
	s.WeChat.AddCode("wx-b", openid, "")
	ticketA, _ := dig(s.weChat(t, "wx-a"), "bindingTicket").(string)
	ticketB, _ := dig(s.weChat(t, "wx-b"), "bindingTicket").(string)
	if ticketA == "" || ticketB == "" {
		t.Fatal("no binding tickets")
	}
	ownerA := e2ePhone()
	codeA := s.requestCodeSMS(t, ownerA)
	e2eSessionOf(t, s.verify(t, ownerA, codeA, &ticketA))

	// Owner B presents the other ticket: refused, nothing changed.
	ownerB := e2ePhone()
	codeB := s.requestCodeSMS(t, ownerB)
	v := s.verify(t, ownerB, codeB, &ticketB)
	e2eWantUserError(t, v, "WECHAT_ALREADY_BOUND", "input", "weChatBindingTicket")
	if dig(v, "session") != nil {
		t.Fatal("refused binding returned a session")
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", ownerB); n != 0 {
		t.Fatalf("refused binding created owner B (%d rows)", n)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "wechat_openid = ?", openid); n != 1 {
		t.Fatalf("%d owners bound to the openid, want 1", n)
	}
	// Another openid of the same WeChat user (same unionid) is bound too.
	s.WeChat.AddCode("wx-c", "o-"+uuid.NewString(), "u-shared-"+openid)
	s.WeChat.AddCode("wx-d", "o-"+uuid.NewString(), "u-shared-"+openid)
	ticketC, _ := dig(s.weChat(t, "wx-c"), "bindingTicket").(string)
	ticketD, _ := dig(s.weChat(t, "wx-d"), "bindingTicket").(string)
	ownerC := e2ePhone()
	e2eSessionOf(t, s.verify(t, ownerC, s.requestCodeSMS(t, ownerC), &ticketC))
	v = s.verify(t, ownerB, codeB, &ticketD)
	e2eWantUserError(t, v, "WECHAT_ALREADY_BOUND", "input", "weChatBindingTicket")

	// B's code is still good without the ticket.
	v = s.verify(t, ownerB, codeB, nil)
	e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != false {
		t.Fatalf("owner B is bound: %v", dig(v, "owner"))
	}
}

func TestWeChatBadBindingTicket(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)

	s.WeChat.AddCode("wx-t", "o-"+uuid.NewString(), "")
	good, _ := dig(s.weChat(t, "wx-t"), "bindingTicket").(string)
	parts := strings.Split(good, ".")
	if len(parts) != 3 {
		t.Fatalf("ticket %q is not a JWT", good)
	}
	tampered := parts[0] + "." + parts[1] + "." + e2eFlip(parts[2])
	// A ticket is not an access token, nor the other way round.
	access, _, err := s.App.Tokens.Issue(auth.Principal{Kind: auth.KindOwner, ID: models.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	s.setClock(-11 * time.Minute) // tickets last 10 minutes
	s.WeChat.AddCode("wx-old", "o-"+uuid.NewString(), "")
	expired, _ := dig(s.weChat(t, "wx-old"), "bindingTicket").(string)
	s.setClock(0)
	for name, ticket := range map[string]string{
		"garbage": "not-a-ticket", "tampered": tampered, "access token": access, "huge": strings.Repeat("a", 5000),
		"expired": expired,
	} {
		v := s.verify(t, phone, code, &ticket)
		if codes := userErrorCodes(v); len(codes) != 1 || codes[0] != "INVALID_BINDING_TICKET" {
			t.Fatalf("%s ticket: %v", name, v)
		}
		e2eWantUserError(t, v, "INVALID_BINDING_TICKET", "input", "weChatBindingTicket")
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 0 {
		t.Fatalf("bad tickets created an owner")
	}
	if n := e2eOTPFailures(t, s.testServer, phone); n != 0 {
		t.Fatalf("bad tickets cost %d tries of the code", n)
	}
	// The code is still usable.
	v := s.verify(t, phone, code, nil)
	e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != false {
		t.Fatal("owner bound by a bad ticket")
	}
}

// Binding a new WeChat account replaces the one bound before: the owner just
// proved the phone.
func TestWeChatRebindReplacesAccount(t *testing.T) {
	s := newE2EServer(t)
	oldID, newID := "o-"+uuid.NewString(), "o-"+uuid.NewString()
	s.WeChat.AddCode("wx-old-1", oldID, "")
	s.WeChat.AddCode("wx-new-1", newID, "")
	phone := e2ePhone()
	s.setClock(-2 * time.Minute)
	oldTicket, _ := dig(s.weChat(t, "wx-old-1"), "bindingTicket").(string)
	first := e2eSessionOf(t, s.verify(t, phone, s.requestCodeSMS(t, phone), &oldTicket))
	s.setClock(0)
	newTicket, _ := dig(s.weChat(t, "wx-new-1"), "bindingTicket").(string)
	e2eSessionOf(t, s.verify(t, phone, s.requestCodeSMS(t, phone), &newTicket))

	s.WeChat.AddCode("wx-old-2", oldID, "")
	if p := s.weChat(t, "wx-old-2"); dig(p, "session") != nil || dig(p, "bindingTicket") == nil {
		t.Fatalf("the replaced account still signs in: %v", p)
	}
	s.WeChat.AddCode("wx-new-2", newID, "")
	if p := s.weChat(t, "wx-new-2"); dig(p, "owner", "id") != first.OwnerID {
		t.Fatalf("the new account does not sign the owner in: %v", p)
	}
}

// ---------------------------------------------------------------------------
// Messages follow Accept-Language; codes never change.

func TestSignInAcceptLanguage(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)
	vars := map[string]any{"phone": phone, "code": e2eWrongCode(code)}

	ask := func(lang string) map[string]any {
		h := map[string]string{}
		if lang != "" {
			h["Accept-Language"] = lang
		}
		return e2ePayload(t, s.callFrom(t, s.ip, "", e2eVerifyDoc, vars, h), "verifyLoginCode")
	}
	en, zh, def := ask("en-US,en;q=0.9,zh;q=0.5"), ask("zh-CN,zh;q=0.9"), ask("")
	for _, p := range []map[string]any{en, zh, def} {
		e2eWantUserError(t, p, "INVALID_CODE", "input", "code")
	}
	msg := func(p map[string]any) string { m, _ := dig(p, "userErrors", 0, "message").(string); return m }
	if msg(en) != "the code is not correct" {
		t.Fatalf("English message %q", msg(en))
	}
	for _, p := range []map[string]any{zh, def} {
		if !e2eHasHan(msg(p)) {
			t.Fatalf("default/Chinese message %q is not Chinese", msg(p))
		}
	}
}

// ===========================================================================
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

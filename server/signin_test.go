package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// End-to-end tests of signing in: owners by phone and SMS code here; staff
// by password (signin_staff_test.go), refresh rotation and logout
// (signin_session_test.go), WeChat (signin_wechat_test.go). Every step is a
// real GraphQL request to the real app on the shared database; only the SMS
// gateway and WeChat are fakes. The helpers prefixed e2e, shared by most test
// files, are in e2e_helpers_test.go.

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

package signin_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

func TestSignInCreatesOwnerOnce(t *testing.T) {
	e := newEnv(t)
	retry, err := e.svc.RequestCode(ctx, "138 0013 8000", ip)
	if err != nil {
		t.Fatal(err)
	}
	if retry != time.Minute {
		t.Errorf("retry after %s, want 1m", retry)
	}
	code, ok := e.sms.Last(phone)
	if !ok || len(code) != 6 {
		t.Fatalf("SMS code %q, %v", code, ok)
	}
	if n := e.count("login_codes", "code_hash = ?", code); n != 0 {
		t.Error("code stored in clear")
	}

	sess, owner, err := e.svc.VerifyCode(ctx, "+86 138-0013-8000", code, "", ip)
	if err != nil {
		t.Fatal(err)
	}
	if owner.Phone != phone {
		t.Errorf("owner phone %q, want %q", owner.Phone, phone)
	}
	p := e.principal(sess.AccessToken)
	if p.Kind != auth.KindOwner || p.ID != owner.ID || len(p.Roles) != 0 {
		t.Errorf("principal %+v", p)
	}
	now := e.clock.Now()
	if d := sess.AccessExpiresAt.Sub(now); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("access token lives %s", d)
	}
	if d := sess.RefreshExpiresAt.Sub(now); d != signin.DefaultRefreshTTL {
		t.Errorf("refresh token lives %s", d)
	}
	if sess.RefreshToken == "" || e.count("refresh_tokens", "subject_id = ?", owner.ID) != 1 {
		t.Error("refresh token not stored")
	}

	// The code is single use.
	_, _, err = e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeInvalidCode, "code")

	// The second sign-in finds the same owner.
	e.clock.Advance(time.Minute)
	_, again := e.signIn("13800138000")
	if again.ID != owner.ID {
		t.Errorf("second sign-in: owner %s, want %s", again.ID, owner.ID)
	}
	if n := e.count("owners", ""); n != 1 {
		t.Errorf("%d owners, want 1", n)
	}
}

func TestBadPhone(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"", "12345", "010 6552 9988", "+1 415 555 0100", "1380013800x"} {
		_, err := e.svc.RequestCode(ctx, p, ip)
		wantCode(t, err, signin.CodeInvalidPhone, "phone")
		_, _, err = e.svc.VerifyCode(ctx, p, "123456", "", ip)
		wantCode(t, err, signin.CodeInvalidPhone, "phone")
	}
	if e.count("login_codes", "")+e.count("auth_failures", "") != 0 {
		t.Error("bad input changed something")
	}
}

func TestWrongCode(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
	wantCode(t, err, signin.CodeInvalidCode, "code")
	if n := e.count("auth_failures", "kind = 'OTP' AND subject = ? AND ip = ?", phone, ip); n != 1 {
		t.Errorf("%d failures recorded, want 1", n)
	}
	// A malformed code cannot be right and costs no try.
	_, _, err = e.svc.VerifyCode(ctx, phone, "12a456", "", ip)
	wantCode(t, err, signin.CodeInvalidCode, "code")
	if n := e.count("auth_failures", ""); n != 1 {
		t.Errorf("%d failures recorded, want 1", n)
	}
	// The right code still works after a wrong try.
	if _, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip); err != nil {
		t.Fatal(err)
	}
	if n := e.count("owners", ""); n != 1 {
		t.Errorf("%d owners", n)
	}
}

func TestNoCodeRequested(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.svc.VerifyCode(ctx, phone, "123456", "", ip)
	wantCode(t, err, signin.CodeInvalidCode, "code")
	if e.count("owners", "") != 0 {
		t.Error("owner created")
	}
}

func TestExpiredCode(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	e.clock.Advance(signin.DefaultCodeTTL - time.Second)
	e.clock.Advance(time.Second)
	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeCodeExpired, "code")
	if e.count("owners", "") != 0 {
		t.Error("owner created")
	}
	// A new code works.
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		t.Fatal(err)
	}
}

func TestCustomCodeTTL(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.CodeTTL = 2 * time.Minute
	code := e.requestCode(phone, ip)
	e.clock.Advance(2*time.Minute + time.Second)
	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeCodeExpired)
}

func TestFiveWrongTriesKillTheCode(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	for i := range 5 {
		_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
		if me := wantCode(t, err, signin.CodeInvalidCode); me == nil {
			t.Fatalf("try %d", i+1)
		}
	}
	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeTooManyAttempts, "code")
	if n := e.count("login_codes", "attempts = 5"); n != 1 {
		t.Errorf("attempts not at 5")
	}
	// A new code (after the resend interval) works.
	e.clock.Advance(time.Minute)
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		t.Fatal(err)
	}
}

func TestResendInterval(t *testing.T) {
	e := newEnv(t)
	first := e.requestCode(phone, ip)
	e.clock.Advance(20 * time.Second)
	retry, err := e.svc.RequestCode(ctx, phone, ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, 40*time.Second, 40*time.Second)
	if retry != 40*time.Second {
		t.Errorf("retryAfter %s, want 40s", retry)
	}
	if e.sms.Count(phone) != 1 {
		t.Errorf("%d SMS sent, want 1", e.sms.Count(phone))
	}
	e.clock.Advance(40 * time.Second)
	second := e.requestCode(phone, ip)
	if e.sms.Count(phone) != 2 {
		t.Fatal("no second SMS")
	}
	// Only the newest code signs in.
	if first != second {
		_, _, err = e.svc.VerifyCode(ctx, phone, first, "", ip)
		wantCode(t, err, signin.CodeInvalidCode)
	}
	if _, _, err := e.svc.VerifyCode(ctx, phone, second, "", ip); err != nil {
		t.Fatal(err)
	}
}

func TestTenCodesPerDay(t *testing.T) {
	e := newEnv(t)
	for i := range 10 {
		if _, err := e.svc.RequestCode(ctx, phone, ip); err != nil {
			t.Fatalf("code %d: %v", i+1, err)
		}
		e.clock.Advance(time.Hour) // also clears the per-IP hour
	}
	_, err := e.svc.RequestCode(ctx, phone, otherIP)
	wantCode(t, err, models.CodeRateLimited)
	// The first code leaves the 24 h window 14 h from now.
	wantRetry(t, err, 14*time.Hour, 14*time.Hour)
	if e.sms.Count(phone) != 10 {
		t.Errorf("%d SMS sent", e.sms.Count(phone))
	}
	e.clock.Advance(14 * time.Hour)
	if _, err := e.svc.RequestCode(ctx, phone, ip); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestCodesPerIP(t *testing.T) {
	e := newEnv(t)
	phoneN := func(i int) string { return fmt.Sprintf("+86139%08d", i) }
	for i := range 20 {
		if _, err := e.svc.RequestCode(ctx, phoneN(i), ip); err != nil {
			t.Fatalf("phone %d: %v", i, err)
		}
		e.clock.Advance(time.Second)
	}
	_, err := e.svc.RequestCode(ctx, phoneN(20), ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, time.Hour-20*time.Second, time.Hour-20*time.Second)
	if e.sms.Count(phoneN(20)) != 0 {
		t.Error("SMS sent over the limit")
	}
	// Another IP is not affected.
	if _, err := e.svc.RequestCode(ctx, phoneN(20), otherIP); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.svc.RequestCode(ctx, phoneN(21), ip); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

func TestNewCodeDoesNotResetFailures(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	for range 3 {
		_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
		wantCode(t, err, signin.CodeInvalidCode)
	}
	e.clock.Advance(time.Minute)
	code = e.requestCode(phone, ip)
	for range 2 {
		_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
		wantCode(t, err, signin.CodeInvalidCode)
	}
	if n := e.count("auth_failures", "kind = 'OTP' AND subject = ?", phone); n != 5 {
		t.Errorf("%d failures for the phone, want 5", n)
	}
	// The new code has its own 5 tries: 2 used, right code works.
	if _, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip); err != nil {
		t.Fatal(err)
	}
}

// TestHundredFailuresLockThePhone reaches the lock through VerifyCode, across
// the day's ten codes.
func TestHundredFailuresLockThePhone(t *testing.T) {
	e := newEnv(t)
	first := e.clock.Now()
	failures := 0
	fail := func(code string, want models.Code) {
		t.Helper()
		_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", ip)
		wantCode(t, err, want)
		failures++
	}
	// Nine codes with 5 wrong tries each, then tries on the dead code.
	var code string
	for range 9 {
		code = e.requestCode(phone, ip)
		for range 5 {
			fail(code, signin.CodeInvalidCode)
		}
		e.clock.Advance(time.Minute)
	}
	for failures < 99 {
		fail(code, signin.CodeTooManyAttempts)
	}
	// A tenth code, one more wrong try: the hundredth failure.
	code = e.requestCode(phone, ip)
	fail(code, signin.CodeInvalidCode)
	if n := e.count("auth_failures", "subject = ?", phone); n != 100 {
		t.Fatalf("%d failures, want 100", n)
	}
	// Now even the right code is refused, until an hour after the first failure.
	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeSignInLocked)
	elapsed := e.clock.Now().Sub(first)
	wantRetry(t, err, time.Hour-elapsed, time.Hour-elapsed+time.Second)
	_, err = e.svc.RequestCode(ctx, phone, otherIP)
	wantCode(t, err, signin.CodeSignInLocked)
	// Refused attempts are not recorded, so the lock does not extend itself.
	if n := e.count("auth_failures", "subject = ?", phone); n != 100 {
		t.Errorf("%d failures, want 100", n)
	}
	if e.count("owners", "") != 0 {
		t.Error("owner created while locked")
	}
}

// TestLockLifts seeds the failures directly, then checks the lock's end.
func TestLockLifts(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	e.seedFailures("OTP", phone, otherIP, e.clock.Now().Add(-30*time.Minute), 100)

	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeSignInLocked)
	wantRetry(t, err, 30*time.Minute, 30*time.Minute)

	e.clock.Advance(30*time.Minute + time.Second)
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
	// Failures of other phones do not lock this one (only the IP counts them).
	other := "+8613900139000"
	e.seedFailures("OTP", other, "192.0.2.1", e.clock.Now(), 100)
	e.clock.Advance(time.Minute)
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		t.Fatal(err)
	}
}

func TestIPFailureLimit(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, otherIP)
	e.seedFailures("OTP", "+8613900139000", ip, e.clock.Now().Add(-10*time.Minute), 200)

	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, 50*time.Minute, 50*time.Minute)
	_, err = e.svc.RequestCode(ctx, "+8613700137000", ip)
	wantCode(t, err, models.CodeRateLimited)
	// The phone itself is fine from elsewhere.
	if _, _, err := e.svc.VerifyCode(ctx, phone, code, "", otherIP); err != nil {
		t.Fatal(err)
	}
}

func TestTestNumbers(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.RequestCode(ctx, "13800000001", ip); err != nil {
		t.Fatal(err)
	}
	if e.sms.Count(testPhone) != 0 {
		t.Error("SMS sent to a test number")
	}
	if e.count("login_codes", "phone = ?", testPhone) != 1 {
		t.Error("test code not stored")
	}
	// Same rules: resend interval, wrong code, then the fixed code signs in.
	_, err := e.svc.RequestCode(ctx, testPhone, ip)
	wantCode(t, err, models.CodeRateLimited)
	_, _, err = e.svc.VerifyCode(ctx, testPhone, "135790", "", ip)
	wantCode(t, err, signin.CodeInvalidCode)
	_, owner, err := e.svc.VerifyCode(ctx, testPhone, testCode, "", ip)
	if err != nil {
		t.Fatal(err)
	}
	if owner.Phone != testPhone {
		t.Errorf("owner %q", owner.Phone)
	}
	// And the fixed code is single use like any other.
	_, _, err = e.svc.VerifyCode(ctx, testPhone, testCode, "", ip)
	wantCode(t, err, signin.CodeInvalidCode)
	// Other numbers still get an SMS.
	e.requestCode(phone, ip)
}

func TestSMSFailure(t *testing.T) {
	e := newEnv(t)
	e.sms.FailWith(fmt.Errorf("gateway down"))
	_, err := e.svc.RequestCode(ctx, phone, ip)
	if err == nil || isModelsError(err) {
		t.Fatalf("got %v; want an internal error", err)
	}
	// The unsent code is forgotten: asking again at once works.
	e.sms.FailWith(nil)
	if e.count("login_codes", "") != 0 {
		t.Error("unsent code kept")
	}
	e.requestCode(phone, ip)
}

// wrong returns a well-formed code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

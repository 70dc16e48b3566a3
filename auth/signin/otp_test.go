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
		wantCode(t, err, models.CodeInvalidPhone, "phone")
		_, _, err = e.svc.VerifyCode(ctx, p, "123456", "", ip)
		wantCode(t, err, models.CodeInvalidPhone, "phone")
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

// Codes per client network: generous (carrier NAT), but bounded.
func TestCodesPerIP(t *testing.T) {
	e := newEnv(t)
	n := signin.DefaultLimits.CodesPerIP
	phoneN := func(i int) string { return fmt.Sprintf("+86139%08d", i) }
	for i := range n {
		if _, err := e.svc.RequestCode(ctx, phoneN(i), ip); err != nil {
			t.Fatalf("phone %d: %v", i, err)
		}
		e.clock.Advance(time.Second)
	}
	_, err := e.svc.RequestCode(ctx, phoneN(n), ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, time.Hour-time.Duration(n)*time.Second, time.Hour-time.Duration(n)*time.Second)
	if e.sms.Count(phoneN(n)) != 0 {
		t.Error("SMS sent over the limit")
	}
	// Another IP is not affected.
	if _, err := e.svc.RequestCode(ctx, phoneN(n), otherIP); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.svc.RequestCode(ctx, phoneN(n+1), ip); err != nil {
		t.Fatalf("after the hour: %v", err)
	}
}

// A new code has its own 5 tries; every refused code is recorded.
func TestNewCodeHasItsOwnTries(t *testing.T) {
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

// strangerGuesses tries guess for phone n times, from addresses spread wide
// enough that no per-address limit applies, each refused with want.
func (e *env) strangerGuesses(n int, guess string, want models.Code) {
	e.t.Helper()
	for i := range n {
		_, _, err := e.svc.VerifyCode(ctx, phone, guess, "", fmt.Sprintf("198.51.100.%d", i%60))
		wantCode(e.t, err, want, "code")
	}
}

// ownerSignsIn asks for a code for phone and signs in with it.
func (e *env) ownerSignsIn() {
	e.t.Helper()
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		e.t.Fatalf("the owner signing in: %v", err)
	}
}

// A stranger's wrong codes for a phone with no live code (none asked for,
// used, expired) cost the phone nothing, however many: the owner asks for a
// code and signs in.
func TestWrongCodesWithoutLiveCodeDoNotLockThePhone(t *testing.T) {
	e := newEnv(t)
	e.strangerGuesses(150, "123456", signin.CodeInvalidCode)
	e.ownerSignsIn()

	e.clock.Advance(time.Minute)
	used := e.requestCode(phone, ip)
	if _, _, err := e.svc.VerifyCode(ctx, phone, used, "", ip); err != nil {
		t.Fatal(err)
	}
	e.strangerGuesses(120, wrong(used), signin.CodeInvalidCode)

	e.clock.Advance(time.Minute)
	expired := e.requestCode(phone, ip)
	e.clock.Advance(signin.DefaultCodeTTL)
	e.strangerGuesses(120, wrong(expired), signin.CodeCodeExpired)
	e.ownerSignsIn()
}

// A stranger guessing against the owner's live code kills that code, and
// nothing more: guesses at the dead code cost nothing, and the owner's next
// code signs in.
func TestStrangerKillsOnlyTheLiveCode(t *testing.T) {
	e := newEnv(t)
	code := e.requestCode(phone, ip)
	e.strangerGuesses(5, wrong(code), signin.CodeInvalidCode)
	e.strangerGuesses(120, wrong(code), signin.CodeTooManyAttempts)
	_, _, err := e.svc.VerifyCode(ctx, phone, code, "", ip)
	wantCode(t, err, signin.CodeTooManyAttempts, "code")
	e.clock.Advance(time.Minute)
	e.ownerSignsIn()
}

// The most a guesser gets at one phone in a day is 10 codes of 5 tries:
// 50 guesses at a million codes. Guessing all day from ever new addresses,
// asking for a code every half hour, gets no more.
func TestGuessingBudgetPerPhonePerDay(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now()
	sent, checked := 0, 0
	for n := 0; e.clock.Now().Sub(start) < 24*time.Hour; n++ {
		from := fmt.Sprintf("192.0.2.%d", n%200)
		if _, err := e.svc.RequestCode(ctx, phone, from); err == nil {
			sent++
		} else {
			wantCode(t, err, models.CodeRateLimited)
		}
		code, _ := e.sms.Last(phone)
		for range 6 {
			_, _, err := e.svc.VerifyCode(ctx, phone, wrong(code), "", from)
			switch codeOf(err) {
			case signin.CodeInvalidCode: // checked against a live code
				checked++
			case signin.CodeTooManyAttempts, signin.CodeCodeExpired:
			default:
				t.Fatalf("guess: %v", err)
			}
		}
		e.clock.Advance(30 * time.Minute)
	}
	var tries int64
	if err := e.db.Conn(ctx).Model(&models.LoginCode{}).Where("phone = ?", phone).
		Select("COALESCE(SUM(attempts), 0)").Scan(&tries).Error; err != nil {
		t.Fatal(err)
	}
	if sent != 10 || checked != 50 || tries != 50 {
		t.Fatalf("%d codes sent, %d guesses checked against a code, %d tries counted; want 10, 50, 50", sent, checked, tries)
	}
}

// codeOf is the code of a domain error, "" for any other.
func codeOf(err error) models.Code {
	if e, ok := models.AsError(err); ok {
		return e.Code
	}
	return ""
}

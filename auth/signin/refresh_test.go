package signin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
)

func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	s1, owner := e.signIn(phone)

	e.clock.Advance(10 * time.Minute)
	s2, p, err := e.svc.Refresh(ctx, s1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != auth.KindOwner || p.ID != owner.ID {
		t.Errorf("principal %+v", p)
	}
	if s2.RefreshToken == s1.RefreshToken || s2.AccessToken == s1.AccessToken {
		t.Error("tokens not renewed")
	}
	if got := e.principal(s2.AccessToken); got.ID != owner.ID {
		t.Errorf("access token for %s", got.ID)
	}
	if !s2.RefreshExpiresAt.After(s1.RefreshExpiresAt) {
		t.Error("refresh expiry did not move on")
	}
	// One family, two links, the first rotated.
	if n := e.count("refresh_tokens", "subject_id = ? AND rotated_at IS NOT NULL", owner.ID); n != 1 {
		t.Errorf("%d rotated rows, want 1", n)
	}
	if n := e.count("refresh_tokens", "subject_id = ?", owner.ID); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	// The new token rotates again.
	if _, _, err := e.svc.Refresh(ctx, s2.RefreshToken); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	s1, _ := e.signIn(phone)
	s2, _, err := e.svc.Refresh(ctx, s1.RefreshToken) // the victim
	if err != nil {
		t.Fatal(err)
	}
	s3, _, err := e.svc.Refresh(ctx, s2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// Another session of the same owner, in another family, is unaffected.
	e.clock.Advance(time.Minute)
	other, _ := e.signIn(phone)

	// The thief presents the stolen, already rotated first token.
	_, _, err = e.svc.Refresh(ctx, s1.RefreshToken)
	wantCode(t, err, signin.CodeRefreshTokenReused, "refreshToken")
	// Neither the victim's newest token nor the thief's work any more.
	_, _, err = e.svc.Refresh(ctx, s3.RefreshToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken, "refreshToken")
	_, _, err = e.svc.Refresh(ctx, s2.RefreshToken)
	wantCode(t, err, signin.CodeRefreshTokenReused)

	if _, _, err := e.svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Errorf("other family: %v", err)
	}
}

func TestRefreshInvalid(t *testing.T) {
	e := newEnv(t)
	sess, _ := e.signIn(phone)
	r := sess.RefreshToken
	for _, tok := range []string{"", "nope", strings.Repeat("a", 10000), r + "x", r[:42], r[:42] + "\x00",
		r[:20] + "\n" + r[20:], " " + r, r + "="} {
		_, _, err := e.svc.Refresh(ctx, tok)
		wantCode(t, err, signin.CodeInvalidRefreshToken)
	}
	// The access token is not a refresh token.
	_, _, err := e.svc.Refresh(ctx, sess.AccessToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken)

	// Expired.
	e.clock.Advance(signin.DefaultRefreshTTL)
	_, _, err = e.svc.Refresh(ctx, sess.RefreshToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken)
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	s1, _ := e.signIn(phone)
	s2, _, err := e.svc.Refresh(ctx, s1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, s2.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Refresh(ctx, s2.RefreshToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken)
	if n := e.count("refresh_tokens", "revoked_at IS NULL"); n != 0 {
		t.Errorf("%d tokens left unrevoked", n)
	}
	// Idempotent, and unknown tokens are no error.
	for _, tok := range []string{s2.RefreshToken, s1.RefreshToken, "unknown", ""} {
		if err := e.svc.Logout(ctx, tok); err != nil {
			t.Errorf("Logout(%q): %v", tok, err)
		}
	}
}

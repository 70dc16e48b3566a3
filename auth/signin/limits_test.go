package signin_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

// The limits per client network are configurable, and Off turns them off.

func TestLimitsPerIPConfigured(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.Limits = signin.Limits{CodesPerIP: 2, WrongCodesPerIP: 3, StaffFailuresPerIP: 2, StaffFailuresPerUserIP: 1}
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, e.store("SZ01"))
	for i := range 2 {
		e.requestCode(fmt.Sprintf("+86139%08d", i), ip)
	}
	_, err := e.svc.RequestCode(ctx, "+8613900000099", ip)
	wantCode(t, err, models.CodeRateLimited)

	for range 3 {
		_, _, err := e.svc.VerifyCode(ctx, phone, "000000", "", ip)
		wantCode(t, err, signin.CodeInvalidCode)
	}
	_, _, err = e.svc.VerifyCode(ctx, phone, "000000", "", ip)
	wantCode(t, err, models.CodeRateLimited)

	_, _, err = e.svc.StaffLogin(ctx, "advisor.sz01", "wrong", ip)
	wantCode(t, err, signin.CodeInvalidCredentials)
	_, _, err = e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip)
	wantCode(t, err, models.CodeRateLimited) // 1 per username and IP
	_, _, err = e.svc.StaffLogin(ctx, "nobody", "wrong", ip)
	wantCode(t, err, signin.CodeInvalidCredentials)
	_, _, err = e.svc.StaffLogin(ctx, "somebody", "wrong", ip)
	wantCode(t, err, models.CodeRateLimited) // 2 per IP
}

func TestLimitsPerIPOff(t *testing.T) {
	e := newEnv(t)
	e.svc.Config.Limits = signin.Limits{CodesPerIP: signin.Off, WrongCodesPerIP: signin.Off,
		StaffFailuresPerIP: signin.Off, StaffFailuresPerUserIP: signin.Off}
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, e.store("SZ01"))
	for i := range signin.DefaultLimits.CodesPerIP + 5 {
		e.requestCode(fmt.Sprintf("+86139%08d", i), ip)
	}
	at := e.clock.Now().Add(-time.Minute)
	e.seedFailures("OTP", "+8613900139000", ip, at, signin.DefaultLimits.WrongCodesPerIP+5)
	e.seedFailures("PASSWORD", "someone", ip, at, signin.DefaultLimits.StaffFailuresPerIP+5)
	e.seedFailures("PASSWORD", "advisor.sz01", ip, at, signin.DefaultLimits.StaffFailuresPerUserIP+5)
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), "", ip); err != nil {
		t.Fatalf("phone sign-in with the limits off: %v", err)
	}
	if _, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip); err != nil {
		t.Fatalf("staff sign-in with the limits off: %v", err)
	}
	// The per-username limit from anywhere is not a per-IP limit: it stays
	// (for networks the account has not signed in from).
	e.seedFailures("PASSWORD", "advisor.sz01", otherIP, at, 30)
	_, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, newIP)
	wantCode(t, err, models.CodeRateLimited)
}

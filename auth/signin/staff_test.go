package signin_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

func TestStaffLogin(t *testing.T) {
	e := newEnv(t)
	sz, gz := e.store("SZ01"), e.store("GZ01")
	want := e.staff("advisor.sz01", true, []auth.Role{auth.RoleManager, auth.RoleAdvisor}, sz, gz)

	sess, st, err := e.svc.StaffLogin(ctx, " advisor.sz01 ", staffPassword, ip)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != want.ID || len(st.Roles) != 2 || len(st.Stores) != 2 {
		t.Errorf("staff %+v", st)
	}
	if st.PasswordHash != "" {
		t.Error("password hash returned")
	}
	p := e.principal(sess.AccessToken)
	if p.Kind != auth.KindStaff || p.ID != want.ID {
		t.Errorf("principal %+v", p)
	}
	if !slices.Equal(p.Roles, []auth.Role{auth.RoleAdvisor, auth.RoleManager}) {
		t.Errorf("roles %v", p.Roles)
	}
	if len(p.StoreIDs) != 2 || !slices.Contains(p.StoreIDs, sz) || !slices.Contains(p.StoreIDs, gz) {
		t.Errorf("stores %v", p.StoreIDs)
	}
	// A good login leaves no failure behind.
	if n := e.count("auth_failures", ""); n != 0 {
		t.Errorf("%d failures recorded", n)
	}
}

func TestStaffLoginRefused(t *testing.T) {
	e := newEnv(t)
	sz := e.store("SZ01")
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, sz)
	e.staff("gone.sz01", false, []auth.Role{auth.RoleAdvisor}, sz)

	cases := []struct{ name, user, password string }{
		{"wrong password", "advisor.sz01", "wrong"},
		{"unknown user", "nobody.sz01", staffPassword},
		{"inactive", "gone.sz01", staffPassword},
		{"empty", "", ""},
	}
	var messages []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess, st, err := e.svc.StaffLogin(ctx, c.user, c.password, ip)
			me := wantCode(t, err, signin.CodeInvalidCredentials)
			if sess != nil || st != nil {
				t.Error("session or staff returned")
			}
			messages = append(messages, me.Message("zh")+me.Message("en"))
		})
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("messages differ: %q vs %q", m, messages[0])
		}
	}
	if n := e.count("auth_failures", "kind = 'PASSWORD'"); n != int64(len(cases)) {
		t.Errorf("%d failures recorded, want %d", n, len(cases))
	}
}

func TestStaffThrottledPerUsername(t *testing.T) {
	e := newEnv(t)
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, e.store("SZ01"))
	for i := range 5 {
		_, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", "wrong", ip)
		wantCode(t, err, signin.CodeInvalidCredentials)
		if i == 0 {
			e.clock.Advance(5 * time.Minute)
		}
	}
	// Refused even with the right password from that IP ...
	_, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, 10*time.Minute, 10*time.Minute)
	// ... but a guesser elsewhere cannot lock the colleague out.
	if _, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, otherIP); err != nil {
		t.Fatalf("the right password from another IP: %v", err)
	}
	// Other usernames are not affected.
	_, _, err = e.svc.StaffLogin(ctx, "other.sz01", "x", ip)
	wantCode(t, err, signin.CodeInvalidCredentials)

	// Once the first failure is 15 minutes old, one more try is allowed.
	e.clock.Advance(10 * time.Minute)
	if _, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip); err != nil {
		t.Fatal(err)
	}
}

func TestStaffThrottledPerIP(t *testing.T) {
	e := newEnv(t)
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, e.store("SZ01"))
	e.seedFailures("PASSWORD", "someone", ip, e.clock.Now().Add(-time.Minute), 50)
	_, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip)
	wantCode(t, err, models.CodeRateLimited)
	wantRetry(t, err, 14*time.Minute, 14*time.Minute)
	if _, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, otherIP); err != nil {
		t.Fatal(err)
	}
}

// Wrong passwords for a username from many networks refuse it from new
// networks, not from those its staff member signed in from within
// StaffNetworkKept, where only the limits per network apply. Those networks
// are the staff member's own, are forgotten after StaffNetworkKept, and are
// pruned then.
func TestStaffKnownNetworks(t *testing.T) {
	e := newEnv(t)
	sz := e.store("SZ01")
	e.staff("manager.sz01", true, []auth.Role{auth.RoleManager}, sz)
	e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, sz)
	const once = "192.0.2.50" // signed in from once, at the start
	login := func(who, from string) error {
		_, _, err := e.svc.StaffLogin(ctx, who, staffPassword, from)
		return err
	}
	for _, from := range []string{ip, once} {
		if err := login("manager.sz01", from); err != nil {
			t.Fatal(err)
		}
	}
	networks := func() int64 { return e.count("staff_networks", "") }
	if n := networks(); n != 2 {
		t.Fatalf("%d networks remembered, want 2", n)
	}

	e.clock.Advance(signin.StaffNetworkKept - time.Minute)
	e.seedFailures("PASSWORD", "manager.sz01", otherIP, e.clock.Now().Add(-time.Minute), 30)
	e.seedFailures("PASSWORD", "advisor.sz01", otherIP, e.clock.Now().Add(-time.Minute), 30)
	for _, from := range []string{newIP, otherIP} {
		wantCode(t, login("manager.sz01", from), models.CodeRateLimited)
	}
	if err := login("manager.sz01", ip); err != nil {
		t.Fatalf("from a network signed in from 90 days less a minute ago: %v", err)
	}
	// Known to the manager, not to a colleague.
	wantCode(t, login("advisor.sz01", ip), models.CodeRateLimited)
	// The limit per username and network holds there as anywhere.
	for range 5 {
		_, _, err := e.svc.StaffLogin(ctx, "manager.sz01", "wrong", ip)
		wantCode(t, err, signin.CodeInvalidCredentials)
	}
	wantCode(t, login("manager.sz01", ip), models.CodeRateLimited)

	if n, err := e.svc.PruneStaffNetworks(ctx, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) within 90 days", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.PruneStaffNetworks(ctx, e.clock.Now()); err != nil || n != 1 || networks() != 1 {
		t.Fatalf("pruned %d (%v), %d left; want the network of 90 days ago gone, 1 left", n, err, networks())
	}

	// 90 days after the last sign-in from it, a network is like any other.
	e.clock.Advance(signin.StaffNetworkKept)
	e.seedFailures("PASSWORD", "manager.sz01", otherIP, e.clock.Now().Add(-time.Minute), 30)
	wantCode(t, login("manager.sz01", ip), models.CodeRateLimited)
	if n, err := e.svc.PruneStaffNetworks(ctx, e.clock.Now()); err != nil || n != 1 || networks() != 0 {
		t.Fatalf("pruned %d (%v), %d left", n, err, networks())
	}
}

func TestStaffRefreshReloadsRolesAndRefusesInactive(t *testing.T) {
	e := newEnv(t)
	sz, gz := e.store("SZ01"), e.store("GZ01")
	st := e.staff("advisor.sz01", true, []auth.Role{auth.RoleAdvisor}, sz)
	sess, _, err := e.svc.StaffLogin(ctx, "advisor.sz01", staffPassword, ip)
	if err != nil {
		t.Fatal(err)
	}
	db := e.db.Conn(ctx)
	if err := db.Create(&models.StaffRole{StaffID: st.ID, Role: string(auth.RoleCashier)}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&models.StaffStore{StaffID: st.ID, StoreID: gz}).Error; err != nil {
		t.Fatal(err)
	}
	sess, p, err := e.svc.Refresh(ctx, sess.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != auth.KindStaff || !slices.Equal(p.Roles, []auth.Role{auth.RoleAdvisor, auth.RoleCashier}) || len(p.StoreIDs) != 2 {
		t.Errorf("principal %+v", p)
	}
	if got := e.principal(sess.AccessToken); !slices.Contains(got.StoreIDs, gz) || !slices.Contains(got.Roles, auth.RoleCashier) {
		t.Errorf("access token %+v", got)
	}

	if err := db.Model(&models.Staff{}).Where("id = ?", st.ID).Update("active", false).Error; err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Refresh(ctx, sess.RefreshToken)
	wantCode(t, err, signin.CodeInvalidRefreshToken)
	if n := e.count("refresh_tokens", "subject_id = ? AND revoked_at IS NULL", st.ID); n != 0 {
		t.Errorf("%d tokens of inactive staff left", n)
	}
}

// A username no account can have (control characters, NUL among them, which
// PostgreSQL refuses in text; or too long) is refused as input before any
// SQL, and nothing is recorded.
func TestStaffLoginMalformedUsername(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{"admin\x00", "\x00", "ad\x01min", "admin\x7f", "ad\u0085min", strings.Repeat("a", 65)} {
		_, _, err := e.svc.StaffLogin(ctx, u, staffPassword, ip)
		wantCode(t, err, models.CodeInvalidArgument, "username")
	}
	if n := e.count("auth_failures", ""); n != 0 {
		t.Errorf("%d failures recorded", n)
	}
	// 64 characters is a username like any other.
	_, _, err := e.svc.StaffLogin(ctx, strings.Repeat("a", 64), staffPassword, ip)
	wantCode(t, err, signin.CodeInvalidCredentials)
}

// Login codes and failed sign-ins are kept as long as a limit counts them,
// and deleted after.
func TestPruneSignInRecords(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	old, recent := now.Add(-signin.SignInRecordsKept-time.Minute), now.Add(-signin.SignInRecordsKept+time.Minute)
	e.seedFailures("OTP", "+8613900000001", ip, old, 3)
	e.seedFailures("PASSWORD", "manager.sz01", ip, recent, 2)
	for _, at := range []time.Time{old, recent} {
		code := models.LoginCode{ID: models.NewID(), Phone: "+8613900000001", CodeHash: "x", IP: ip, ExpiresAt: at.Add(5 * time.Minute), CreatedAt: at}
		if err := e.db.Conn(ctx).Create(&code).Error; err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.svc.PruneSignInRecords(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || e.count("auth_failures", "") != 2 || e.count("login_codes", "") != 1 {
		t.Fatalf("pruned %d; left %d failures, %d codes", n, e.count("auth_failures", ""), e.count("login_codes", ""))
	}
}

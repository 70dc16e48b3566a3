package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// Sessions: refresh tokens rotate, a reused one revokes its family, they
// expire, logout revokes; staff sessions keep or reload roles and stores.

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

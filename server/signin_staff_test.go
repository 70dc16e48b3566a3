package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Staff sign-in by username and password, throttled after failures (per
// account and per client address), also under concurrent guesses.

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

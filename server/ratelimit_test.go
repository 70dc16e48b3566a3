package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Limits per client address against carrier NAT, where thousands of phones
// share one address: signed-in callers are limited per user, per-address
// limits apply to anonymous callers and are generous, and every limit is set
// from the environment.

// withEnv is a tweak that reads the configuration again through LoadConfig
// with extra variables, keeping the test server's WeChat fake and proxy
// setting.
func withEnv(t testing.TB, extra map[string]string) func(*Config, *Deps) {
	t.Helper()
	env := map[string]string{"JWT_SECRET": testSecret, "OTP_TEST_NUMBERS": "+8613800000001=246810"}
	maps.Copy(env, extra)
	loaded, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config, _ *Deps) {
		loaded.WeChatAPIBase = c.WeChatAPIBase
		loaded.TrustProxyHeaders = loaded.TrustProxyHeaders || c.TrustProxyHeaders
		*c = loaded
	}
}

// insertOwners adds n owners with fresh phones.
func insertOwners(t *testing.T, s *testServer, n int) []models.Owner {
	t.Helper()
	now := testdb.Now()
	owners := make([]models.Owner, n)
	for i := range owners {
		owners[i] = models.Owner{ID: models.NewID(), Phone: e2ePhone(), Name: fmt.Sprintf("同址车主%d", i), CreatedAt: now, UpdatedAt: now}
	}
	if err := s.DB.Conn(context.Background()).CreateInBatches(&owners, 100).Error; err != nil {
		t.Fatal(err)
	}
	return owners
}

func TestRateLimitSignedInOwnersBehindOneAddress(t *testing.T) {
	// An anonymous budget of 5 requests that does not refill while the test runs.
	s := newTestServer(t, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "0.01,5"}))
	for i, o := range insertOwners(t, s, 300) {
		r := s.do(t, req{Query: `{ me { id } }`, Token: s.ownerToken(t, o.ID)})
		if r.Status != http.StatusOK || len(r.Errors) > 0 || dig(r.Data, "me", "id") == nil {
			t.Fatalf("signed-in owner %d of 300 on one address: %d %s", i+1, r.Status, r.Raw)
		}
	}
	// Anonymous callers on that address still share its budget.
	for i := range 5 {
		if r := s.do(t, req{Query: `{ __typename }`}); r.Status != http.StatusOK {
			t.Fatalf("anonymous request %d within the budget: %d %s", i+1, r.Status, r.Raw)
		}
	}
	r := s.do(t, req{Query: `{ __typename }`})
	if r.Status != http.StatusTooManyRequests || r.Code() != string(models.CodeRateLimited) || r.Header.Get("Retry-After") == "" {
		t.Fatalf("anonymous flood: %d %s", r.Status, r.Raw)
	}
}

// Owners signing in from one address do not run into a per-address limit on
// codes meant for a single household.
func TestRateLimitLoginCodesBehindOneAddress(t *testing.T) {
	s := newE2EServer(t)
	for i := range 40 {
		p := s.requestCodeAs(t, e2ePhone())
		if dig(p, "sent") != true {
			t.Fatalf("owner %d of 40 on one address: %v", i+1, p)
		}
	}
	// The limit is configurable.
	s = newE2EServer(t, withEnv(t, map[string]string{"RATE_LIMIT_LOGIN_CODES_PER_IP": "3"}))
	for range 3 {
		s.requestCode(t, e2ePhone())
	}
	e2eWantGQLError(t, s.call(t, "", e2eRequestCodeDoc, map[string]any{"phone": e2ePhone()}), "RATE_LIMITED")
}

// "off" switches a limit off, for benchmarks.
func TestRateLimitOff(t *testing.T) {
	off := map[string]string{}
	for _, v := range []string{"RATE_LIMIT_ANONYMOUS_PER_IP", "RATE_LIMIT_PER_USER", "RATE_LIMIT_LOGIN_CODES_PER_IP",
		"RATE_LIMIT_WRONG_CODES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_USER_IP"} {
		off[v] = "off"
	}
	s := newE2EServer(t, withEnv(t, off))

	for i := range 400 {
		if r := s.call(t, "", `{ __typename }`, nil); r.Status != http.StatusOK {
			t.Fatalf("anonymous request %d with the limit off: %d %s", i+1, r.Status, r.Raw)
		}
	}
	token := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)
	for i := range 200 {
		if r := s.call(t, token, `{ me { id } }`, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("owner request %d with the limit off: %d %s", i+1, r.Status, r.Raw)
		}
	}
	for i := range 120 {
		if p := s.requestCodeAs(t, e2ePhone()); dig(p, "sent") != true {
			t.Fatalf("code %d from one address with the limit off: %v", i+1, p)
		}
	}

	// Past the wrong-code and wrong-password counts of the defaults.
	now := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	const password = "correct horse battery"
	username := e2eInsertStaff(t, s.testServer, password, true, []string{"SZ01"}, "ADVISOR")
	var rows []models.AuthFailure
	for i := range 250 {
		rows = append(rows, models.AuthFailure{ID: models.NewID(), Kind: "OTP", Subject: e2ePhone(), IP: s.ip, CreatedAt: now})
		if i < 60 {
			subject := fmt.Sprintf("guess.%d", e2eNext())
			if i < 10 {
				subject = username
			}
			rows = append(rows, models.AuthFailure{ID: models.NewID(), Kind: "PASSWORD", Subject: subject, IP: s.ip, CreatedAt: now})
		}
	}
	if err := s.DB.Conn(context.Background()).CreateInBatches(&rows, 100).Error; err != nil {
		t.Fatal(err)
	}
	phone := e2ePhone()
	e2eSessionOf(t, s.verify(t, phone, s.requestCodeSMS(t, phone), nil))
	e2eSessionOf(t, s.staffLogin(t, username, password))
}

// A request whose Authorization header is refused is anonymous traffic of
// its client network: forged, expired or malformed tokens spend that
// network's anonymous budget before their 401, and are refused with 429 once
// it is spent, on /graphql and on the board alike.
func TestRateLimitRefusedTokens(t *testing.T) {
	s := newE2EServer(t, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "0.01,5"}))
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	valid := s.ownerToken(t, owner.ID)
	expired, _, err := s.App.Tokens.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).Issue(auth.Principal{Kind: auth.KindOwner, ID: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	refused := []map[string]string{
		{"Authorization": "Bearer " + e2eFlip(valid)},
		{"Authorization": "Bearer " + expired},
		{"Authorization": "Bearer not-a-token"},
		{"Authorization": "Basic b3duZXI6aHVi"},
		{"Authorization": "Bearer " + e2eFlip(valid)},
	}
	ip := e2eIP()
	for i, h := range refused {
		if r := s.callFrom(t, ip, "", `{ me { id } }`, nil, h); r.Status != http.StatusUnauthorized || r.Code() != string(models.CodeUnauthenticated) {
			t.Fatalf("refused token %d of 5: %d %s", i+1, r.Status, r.Raw)
		}
	}
	wantTooMany := func(r *gqlResponse, what string) {
		t.Helper()
		if r.Status != http.StatusTooManyRequests || r.Code() != string(models.CodeRateLimited) || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %s", what, r.Status, r.Raw)
		}
	}
	wantTooMany(s.callFrom(t, ip, "", `{ me { id } }`, nil, refused[0]), "sixth forged token")
	// It is the network's anonymous budget that they spent ...
	wantTooMany(s.callFrom(t, ip, "", `{ __typename }`, nil, nil), "anonymous request after the forged tokens")
	if resp, body := boardFrom(t, s.testServer, ip, e2eFlip(valid)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("forged token on the board after the budget is spent: %d %s", resp.StatusCode, body)
	}
	// ... not a signed-in caller's on that network.
	if r := s.callFrom(t, ip, valid, `{ me { id } }`, nil, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("signed-in owner on the network: %d %s", r.Status, r.Raw)
	}

	// The board's refused tokens count the same way, and share the budget.
	ip = e2eIP()
	for i := range 5 {
		resp, body := boardFrom(t, s.testServer, ip, e2eFlip(valid))
		expectProblem(t, resp, body, http.StatusUnauthorized, string(models.CodeUnauthenticated))
		if i == 4 {
			wantTooMany(s.callFrom(t, ip, "", `{ __typename }`, nil, nil), "anonymous request after the board's refused tokens")
		}
	}

	// With the limit off, a refused token is a 401 however many there are.
	s = newE2EServer(t, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "off"}))
	for i := range 50 {
		if r := s.call(t, "", `{ me { id } }`, nil); r.Status != http.StatusOK {
			t.Fatalf("anonymous request %d with the limit off: %d", i+1, r.Status)
		}
		if r := s.callFrom(t, s.ip, "", `{ me { id } }`, nil, refused[i%len(refused)]); r.Status != http.StatusUnauthorized {
			t.Fatalf("refused token %d with the limit off: %d %s", i+1, r.Status, r.Raw)
		}
	}
}

// Screens and staff polling the board count per principal, as on /graphql:
// they do not spend their network's anonymous budget, and each has its own.
func TestRateLimitBoardPerPrincipal(t *testing.T) {
	trust := func(c *Config, _ *Deps) { c.TrustProxyHeaders = true }
	f := newWorkshop(t, trust, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "0.01,5", "RATE_LIMIT_PER_USER": "0.01,20"}))
	screen, _ := bdIssue(t, f, f.staff(t, "manager.sz01"), f.sz, "限流大屏")
	advisor := f.staff(t, "advisor.sz01")
	ip := e2eIP()
	for _, who := range []struct{ name, token string }{{"screen", screen}, {"advisor", advisor}} {
		for i := range 20 {
			if resp, body := boardFrom(t, f.testServer, ip, who.token); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s's poll %d of 20 from a shared network: %d %s", who.name, i+1, resp.StatusCode, body)
			}
		}
		if resp, body := boardFrom(t, f.testServer, ip, who.token); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s's 21st poll: %d %s", who.name, resp.StatusCode, body)
		}
	}
	// The network's anonymous budget is untouched: 5 polls without a token
	// are refused as such, the sixth is over the budget.
	for i := range 5 {
		resp, body := boardFrom(t, f.testServer, ip, "")
		expectProblem(t, resp, body, http.StatusUnauthorized, string(models.CodeUnauthenticated))
		if i == 0 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("401 without WWW-Authenticate: %v", resp.Header)
		}
	}
	if resp, body := boardFrom(t, f.testServer, ip, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth anonymous poll: %d %s", resp.StatusCode, body)
	}
}

// boardFrom polls SZ01's board from a client address (the server must trust
// X-Forwarded-For) with a bearer token, "" for none.
func boardFrom(t testing.TB, s *testServer, ip, token string) (*http.Response, []byte) {
	t.Helper()
	hdr := map[string]string{"X-Forwarded-For": ip}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	return httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/stores/SZ01/board", nil, hdr)
}

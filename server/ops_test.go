package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Operations: security headers, metrics and access log, readiness and
// drain, lock timeouts and pool sizing, all through the real app.

// ownDB opens a new, migrated database of the dialect under test with its
// own pool sized and bounded by pool (seeded with the demo data when seed
// is set), closed and dropped when the test ends. It returns the database
// URL too ("" on SQLite).
func ownDB(t *testing.T, pool models.Pool, seed bool) (*models.DB, string) {
	t.Helper()
	dbURL, drop, err := testdb.MigratedURL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	db, err := models.OpenPool(dbURL, t.TempDir(), nil, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := migrations.Up(context.Background(), db.SQL, string(db.Dialect), nil); err != nil {
		t.Fatal(err)
	}
	if seed {
		if _, err := demo.Seed(context.Background(), db, demo.DefaultPassword); err != nil {
			t.Fatal(err)
		}
	}
	return db, dbURL
}

// insertOwner adds an owner straight to db and returns their id.
func insertOwner(t *testing.T, db *models.DB, name string) uuid.UUID {
	t.Helper()
	o := &models.Owner{ID: models.NewID(), Phone: e2ePhone(), Name: name}
	if err := db.Conn(context.Background()).Create(o).Error; err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// placeholder is the first bind parameter of the dialect under test.
func placeholder(db *models.DB) string {
	if db.Dialect == models.Postgres {
		return "$1"
	}
	return "?"
}

// Every answer says how browsers may treat it; answers with personal data
// are never stored; GraphiQL's page may run only its own inline script and
// what it loads from this server.
func TestSecurityHeaders(t *testing.T) {
	f := newWorkshop(t)
	owner := f.quickCar(t, "SZ01")
	staff := f.staff(t, "foreman.sz01")

	personal := []struct {
		name, method, path, token string
		body                      string
	}{
		{"GraphQL query", http.MethodPost, "/graphql", owner.OwnerToken, `{"query":"{ me { name phone } }"}`},
		{"sign-in", http.MethodPost, "/graphql", "", `{"query":"mutation { staffLogin(input: {username: \"advisor.sz01\", password: \"ownerhub-demo\"}) { session { accessToken } } }"}`},
		{"GraphQL GET", http.MethodGet, "/graphql?query=%7B%20me%20%7B%20name%20%7D%20%7D", owner.OwnerToken, ""},
		{"data export", http.MethodGet, "/api/v1/me/export", owner.OwnerToken, ""},
		{"board", http.MethodGet, "/api/v1/stores/SZ01/board", staff, ""},
	}
	for _, c := range personal {
		hdr := map[string]string{"Content-Type": "application/json"}
		if c.token != "" {
			hdr["Authorization"] = "Bearer " + c.token
		}
		resp, raw := httpCall(t, nil, c.method, f.URL+c.path, strings.NewReader(c.body), hdr)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.name, resp.StatusCode, raw)
		}
		wantBaseHeaders(t, c.name, resp)
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store", c.name, cc)
		}
	}
	// Errors and probes carry the headers too.
	for _, path := range []string{"/healthz", "/api/v1/nothing-here", "/api/v1/openapi.json"} {
		resp, _ := httpCall(t, nil, http.MethodGet, f.URL+path, nil, nil)
		wantBaseHeaders(t, path, resp)
	}

	resp, raw := httpCall(t, nil, http.MethodGet, f.URL+"/graphiql", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("graphiql: %d", resp.StatusCode)
	}
	wantBaseHeaders(t, "graphiql", resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if csp == "" {
		t.Fatal("GraphiQL has no Content-Security-Policy")
	}
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if directives["default-src"] != "'none'" || directives["frame-ancestors"] != "'none'" {
		t.Errorf("CSP does not deny by default: %q", csp)
	}
	scripts := directives["script-src"]
	if strings.Contains(scripts, "unsafe-inline") || strings.Contains(scripts, "unsafe-eval") {
		t.Errorf("CSP allows any inline script: %q", scripts)
	}
	// Each inline script of the page is allowed by its hash, each loaded
	// script and stylesheet by its origin.
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(string(raw), -1)
	if len(inline) == 0 {
		t.Fatal("GraphiQL page has no inline script")
	}
	for _, m := range inline {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(scripts, h) {
			t.Errorf("CSP script-src %q lacks the inline script's hash %s", scripts, h)
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="(https://[^/"]+)/`).FindAllStringSubmatch(string(raw), -1) {
		if !strings.Contains(scripts+" "+directives["style-src"], m[1]) {
			t.Errorf("CSP does not allow %s, which the page loads", m[1])
		}
	}
	if !strings.Contains(directives["connect-src"], "'self'") {
		t.Errorf("CSP connect-src %q does not let GraphiQL reach the API", directives["connect-src"])
	}
}

func wantBaseHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", what, v)
	}
	if v := resp.Header.Get("Referrer-Policy"); v != "no-referrer" {
		t.Errorf("%s: Referrer-Policy %q", what, v)
	}
}

// With METRICS_TOKEN, /metrics asks for it as a bearer token.
func TestMetricsToken(t *testing.T) {
	s := newTestServer(t, func(c *Config, _ *Deps) { c.MetricsToken = "scrape-secret-0123456789" })
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/metrics", nil, nil)
	expectProblem(t, resp, raw, http.StatusUnauthorized, string(models.CodeUnauthenticated))
	resp, _ = httpCall(t, nil, http.MethodGet, s.URL+"/metrics", nil, map[string]string{"Authorization": "Bearer wrong"})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token scrapes: %d", resp.StatusCode)
	}
	resp, raw = httpCall(t, nil, http.MethodGet, s.URL+"/metrics", nil, map[string]string{"Authorization": "Bearer scrape-secret-0123456789"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "ownerhub_http_requests_total") {
		t.Fatalf("scrape with the token: %d %.200s", resp.StatusCode, raw)
	}
}

var metricsLineRE = regexp.MustCompile(`Metrics:\s+(http://\S+)/metrics`)

// With METRICS_ADDR, /metrics is served there and only there.
func TestRunServeMetricsAddr(t *testing.T) {
	s := startServe(t, freshEnv(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0"}))
	m := metricsLineRE.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no metrics URL printed:\n%s", s.stdout)
	}
	if m[1] == s.base {
		t.Fatalf("metrics on the API's own address %s", m[1])
	}
	resp, raw := httpCall(t, nil, http.MethodGet, m[1]+"/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "ownerhub_db_statements_total") {
		t.Fatalf("metrics address: %d %.200s", resp.StatusCode, raw)
	}
	for _, series := range []string{"ownerhub_graphql_loader_watchdog_sends_total", "ownerhub_graphql_loader_miscounts_total"} {
		if !strings.Contains(string(raw), "\n"+series+" ") {
			t.Errorf("no %s in the metrics", series)
		}
	}
	if resp, _ := httpCall(t, nil, http.MethodGet, s.base+"/metrics", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API address: %d, want 404", resp.StatusCode)
	}
	if resp, _ := httpCall(t, nil, http.MethodGet, m[1]+"/graphql", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the metrics address serves the API: %d", resp.StatusCode)
	}
}

// Errors handed to Echo's error handler (a domain error of a REST handler,
// an unknown route) are counted and logged with the status and size the
// client got.
func TestMetricsAndAccessLogSeeWrittenStatus(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, "+8613800000002")
	calls := []struct {
		path, token, route string
		status             int
	}{
		{"/api/v1/me/export", "", "/api/v1/me/export", http.StatusUnauthorized},
		{"/api/v1/stores/SZ01/board", s.ownerToken(t, owner.ID), "/api/v1/stores/:code/board", http.StatusForbidden},
		{"/api/v1/stores/NOPE99/board", s.staffToken(t, "admin"), "/api/v1/stores/:code/board", http.StatusNotFound},
	}
	ids := map[int]string{}
	sizes := map[int]int{}
	for _, c := range calls {
		hdr := map[string]string{}
		if c.token != "" {
			hdr["Authorization"] = "Bearer " + c.token
		}
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+c.path, nil, hdr)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: %d, want %d: %s", c.path, resp.StatusCode, c.status, raw)
		}
		ids[c.status] = resp.Header.Get(echo.HeaderXRequestID)
		sizes[c.status] = len(raw)
	}
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer plain.CloseIdleConnections()
	_, raw := httpCall(t, plain, http.MethodGet, s.URL+"/metrics", nil, nil)
	text := string(raw)
	for _, c := range calls {
		want := fmt.Sprintf(`ownerhub_http_requests_total{method="GET",route=%q,status="%d"} 1`, c.route, c.status)
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `status="500"`) {
		t.Errorf("metrics count a 500 nobody got:\n%s", grepLines(text, `status="500"`))
	}
	for _, c := range calls {
		l := findLog(t, s.Logs.String(), "request", ids[c.status])
		if l["status"] != float64(c.status) || l["bytes_out"] != float64(sizes[c.status]) || sizes[c.status] == 0 {
			t.Errorf("%s: access log says status %v, %v bytes; the client got %d, %d bytes", c.path, l["status"], l["bytes_out"], c.status, sizes[c.status])
		}
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// An owner's request that fails inside the server is logged with its
// request id, as a staff member's is.
func TestOwnerRequestFailureIsLogged(t *testing.T) {
	s := closedDBServer(t)
	r := s.do(t, req{Query: `{ me { name } }`, Token: s.ownerToken(t, uuid.New())})
	if r.Code() != string(models.CodeInternal) {
		t.Fatalf("want INTERNAL, got %d: %s", r.Status, r.Raw)
	}
	l := findLog(t, s.Logs.String(), "internal error", r.Header.Get(echo.HeaderXRequestID))
	if msg, _ := l["err"].(string); !strings.Contains(msg, "closed") {
		t.Fatalf("the log does not say what failed: %v", l)
	}
}

// Readiness has a connection of its own: a pool whose every connection is
// taken is busy, not unreachable.
func TestReadyzWhenThePoolIsBusy(t *testing.T) {
	db, _ := ownDB(t, models.Pool{MaxOpenConns: 1, MaxIdleConns: 1}, false)
	if got := db.SQL.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("pool of %d connections, configured 1", got)
	}
	s := newTestServer(t, func(_ *Config, d *Deps) { d.DB = db })
	// Ready first, then the pool busy.
	waitReady(t, s.URL)
	held, err := db.SQL.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz with a busy pool: %d %s", resp.StatusCode, raw)
	}
	m := decodeJSON(t, raw)
	want := "listening"
	if db.Dialect == models.SQLite {
		want = "in process"
	}
	if m["status"] != "ready" || m["database"] != "ok" || m["liveUpdates"] != want {
		t.Fatalf("readyz body: %s", raw)
	}
}

// At SIGTERM the instance says it is not ready, keeps serving for the drain
// period so the load balancer stops sending, then shuts down.
func TestRunServeDrains(t *testing.T) {
	s := startServe(t, freshEnv(t, map[string]string{"DRAIN_PERIOD": "5s"}))
	if resp, raw := httpCall(t, nil, http.MethodGet, s.base+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz before the signal: %d %s", resp.StatusCode, raw)
	}
	s.cancel()
	var draining bool
	for i := 0; i < 200 && !draining; i++ {
		resp, err := http.Get(s.base + "/readyz")
		if err != nil {
			t.Fatalf("readyz after the signal: %v (the server stopped accepting before draining)", err)
		}
		resp.Body.Close()
		draining = resp.StatusCode == http.StatusServiceUnavailable
		if !draining {
			time.Sleep(10 * time.Millisecond)
		}
	}
	resp, raw := httpCall(t, nil, http.MethodGet, s.base+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || decodeJSON(t, raw)["reason"] != "draining" {
		t.Fatalf("readyz while draining: %d %s", resp.StatusCode, raw)
	}
	// Requests the load balancer still sends are served.
	if d := s.post(t, "", `{ stores(first: 1) { totalCount } }`, nil); dig(d, "stores", "totalCount") == nil {
		t.Fatalf("query while draining: %v", d)
	}
	if err := s.wait(t, 5*time.Second+shutdownGrace); err != nil {
		t.Fatalf("serve after draining: %v", err)
	}
	if !strings.Contains(s.stderr.String(), "draining") {
		t.Errorf("no drain log line:\n%s", s.stderr)
	}
}

// A request that waits for a row another transaction holds gives up at the
// lock timeout with a retryable BUSY, instead of holding a pool connection
// until the request times out; other owners are served meanwhile.
func TestLockTimeoutAnswersBusy(t *testing.T) {
	db, _ := ownDB(t, models.Pool{MaxOpenConns: 4, MaxIdleConns: 4, LockTimeout: 300 * time.Millisecond, StatementTimeout: 5 * time.Second}, false)
	s := newTestServer(t, func(c *Config, d *Deps) {
		d.DB = db
		c.RateLimits = RateLimits{IPRate: 100_000, IPBurst: 100_000, UserRate: 100_000, UserBurst: 100_000}
	})
	locked := insertOwner(t, db, "锁住")
	var others []uuid.UUID
	for i := range 6 {
		others = append(others, insertOwner(t, db, fmt.Sprintf("别人%d", i)))
	}
	// Another transaction holds the owner's row (on SQLite, the write lock).
	tx, err := db.SQL.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("UPDATE owners SET name = name WHERE id = "+placeholder(db), locked.String()); err != nil {
		t.Fatal(err)
	}

	const update = `mutation($n: String!) { updateMyProfile(input: {name: $n}) { owner { name } userErrors { code } } }`
	retriesBefore := db.TxRetries()
	var wg sync.WaitGroup
	blocked := make([]*gqlResponse, 6)
	for i := range blocked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blocked[i] = s.do(t, req{Query: update, Vars: map[string]any{"n": "新名字"}, Token: s.ownerToken(t, locked)})
		}()
	}
	unrelated := make([]*gqlResponse, len(others))
	for i, id := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unrelated[i] = s.do(t, req{Query: `{ me { name } }`, Token: s.ownerToken(t, id)})
		}()
	}
	wg.Wait()
	for i, r := range unrelated {
		if len(r.Errors) > 0 || dig(r.Data, "me", "name") != fmt.Sprintf("别人%d", i) {
			t.Errorf("another owner's request failed while one row was locked: %d %s", r.Status, r.Raw)
		}
	}
	for _, r := range blocked {
		if r.Code() != "BUSY" || r.Errors[0].Extensions["retryable"] != true {
			t.Fatalf("request on the locked row: want BUSY, retryable, got %d %s", r.Status, r.Raw)
		}
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("a request that failed whole: %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
		}
	}
	// A lock timeout is not run again by WithTx (SQLite's busy write lock
	// is, a bounded number of times: it may be a moment's contention).
	if n := db.TxRetries() - retriesBefore; db.Dialect == models.Postgres && n != 0 {
		t.Fatalf("transactions that hit the lock timeout were run again %d times", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Once the lock is gone the same request goes through.
	d := s.gql(t, s.ownerToken(t, locked), update, map[string]any{"n": "新名字"})
	if dig(d, "updateMyProfile", "owner", "name") != "新名字" {
		t.Fatalf("after the lock: %v", d)
	}
}

// The pool is sized from the configuration; idle connections default to as
// many as may be open, so that a busy instance does not close and reopen them.
func TestConfigDatabasePool(t *testing.T) {
	load := func(env map[string]string) (Config, error) {
		return LoadConfig(func(k string) string { return env[k] })
	}
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pool != (models.Pool{}) {
		t.Fatalf("defaults are the database's own: %+v", c.Pool)
	}
	c, err = load(map[string]string{"DB_MAX_OPEN_CONNS": "30", "DB_LOCK_TIMEOUT": "2s", "DB_STATEMENT_TIMEOUT": "8s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pool != (models.Pool{MaxOpenConns: 30, MaxIdleConns: 30, LockTimeout: 2 * time.Second, StatementTimeout: 8 * time.Second}) {
		t.Fatalf("pool: %+v", c.Pool)
	}
	c, err = load(map[string]string{"DB_CONN_MAX_LIFETIME": "30m", "DB_CONN_MAX_IDLE_TIME": "2m"})
	if err != nil || c.Pool.ConnMaxLifetime != 30*time.Minute || c.Pool.ConnMaxIdleTime != 2*time.Minute {
		t.Fatalf("lifetime 30m, idle time 2m: %+v %v", c.Pool, err)
	}
	c, err = load(map[string]string{"LIVE_CACHE_MAX_AGE": "3s"})
	if err != nil || c.Pool.LiveCacheMaxAge != 3*time.Second {
		t.Fatalf("live cache max age 3s: %+v %v", c.Pool, err)
	}
	c, err = load(map[string]string{"DB_MAX_OPEN_CONNS": "30", "DB_MAX_IDLE_CONNS": "5", "DRAIN_PERIOD": "7s"})
	if err != nil || c.Pool.MaxIdleConns != 5 || c.DrainPeriod != 7*time.Second {
		t.Fatalf("idle 5, drain 7s: %+v %v %v", c.Pool, c.DrainPeriod, err)
	}
	for _, env := range []map[string]string{
		{"DB_MAX_OPEN_CONNS": "0"},
		{"DB_MAX_OPEN_CONNS": "many"},
		{"DB_MAX_OPEN_CONNS": "4", "DB_MAX_IDLE_CONNS": "9"},
		{"DB_LOCK_TIMEOUT": "5"},
		{"DB_STATEMENT_TIMEOUT": "20s"}, // not below the request timeout
		{"DB_LOCK_TIMEOUT": "12s", "DB_STATEMENT_TIMEOUT": "10s"},
		{"DRAIN_PERIOD": "-1s"},
		{"DB_CONN_MAX_LIFETIME": "10s"}, // shorter than a minute would churn
		{"DB_CONN_MAX_IDLE_TIME": "forever"},
		{"LIVE_CACHE_MAX_AGE": "100ms"},
		{"LIVE_CACHE_MAX_AGE": "2h"},
		{"METRICS_TOKEN": "short"},
	} {
		if _, err := load(env); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
	// Production waits for the load balancer by default.
	c, err = load(map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("p", 32)})
	if err != nil || c.DrainPeriod <= 0 {
		t.Fatalf("production drain period %v (%v)", c.DrainPeriod, err)
	}
	if c.DrainPeriod+shutdownGrace > 30*time.Second {
		t.Fatalf("drain %v plus grace %v exceed a usual termination grace period of 30 s", c.DrainPeriod, shutdownGrace)
	}
}

// The pool takes its configured size on both dialects.
func TestDatabasePoolSize(t *testing.T) {
	db, _ := ownDB(t, models.Pool{MaxOpenConns: 3}, false)
	st := db.SQL.Stats()
	if st.MaxOpenConnections != 3 {
		t.Fatalf("max open %d, want 3", st.MaxOpenConnections)
	}
	// Three connections used at once stay idle afterwards, not closed.
	var conns []*sql.Conn
	for range 3 {
		c, err := db.SQL.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PingContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if st := db.SQL.Stats(); st.Idle != 3 || st.MaxIdleClosed != 0 {
		t.Fatalf("after three at once: %d idle, %d closed for lack of idle room", st.Idle, st.MaxIdleClosed)
	}
}

// statusOfRetryAfter reads a Retry-After header as seconds.
func statusOfRetryAfter(h http.Header) int {
	n, _ := strconv.Atoi(h.Get("Retry-After"))
	return n
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/testdb"
)

// The subcommands, through run as main calls it.

// freshEnv is the environment of a newcomer's first start: an empty data
// directory, or an empty PostgreSQL database when TEST_DATABASE_URL is set.
func freshEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	dbURL, drop, err := testdb.URL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	env := map[string]string{"DATA_DIR": filepath.Join(t.TempDir(), "data"), "DATABASE_URL": dbURL}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func onPostgres() bool { return os.Getenv("TEST_DATABASE_URL") != "" }

// runOnce runs a subcommand to completion.
func runOnce(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errs logBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, args, envOf(env), &out, &errs)
	return out.String(), errs.String(), err
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"migrate", "now"}, {"--help"}} {
		env := map[string]string{"DATA_DIR": filepath.Join(t.TempDir(), "data")}
		_, _, err := runOnce(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), "usage: server [serve|migrate|seed|") {
			t.Fatalf("%v: %v", args, err)
		}
		if _, statErr := os.Stat(env["DATA_DIR"]); !os.IsNotExist(statErr) {
			t.Fatalf("%v: a usage error touched the data directory", args)
		}
	}
}

func TestRunBadConfig(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		says string
	}{
		{map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{map[string]string{"APP_ENV": "production"}, "JWT_SECRET"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
	} {
		c.env["DATA_DIR"] = filepath.Join(t.TempDir(), "data")
		for _, cmd := range []string{"serve", "migrate", "seed"} {
			stdout, _, err := runOnce(t, c.env, cmd)
			if err == nil || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s with %v: want one line naming %s, got %v", cmd, c.env, c.says, err)
			}
			if stdout != "" {
				t.Fatalf("%s printed %q before failing", cmd, stdout)
			}
		}
	}
	// An unreachable database is one clear error too.
	_, _, err := runOnce(t, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, "migrate")
	if err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("unreachable database: %v", err)
	}
}

var loadedRE = regexp.MustCompile(`loaded demo data: (\d+) stores, (\d+) staff, (\d+) owners, (\d+) vehicles`)

func TestRunMigrateAndSeed(t *testing.T) {
	env := freshEnv(t, nil)

	out, _, err := runOnce(t, env, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscanf(out, "database is up to date (%d migrations applied now)", &n); err != nil || n < 1 {
		t.Fatalf("first migrate: %q", out)
	}
	out, _, err = runOnce(t, env, "migrate")
	if err != nil || out != "database is up to date (0 migrations applied now)\n" {
		t.Fatalf("second migrate: %q %v", out, err)
	}

	out, _, err = runOnce(t, env, "seed")
	if err != nil {
		t.Fatal(err)
	}
	m := loadedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("seed: %q", out)
	}
	var stores, staff, owners, vehicles int
	fmt.Sscan(m[1]+" "+m[2]+" "+m[3]+" "+m[4], &stores, &staff, &owners, &vehicles)
	if stores != 2 || staff < 9 || owners < 20 || vehicles < owners {
		t.Fatalf("demo data: %q", out)
	}

	out, _, err = runOnce(t, env, "seed")
	if err == nil || !strings.Contains(err.Error(), "already has data") {
		t.Fatalf("second seed: %q %v", out, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("not one line: %q", err)
	}
}

func TestRunSeedMigratesAnEmptyDatabase(t *testing.T) {
	out, _, err := runOnce(t, freshEnv(t, nil), "seed")
	if err != nil || loadedRE.FindString(out) == "" {
		t.Fatalf("seed on a new database: %q %v", out, err)
	}
}

// served is a server started by run serve.
type served struct {
	base   string
	stdout *logBuffer
	stderr *logBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	err    error         // what run returned, once done is closed
}

// wait waits up to d for run to return and returns its error.
func (s *served) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(d):
		t.Fatalf("serve did not return within %v", d)
		return nil
	}
}

var graphQLLineRE = regexp.MustCompile(`GraphQL:\s+(http://\S+)/graphql`)

func startServe(t *testing.T, env map[string]string) *served {
	t.Helper()
	env["HTTP_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &logBuffer{}, stderr: &logBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = run(ctx, []string{"serve"}, envOf(env), s.stdout, s.stderr)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	// The first start seeds the demo data (hashing 17 staff passwords),
	// which under the race detector takes a while.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if m := graphQLLineRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.base = m[1]
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("serve stopped: %v\nstdout: %s\nstderr: %s", s.err, s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no GraphQL URL printed:\n%s\n%s", s.stdout, s.stderr)
	return nil
}

// post sends a GraphQL request to a served instance.
func (s *served) post(t *testing.T, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	hdr := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	resp, raw := httpCall(t, nil, http.MethodPost, s.base+"/graphql", strings.NewReader(string(body)), hdr)
	m := decodeJSON(t, raw)
	if resp.StatusCode != http.StatusOK || m["errors"] != nil {
		t.Fatalf("%d: %s", resp.StatusCode, raw)
	}
	return m["data"].(map[string]any)
}

func TestRunServe(t *testing.T) {
	env := freshEnv(t, nil)
	s := startServe(t, env)
	out := s.stdout.String()
	for _, want := range []string{
		"OwnerHub is running (development, ",
		"GraphiQL: " + s.base + "/graphiql",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("welcome lacks %q:\n%s", want, out)
		}
	}
	// Demo logins are printed only where the demo data is (the embedded
	// database seeds itself; PostgreSQL only by `seed`).
	for _, want := range []string{"Demo owner: phone +8613800000001, code 246810", `Demo staff: advisor.sz01`, `"ownerhub-demo"`} {
		if strings.Contains(out, want) == onPostgres() {
			t.Errorf("welcome shows %q: %v, want %v:\n%s", want, !onPostgres(), !onPostgres(), out)
		}
	}
	if seeded := strings.Contains(out, "Loaded demo data"); seeded == onPostgres() {
		t.Errorf("demo data loaded on first start: %v, want %v (embedded database only)", seeded, !onPostgres())
	}
	u, _ := url.Parse(s.base)
	if h, _, _ := net.SplitHostPort(u.Host); h != "127.0.0.1" {
		t.Errorf("GraphQL URL host %q", u.Host)
	}
	if _, err := os.Stat(filepath.Join(env["DATA_DIR"], "jwt-secret")); err != nil {
		t.Errorf("development JWT secret not kept: %v", err)
	}

	for _, probe := range []string{"/healthz", "/readyz", "/graphiql"} {
		if resp, raw := httpCall(t, nil, http.MethodGet, s.base+probe, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", probe, resp.StatusCode, raw)
		}
	}

	// The demo owner signs in with the printed code, as printed.
	if d := s.post(t, "", `mutation { requestLoginCode(input: {phone: "13800000001"}) { sent userErrors { code } } }`, nil); dig(d, "requestLoginCode", "sent") != true {
		t.Fatalf("requestLoginCode for the demo owner: %v", d)
	}
	d := s.post(t, "", `mutation { verifyLoginCode(input: {phone: "+8613800000001", code: "246810"}) {
		session { accessToken } userErrors { code } } }`, nil)
	tok, _ := dig(d, "verifyLoginCode", "session", "accessToken").(string)
	if tok == "" {
		t.Fatalf("demo owner sign-in: %v", d)
	}
	if me := s.post(t, tok, `{ me { phone } }`, nil); dig(me, "me", "phone") != "+8613800000001" {
		t.Fatalf("me: %v", me)
	}

	// Graceful shutdown: a request in flight when the signal comes finishes.
	addr := strings.TrimPrefix(s.base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"query": "{ stores(first: 1) { totalCount } }"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, len(body), body[:half])
	time.Sleep(100 * time.Millisecond) // the server is reading the body
	s.cancel()
	time.Sleep(300 * time.Millisecond)
	select {
	case <-s.done:
		t.Fatalf("serve returned (%v) with a request in flight", s.err)
	default:
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("still accepting connections while shutting down")
	}
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || dig(decodeJSON(t, raw), "data", "stores", "totalCount") == nil {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, raw)
	}

	if err := s.wait(t, shutdownGrace); err != nil {
		t.Fatalf("serve after shutdown: %v", err)
	}
	if !strings.Contains(s.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", s.stderr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("port still open after serve returned")
	}

	// The next start reuses the data: nothing is seeded again.
	again := startServe(t, env)
	if strings.Contains(again.stdout.String(), "Loaded demo data") {
		t.Fatalf("seeded again on restart:\n%s", again.stdout)
	}
	if me := again.post(t, tok, `{ me { phone } }`, nil); dig(me, "me", "phone") != "+8613800000001" {
		t.Fatalf("a token from before the restart: %v", me)
	}
}

func TestRunServeProduction(t *testing.T) {
	env := freshEnv(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("p", 32)})
	s := startServe(t, env)
	out := s.stdout.String()
	for _, absent := range []string{"GraphiQL", "Demo owner", "Demo staff", "ownerhub-demo", "Loaded demo data"} {
		if strings.Contains(out, absent) {
			t.Errorf("production welcome shows %q:\n%s", absent, out)
		}
	}
	if !strings.Contains(out, "OwnerHub is running (production, ") {
		t.Errorf("welcome: %s", out)
	}
	if resp, _ := httpCall(t, nil, http.MethodGet, s.base+"/graphiql", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GraphiQL in production: %d", resp.StatusCode)
	}
	if resp, raw := httpCall(t, nil, http.MethodGet, s.base+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d %s", resp.StatusCode, raw)
	}
	if _, err := os.Stat(filepath.Join(env["DATA_DIR"], "jwt-secret")); !os.IsNotExist(err) {
		t.Errorf("production wrote a development secret: %v", err)
	}
	s.cancel()
	if err := s.wait(t, shutdownGrace); err != nil {
		t.Fatal(err)
	}
}

// The server collects garbage at its own target unless GOGC says
// otherwise (docs/operations.md).
func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	setGCPercent(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC: collector target %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) string { return map[string]string{"GOGC": "100"}[k] })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC=100: collector target %d, want it left at 100", got)
	}
}

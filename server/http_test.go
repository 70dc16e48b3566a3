package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// HTTP plumbing of the server: transports, middleware, probes, metrics and
// the shape of errors, all through the real app on a real listener.

// httpCall sends one request and returns the response with its body read.
func httpCall(t testing.TB, client *http.Client, method, target string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	hr, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		hr.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// decodeJSON decodes a JSON object or fails the test.
func decodeJSON(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, raw)
	}
	return m
}

// expectProblem checks an RFC 9457 problem answer with a stable code.
func expectProblem(t testing.TB, resp *http.Response, raw []byte, status int, code string) map[string]any {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	p := decodeJSON(t, raw)
	if p["code"] != code {
		t.Fatalf("problem code %v, want %s: %s", p["code"], code, raw)
	}
	if p["status"] != float64(status) || p["title"] == "" || p["type"] == nil {
		t.Fatalf("incomplete problem: %s", raw)
	}
	if id, _ := p["requestId"].(string); id == "" || id != resp.Header.Get(echo.HeaderXRequestID) {
		t.Fatalf("problem requestId %q, header %q", p["requestId"], resp.Header.Get(echo.HeaderXRequestID))
	}
	return p
}

// logLines parses the JSON log lines written so far.
func logLines(t testing.TB, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// findLog returns the first log line with the message and request id.
func findLog(t testing.TB, logs, msg, requestID string) map[string]any {
	t.Helper()
	for _, l := range logLines(t, logs) {
		if l["msg"] == msg && l["request_id"] == requestID {
			return l
		}
	}
	t.Fatalf("no log line %q with request_id %q in:\n%s", msg, requestID, logs)
	return nil
}

const storesQuery = `{ stores(first: 5) { totalCount edges { node { code name } } } }`

func TestHTTPPostJSON(t *testing.T) {
	s := newTestServer(t)
	r := s.do(t, req{Query: storesQuery})
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("%d: %s", r.Status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if n, _ := dig(r.Data, "stores", "totalCount").(float64); n < 2 {
		t.Fatalf("want the demo stores: %s", r.Raw)
	}
	if dig(r.Data, "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("no store code: %s", r.Raw)
	}
}

func TestHTTPGetQuery(t *testing.T) {
	s := newTestServer(t)
	q := url.Values{"query": {`query($n: Int) { stores(first: $n) { edges { node { code } } } }`}, "variables": {`{"n": 1}`}}
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/graphql?"+q.Encode(), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d: %s", resp.StatusCode, raw)
	}
	m := decodeJSON(t, raw)
	if m["errors"] != nil {
		t.Fatalf("errors: %s", raw)
	}
	edges, _ := dig(m, "data", "stores", "edges").([]any)
	if len(edges) != 1 {
		t.Fatalf("want 1 store for first: 1: %s", raw)
	}
}

func TestHTTPGetMutationRefused(t *testing.T) {
	s := newTestServer(t)
	phone := "+8613955511001"
	q := url.Values{"query": {`mutation { requestLoginCode(input: {phone: "` + phone + `"}) { sent } }`}}
	before := s.DB.Statements()
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/graphql?"+q.Encode(), nil, nil)
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("GET with a mutation: status %d, want a 4xx refusal: %s", resp.StatusCode, raw)
	}
	m := decodeJSON(t, raw)
	if errs, _ := m["errors"].([]any); len(errs) == 0 || m["data"] != nil {
		t.Fatalf("want errors and no data: %s", raw)
	}
	if d := s.DB.Statements() - before; d != 0 {
		t.Fatalf("the refused mutation ran %d SQL statements", d)
	}
	if n := s.SMS.Count(phone); n != 0 {
		t.Fatalf("the refused mutation sent %d codes", n)
	}
}

func TestHTTPGraphQLResponseJSON(t *testing.T) {
	s := newTestServer(t)
	r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"Accept": "application/graphql-response+json"}})
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("%d: %s", r.Status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/graphql-response+json") {
		t.Fatalf("Content-Type %q, want application/graphql-response+json", ct)
	}
	if dig(r.Data, "__typename") != "Query" {
		t.Fatalf("data: %s", r.Raw)
	}
	// A document that does not parse is a 4xx under this media type.
	bad := s.do(t, req{Query: `{ stores {`, Headers: map[string]string{"Accept": "application/graphql-response+json"}})
	if bad.Status < 400 || bad.Status >= 500 || len(bad.Errors) == 0 {
		t.Fatalf("parse error: status %d: %s", bad.Status, bad.Raw)
	}
}

func TestHTTPRequestID(t *testing.T) {
	s := newTestServer(t)
	r1 := s.do(t, req{Query: `{ __typename }`})
	r2 := s.do(t, req{Query: `{ __typename }`})
	id1, id2 := r1.Header.Get(echo.HeaderXRequestID), r2.Header.Get(echo.HeaderXRequestID)
	if id1 == "" || id2 == "" || id1 == id2 {
		t.Fatalf("want distinct generated request ids, got %q and %q", id1, id2)
	}
	const mine = "client-req-7f3a9c"
	r3 := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{echo.HeaderXRequestID: mine}})
	if got := r3.Header.Get(echo.HeaderXRequestID); got != mine {
		t.Fatalf("incoming request id not kept: got %q", got)
	}
	for _, id := range []string{id1, id2, mine} {
		l := findLog(t, s.Logs.String(), "request", id)
		if l["method"] != "POST" || l["uri"] != "/graphql" || l["status"] != float64(200) || l["level"] != "INFO" {
			t.Fatalf("access log line: %v", l)
		}
		if _, ok := l["latency"]; !ok {
			t.Fatalf("access log line without latency: %v", l)
		}
	}
}

func TestHTTPPanicRecovery(t *testing.T) {
	s := newTestServer(t)
	const secret = "panic-secret-detail-42"
	s.App.Echo.GET("/test/panic", func(echo.Context) error { panic(secret) })

	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/test/panic", nil, nil)
	expectProblem(t, resp, raw, http.StatusInternalServerError, string(models.CodeInternal))
	for _, leak := range []string{secret, "goroutine", ".go:"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Fatalf("500 answer leaks %q: %s", leak, raw)
		}
	}
	id := resp.Header.Get(echo.HeaderXRequestID)
	l := findLog(t, s.Logs.String(), "panic", id)
	if l["panic"] != secret || !strings.Contains(l["stack"].(string), "goroutine") {
		t.Fatalf("panic log line: %v", l)
	}
	findLog(t, s.Logs.String(), "request", id)

	// The server keeps serving.
	if resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after panic: %d %s", resp.StatusCode, raw)
	}
	s.gql(t, "", `{ __typename }`, nil)
}

func preflight(t testing.TB, s *testServer, origin string) *http.Response {
	t.Helper()
	resp, _ := httpCall(t, nil, http.MethodOptions, s.URL+"/graphql", nil, map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization,content-type",
	})
	return resp
}

func TestHTTPCORS(t *testing.T) {
	const allowed = "https://app.example.com"
	s := newTestServer(t, func(c *Config, _ *Deps) { c.CORSOrigins = []string{allowed} })

	resp := preflight(t, s, allowed)
	if resp.StatusCode >= 300 {
		t.Fatalf("preflight: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowed {
		t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, allowed)
	}
	if h := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "authorization") || !strings.Contains(h, "content-type") {
		t.Fatalf("Access-Control-Allow-Headers %q", h)
	}
	if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
		t.Fatalf("Access-Control-Allow-Methods %q", m)
	}

	resp = preflight(t, s, "https://evil.example.com")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("another origin got Access-Control-Allow-Origin %q", got)
	}

	// The real request from the allowed origin can read the request id.
	r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"Origin": allowed}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != allowed {
		t.Fatalf("POST: Access-Control-Allow-Origin %q", got)
	}
	if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), echo.HeaderXRequestID) {
		t.Fatalf("X-Request-Id not exposed: %q", r.Header.Get("Access-Control-Expose-Headers"))
	}
	r = s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"Origin": "https://evil.example.com"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("POST from another origin: Access-Control-Allow-Origin %q", got)
	}
}

func TestHTTPCORSNoOriginsConfigured(t *testing.T) {
	s := newTestServer(t) // CORS_ORIGINS unset: README says "(none)"
	resp := preflight(t, s, "https://evil.example.com")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("with CORS_ORIGINS unset another origin is allowed (Access-Control-Allow-Origin: %q)", got)
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	s := newTestServer(t)
	pad := strings.Repeat("x", 2<<20)
	body := `{"query": "{ __typename }", "variables": {"pad": "` + pad + `"}}`

	// With Content-Length: refused before the body is read.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5e9}}
	defer client.CloseIdleConnections()
	resp, raw := httpCall(t, client, http.MethodPost, s.URL+"/graphql", strings.NewReader(body),
		map[string]string{"Content-Type": "application/json", "Expect": "100-continue"})
	expectProblem(t, resp, raw, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")

	// Chunked, without Content-Length: refused while reading.
	before := s.DB.Statements()
	resp, raw = httpCall(t, nil, http.MethodPost, s.URL+"/graphql", io.MultiReader(strings.NewReader(body)),
		map[string]string{"Content-Type": "application/json"})
	expectProblem(t, resp, raw, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	if d := s.DB.Statements() - before; d != 0 {
		t.Fatalf("chunked 2 MB body ran %d statements", d)
	}

	// A body under the limit is fine.
	small := `{"query": "{ __typename }", "variables": {"pad": "` + strings.Repeat("x", 500<<10) + `"}}`
	resp, raw = httpCall(t, nil, http.MethodPost, s.URL+"/graphql", strings.NewReader(small),
		map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("500 KB body: %d %s", resp.StatusCode, raw)
	}
}

func TestHTTPGzip(t *testing.T) {
	s := newTestServer(t)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(map[string]any{"query": storesQuery})
	resp, raw := httpCall(t, client, http.MethodPost, s.URL+"/graphql", bytes.NewReader(body),
		map[string]string{"Content-Type": "application/json", "Accept-Encoding": "gzip"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", ce)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if dig(decodeJSON(t, plain), "data", "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("decompressed body: %s", plain)
	}

	// Without Accept-Encoding the answer is plain.
	resp, raw = httpCall(t, client, http.MethodPost, s.URL+"/graphql", bytes.NewReader(body),
		map[string]string{"Content-Type": "application/json"})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("compressed without Accept-Encoding")
	}
	decodeJSON(t, raw)
}

func TestHTTPHealthAndReady(t *testing.T) {
	s := newTestServer(t)
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK || decodeJSON(t, raw)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", resp.StatusCode, raw)
	}
	if raw := waitReady(t, s.URL); decodeJSON(t, raw)["status"] != "ready" {
		t.Fatalf("readyz on the migrated database: %s", raw)
	}
}

// waitReady polls an app's /readyz until it answers 200 and returns that
// answer. On PostgreSQL the live updates' listener connects in the
// background as the app starts (a moment on a busy machine), and the app
// is not ready before.
func waitReady(t *testing.T, base string) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, raw := httpCall(t, nil, http.MethodGet, base+"/readyz", nil, nil)
		if resp.StatusCode == http.StatusOK {
			return raw
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never ready: %d %s", resp.StatusCode, raw)
		}
	}
}

// openUnmigrated opens a fresh database of the dialect under test without
// applying any migration.
func openUnmigrated(t testing.TB) *models.DB {
	t.Helper()
	dbURL, drop, err := testdb.URL()
	if err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(dbURL, t.TempDir(), nil)
	if err != nil {
		drop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		drop()
	})
	return db
}

func TestHTTPReadyzUnmigrated(t *testing.T) {
	fresh := openUnmigrated(t)
	s := newTestServer(t, func(_ *Config, d *Deps) { d.DB = fresh })
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz on an unmigrated database: %d %s", resp.StatusCode, raw)
	}
	if m := decodeJSON(t, raw); m["status"] != "unavailable" || m["reason"] != "migrations pending" {
		t.Fatalf("readyz body: %s", raw)
	}
	// The process is up all the same.
	if resp, _ := httpCall(t, nil, http.MethodGet, s.URL+"/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

func TestHTTPMetrics(t *testing.T) {
	s := newTestServer(t)
	s.gql(t, "", `{ __typename }`, nil)
	httpCall(t, nil, http.MethodGet, s.URL+"/no/such/route", nil, nil)
	// No Accept-Encoding: the exposition format as is.
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer plain.CloseIdleConnections()
	resp, raw := httpCall(t, plain, http.MethodGet, s.URL+"/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := string(raw)
	for _, want := range []string{
		`ownerhub_http_requests_total{method="POST",route="/graphql",status="200"} 1`,
		`ownerhub_http_request_duration_seconds_count{method="POST",route="/graphql"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	found404 := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "ownerhub_http_requests_total{") && strings.Contains(line, `status="404"`) {
			found404 = true
		}
	}
	if !found404 {
		t.Errorf("no series for the 404")
	}
	if strings.Contains(text, "/no/such/route") {
		t.Errorf("metrics have a series per unmatched URL")
	}
}

// Prometheus scrapes with Accept-Encoding: gzip.
func TestHTTPMetricsGzipScrape(t *testing.T) {
	s := newTestServer(t)
	s.gql(t, "", `{ __typename }`, nil)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, raw := httpCall(t, client, http.MethodGet, s.URL+"/metrics", nil, map[string]string{"Accept-Encoding": "gzip"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	body := raw
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(body, []byte("ownerhub_http_requests_total")) {
		t.Fatalf("scraped metrics lack ownerhub_http_requests_total: %.200q", body)
	}
}

func TestHTTPOpenAPI(t *testing.T) {
	s := newTestServer(t)
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/openapi.json", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc := decodeJSON(t, raw)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	if dig(doc, "info", "title") == nil {
		t.Fatalf("no info.title")
	}
	paths, _ := doc["paths"].(map[string]any)
	// Every REST route of the app is described (GraphQL and GraphiQL are not REST).
	for _, r := range s.App.Echo.Routes() {
		if r.Path == "/graphql" || strings.HasPrefix(r.Path, "/graphiql") || r.Method == echo.RouteNotFound {
			continue
		}
		// Echo writes path parameters as :name, OpenAPI as {name}.
		path := regexp.MustCompile(`:(\w+)`).ReplaceAllString(r.Path, "{$1}")
		ops, _ := paths[path].(map[string]any)
		if ops[strings.ToLower(r.Method)] == nil {
			t.Errorf("OpenAPI document lacks %s %s", r.Method, r.Path)
		}
	}
}

func TestHTTPNotFoundAndMethodNotAllowed(t *testing.T) {
	s := newTestServer(t)
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/nothing-here", nil, nil)
	expectProblem(t, resp, raw, http.StatusNotFound, string(models.CodeNotFound))

	var bugs []string
	// An unknown path is not found whatever the caller sends.
	resp, raw = httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/nothing-here", nil, map[string]string{"Authorization": "Bearer bad"})
	if resp.StatusCode != http.StatusNotFound {
		bugs = append(bugs, fmt.Sprintf("GET /api/v1/nothing-here with a bad bearer token answers %d %s, not 404 problem+json", resp.StatusCode, bytes.TrimSpace(raw)))
	}
	resp, raw = httpCall(t, nil, http.MethodPost, s.URL+"/healthz", nil, nil)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		bugs = append(bugs, fmt.Sprintf("POST /healthz answers %d, not 405 METHOD_NOT_ALLOWED", resp.StatusCode))
	} else {
		expectProblem(t, resp, raw, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	}
	if len(bugs) > 0 {
		t.Fatal(strings.Join(bugs, "; "))
	}
}

// closedDBServer is a server whose database handle was closed under it.
func closedDBServer(t *testing.T) *testServer {
	t.Helper()
	broken, cleanup, err := testdb.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	s := newTestServer(t, func(_ *Config, d *Deps) { d.DB = broken })
	if err := broken.Close(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHTTPInternalErrorsDoNotLeak(t *testing.T) {
	// The database goes away under the running server.
	s := closedDBServer(t)

	for _, lang := range []string{"", "en"} {
		r := s.do(t, req{Query: storesQuery, Headers: map[string]string{"Accept-Language": lang}})
		if r.Code() != string(models.CodeInternal) {
			t.Fatalf("want INTERNAL, got %d: %s", r.Status, r.Raw)
		}
		for _, leak := range []string{"sql", "SQL", "closed", "select", "SELECT", "stores", "gorm", "driver", "pgx", "sqlite"} {
			if strings.Contains(strings.ReplaceAll(r.Raw, `"stores"`, ""), leak) {
				t.Fatalf("INTERNAL error leaks %q: %s", leak, r.Raw)
			}
		}
		if lang == "en" && r.Errors[0].Message != "internal error; please try again later" {
			t.Fatalf("English message: %q", r.Errors[0].Message)
		}
		id := r.Header.Get(echo.HeaderXRequestID)
		l := findLog(t, s.Logs.String(), "internal error", id)
		if msg, _ := l["err"].(string); !strings.Contains(msg, "closed") {
			t.Fatalf("the log does not say what failed: %v", l)
		}
		if l["level"] != "ERROR" {
			t.Fatalf("internal error logged at %v", l["level"])
		}
	}

	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || decodeJSON(t, raw)["reason"] != "database unreachable" {
		t.Fatalf("readyz on a closed database: %d %s", resp.StatusCode, raw)
	}
}

func TestHTTPRateLimitPerIP(t *testing.T) {
	// Rate 0.01/s: nothing refills while the test runs.
	s := newTestServer(t, func(c *Config, _ *Deps) {
		c.RateLimits = RateLimits{IPRate: 0.01, IPBurst: 3, UserRate: 100, UserBurst: 100}
	})
	for i := range 3 {
		// A forwarded-for header is not trusted by default: it cannot buy a new budget.
		r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"X-Forwarded-For": "203.0.113." + string(rune('1'+i))}})
		if r.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Raw)
		}
	}
	r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"X-Forwarded-For": "203.0.113.9"}})
	if r.Status != http.StatusTooManyRequests || r.Code() != string(models.CodeRateLimited) {
		t.Fatalf("over the burst: %d %s", r.Status, r.Raw)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After")
	}
	// Probes are not rate limited.
	if resp, _ := httpCall(t, nil, http.MethodGet, s.URL+"/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz under rate limit: %d", resp.StatusCode)
	}
}

func TestHTTPRateLimitPerIPBehindProxy(t *testing.T) {
	s := newTestServer(t, func(c *Config, _ *Deps) {
		c.TrustProxyHeaders = true
		c.RateLimits = RateLimits{IPRate: 0.01, IPBurst: 2, UserRate: 100, UserBurst: 100}
	})
	xff := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
	for i := range 2 {
		if r := s.do(t, req{Query: `{ __typename }`, Headers: xff("203.0.113.10")}); r.Status != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, r.Status)
		}
	}
	if r := s.do(t, req{Query: `{ __typename }`, Headers: xff("203.0.113.10")}); r.Code() != string(models.CodeRateLimited) {
		t.Fatalf("third request from one client: %d %s", r.Status, r.Raw)
	}
	// Another client behind the same proxy has its own budget.
	if r := s.do(t, req{Query: `{ __typename }`, Headers: xff("203.0.113.11")}); r.Status != http.StatusOK {
		t.Fatalf("another client: %d %s", r.Status, r.Raw)
	}
}

func TestHTTPRateLimitPerUser(t *testing.T) {
	s := newTestServer(t, func(c *Config, _ *Deps) {
		c.TrustProxyHeaders = true
		c.RateLimits = RateLimits{IPRate: 100, IPBurst: 100, UserRate: 0.01, UserBurst: 3}
	})
	owner := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)
	other := s.ownerToken(t, s.ownerByPhone(t, "+8613800000002").ID)
	me := `{ me { phone } }`
	for i := range 3 {
		r := s.do(t, req{Query: me, Token: owner, Headers: map[string]string{"X-Forwarded-For": "198.51.100." + string(rune('1'+i))}})
		if r.Status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Raw)
		}
	}
	r := s.do(t, req{Query: me, Token: owner, Headers: map[string]string{"X-Forwarded-For": "198.51.100.9"}})
	if r.Status != http.StatusTooManyRequests || r.Code() != string(models.CodeRateLimited) {
		t.Fatalf("same user from a new IP over the burst: %d %s", r.Status, r.Raw)
	}
	// Another user, and an anonymous caller, from the same IP are not affected.
	if r := s.do(t, req{Query: me, Token: other, Headers: map[string]string{"X-Forwarded-For": "198.51.100.9"}}); r.Status != http.StatusOK {
		t.Fatalf("another user: %d %s", r.Status, r.Raw)
	}
	if r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"X-Forwarded-For": "198.51.100.9"}}); r.Status != http.StatusOK {
		t.Fatalf("anonymous: %d %s", r.Status, r.Raw)
	}
}

func TestHTTPAcceptLanguage(t *testing.T) {
	s := newTestServer(t)
	q := `{ stores(first: 0) { totalCount } }`
	zh := s.do(t, req{Query: q})
	en := s.do(t, req{Query: q, Headers: map[string]string{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}})
	zhFirst := s.do(t, req{Query: q, Headers: map[string]string{"Accept-Language": "zh-CN,en;q=0.8"}})
	for _, r := range []*gqlResponse{zh, en, zhFirst} {
		if r.Code() != string(models.CodeInvalidArgument) {
			t.Fatalf("code changed with the language: %s", r.Raw)
		}
	}
	if !strings.Contains(zh.Errors[0].Message, "每页") || !strings.Contains(zhFirst.Errors[0].Message, "每页") {
		t.Fatalf("default message is not Chinese: %q / %q", zh.Errors[0].Message, zhFirst.Errors[0].Message)
	}
	if !strings.Contains(en.Errors[0].Message, "first must be between") {
		t.Fatalf("English message: %q", en.Errors[0].Message)
	}

	// Errors refused before GraphQL keep their code too.
	r := s.do(t, req{Query: `{ me { name } }`, Token: "not-a-token", Headers: map[string]string{"Accept-Language": "en"}})
	if r.Status != http.StatusUnauthorized || r.Code() != string(models.CodeUnauthenticated) {
		t.Fatalf("bad token: %d %s", r.Status, r.Raw)
	}
}

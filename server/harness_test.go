package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// One migrated, seeded database serves the package's tests (seeding hashes
// passwords, which is slow by design); tests that change data use their own
// phones, plates and VINs so they do not step on each other.
var sharedDB *models.DB

func TestMain(m *testing.M) {
	db, cleanup, err := testdb.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := demo.Seed(context.Background(), db, demo.DefaultPassword); err != nil {
		cleanup()
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	sharedDB = db
	code := m.Run()
	// Every operation the tests sent ended with its loaders' count of
	// running fields back at zero (graph's scheduler).
	if n, ops := graph.LoaderMiscounts(); n > 0 {
		fmt.Fprintf(os.Stderr, "%d operations ended with the loaders' scheduler miscounting their fields; the first:\n", n)
		for _, op := range ops {
			fmt.Fprintf(os.Stderr, "  %.400s\n", op)
		}
		if code == 0 {
			code = 1
		}
	}
	if n := graph.LoaderWatchdogSends(); n > 0 {
		fmt.Fprintf(os.Stderr, "%d batches went out on the loaders' watchdog\n", n)
	}
	cleanup()
	os.Exit(code)
}

// testServer is the real app behind a real HTTP listener, with fakes only for
// the SMS gateway and WeChat.
type testServer struct {
	*httptest.Server
	App    *App
	DB     *models.DB
	Cfg    Config
	SMS    *authtest.SMSOutbox
	WeChat *authtest.FakeWeChat
	Logs   *logBuffer
}

const testSecret = "test-secret-test-secret-test-secret-0123"

// newTestServer starts an app on the shared database; tweak adjusts its
// configuration and dependencies first.
func newTestServer(t testing.TB, tweak ...func(*Config, *Deps)) *testServer {
	t.Helper()
	env := map[string]string{"JWT_SECRET": testSecret, "OTP_TEST_NUMBERS": "+8613800000001=246810"}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	wc := authtest.NewFakeWeChat()
	t.Cleanup(wc.Close)
	cfg.WeChatAPIBase = wc.URL()
	sms := &authtest.SMSOutbox{}
	d := Deps{
		DB:     sharedDB,
		Log:    slog.New(requestIDHandler{slog.NewJSONHandler(logs, nil)}),
		SMS:    sms,
		WeChat: &auth.WeChatClient{BaseURL: wc.URL(), AppID: "wx-test-app", Secret: "wx-test-secret"},
	}
	for _, f := range tweak {
		f(&cfg, &d)
	}
	app, err := NewApp(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Echo)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, App: app, DB: d.DB, Cfg: cfg, SMS: sms, WeChat: wc, Logs: logs}
}

// gqlResponse is a GraphQL response as a client sees it.
type gqlResponse struct {
	Status int
	Header http.Header
	Data   map[string]any
	Errors []gqlError
	Raw    string
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the extensions.code of the response's first error, "" if none.
func (r *gqlResponse) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// req is one GraphQL request.
type req struct {
	Query   string
	Vars    map[string]any
	Token   string
	Headers map[string]string
}

// do POSTs a GraphQL request and decodes the answer.
func (s *testServer) do(t testing.TB, r req) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": r.Query, "variables": r.Vars})
	hr, _ := http.NewRequest(http.MethodPost, s.URL+"/graphql", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("response is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return out
}

// gql runs a request that must succeed without GraphQL errors.
func (s *testServer) gql(t testing.TB, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	r := s.do(t, req{Query: query, Vars: vars, Token: token})
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("unexpected errors (%d): %s", r.Status, r.Raw)
	}
	return r.Data
}

// ownerToken signs a real access token for an owner, for tests that are not
// about signing in.
func (s *testServer) ownerToken(t testing.TB, ownerID uuid.UUID) string {
	t.Helper()
	tok, _, err := s.App.Tokens.Issue(auth.Principal{Kind: auth.KindOwner, ID: ownerID})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// staffToken signs in a demo staff member through staffLogin.
func (s *testServer) staffToken(t testing.TB, username string) string {
	t.Helper()
	d := s.gql(t, "", `mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
		session { accessToken } userErrors { code message } } }`, map[string]any{"u": username, "p": demo.DefaultPassword})
	tok, ok := dig(d, "staffLogin", "session", "accessToken").(string)
	if !ok {
		t.Fatalf("staff login %s failed: %v", username, d)
	}
	return tok
}

// ownerByPhone reads an owner straight from the database.
func (s *testServer) ownerByPhone(t testing.TB, phone string) *models.Owner {
	t.Helper()
	var o models.Owner
	if err := s.DB.Conn(context.Background()).Where("phone = ?", phone).Take(&o).Error; err != nil {
		t.Fatalf("owner %s: %v", phone, err)
	}
	return &o
}

// dig walks a decoded JSON value by object keys and array indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// userErrorCodes lists the codes of a payload's userErrors.
func userErrorCodes(payload any) []string {
	var codes []string
	list, _ := dig(payload, "userErrors").([]any)
	for _, ue := range list {
		if c, ok := dig(ue, "code").(string); ok {
			codes = append(codes, c)
		}
	}
	return codes
}

func expectUserError(t testing.TB, payload any, code string) {
	t.Helper()
	codes := userErrorCodes(payload)
	if len(codes) != 1 || codes[0] != code {
		t.Fatalf("want userError %s, got %v in %v", code, codes, payload)
	}
}

// logBuffer collects the JSON log lines of concurrent requests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

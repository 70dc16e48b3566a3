package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// A request that runs out of its time is a passing condition the client may
// retry (UNAVAILABLE, retryable, 503 with Retry-After over REST), logged as
// such, not an INTERNAL failure.
func TestRequestTimeoutIsRetryable(t *testing.T) {
	s := newTestServer(t, func(_ *Config, d *Deps) { d.RequestTimeout = time.Nanosecond })
	tok := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)

	resp, raw := httpCall(t, http.DefaultClient, http.MethodGet, s.URL+"/api/v1/me/export", nil,
		map[string]string{"Authorization": "Bearer " + tok})
	p := expectProblem(t, resp, raw, http.StatusServiceUnavailable, string(models.CodeUnavailable))
	if p["retryable"] != true || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("timed-out REST request: %s", raw)
	}

	r := s.do(t, req{Query: `{ me { id vehicles { totalCount } } }`, Token: tok})
	if r.Code() != string(models.CodeUnavailable) || r.Errors[0].Extensions["retryable"] != true {
		t.Fatalf("timed-out GraphQL request: %d %s", r.Status, r.Raw)
	}
	if logs := s.Logs.String(); len(logLinesWith(t, logs, "internal error"))+len(logLinesWith(t, logs, "request failed")) > 0 {
		t.Fatalf("a timeout was logged as an internal failure: %s", logs)
	}
}

// logLinesWith are the log records whose msg is msg.
func logLinesWith(t testing.TB, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logLines(t, logs) {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

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
	for _, l := range logLines(t, s.Logs.String()) {
		if l["msg"] == "internal error" || l["msg"] == "request failed" {
			t.Fatalf("a timeout was logged as an internal failure: %v", l)
		}
	}
}

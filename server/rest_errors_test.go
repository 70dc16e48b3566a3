package main

import (
	"net/http"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// Every REST route answers its refusals as application/problem+json, the
// ones the middleware makes (a bad token, too many requests) too; /graphql
// answers them in GraphQL's shape.
func TestRESTRefusalsAreProblems(t *testing.T) {
	s := newE2EServer(t, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "0.01,2"}))
	bad := map[string]string{"Authorization": "Bearer not-a-token", "X-Forwarded-For": e2eIP()}
	resp, raw := httpCall(t, http.DefaultClient, http.MethodGet, s.URL+"/api/v1/me/export", nil, bad)
	p := expectProblem(t, resp, raw, http.StatusUnauthorized, string(models.CodeUnauthenticated))
	if p["reason"] != "INVALID_TOKEN" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("refused token on the export: %s", raw)
	}
	resp, raw = httpCall(t, http.DefaultClient, http.MethodGet, s.URL+"/api/v1/stores/SZ01/board", nil, bad)
	expectProblem(t, resp, raw, http.StatusUnauthorized, string(models.CodeUnauthenticated))
	// The address's budget (2) is spent: the next refusal is 429, a problem too.
	resp, raw = httpCall(t, http.DefaultClient, http.MethodGet, s.URL+"/api/v1/me/export", nil, bad)
	expectProblem(t, resp, raw, http.StatusTooManyRequests, string(models.CodeRateLimited))
	if resp.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %s", raw)
	}
	// /graphql speaks GraphQL.
	owner := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)
	r := s.callFrom(t, e2eIP(), owner+"x", `{ me { id } }`, nil, nil)
	if r.Status != http.StatusUnauthorized || r.Code() != string(models.CodeUnauthenticated) {
		t.Fatalf("graphql refusal: %d %s", r.Status, r.Raw)
	}
}

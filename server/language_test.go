package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// Accept-Language is negotiated (q-values honoured) once per request, for
// every message the server writes: domain refusals, the parser's and the
// validator's, the transport's, 401 and 429; the answer names its language.
func TestHTTPAcceptLanguageNegotiated(t *testing.T) {
	s := newTestServer(t, func(c *Config, _ *Deps) {
		c.RateLimits = RateLimits{IPRate: 0.01, IPBurst: 60, UserRate: 100, UserBurst: 100}
	})
	english := []string{"en", "fr, en;q=0.5", "de-CH, en-GB;q=0.8, zh;q=0.3", "zh;q=0.4, en;q=0.8"}
	chinese := []string{"", "zh-CN", "zh-CN, en;q=0.8", "fr", "en;q=0.2, zh"}
	check := func(what, accept, msg string, header http.Header) {
		t.Helper()
		en := false
		for _, a := range english {
			en = en || a == accept
		}
		wantLang := map[bool]string{true: "en", false: "zh-CN"}[en]
		if got := header.Get("Content-Language"); got != wantLang {
			t.Fatalf("%s, Accept-Language %q: Content-Language %q, want %s", what, accept, got, wantLang)
		}
		if e2eHasHan(msg) == en {
			t.Fatalf("%s, Accept-Language %q: message %q is not in %s", what, accept, msg, wantLang)
		}
	}
	for _, accept := range append(append([]string{}, english...), chinese...) {
		h := map[string]string{}
		if accept != "" {
			h["Accept-Language"] = accept
		}
		// A domain refusal.
		r := s.do(t, req{Query: `{ stores(first: 0) { totalCount } }`, Headers: h})
		if r.Code() != string(models.CodeInvalidArgument) {
			t.Fatalf("code changed with the language: %s", r.Raw)
		}
		check("domain refusal", accept, r.Errors[0].Message, r.Header)
		// The parser's and the validator's refusals.
		r = s.do(t, req{Query: `{ stores {`, Headers: h})
		if r.Code() != "GRAPHQL_PARSE_FAILED" {
			t.Fatalf("parse: %s", r.Raw)
		}
		check("parse failure", accept, r.Errors[0].Message, r.Header)
		r = s.do(t, req{Query: `{ storez { totalCount } }`, Headers: h})
		if r.Code() != "GRAPHQL_VALIDATION_FAILED" || !strings.Contains(r.Errors[0].Message, "storez") {
			t.Fatalf("validation: %s", r.Raw)
		}
		check("validation failure", accept, r.Errors[0].Message, r.Header)
		// A bad token: 401.
		r = s.do(t, req{Query: `{ me { name } }`, Token: "not-a-token", Headers: h})
		if r.Status != http.StatusUnauthorized || r.Code() != string(models.CodeUnauthenticated) {
			t.Fatalf("bad token: %d %s", r.Status, r.Raw)
		}
		check("401", accept, r.Errors[0].Message, r.Header)
		// The transport's own refusal: 415.
		h["Content-Type"] = "text/plain"
		resp, m, raw := s.post(t, "text/plain", `{ __typename }`, h)
		delete(h, "Content-Type")
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("415: %d %s", resp.StatusCode, raw)
		}
		msg, _ := dig(m, "errors", 0, "message").(string)
		check("415", accept, msg, resp.Header)
		// REST.
		resp, rawREST := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil, h)
		p := expectProblem(t, resp, rawREST, http.StatusUnauthorized, string(models.CodeUnauthenticated))
		detail, _ := p["detail"].(string)
		check("REST 401", accept, detail, resp.Header)
	}
	// 429, once the anonymous budget is spent.
	for _, accept := range []string{"fr, en;q=0.5", "zh-CN"} {
		var r *gqlResponse
		for range 100 {
			if r = s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"Accept-Language": accept}}); r.Status == http.StatusTooManyRequests {
				break
			}
		}
		if r.Status != http.StatusTooManyRequests || r.Code() != string(models.CodeRateLimited) {
			t.Fatalf("no 429: %d %s", r.Status, r.Raw)
		}
		check("429", accept, r.Errors[0].Message, r.Header)
	}
}

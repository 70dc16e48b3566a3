package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// openAPIOperation is what the REST tests read of an operation of
// openapi.json.
type openAPIOperation struct {
	Method, Path string // Path as the document writes it: /stores/{code}/board
	Secured      bool   // takes a bearer token (security names a scheme)
	Responses    map[string]json.RawMessage
}

var openAPIParam = regexp.MustCompile(`\{[^}]+\}`)

// openAPIOperations lists the document's operations.
func openAPIOperations(t testing.TB) []openAPIOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []openAPIOperation
	for path, methods := range doc.Paths {
		for method, op := range methods {
			secured := len(op.Security) > 0
			for _, req := range op.Security {
				secured = secured && len(req) > 0 // an empty requirement: anonymous allowed
			}
			ops = append(ops, openAPIOperation{Method: strings.ToUpper(method), Path: path, Secured: secured, Responses: op.Responses})
		}
	}
	slices.SortFunc(ops, func(a, b openAPIOperation) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
	return ops
}

// TestOpenAPIListsEveryRoute: the document describes exactly the routes the
// server registers (GraphQL's own endpoints and the development GraphiQL
// page with its assets aside), so that it cannot drift from the code.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	s := newTestServer(t)
	var served, described []string
	for _, r := range s.App.Echo.Routes() {
		if r.Path == "/graphql" || r.Path == "/graphiql" || strings.HasPrefix(r.Path, "/graphiql/") || !strings.HasPrefix(r.Path, "/") {
			continue
		}
		path := regexp.MustCompile(`:(\w+)`).ReplaceAllString(r.Path, "{$1}")
		served = append(served, r.Method+" "+path)
	}
	for _, op := range openAPIOperations(t) {
		described = append(described, op.Method+" "+op.Path)
	}
	slices.Sort(served)
	served = slices.Compact(served)
	slices.Sort(described)
	if !slices.Equal(served, described) {
		t.Fatalf("the server registers\n  %s\nopenapi.json describes\n  %s", strings.Join(served, "\n  "), strings.Join(described, "\n  "))
	}
	if !slices.ContainsFunc(served, func(r string) bool { return strings.HasPrefix(r, "GET /api/v1/") }) {
		t.Fatalf("no REST route found: %v", served)
	}
}

// TestRESTErrorsAreProblemsEverywhere sweeps every REST operation of the
// document: without a token, with a bad one and over the rate limit (where
// it takes a token), with a method it does not take and with a body over the
// limit, and an unknown path. Every refusal is application/problem+json with
// type, title, status, detail and the project's code, and its status is one
// the document lists for the operation.
func TestRESTErrorsAreProblemsEverywhere(t *testing.T) {
	s := newE2EServer(t, withEnv(t, map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "0.01,3"}))
	checked := 0
	check := func(op openAPIOperation, what string, resp *http.Response, raw []byte, status int) {
		t.Helper()
		checked++
		where := fmt.Sprintf("%s %s %s", op.Method, op.Path, what)
		if status != 0 && resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d: %s", where, resp.StatusCode, status, raw)
			return
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q: %s", where, ct, raw)
			return
		}
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Errorf("%s: %v: %s", where, err, raw)
			return
		}
		for _, k := range []string{"type", "title", "detail", "code"} {
			if v, _ := p[k].(string); v == "" {
				t.Errorf("%s: problem without %s: %s", where, k, raw)
			}
		}
		if p["status"] != float64(resp.StatusCode) {
			t.Errorf("%s: problem status %v on a %d: %s", where, p["status"], resp.StatusCode, raw)
		}
		if op.Responses != nil {
			doc, ok := op.Responses[strconv.Itoa(resp.StatusCode)]
			if !ok {
				t.Errorf("%s: %d is not in the document's responses", where, resp.StatusCode)
			} else if !strings.Contains(string(doc), "application/problem+json") && !strings.Contains(string(doc), "#/components/responses/") {
				t.Errorf("%s: the document does not say %d is a problem: %s", where, resp.StatusCode, doc)
			}
		}
	}
	for _, op := range openAPIOperations(t) {
		if !strings.HasPrefix(op.Path, "/api/") {
			continue
		}
		url := s.URL + openAPIParam.ReplaceAllString(op.Path, "SZ01")
		ip := func() map[string]string { return map[string]string{"X-Forwarded-For": e2eIP()} }
		if op.Secured {
			resp, raw := httpCall(t, nil, op.Method, url, nil, ip())
			check(op, "without a token", resp, raw, http.StatusUnauthorized)
			bad := ip()
			bad["Authorization"] = "Bearer not-a-token"
			for range 3 {
				resp, raw = httpCall(t, nil, op.Method, url, nil, bad)
				check(op, "with a bad token", resp, raw, http.StatusUnauthorized)
			}
			resp, raw = httpCall(t, nil, op.Method, url, nil, bad)
			check(op, "over the rate limit", resp, raw, http.StatusTooManyRequests)
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s %s: 429 without Retry-After", op.Method, op.Path)
			}
		} else if op.Method == http.MethodPost {
			// Unsigned: not WeChat Pay's (or online payment is not configured).
			resp, raw := httpCall(t, nil, op.Method, url, strings.NewReader(`{}`), ip())
			check(op, "unsigned", resp, raw, 0)
		}
		other := http.MethodDelete
		resp, raw := httpCall(t, nil, other, url, nil, ip())
		check(op, "with "+other, resp, raw, http.StatusMethodNotAllowed)
		if resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", op.Method, op.Path)
		}
		hdr := ip()
		hdr["Content-Type"] = "application/json"
		resp, raw = httpCall(t, nil, op.Method, url, strings.NewReader(`"`+strings.Repeat("x", int(bodyLimitBytes)+10)+`"`), hdr)
		check(op, "with a body over the limit", resp, raw, http.StatusRequestEntityTooLarge)
	}
	for _, path := range []string{"/api/v1/nothing-here", "/api/v1/stores/SZ01/board/extra", "/api/v2/me/export"} {
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+path, nil, map[string]string{"X-Forwarded-For": e2eIP()})
		check(openAPIOperation{Method: "GET", Path: path}, "(unknown path)", resp, raw, http.StatusNotFound)
	}
	if checked < 20 {
		t.Fatalf("only %d answers checked", checked)
	}
}

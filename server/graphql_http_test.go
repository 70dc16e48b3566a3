package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// GraphQL over HTTP as its specification and the graphql-http audit check
// it, through the real server: media types negotiated, request errors
// without data, the status codes of each media type, GET for queries only,
// caching of public GET queries.

const (
	mediaJSON = "application/json"
	mediaGQL  = "application/graphql-response+json"
)

// post sends body to /graphql as contentType with hdr.
func (s *testServer) post(t *testing.T, contentType, body string, hdr map[string]string) (*http.Response, map[string]any, string) {
	t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	for k, v := range hdr {
		h[k] = v
	}
	resp, raw := httpCall(t, nil, http.MethodPost, s.URL+"/graphql", strings.NewReader(body), h)
	return resp, decodeJSON(t, raw), string(raw)
}

func mediaOf(resp *http.Response) string {
	mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return strings.TrimSpace(mt)
}

func TestGraphQLHTTPNegotiatesMediaType(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct {
		accept string
		want   string // "" for 406
	}{
		{"", mediaJSON},
		{mediaJSON, mediaJSON},
		{mediaGQL, mediaGQL},
		{"*/*", mediaJSON},
		{"application/*", mediaJSON},
		{mediaGQL + ", " + mediaJSON + ";q=0.9", mediaGQL},
		{mediaJSON + ";q=0.5, " + mediaGQL, mediaGQL},
		{mediaGQL + ";q=0.1, " + mediaJSON, mediaJSON},
		{mediaJSON + ", " + mediaGQL, mediaJSON},
		{"text/html, */*;q=0.1", mediaJSON},
		{"*/*, " + mediaJSON + ";q=0", mediaGQL},
		{"text/html", ""},
		{mediaJSON + ";q=0", ""},
		{"application/xml, text/plain;q=0.5", ""},
	} {
		resp, m, raw := s.post(t, mediaJSON, `{"query":"{ __typename }"}`, map[string]string{"Accept": c.accept})
		if c.want == "" {
			if resp.StatusCode != http.StatusNotAcceptable || m["errors"] == nil {
				t.Fatalf("Accept %q: %d %s, want 406", c.accept, resp.StatusCode, raw)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || mediaOf(resp) != c.want || !strings.Contains(resp.Header.Get("Content-Type"), "charset=utf-8") {
			t.Fatalf("Accept %q: %d %q, want 200 %s; charset=utf-8: %s", c.accept, resp.StatusCode, resp.Header.Get("Content-Type"), c.want, raw)
		}
		if dig(m, "data", "__typename") != "Query" {
			t.Fatalf("Accept %q: %s", c.accept, raw)
		}
	}
}

// A document that does not parse or is not valid is a request error: no
// data key; 200 under application/json, 400 under the new media type.
func TestGraphQLHTTPRequestErrors(t *testing.T) {
	s := newTestServer(t)
	for name, doc := range map[string]string{
		"parse":      `{ stores {`,
		"validation": `{ storez { totalCount } }`,
		"variables":  `query($n: Int!) { stores(first: $n) { totalCount } }`,
	} {
		for accept, status := range map[string]int{mediaJSON: http.StatusOK, mediaGQL: http.StatusBadRequest} {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var resp *http.Response
				var raw []byte
				if method == http.MethodGet {
					resp, raw = httpCall(t, nil, method, s.URL+"/graphql?"+url.Values{"query": {doc}}.Encode(), nil, map[string]string{"Accept": accept})
				} else {
					body := `{"query":` + jsonString(doc) + `}`
					resp, raw = httpCall(t, nil, method, s.URL+"/graphql", strings.NewReader(body), map[string]string{"Accept": accept, "Content-Type": mediaJSON})
				}
				m := decodeJSON(t, raw)
				if resp.StatusCode != status || mediaOf(resp) != accept {
					t.Fatalf("%s failure, %s, Accept %s: %d %s, want %d", name, method, accept, resp.StatusCode, mediaOf(resp), status)
				}
				if _, has := m["data"]; has {
					t.Fatalf("%s failure, %s, Accept %s: a data key: %s", name, method, accept, raw)
				}
				if errs, _ := m["errors"].([]any); len(errs) == 0 || dig(errs, 0, "message") == "" {
					t.Fatalf("%s failure, %s: no error: %s", name, method, raw)
				}
			}
		}
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// Requests the server cannot read: 415 for a media type other than JSON,
// 400 for a body or parameters of the wrong shape.
func TestGraphQLHTTPMalformedRequests(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct {
		contentType, body string
		status            int
	}{
		{"", `{"query":"{ __typename }"}`, http.StatusUnsupportedMediaType},
		{"text/plain", `{"query":"{ __typename }"}`, http.StatusUnsupportedMediaType},
		{"application/graphql", `{ __typename }`, http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", `query=%7B__typename%7D`, http.StatusUnsupportedMediaType},
		{"application/json; charset=iso-8859-1", `{"query":"{ __typename }"}`, http.StatusUnsupportedMediaType},
		{"application/json; charset=utf-8", `{"query":"{ __typename }"}`, http.StatusOK},
		{mediaJSON, `{"query":`, http.StatusBadRequest},
		{mediaJSON, `[{"query":"{ __typename }"}]`, http.StatusBadRequest},
		{mediaJSON, `"{ __typename }"`, http.StatusBadRequest},
		{mediaJSON, `{}`, http.StatusBadRequest},
		{mediaJSON, `{"query":null}`, http.StatusBadRequest},
		{mediaJSON, `{"query":7}`, http.StatusBadRequest},
		{mediaJSON, `{"query":"{ __typename }","variables":"{}"}`, http.StatusBadRequest},
		{mediaJSON, `{"query":"{ __typename }","variables":[]}`, http.StatusBadRequest},
		{mediaJSON, `{"query":"{ __typename }","operationName":1}`, http.StatusBadRequest},
		{mediaJSON, `{"query":"{ __typename }","extensions":"x"}`, http.StatusBadRequest},
		{mediaJSON, `{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`, http.StatusOK},
	} {
		for _, accept := range []string{mediaJSON, mediaGQL} {
			resp, m, raw := s.post(t, c.contentType, c.body, map[string]string{"Accept": accept})
			if resp.StatusCode != c.status {
				t.Fatalf("%q %s (Accept %s): %d %s, want %d", c.contentType, c.body, accept, resp.StatusCode, raw, c.status)
			}
			if c.status != http.StatusOK {
				if _, has := m["data"]; has || m["errors"] == nil || mediaOf(resp) != accept {
					t.Fatalf("%q %s: want errors, no data, as %s: %s %s", c.contentType, c.body, accept, mediaOf(resp), raw)
				}
			}
		}
	}
	// GET: the query is required, variables must be an object.
	for q, status := range map[string]int{
		"": http.StatusBadRequest,
		"query=%7B__typename%7D&variables=%5B%5D": http.StatusBadRequest,
		"query=%7B__typename%7D&variables=nope":   http.StatusBadRequest,
		"query=%7B__typename%7D&variables=%7B%7D": http.StatusOK,
	} {
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/graphql?"+q, nil, nil)
		if resp.StatusCode != status {
			t.Fatalf("GET ?%s: %d %s, want %d", q, resp.StatusCode, raw, status)
		}
	}
}

// GET serves queries only: a mutation is 405 with Allow: POST, and nothing
// runs.
func TestGraphQLHTTPGetMutationIs405(t *testing.T) {
	s := newTestServer(t)
	phone := "+8613955511002"
	q := url.Values{"query": {`mutation { requestLoginCode(input: {phone: "` + phone + `"}) { sent } }`}}
	for _, accept := range []string{mediaJSON, mediaGQL} {
		before := s.DB.Statements()
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/graphql?"+q.Encode(), nil, map[string]string{"Accept": accept})
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Fatalf("GET mutation: %d Allow %q: %s", resp.StatusCode, resp.Header.Get("Allow"), raw)
		}
		if m := decodeJSON(t, raw); m["errors"] == nil || m["data"] != nil || mediaOf(resp) != accept {
			t.Fatalf("GET mutation answer: %s", raw)
		}
		if d := s.DB.Statements() - before; d != 0 {
			t.Fatalf("the refused mutation ran %d SQL statements", d)
		}
	}
	if n := s.SMS.Count(phone); n != 0 {
		t.Fatalf("the refused mutation sent %d codes", n)
	}
	// The same mutation by POST runs.
	if d := s.gql(t, "", `mutation { requestLoginCode(input: {phone: "`+phone+`"}) { sent } }`, nil); dig(d, "requestLoginCode", "sent") != true {
		t.Fatalf("POST mutation: %v", d)
	}
}

// Cache-Control: an anonymous caller's successful GET query may be cached
// a minute (public data); a signed-in caller's, a POST, or an answer with
// errors is never stored.
func TestGraphQLHTTPCacheControl(t *testing.T) {
	s := newTestServer(t)
	get := func(query, token string) *http.Response {
		h := map[string]string{}
		if token != "" {
			h["Authorization"] = "Bearer " + token
		}
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/graphql?"+url.Values{"query": {query}}.Encode(), nil, h)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, resp.StatusCode, raw)
		}
		return resp
	}
	public := get(storesQuery, "")
	if cc := public.Header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Fatalf("anonymous GET query: Cache-Control %q", cc)
	}
	vary := strings.Join(public.Header.Values("Vary"), ",")
	for _, v := range []string{"Accept", "Accept-Language", "Authorization"} {
		if !strings.Contains(vary, v) {
			t.Fatalf("Vary %q lacks %s", vary, v)
		}
	}
	owner := s.ownerByPhone(t, "+8613800000001")
	if cc := get(`{ me { name } }`, s.ownerToken(t, owner.ID)).Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("signed-in GET query: Cache-Control %q", cc)
	}
	if cc := get(`{ stores(first: 0) { totalCount } }`, "").Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("GET query with errors: Cache-Control %q", cc)
	}
	if r := s.do(t, req{Query: storesQuery}); r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST query: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
}

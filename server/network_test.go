package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":                   "203.0.113.7",
		"::ffff:203.0.113.7":            "203.0.113.7",
		"2001:db8:1:2:aaaa:bbbb:cccc:1": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9":          "2001:db8:1:2::/64",
		"2001:db8:1:3::1":               "2001:db8:1:3::/64",
		"not an ip":                     "not an ip",
	} {
		if got := clientNetwork(in); got != want {
			t.Errorf("clientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequestIDFromClientIsSanitized(t *testing.T) {
	s := newTestServer(t)
	for id, kept := range map[string]bool{"abc-123_X.9": true, "<script>": false, "has space": false, strings.Repeat("a", 80): false} {
		r := s.do(t, req{Query: `{ __typename }`, Headers: map[string]string{"X-Request-Id": id}})
		got := r.Header.Get("X-Request-Id")
		if r.Status != http.StatusOK || got == "" {
			t.Fatalf("%d, request id %q", r.Status, got)
		}
		if (got == id) != kept {
			t.Errorf("incoming %q: answered %q (kept %v, want %v)", id, got, got == id, kept)
		}
	}
}

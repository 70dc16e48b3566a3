package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// getSchema fetches GET /schema.graphql with an optional bearer token.
func getSchema(t *testing.T, s *testServer, token string) (*http.Response, []byte) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, s.URL+"/schema.graphql", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// The published schema is served as committed: to anyone in development, to
// signed-in staff only in production (401 without a token, 403 for an owner).
func TestSchemaServed(t *testing.T) {
	committed, err := os.ReadFile("../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	wantSchema := func(t *testing.T, resp *http.Response, raw []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/graphql") {
			t.Fatalf("Content-Type %q", ct)
		}
		if !bytes.Equal(raw, committed) {
			t.Fatal("GET /schema.graphql is not the committed schema.graphql")
		}
	}
	t.Run("development", func(t *testing.T) {
		s := newTestServer(t)
		resp, raw := getSchema(t, s, "")
		wantSchema(t, resp, raw)
	})
	t.Run("production", func(t *testing.T) {
		s := newTestServer(t, func(c *Config, _ *Deps) { c.Production = true })
		resp, raw := getSchema(t, s, "")
		expectProblem(t, resp, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		owner := s.ownerByPhone(t, "+8613800000001")
		resp, raw = getSchema(t, s, s.ownerToken(t, owner.ID))
		expectProblem(t, resp, raw, http.StatusForbidden, "FORBIDDEN")
		resp, raw = getSchema(t, s, s.ownerToken(t, uuid.New())[:20])
		expectProblem(t, resp, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
		resp, raw = getSchema(t, s, s.staffToken(t, "advisor.sz01"))
		wantSchema(t, resp, raw)
	})
}

// Every custom scalar says which specification its strings follow, so that
// generated clients and schema browsers can link it (@specifiedBy).
func TestScalarsSpecifiedBy(t *testing.T) {
	s := newTestServer(t)
	d := s.gql(t, "", `{ __schema { types { kind name specifiedByURL description } } }`, nil)
	want := map[string]string{
		"Date":     "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
		"DateTime": "https://datatracker.ietf.org/doc/html/rfc3339",
	}
	builtin := map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}
	seen := 0
	for _, ty := range dig(d, "__schema", "types").([]any) {
		ty := ty.(map[string]any)
		if ty["kind"] != "SCALAR" || builtin[ty["name"].(string)] {
			continue
		}
		seen++
		if url, ok := want[ty["name"].(string)]; !ok || ty["specifiedByURL"] != url {
			t.Errorf("scalar %v: specifiedByURL %v, want %q", ty["name"], ty["specifiedByURL"], url)
		}
		if desc, _ := ty["description"].(string); !strings.Contains(desc, "RFC 3339") {
			t.Errorf("scalar %v does not say its format: %q", ty["name"], desc)
		}
	}
	if seen != len(want) {
		t.Errorf("%d custom scalars, want %d", seen, len(want))
	}
}

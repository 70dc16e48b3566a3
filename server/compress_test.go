package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/andybalholm/brotli"
)

// Answers are compressed with Brotli for clients that ask for it at least
// as much as for gzip, with gzip for the others, plain otherwise.
func TestHTTPBrotli(t *testing.T) {
	s := newTestServer(t)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(map[string]any{"query": storesQuery})
	for _, c := range []struct{ accept, want string }{
		{"br", "br"},
		{"gzip, deflate, br", "br"},
		{"br;q=1.0, gzip;q=0.8", "br"},
		{"*", "br"},
		{"gzip, br;q=0.5", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"gzip", "gzip"},
		{"identity", ""},
		{"", ""},
	} {
		resp, raw := httpCall(t, client, http.MethodPost, s.URL+"/graphql", bytes.NewReader(body),
			map[string]string{"Content-Type": "application/json", "Accept-Encoding": c.accept})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != c.want {
			t.Fatalf("Accept-Encoding %q: %d Content-Encoding %q, want %q", c.accept, resp.StatusCode, resp.Header.Get("Content-Encoding"), c.want)
		}
		plain := raw
		switch c.want {
		case "br":
			var err error
			if plain, err = io.ReadAll(brotli.NewReader(bytes.NewReader(raw))); err != nil {
				t.Fatalf("Accept-Encoding %q: not Brotli: %v", c.accept, err)
			}
			if len(raw) >= len(plain) {
				t.Fatalf("Brotli answer of %d bytes for %d plain", len(raw), len(plain))
			}
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if plain, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if dig(decodeJSON(t, plain), "data", "stores", "edges", 0, "node", "code") == nil {
			t.Fatalf("Accept-Encoding %q: body %s", c.accept, plain)
		}
		if c.accept != "" && resp.Header.Get("Vary") == "" {
			t.Fatalf("Accept-Encoding %q: no Vary", c.accept)
		}
	}
	// A REST refusal (problem+json, written by the error handler) is read
	// whole by a Brotli client.
	resp, raw := httpCall(t, client, http.MethodGet, s.URL+"/api/v1/me/export", nil, map[string]string{"Accept-Encoding": "br"})
	if resp.Header.Get("Content-Encoding") == "br" {
		if raw, _ = io.ReadAll(brotli.NewReader(bytes.NewReader(raw))); len(raw) == 0 {
			t.Fatal("empty Brotli body")
		}
	}
	expectProblem(t, resp, raw, http.StatusUnauthorized, "UNAUTHENTICATED")
}

package main

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	// Every attribute that makes a browser fetch something.
	pageRefRE = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']([^"']+)["']`)
	tagRE     = regexp.MustCompile(`(?is)<(?:script|link)\b[^>]*>`)
	attrRE    = regexp.MustCompile(`(?i)\b(src|href|integrity)\s*=\s*["']([^"']*)["']`)
	cssURLRE  = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]`)
	// A URL to a host: with a scheme, or scheme-relative (//host.name/).
	absURLRE = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://|//[a-z0-9-]+(?:\.[a-z0-9-]+)+`)
)

// GraphiQL works offline: its page references only what this server
// serves (no URL to another host anywhere in the page), every script and
// stylesheet it loads is served here, matching the integrity the page
// gives for it, and the stylesheets load nothing from elsewhere either.
func TestGraphiQLOffline(t *testing.T) {
	s := newTestServer(t)
	base, _ := url.Parse(s.URL + "/graphiql")
	resp, raw := httpCall(t, nil, http.MethodGet, base.String(), nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GraphiQL: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	page := html.UnescapeString(string(raw))
	for _, m := range absURLRE.FindAllString(page, -1) {
		t.Errorf("the page names another host: %s", m)
	}
	// The CSP allows nothing from elsewhere either.
	for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
		for _, src := range strings.Fields(d)[1:] {
			if strings.Contains(src, ".") || strings.Contains(src, "://") || src == "*" || src == "https:" {
				t.Errorf("CSP %q allows %s", strings.TrimSpace(d), src)
			}
		}
	}

	// Each script and stylesheet, with the integrity it must match.
	type ref struct{ url, integrity string }
	var refs []ref
	for _, tag := range tagRE.FindAllString(page, -1) {
		var r ref
		for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
			switch strings.ToLower(a[1]) {
			case "integrity":
				r.integrity = a[2]
			default:
				r.url = a[2]
			}
		}
		if r.url != "" {
			refs = append(refs, r)
		}
	}
	if len(pageRefRE.FindAllString(page, -1)) != len(refs) {
		t.Errorf("the page references %d things, %d of them in script or link tags", len(pageRefRE.FindAllString(page, -1)), len(refs))
	}
	var scripts, styles int
	for _, r := range refs {
		target := fetchLocal(t, base, r.url)
		resp, body := httpCall(t, nil, http.MethodGet, target.String(), nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", r.url, resp.StatusCode)
			continue
		}
		sum := sha256.Sum256(body)
		if want := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); r.integrity != want {
			t.Errorf("%s: integrity %q, the file served is %s", r.url, r.integrity, want)
		}
		switch typ := resp.Header.Get("Content-Type"); {
		case strings.HasPrefix(typ, "text/javascript"):
			scripts++
		case strings.HasPrefix(typ, "text/css"):
			styles++
			// A stylesheet's own references (fonts, images, imports)
			// are inline or on this server.
			for _, m := range cssURLRE.FindAllStringSubmatch(string(body), -1) {
				u := m[1] + m[2]
				if strings.HasPrefix(u, "data:") {
					continue
				}
				fetched := fetchLocal(t, target, u)
				if resp, _ := httpCall(t, nil, http.MethodGet, fetched.String(), nil, nil); resp.StatusCode != http.StatusOK {
					t.Errorf("%s references %s: %d", r.url, u, resp.StatusCode)
				}
			}
		default:
			t.Errorf("%s: Content-Type %q", r.url, typ)
		}
	}
	// GraphiQL, React and ReactDOM; GraphiQL's stylesheet.
	if scripts != 3 || styles != 1 {
		t.Errorf("the page loads %d scripts and %d stylesheets, want 3 and 1", scripts, styles)
	}
	if resp, _ := httpCall(t, nil, http.MethodGet, s.URL+graphiQLAssetPath+"nothing.js", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", resp.StatusCode)
	}
}

// fetchLocal resolves ref against base and fails the test unless it stays
// on base's server.
func fetchLocal(t *testing.T, base *url.URL, ref string) *url.URL {
	t.Helper()
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("reference %q: %v", ref, err)
	}
	if u.Host != base.Host || u.Scheme != base.Scheme {
		t.Fatalf("reference %q leaves the server (%s)", ref, u)
	}
	return u
}

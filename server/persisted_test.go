package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/documents"
)

// apq sends a request naming hash in extensions.persistedQuery, with
// document when it is not "" (POST).
func (s *testServer) apq(t *testing.T, hash, document string, hdr map[string]string) *gqlResponse {
	t.Helper()
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if document != "" {
		body["query"] = document
	}
	raw, _ := json.Marshal(body)
	resp, _, text := s.post(t, mediaJSON, string(raw), hdr)
	out := &gqlResponse{Status: resp.StatusCode, Header: resp.Header, Raw: text}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// storedDocuments counts the rows kept under hash.
func storedDocuments(t *testing.T, s *testServer, hash string) int64 {
	t.Helper()
	return e2eCount(t, s, &documents.Document{}, "hash = ?", hash)
}

// Automatic persisted queries work in production, shared by every
// instance through the database; only documents that could run are kept.
func TestPersistedQueriesAcrossInstances(t *testing.T) {
	a, b := productionServer(t), productionServer(t)
	// Unique per run, so that the shared database does not know it yet.
	doc := fmt.Sprintf(`query Stores%d { stores(first: 3) { edges { node { code } } } }`, e2eNext())
	hash := documents.Hash(doc)

	r := a.apq(t, hash, "", nil)
	if r.Status != http.StatusOK || r.Code() != graph.CodePersistedQueryNotFound || r.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: %d %s", r.Status, r.Raw)
	}
	if r = a.apq(t, hash, doc, nil); len(r.Errors) > 0 || dig(r.Data, "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("document with its hash: %s", r.Raw)
	}
	if n := storedDocuments(t, a, hash); n != 1 {
		t.Fatalf("%d rows for the hash", n)
	}
	// Another instance, which never saw it, runs it by hash: POST and GET.
	if r = b.apq(t, hash, "", nil); len(r.Errors) > 0 || dig(r.Data, "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("hash on the other instance: %s", r.Raw)
	}
	ext, _ := json.Marshal(map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}})
	resp, raw := httpCall(t, nil, http.MethodGet, b.URL+"/graphql?"+url.Values{"extensions": {string(ext)}}.Encode(), nil, nil)
	if resp.StatusCode != http.StatusOK || dig(decodeJSON(t, raw), "data", "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("GET by hash: %d %s", resp.StatusCode, raw)
	}
	getURL := b.URL + "/graphql?" + url.Values{"extensions": {string(ext)}}.Encode()
	if len(getURL) > 300 {
		t.Fatalf("a GET by hash is %d bytes", len(getURL))
	}

	// A hash that is not the document's is refused; nothing is kept.
	other := fmt.Sprintf(`{ stores(first: %d) { totalCount } }`, 1+e2eNext()%50)
	if r = a.apq(t, hash, other, nil); r.Code() != string(models.CodeInvalidArgument) || strings.Contains(r.Raw, `"data"`) {
		t.Fatalf("mismatched hash: %s", r.Raw)
	}
	// Documents that cannot run are not kept: invalid, too deep.
	for _, bad := range []string{
		fmt.Sprintf(`{ storez%d { totalCount } }`, e2eNext()),
		fmt.Sprintf(`query Deep%d { me { vehicles(first: 1) { edges { node { %s } } } } }`, e2eNext(), nestedVehicles(4, "vin")),
	} {
		if r = a.apq(t, documents.Hash(bad), bad, nil); len(r.Errors) == 0 {
			t.Fatalf("bad document ran: %s", r.Raw)
		}
		if n := storedDocuments(t, a, documents.Hash(bad)); n != 0 {
			t.Fatalf("a refused document was kept (%d rows)", n)
		}
	}

	// Both instances registering one new document at once: every request
	// runs, one row.
	doc2 := fmt.Sprintf(`query Race%d { stores(first: 2) { totalCount } }`, e2eNext())
	var wg sync.WaitGroup
	results := make([]*gqlResponse, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := a
			if i%2 == 1 {
				srv = b
			}
			results[i] = srv.apq(t, documents.Hash(doc2), doc2, nil)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if len(r.Errors) > 0 {
			t.Fatalf("concurrent registration: %s", r.Raw)
		}
	}
	if n := storedDocuments(t, a, documents.Hash(doc2)); n != 1 {
		t.Fatalf("%d rows after concurrent registration", n)
	}
}

// writeTrusted writes an allow-list file of docs in graphql-codegen's
// format and returns its path.
func writeTrusted(t *testing.T, docs ...string) string {
	t.Helper()
	m := map[string]string{}
	for _, d := range docs {
		m[documents.Hash(d)] = d
	}
	raw, _ := json.Marshal(m)
	path := filepath.Join(t.TempDir(), "persisted-documents.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// With TRUSTED_DOCUMENTS, only the apps' own operations run.
func TestTrustedDocuments(t *testing.T) {
	listed := `query AppStores { stores(first: 3) { edges { node { code } } } }`
	path := writeTrusted(t, listed, `query AppMe { me { name } }`)
	env := map[string]string{"JWT_SECRET": testSecret, "TRUSTED_DOCUMENTS": path, "APP_ENV": "production"}
	cfg, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustedDocuments) != 2 {
		t.Fatalf("loaded %d documents", len(cfg.TrustedDocuments))
	}
	s := newTestServer(t, func(c *Config, _ *Deps) { c.Production, c.TrustedDocuments = true, cfg.TrustedDocuments })

	// By hash (the short request an app sends) and in full.
	if r := s.apq(t, documents.Hash(listed), "", nil); len(r.Errors) > 0 || dig(r.Data, "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("listed document by hash: %s", r.Raw)
	}
	if d := s.gql(t, "", listed, nil); dig(d, "stores", "edges", 0, "node", "code") == nil {
		t.Fatalf("listed document in full: %v", d)
	}
	// Anything else is refused before it runs, with a clear code.
	before := s.DB.Statements()
	for _, accept := range []string{mediaJSON, mediaGQL} {
		r := s.do(t, req{Query: `{ stores(first: 3) { edges { node { code } } } }`, Headers: map[string]string{"Accept": accept}})
		if r.Code() != graph.CodeDocumentNotTrusted || strings.Contains(r.Raw, `"data"`) {
			t.Fatalf("unlisted document: %d %s", r.Status, r.Raw)
		}
		if want := map[string]int{mediaJSON: 200, mediaGQL: 400}[accept]; r.Status != want {
			t.Fatalf("unlisted document as %s: status %d, want %d", accept, r.Status, want)
		}
	}
	unlisted := `{ __typename }`
	if r := s.apq(t, documents.Hash(unlisted), "", nil); r.Code() != graph.CodePersistedQueryNotFound {
		t.Fatalf("unlisted hash: %s", r.Raw)
	}
	if r := s.apq(t, documents.Hash(unlisted), unlisted, nil); r.Code() != graph.CodeDocumentNotTrusted {
		t.Fatalf("unlisted document sent with its hash: %s", r.Raw)
	}
	if d := s.DB.Statements() - before; d != 0 {
		t.Fatalf("refused documents ran %d statements", d)
	}
	if n := storedDocuments(t, s, documents.Hash(unlisted)); n != 0 {
		t.Fatal("trusted mode registered a document")
	}
	// Over the WebSocket too.
	c := wsConnect(t, s, "")
	c.subscribe(t, `subscription($id: ID!) { repairOrderUpdated(id: $id) { id } }`, map[string]any{"id": "x"})
	if _, codes := c.refusal(t, "1", subWait); len(codes) == 0 || codes[0] != graph.CodeDocumentNotTrusted {
		t.Fatalf("unlisted subscription: %v", codes)
	}
}

func TestTrustedDocumentsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	doc := `query A { __typename }`
	apollo := fmt.Sprintf(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":%q,"name":"A","type":"query","body":%q}]}`,
		documents.Hash(doc), doc)
	prefixed := fmt.Sprintf(`{"sha256:%s": %q}`, documents.Hash(doc), doc)
	for name, body := range map[string]string{"apollo.json": apollo, "prefixed.json": prefixed} {
		docs, err := graph.LoadTrustedDocuments(write(name, body))
		if err != nil || docs[documents.Hash(doc)] != doc {
			t.Fatalf("%s: %v %v", name, docs, err)
		}
	}
	for name, body := range map[string]string{
		"wrong-hash.json": fmt.Sprintf(`{%q: "query B { __typename }"}`, documents.Hash(doc)),
		"not-json.json":   `query A { __typename }`,
		"empty.json":      `{}`,
		"not-string.json": fmt.Sprintf(`{%q: 1}`, documents.Hash(doc)),
	} {
		env := map[string]string{"TRUSTED_DOCUMENTS": write(name, body)}
		if _, err := LoadConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "TRUSTED_DOCUMENTS") {
			t.Fatalf("%s: loaded (%v)", name, err)
		}
	}
	if _, err := LoadConfig(envOf(map[string]string{"TRUSTED_DOCUMENTS": filepath.Join(dir, "missing.json")})); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

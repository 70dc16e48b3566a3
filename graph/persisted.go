package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/documents"
)

// Codes of the persisted-documents refusals. PERSISTED_QUERY_NOT_FOUND
// (message "PersistedQueryNotFound") is what Apollo's persisted-query link
// and graphql-ws clients expect, to send the document itself next.
const (
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
	CodeDocumentNotTrusted     = "DOCUMENT_NOT_TRUSTED"
)

// DocumentStore keeps documents by hash for every instance
// (documents.Store).
type DocumentStore interface {
	Lookup(ctx context.Context, hash string) (string, bool, error)
	Register(ctx context.Context, hash, document string) error
}

// TrustedDocuments is an allow-list of documents by hash (Hash of each).
type TrustedDocuments map[string]string

// LoadTrustedDocuments reads an allow-list built from the apps' operations:
// a JSON object from hash to document, as graphql-codegen's client preset
// writes persisted-documents.json (a "sha256:" prefix on a key is allowed),
// or an Apollo persisted-query manifest ({"operations": [{"id", "body"}]}).
// Every hash must be its document's SHA-256.
func LoadTrustedDocuments(path string) (TrustedDocuments, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	entries := map[string]string{}
	if json.Unmarshal(raw, &manifest) == nil && manifest.Operations != nil {
		for _, op := range manifest.Operations {
			entries[op.ID] = op.Body
		}
	} else {
		var flat map[string]any
		if err := json.Unmarshal(raw, &flat); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object of hash to document: %w", path, err)
		}
		for k, v := range flat {
			doc, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not a document", path, k)
			}
			entries[k] = doc
		}
	}
	out := TrustedDocuments{}
	for k, doc := range entries {
		hash := strings.TrimPrefix(k, "sha256:")
		if documents.Hash(doc) != hash {
			return nil, fmt.Errorf("%s: %q is not the SHA-256 of its document", path, k)
		}
		out[hash] = doc
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no documents", path)
	}
	return out, nil
}

// persistedDocuments is automatic persisted queries with a shared store,
// or, with Trusted set, trusted documents: only the allow-list's documents
// run, by hash or in full, and nothing is registered.
//
// A request naming a hash (extensions.persistedQuery.sha256Hash, version 1)
// without the document gets it from the allow-list, else from a local cache
// then the store, else PERSISTED_QUERY_NOT_FOUND. A request with both has
// its hash checked, and its document registered once it passed validation
// and every limit (MutateOperationContext runs after them), so that no
// document that could not run is ever stored.
type persistedDocuments struct {
	Store   DocumentStore
	Trusted TrustedDocuments
	Log     *slog.Logger

	local *lru.LRU[string]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = &persistedDocuments{}

func (*persistedDocuments) ExtensionName() string { return "PersistedDocuments" }

func (p *persistedDocuments) Validate(graphql.ExecutableSchema) error {
	if p.Store == nil && p.Trusted == nil {
		return errors.New("persisted documents: a store or an allow-list is needed")
	}
	p.local = lru.New[string](1000)
	return nil
}

// hashOf reads the persisted-query extension: the hash, whether there is
// one, and a refusal of a malformed extension.
func hashOf(ext map[string]any) (string, bool, *gqlerror.Error) {
	v, ok := ext["persistedQuery"]
	if !ok || v == nil {
		return "", false, nil
	}
	m, _ := v.(map[string]any)
	hash, _ := m["sha256Hash"].(string)
	version, _ := m["version"].(json.Number)
	if hash == "" || (version != "1" && m["version"] != float64(1)) {
		e := gqlerror.Errorf("persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<hex SHA-256>\"}")
		errcode.Set(e, string(models.CodeInvalidArgument))
		return "", false, e
	}
	return strings.ToLower(hash), true, nil
}

func (p *persistedDocuments) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash, named, bad := hashOf(raw.Extensions)
	if bad != nil {
		return bad
	}
	if raw.Query != "" {
		if !named && p.Trusted == nil {
			return nil // an ordinary request
		}
		sum := documents.Hash(raw.Query)
		if named && sum != hash {
			e := gqlerror.Errorf("provided APQ hash does not match query")
			errcode.Set(e, string(models.CodeInvalidArgument))
			return e
		}
		if p.Trusted != nil {
			if _, ok := p.Trusted[sum]; !ok {
				e := gqlerror.Errorf("only the apps' own operations are served here; this document is not one of them")
				errcode.Set(e, CodeDocumentNotTrusted)
				return e
			}
		}
		return nil
	}
	if !named {
		return nil // the transport refuses a request without either
	}
	if doc, ok := p.Trusted[hash]; ok {
		raw.Query = doc
		return nil
	}
	if p.Trusted == nil {
		if doc, ok := p.local.Get(ctx, hash); ok {
			raw.Query = doc
			return nil
		}
		doc, ok, err := p.Store.Lookup(ctx, hash)
		if err != nil {
			// The client sends the document itself next.
			p.Log.WarnContext(ctx, "persisted document lookup failed", "err", err)
		}
		if ok {
			p.local.Add(ctx, hash, doc)
			raw.Query = doc
			return nil
		}
	}
	e := gqlerror.Errorf("PersistedQueryNotFound")
	errcode.Set(e, CodePersistedQueryNotFound)
	return e
}

// MutateOperationContext registers a document sent with its hash, now that
// it passed validation and the limits.
func (p *persistedDocuments) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if p.Trusted != nil {
		return nil
	}
	hash, named, _ := hashOf(rc.Extensions)
	if !named || rc.RawQuery == "" {
		return nil
	}
	if _, ok := p.local.Get(ctx, hash); ok {
		return nil
	}
	if err := p.Store.Register(ctx, hash, rc.RawQuery); err != nil {
		// The operation runs anyway; the client will send the
		// document again if it is not found.
		p.Log.WarnContext(ctx, "persisted document not registered", "err", err)
		return nil
	}
	p.local.Add(ctx, hash, rc.RawQuery)
	return nil
}

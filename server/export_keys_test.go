package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/ownerhub/ownerhub/models/demo"
)

var lowerCamelKey = regexp.MustCompile(`^[a-z][a-z0-9]*([A-Z][a-z0-9]+)*$`)

// TestExportKeysAreLowerCamel: every key of the data export, at any depth,
// is written in the API's naming (lowerCamelCase, as GraphQL's fields), not
// as a Go field name (BookedBy) or an initialism (OwnerID).
func TestExportKeysAreLowerCamel(t *testing.T) {
	s := newE2EServer(t)
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil,
		map[string]string{"Authorization": "Bearer " + s.ownerToken(t, owner.ID)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %s", resp.StatusCode, raw)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys++
				if !lowerCamelKey.MatchString(k) {
					t.Errorf("%s.%s is not lowerCamelCase", path, k)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		}
	}
	walk("$", doc)
	if keys < 100 {
		t.Fatalf("only %d keys: the demo owner's export is missing data", keys)
	}
}

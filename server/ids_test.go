package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// nonCanonical spells a global ID (or cursor) in the other ways its UUID
// and its base64 could be written, all naming the same object.
func nonCanonical(t *testing.T, gid string) map[string]string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		t.Fatalf("%q: %v", gid, err)
	}
	typ, key, _ := strings.Cut(string(raw), ":")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	out := map[string]string{
		"upper case": enc(typ + ":" + strings.ToUpper(key)),
		"braces":     enc(typ + ":{" + key + "}"),
		"urn":        enc(typ + ":urn:uuid:" + key),
		"no dashes":  enc(typ + ":" + strings.ReplaceAll(key, "-", "")),
	}
	if len(raw)%3 != 0 {
		// The last character carries bits beyond the data: set them.
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		unused := map[int]int{1: 4, 2: 2}[len(raw)%3]
		last := strings.IndexByte(alphabet, gid[len(gid)-1])
		out["extra bits"] = gid[:len(gid)-1] + string(alphabet[last|(1<<unused-1)])
		out["padded"] = base64.URLEncoding.EncodeToString(raw)
	}
	out["standard alphabet"] = base64.RawStdEncoding.EncodeToString(raw)
	for name, v := range out {
		if v == gid {
			delete(out, name)
		}
	}
	return out
}

// Global IDs and cursors are accepted only as the server writes them: one
// object, one ID.
func TestGlobalIDsCanonicalOnly(t *testing.T) {
	s := newTestServer(t)
	d := s.gql(t, "", `{ stores(first: 2) { edges { cursor node { id name } } } }`, nil)
	id, _ := dig(d, "stores", "edges", 0, "node", "id").(string)
	cursor, _ := dig(d, "stores", "edges", 0, "cursor").(string)
	name := dig(d, "stores", "edges", 0, "node", "name")
	next := dig(d, "stores", "edges", 1, "node", "id")
	if id == "" || cursor == "" || next == nil {
		t.Fatalf("stores: %v", d)
	}

	const node = `query($id: ID!) { node(id: $id) { ... on Store { name } } }`
	const calendar = `query($id: ID!) { storeCalendar(storeId: $id) { slotMinutes } }`
	const after = `query($c: String) { stores(first: 1, after: $c) { edges { node { id } } } }`
	// The canonical forms work.
	if got := dig(s.gql(t, "", node, map[string]any{"id": id}), "node", "name"); got != name {
		t.Fatalf("node(canonical id) = %v, want %v", got, name)
	}
	if got := dig(s.gql(t, "", after, map[string]any{"c": cursor}), "stores", "edges", 0, "node", "id"); got != next {
		t.Fatalf("page after canonical cursor starts at %v, want %v", got, next)
	}

	for spelling, v := range nonCanonical(t, id) {
		t.Run("id "+spelling, func(t *testing.T) {
			r := s.do(t, req{Query: node, Vars: map[string]any{"id": v}})
			if len(r.Errors) > 0 || dig(r.Data, "node") != nil {
				t.Fatalf("node(%s) found something: %s", v, r.Raw)
			}
			r = s.do(t, req{Query: calendar, Vars: map[string]any{"id": v}})
			if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["field"] != "storeId" {
				t.Fatalf("storeCalendar(%s): %s", v, r.Raw)
			}
		})
	}
	for spelling, v := range nonCanonical(t, cursor) {
		t.Run("cursor "+spelling, func(t *testing.T) {
			r := s.do(t, req{Query: after, Vars: map[string]any{"c": v}})
			if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["field"] != "after" {
				t.Fatalf("after %s: %s", v, r.Raw)
			}
		})
	}
}

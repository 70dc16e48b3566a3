package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models/demo"
)

// TestEveryConnectionHasTotalCount: every connection type of the schema, as
// a client learns it, has totalCount: Int!, so that a new list cannot come
// without it.
func TestEveryConnectionHasTotalCount(t *testing.T) {
	s := newTestServer(t)
	schema := introspect(t, s)
	n := 0
	for _, typ := range schema.Types {
		if typ.Kind != "OBJECT" || !strings.HasSuffix(typ.Name, "Connection") {
			continue
		}
		n++
		ok := false
		for _, f := range typ.Fields {
			if f.Name == "totalCount" && f.Type.Kind == "NON_NULL" && f.Type.OfType != nil && f.Type.OfType.Name == "Int" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s has no totalCount: Int!", typ.Name)
		}
	}
	if n < 15 {
		t.Fatalf("only %d connection types found", n)
	}
}

// TestTotalCountMatchesPages: for a few lists, totalCount is the number of
// nodes a client pages through, the same on every page; it costs one
// statement when selected and none when not.
func TestTotalCountMatchesPages(t *testing.T) {
	s := newE2EServer(t)
	owner := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)
	manager := s.staffToken(t, "manager.sz01")
	sz := e2eStoreNodeID(t, s.testServer, "SZ01")
	for _, c := range []struct {
		name, token, doc string // doc: a query with %s for the connection's arguments and %s for its selection
		path             []string
	}{
		{"notifications", owner, `{ me { notifications(%s) { %s } } }`, []string{"me", "notifications"}},
		{"transactions", owner, `{ me { membership { transactions(%s) { %s } } } }`, []string{"me", "membership", "transactions"}},
		{"appointments", owner, `{ me { appointments(%s) { %s } } }`, []string{"me", "appointments"}},
		{"registrations", owner, `{ me { registrations(%s) { %s } } }`, []string{"me", "registrations"}},
		{"events", manager, `{ events(filter: {storeId: "` + sz + `", includeUnpublished: true}, %s) { %s } }`, []string{"events"}},
		{"complaints", manager, `{ complaints(%s) { %s } }`, []string{"complaints"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const sel = `totalCount edges { cursor } pageInfo { hasNextPage endCursor }`
			seen, want, after := 0, -1, ""
			for page := 0; ; page++ {
				args := "first: 1"
				if after != "" {
					args += fmt.Sprintf(", after: %q", after)
				}
				conn := dig(s.gql(t, c.token, fmt.Sprintf(c.doc, args, sel), nil), anySlice(c.path)...)
				got := int(conn.(map[string]any)["totalCount"].(float64))
				if want >= 0 && got != want {
					t.Fatalf("page %d: totalCount %d, was %d", page, got, want)
				}
				want = got
				seen += len(dig(conn, "edges").([]any))
				if dig(conn, "pageInfo", "hasNextPage") != true {
					break
				}
				after = dig(conn, "pageInfo", "endCursor").(string)
			}
			if seen != want || want < 2 {
				t.Fatalf("paged through %d nodes; totalCount %d", seen, want)
			}
			without, _ := minStatements(t, s.testServer, c.token, fmt.Sprintf(c.doc, "first: 2", "edges { cursor }"), nil)
			with, _ := minStatements(t, s.testServer, c.token, fmt.Sprintf(c.doc, "first: 2", "totalCount edges { cursor }"), nil)
			if with != without+1 {
				t.Fatalf("%d statements without totalCount, %d with it", without, with)
			}
		})
	}
}

func anySlice(path []string) []any {
	out := make([]any, len(path))
	for i, p := range path {
		out[i] = p
	}
	return out
}

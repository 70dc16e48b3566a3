package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// pgList is one connection of the schema, asked with $n and $a as first
// and after, by someone who may read it.
type pgList struct {
	name, token, query string
	vars               map[string]any
}

// pgLists is every connection of the schema.
func pgLists(t *testing.T, s *testServer) []pgList {
	t.Helper()
	owner := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)
	admin := s.staffToken(t, "admin")
	var event struct{ ID uuid.UUID }
	if err := s.DB.Conn(context.Background()).Table("events").Select("id").Order("id").Take(&event).Error; err != nil {
		t.Fatalf("no demo event: %v", err)
	}
	me := func(field string) string {
		return `query($n: Int, $a: String) { me { ` + field + `(first: $n, after: $a) { edges { cursor } } } }`
	}
	return []pgList{
		{"vehicles", owner, me("vehicles"), nil},
		{"notifications", owner, me("notifications"), nil},
		{"appointments", owner, me("appointments"), nil},
		{"surveys", owner, me("surveys"), nil},
		{"my complaints", owner, me("complaints"), nil},
		{"registrations", owner, me("registrations"), nil},
		{"assistanceRequests", owner, me("assistanceRequests"), nil},
		{"transactions", owner, `query($n: Int, $a: String) { me { membership { transactions(first: $n, after: $a) { edges { cursor } } } } }`, nil},
		{"serviceHistory", owner, `query($n: Int, $a: String) { me { vehicles(first: 1) { edges { node {
			serviceHistory(first: $n, after: $a) { edges { cursor } } } } } } }`, nil},
		{"stores", "", `query($n: Int, $a: String) { stores(first: $n, after: $a) { edges { cursor } } }`, nil},
		{"owners", admin, `query($n: Int, $a: String) { owners(search: "张", first: $n, after: $a) { edges { cursor } } }`, nil},
		{"events", owner, `query($n: Int, $a: String) { events(first: $n, after: $a) { edges { cursor } } }`, nil},
		{"eventRoster", admin, `query($e: ID!, $n: Int, $a: String) { eventRoster(eventId: $e, first: $n, after: $a) { edges { cursor } } }`,
			map[string]any{"e": e2eGlobalID("Event", event.ID)}},
		{"followUpTasks", admin, `query($n: Int, $a: String) { followUpTasks(first: $n, after: $a) { edges { cursor } } }`, nil},
		{"complaints", admin, `query($n: Int, $a: String) { complaints(first: $n, after: $a) { edges { cursor } } }`, nil},
		{"openAssistanceRequests", admin, `query($n: Int, $a: String) { openAssistanceRequests(first: $n, after: $a) { edges { cursor } } }`, nil},
	}
}

func (l pgList) ask(t *testing.T, s *testServer, first, after any) *gqlResponse {
	t.Helper()
	vars := map[string]any{"n": first, "a": after}
	for k, v := range l.vars {
		vars[k] = v
	}
	return s.do(t, req{Query: l.query, Vars: vars, Token: l.token, Headers: map[string]string{"Accept-Language": "en"}})
}

func pgCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Every list refuses an after it cannot continue from the same way:
// INVALID_ARGUMENT on "after", never an empty page or another code. That
// includes a well-formed cursor of a list sorted another way (by time then
// id, or by id alone), which no list can place.
func TestPagesBadCursorOnEveryList(t *testing.T) {
	s := newTestServer(t)
	id := models.NewID().String()
	bad := map[string]string{
		"not base64":       "not a cursor!",
		"a global id":      e2eGlobalID("Store", models.NewID()),
		"upper case":       pgCursor("c:" + strings.ToUpper(id)),
		"time not a count": pgCursor("c:" + id + ":soon"),
		"zero time":        pgCursor("c:" + id + ":0"),
	}
	byID, byTime := pgCursor("c:"+id), pgCursor("c:"+id+":1767225600000000000")
	for _, l := range pgLists(t, s) {
		cases := map[string]string{}
		for k, v := range bad {
			cases[k] = v
		}
		if l.name == "events" || l.name == "followUpTasks" {
			cases["a cursor by id"] = byID
		} else {
			cases["a cursor by time"] = byTime
		}
		for what, after := range cases {
			t.Run(l.name+"/"+what, func(t *testing.T) {
				r := l.ask(t, s, 5, after)
				if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["field"] != "after" ||
					r.Errors[0].Message != "after is not a valid cursor" {
					t.Fatalf("want INVALID_ARGUMENT on after: %s", r.Raw)
				}
			})
		}
	}
}

// Every list has the same page sizes: 1 to 100, anything else refused on
// "first", never clamped.
func TestPagesSizeOnEveryList(t *testing.T) {
	s := newTestServer(t)
	for _, l := range pgLists(t, s) {
		for _, n := range []int{0, -1, 101} {
			r := l.ask(t, s, n, nil)
			if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["field"] != "first" ||
				!strings.Contains(r.Errors[0].Message, "100") {
				t.Errorf("%s first %d: want INVALID_ARGUMENT on first: %s", l.name, n, r.Raw)
			}
		}
		for _, n := range []int{1, 100} {
			if r := l.ask(t, s, n, nil); len(r.Errors) > 0 {
				t.Errorf("%s first %d: %s", l.name, n, r.Raw)
			}
		}
	}
}

// A list's own cursors are accepted by it: every list pages from its first
// row to its second.
func TestPagesOwnCursorOnEveryList(t *testing.T) {
	s := newTestServer(t)
	for _, l := range pgLists(t, s) {
		r := l.ask(t, s, 1, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %s", l.name, r.Raw)
		}
		c := pgFirstCursor(r.Data)
		if c == "" {
			continue // an empty list in the demo data
		}
		r = l.ask(t, s, 1, c)
		if len(r.Errors) > 0 {
			t.Fatalf("%s after its own cursor: %s", l.name, r.Raw)
		}
		if next := pgFirstCursor(r.Data); next == c {
			t.Fatalf("%s: the page after %s starts with it", l.name, c)
		}
	}
}

// pgFirstCursor finds the first edges[0].cursor in a response.
func pgFirstCursor(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if edges, ok := x["edges"].([]any); ok {
			if len(edges) == 0 {
				return ""
			}
			if c, ok := dig(edges[0], "cursor").(string); ok {
				return c
			}
			return pgFirstCursor(edges[0])
		}
		for _, child := range x {
			if c := pgFirstCursor(child); c != "" {
				return c
			}
		}
	case []any:
		for _, child := range x {
			if c := pgFirstCursor(child); c != "" {
				return c
			}
		}
	}
	return ""
}

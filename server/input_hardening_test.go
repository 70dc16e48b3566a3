package main

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// refusedTyped checks that a GraphQL answer refused bad text with a typed
// code (a mutation's INVALID_ARGUMENT userError, or an INVALID_ARGUMENT GraphQL error),
// never INTERNAL: the text did not reach the database.
func refusedTyped(t *testing.T, r *gqlResponse, payload ...any) {
	t.Helper()
	if r.Status >= 500 {
		t.Fatalf("HTTP %d: %s", r.Status, r.Raw)
	}
	if code := r.Code(); code != "" {
		if code != string(models.CodeInvalidArgument) {
			t.Fatalf("error code %s, want INVALID_ARGUMENT: %s", code, r.Raw)
		}
		return
	}
	codes := userErrorCodes(dig(r.Data, payload...))
	if !slices.Equal(codes, []string{string(models.CodeInvalidArgument)}) {
		t.Fatalf("want an INVALID_ARGUMENT userError, got %v: %s", codes, r.Raw)
	}
}

// Strings with NUL bytes were passed to PostgreSQL, which refuses them
// (INTERNAL, REST 500). Each entry point refuses them first.
func TestNULNeverReachesTheDatabase(t *testing.T) {
	s := newTestServer(t)
	advisor := s.staffToken(t, "advisor.sz01")
	events := s.staffToken(t, "events.sz01")

	r := s.do(t, req{Query: `query($q: String!) { owners(search: $q) { edges { node { id } } } }`,
		Vars: map[string]any{"q": "王\x00"}, Token: advisor})
	refusedTyped(t, r)

	r = s.do(t, req{Query: `mutation($c: String!) { checkInRegistration(input: {code: $c}) { registration { id } userErrors { code field message } } }`,
		Vars: map[string]any{"c": "ABCDEFGHIJ\x00KLMNOPQ"}, Token: events})
	refusedTyped(t, r, "checkInRegistration")

	resp, raw := httpCall(t, http.DefaultClient, http.MethodGet, s.URL+"/api/v1/stores/SZ%0001/board", nil,
		map[string]string{"Authorization": "Bearer " + advisor})
	expectProblem(t, resp, raw, http.StatusNotFound, string(models.CodeNotFound))

	// Other control characters pass the String scalar and meet the
	// domain's own check: INVALID_ARGUMENT on the field, before any SQL.
	r = s.do(t, req{Query: `query($q: String!) { owners(search: $q) { edges { node { id } } } }`,
		Vars: map[string]any{"q": "王\x07"}, Token: advisor})
	if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["reason"] != nil ||
		r.Errors[0].Extensions["field"] != "search" {
		t.Fatalf("owners(search:) with a control character: %s", r.Raw)
	}
	r = s.do(t, req{Query: `mutation($c: String!) { checkInRegistration(input: {code: $c}) { registration { id } userErrors { code field message } } }`,
		Vars: map[string]any{"c": "ABCDEFGHIJ\x07KLMNOPQ"}, Token: events})
	e2eWantUserError(t, dig(r.Data, "checkInRegistration"), string(models.CodeInvalidArgument), "input", "code")
	// A code that cannot be one this service issues is not looked up.
	r = s.do(t, req{Query: `mutation($c: String!) { checkInRegistration(input: {code: $c}) { registration { id } userErrors { code field message } } }`,
		Vars: map[string]any{"c": "ABC-1"}, Token: events})
	e2eWantGQLError(t, r, string(models.CodeNotFound))
}

// Bidirectional controls let a name display as something else (U+202E turns
// the rest of the line around); names and free text refuse them.
func TestBidiControlsRefusedInNames(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	tok := s.ownerToken(t, owner.ID)
	for _, name := range []string{"张\u202e三", "\u2066李四\u2069", "王\u200f五"} {
		r := s.do(t, req{Query: `mutation($n: String!) { updateMyProfile(input: {name: $n}) { owner { name } userErrors { code field } } }`,
			Vars: map[string]any{"n": name}, Token: tok})
		refusedTyped(t, r, "updateMyProfile")
	}
	var after models.Owner
	if err := s.DB.Conn(context.Background()).Where("id = ?", owner.ID).Take(&after).Error; err != nil {
		t.Fatal(err)
	}
	if after.Name != owner.Name {
		t.Fatalf("name changed to %q", after.Name)
	}
}

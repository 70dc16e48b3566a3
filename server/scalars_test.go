package main

import (
	"fmt"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// Scalars read strictly: an Int is a JSON number that is an integer in
// 32-bit range, a String is a JSON string, and no String or ID carries NUL
// or a bidirectional control character.

// refusedInput checks r is an INVALID_ARGUMENT error about field, with no data.
func refusedInput(t *testing.T, r *gqlResponse, field string) {
	t.Helper()
	if r.Code() != string(models.CodeInvalidArgument) || r.Errors[0].Extensions["field"] != field {
		t.Fatalf("want INVALID_ARGUMENT on %s, got (%d) %.600s", field, r.Status, r.Raw)
	}
	if len(r.Data) > 0 {
		for _, v := range r.Data {
			if v != nil {
				t.Fatalf("refused input has data: %.600s", r.Raw)
			}
		}
	}
}

// refusedByValidation checks r is a validation failure with no data.
func refusedByValidation(t *testing.T, r *gqlResponse) {
	t.Helper()
	if r.Code() != "GRAPHQL_VALIDATION_FAILED" || len(r.Data) != 0 {
		t.Fatalf("want GRAPHQL_VALIDATION_FAILED, got (%d) %.600s", r.Status, r.Raw)
	}
}

func TestScalarsIntStrict(t *testing.T) {
	s := newTestServer(t)
	const stores = `query($n: Int) { stores(first: $n) { edges { cursor } } }`
	if d := s.gql(t, "", stores, map[string]any{"n": 1}); len(dig(d, "stores", "edges").([]any)) != 1 {
		t.Fatalf("first: 1 gave %v", d)
	}
	for name, v := range map[string]any{"string": "1", "negative string": "-1", "out of range": int64(1) << 32} {
		t.Run(name, func(t *testing.T) {
			refusedInput(t, s.do(t, req{Query: stores, Vars: map[string]any{"n": v}}), "first")
		})
	}
	for name, v := range map[string]any{"fraction": 1.5, "string with spaces": " 1", "true": true, "list of strings": []any{"1"}} {
		t.Run(name, func(t *testing.T) {
			refusedByValidation(t, s.do(t, req{Query: stores, Vars: map[string]any{"n": v}}))
		})
	}
	t.Run("literal string", func(t *testing.T) {
		refusedByValidation(t, s.do(t, req{Query: `{ stores(first: "1") { edges { cursor } } }`}))
	})
	t.Run("literal out of range", func(t *testing.T) {
		refusedInput(t, s.do(t, req{Query: `{ stores(first: 4294967297) { edges { cursor } } }`}), "first")
	})

	// Inside an input object: the cashier's top-up is refused before it
	// reaches the wallet.
	cashier := s.staffToken(t, "cashier.sz01")
	const topUp = `mutation($in: TopUpWalletInput!) { topUpWallet(input: $in) { userErrors { code } } }`
	in := map[string]any{"ownerId": "T3duZXI6MDFhMjQ3MWYtMTgxYS03OGYwLWJmMDItY2E5NjZlZjdiZjE1",
		"storeId": "U3RvcmU6MDFhMjQ3MWYtMTgxYS03OGYwLWJmMDItY2E5NjZlZjdiZjE1", "amountFen": "100",
		"method": "CASH", "idempotencyKey": "strict-int-1"}
	refusedInput(t, s.do(t, req{Query: topUp, Vars: map[string]any{"in": in}, Token: cashier}), "input.amountFen")
}

func TestScalarsFloatBooleanIDStrict(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)
	// Float: a JSON number, not a string.
	const assist = `mutation($in: RequestAssistanceInput!) { requestAssistance(input: $in) { userErrors { code } } }`
	in := map[string]any{"vehicleId": "VmVoaWNsZTowMWEyNDcxZi0xODFhLTc4ZjAtYmYwMi1jYTk2NmVmN2JmMTU",
		"latitude": "22.5", "longitude": 114.0, "address": "深南大道", "problem": "FLAT_TYRE"}
	refusedInput(t, s.do(t, req{Query: assist, Vars: map[string]any{"in": in}, Token: owner}), "input.latitude")

	// Boolean: gqlparser's variable check already takes only true and false.
	const unread = `query($b: Boolean) { me { notifications(unreadOnly: $b) { edges { cursor } } } }`
	for _, v := range []any{"true", 1} {
		refusedByValidation(t, s.do(t, req{Query: unread, Vars: map[string]any{"b": v}, Token: owner}))
	}
	s.gql(t, owner, unread, map[string]any{"b": true})

	// ID: a string or an integer, nothing else.
	const node = `query($id: ID!) { node(id: $id) { __typename } }`
	refusedInput(t, s.do(t, req{Query: node, Vars: map[string]any{"id": 1.5}}), "id")
	refusedByValidation(t, s.do(t, req{Query: node, Vars: map[string]any{"id": true}}))
	if d := s.gql(t, "", node, map[string]any{"id": 12}); d["node"] != nil {
		t.Fatalf("node(12) = %v", d)
	}
}

// hiddenChars are the characters no String or ID may carry.
var hiddenChars = []rune{0, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}

func TestScalarsRefuseHiddenCharacters(t *testing.T) {
	s := newTestServer(t)
	const login = `mutation($u: String!) { staffLogin(input: {username: $u, password: "x"}) { userErrors { code } } }`
	const node = `query($id: ID!) { node(id: $id) { __typename } }`
	for _, c := range hiddenChars {
		t.Run(fmt.Sprintf("U+%04X", c), func(t *testing.T) {
			refusedInput(t, s.do(t, req{Query: login, Vars: map[string]any{"u": "admin" + string(c)}}), "input.username")
			refusedInput(t, s.do(t, req{Query: node, Vars: map[string]any{"id": string(c) + "U3RvcmU6"}}), "id")
		})
	}
	// In a literal too, written as an escape.
	refusedInput(t, s.do(t, req{Query: `{ node(id: "a\u202Eb") { __typename } }`}), "id")

	// The field names the element of a list.
	reader := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)
	const mark = `mutation($ids: [ID!]) { markNotificationsRead(input: {ids: $ids}) { unreadCount } }`
	refusedInput(t, s.do(t, req{Query: mark, Vars: map[string]any{"ids": []any{"a", "b\u0000"}}, Token: reader}), "input.ids.1")

	// Nothing is changed: the owner's name stays as it was.
	o := s.ownerByPhone(t, "+8613800000001")
	owner := s.ownerToken(t, o.ID)
	const rename = `mutation($n: String) { updateMyProfile(input: {name: $n}) { owner { name } userErrors { code } } }`
	refusedInput(t, s.do(t, req{Query: rename, Vars: map[string]any{"n": "张\u2066三"}, Token: owner}), "input.name")
	if after := s.ownerByPhone(t, "+8613800000001"); after.Name != o.Name {
		t.Fatalf("name changed to %q", after.Name)
	}
	// Ordinary text, with line breaks and right-to-left letters, passes.
	if d := s.gql(t, owner, rename, map[string]any{"n": o.Name}); dig(d, "updateMyProfile", "owner", "name") != o.Name {
		t.Fatalf("rename to the same name: %v", d)
	}
	// (The sign-in itself refuses a line break in a username, as a userError.)
	if r := s.do(t, req{Query: login, Vars: map[string]any{"u": "שלום\nadmin"}}); r.Code() != "" || dig(r.Data, "staffLogin") == nil {
		t.Fatalf("plain text refused by the scalar: %s", r.Raw)
	}

	// A String is a JSON string, not a number.
	refusedInput(t, s.do(t, req{Query: login, Vars: map[string]any{"u": 123}}), "input.username")
}

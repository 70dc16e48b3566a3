package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/graph/limits"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Abuse limits: every one refuses the document before any resolver runs,
// which the SQL statement counter of the database shows.

// refusedBeforeResolvers sends r and checks it was refused with code
// (a request error: status 200 under application/json, no data key)
// without a single SQL statement.
func refusedBeforeResolvers(t *testing.T, s *testServer, r req, code string) *gqlResponse {
	t.Helper()
	before := s.DB.Statements()
	resp := s.do(t, r)
	if len(resp.Errors) == 0 {
		t.Fatalf("not refused (%d): %.500s", resp.Status, resp.Raw)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d, want 200 (application/json): %.500s", resp.Status, resp.Raw)
	}
	if code != "" && resp.Code() != code {
		t.Fatalf("code %q, want %s: %.500s", resp.Code(), code, resp.Raw)
	}
	if len(resp.Data) > 0 || strings.Contains(resp.Raw, `"data"`) {
		t.Fatalf("refused document has a data key: %.500s", resp.Raw)
	}
	if d := s.DB.Statements() - before; d != 0 {
		t.Fatalf("refused document ran %d SQL statements", d)
	}
	return resp
}

// allocDuring reports the bytes allocated while fn runs.
func allocDuring(fn func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	fn()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

func TestLimitsParserTokens(t *testing.T) {
	s := newTestServer(t)
	token := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)

	var aliases strings.Builder
	aliases.WriteString("{ ")
	for i := range 20000 {
		fmt.Fprintf(&aliases, "a%d: __typename ", i)
	}
	aliases.WriteString("me { name } }")

	var directives strings.Builder
	directives.WriteString("{ me { name ")
	for range 20000 {
		directives.WriteString("@include(if: true) ")
	}
	directives.WriteString("} }")

	for name, doc := range map[string]string{"aliases": aliases.String(), "directives": directives.String()} {
		t.Run(name, func(t *testing.T) {
			if len(doc) > 1<<20 {
				t.Fatalf("document of %d bytes would hit the body limit instead", len(doc))
			}
			var r *gqlResponse
			alloc := allocDuring(func() {
				r = refusedBeforeResolvers(t, s, req{Query: doc, Token: token}, "")
			})
			if !strings.Contains(r.Errors[0].Message, "token limit") {
				t.Fatalf("not refused by the token limit: %.300s", r.Raw)
			}
			// The document is ~0.4 MB; refusing it must not cost more than a
			// small multiple of that (unlimited parsing and validation of
			// 20,000 selections takes hundreds of MB).
			if alloc > 48<<20 {
				t.Fatalf("refusing the document allocated %d MB", alloc>>20)
			}
		})
	}

	// A reasonable document with many aliases still runs.
	var ok strings.Builder
	ok.WriteString("{ ")
	for i := range 200 {
		fmt.Fprintf(&ok, "a%d: __typename ", i)
	}
	ok.WriteString("}")
	if d := s.gql(t, "", ok.String(), nil); d["a199"] != "Query" {
		t.Fatalf("200 aliases: %v", d["a199"])
	}
}

// nestedVehicles nests owner -> vehicles -> edges -> node levels times under
// a vehicle selection.
func nestedVehicles(levels int, leaf string) string {
	q := leaf
	for range levels {
		q = "owner { vehicles(first: 1) { edges { node { " + q + " } } } }"
	}
	return q
}

func TestLimitsDepth(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, "+8613800000001")
	token := s.ownerToken(t, owner.ID)
	var vehicleID string
	if d := s.gql(t, token, `{ me { vehicles(first: 1) { edges { node { id } } } } }`, nil); true {
		vehicleID, _ = dig(d, "me", "vehicles", "edges", 0, "node", "id").(string)
	}
	if vehicleID == "" {
		t.Fatal("the demo owner has no vehicle")
	}
	max := graph.DefaultLimits.Depth

	// node(1) + 4 per level + vin: 4 levels = depth 18.
	deep := `query($id: ID!) { node(id: $id) { ... on Vehicle { ` + nestedVehicles(4, "vin") + ` } } }`
	r := refusedBeforeResolvers(t, s, req{Query: deep, Token: token, Vars: map[string]any{"id": vehicleID}}, limits.CodeQueryTooDeep)
	// Under application/graphql-response+json the same refusal is a 400.
	r2 := s.do(t, req{Query: deep, Token: token, Vars: map[string]any{"id": vehicleID},
		Headers: map[string]string{"Accept": "application/graphql-response+json"}})
	if r2.Status != http.StatusBadRequest || r2.Code() != limits.CodeQueryTooDeep {
		t.Fatalf("status %d, want 400: %s", r2.Status, r2.Raw)
	}
	if !strings.Contains(r.Errors[0].Message, fmt.Sprint(max)) {
		t.Fatalf("message does not name the limit: %q", r.Errors[0].Message)
	}

	// Through fragments: they add no depth, the fields inside them do.
	frag := `query($id: ID!) { node(id: $id) { ...A } }
		fragment A on Vehicle { owner { vehicles(first: 1) { edges { node { ...B } } } } }
		fragment B on Vehicle { owner { vehicles(first: 1) { edges { node { ...C } } } } }
		fragment C on Vehicle { owner { vehicles(first: 1) { edges { node { ... on Vehicle { owner { name } } } } } } }`
	refusedBeforeResolvers(t, s, req{Query: frag, Token: token, Vars: map[string]any{"id": vehicleID}}, limits.CodeQueryTooDeep)

	// Exactly at the limit runs: me(1) + 2 levels (8) + homeStore, openingHours, opens = 12.
	atLimit := `{ me { vehicles(first: 1) { edges { node { owner { vehicles(first: 1) { edges { node {
		owner { homeStore { openingHours { opens } } } } } } } } } } } }`
	if max != 12 {
		t.Fatalf("test assumes a depth limit of 12, have %d", max)
	}
	d := s.gql(t, token, atLimit, nil)
	if dig(d, "me", "vehicles", "edges", 0, "node", "owner", "vehicles", "edges", 0, "node", "owner", "homeStore", "openingHours", 0, "opens") == nil {
		t.Fatalf("depth-12 query: %v", d)
	}
}

func TestLimitsComplexity(t *testing.T) {
	s := newTestServer(t)
	admin := s.staffToken(t, "admin")
	q := `{ owners(search: "x", first: 100) { edges { node { vehicles(first: 100) { edges { node {
		sellingStore { openingHours { opens } } } } } } } } }`
	refusedBeforeResolvers(t, s, req{Query: q, Token: admin}, "COMPLEXITY_LIMIT_EXCEEDED")

	// A list costs its page size: the same shape with small pages runs.
	small := strings.NewReplacer("first: 100", "first: 5").Replace(q)
	s.gql(t, admin, small, nil)

	// The default page size counts when first is omitted.
	noFirst := strings.NewReplacer("first: 100", "").Replace(strings.ReplaceAll(q, "(first: 100)", ""))
	refusedBeforeResolvers(t, s, req{Query: noFirst, Token: admin}, "COMPLEXITY_LIMIT_EXCEEDED")
}

func TestLimitsSignInAliasesCount(t *testing.T) {
	s := newTestServer(t)
	const phone = "+8613955512001"
	var b strings.Builder
	b.WriteString("mutation {")
	for i := range 6 {
		fmt.Fprintf(&b, ` a%d: requestLoginCode(input: {phone: %q}) { sent }`, i, phone)
	}
	b.WriteString(" }")
	refusedBeforeResolvers(t, s, req{Query: b.String()}, "COMPLEXITY_LIMIT_EXCEEDED")
	if n := s.SMS.Count(phone); n != 0 {
		t.Fatalf("%d codes sent", n)
	}

	b.Reset()
	b.WriteString("mutation {")
	for i := range 6 {
		fmt.Fprintf(&b, ` a%d: staffLogin(input: {username: "admin", password: "guess%d"}) { userErrors { code } }`, i, i)
	}
	b.WriteString(" }")
	refusedBeforeResolvers(t, s, req{Query: b.String()}, "COMPLEXITY_LIMIT_EXCEEDED")
}

func TestLimitsPageSize(t *testing.T) {
	s := newTestServer(t)
	admin := s.staffToken(t, "admin")
	token := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)
	cases := []struct {
		name, token, query string
	}{
		{"stores first 0", "", `{ stores(first: 0) { totalCount } }`},
		{"stores first 101", "", `{ stores(first: 101) { totalCount } }`},
		{"stores first -1", "", `{ stores(first: -1) { totalCount } }`},
		{"owners first 0", admin, `{ owners(search: "张", first: 0) { edges { cursor } } }`},
		{"owners first 101", admin, `{ owners(search: "张", first: 101) { edges { cursor } } }`},
		{"vehicles first 0", token, `{ me { vehicles(first: 0) { totalCount } } }`},
		{"vehicles first 101", token, `{ me { vehicles(first: 101) { totalCount } } }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, req{Query: c.query, Token: c.token, Headers: map[string]string{"Accept-Language": "en"}})
			if r.Code() != string(models.CodeInvalidArgument) {
				t.Fatalf("want INVALID_ARGUMENT: %s", r.Raw)
			}
			if r.Errors[0].Extensions["field"] != "first" || !strings.Contains(r.Errors[0].Message, "100") {
				t.Fatalf("error does not say what is wrong: %s", r.Raw)
			}
		})
	}
	// The bounds themselves are fine.
	s.gql(t, "", `{ a: stores(first: 1) { totalCount } b: stores(first: 100) { totalCount } }`, nil)
}

func productionServer(t *testing.T) *testServer {
	return newTestServer(t, func(c *Config, _ *Deps) { c.Production = true })
}

func TestLimitsIntrospection(t *testing.T) {
	const q = `{ __schema { queryType { name } } __type(name: "Owner") { fields { name } } }`
	dev := newTestServer(t)
	d := dev.gql(t, "", q, nil)
	if dig(d, "__schema", "queryType", "name") != "Query" || dig(d, "__type", "fields", 0, "name") == nil {
		t.Fatalf("introspection in development: %v", d)
	}

	prod := productionServer(t)
	before := prod.DB.Statements()
	r := prod.do(t, req{Query: q})
	if len(r.Errors) == 0 || dig(r.Data, "__schema") != nil || dig(r.Data, "__type") != nil {
		t.Fatalf("introspection in production: %s", r.Raw)
	}
	if strings.Contains(r.Raw, "queryType") || strings.Contains(r.Raw, "Owner") {
		t.Fatalf("production answer shows the schema: %s", r.Raw)
	}
	if d := prod.DB.Statements() - before; d != 0 {
		t.Fatalf("%d statements", d)
	}
	if r.Code() != string(models.CodeForbidden) {
		t.Fatalf("introspection in production: want FORBIDDEN, got %s", r.Raw)
	}
	if strings.Contains(prod.Logs.String(), "internal error") {
		t.Fatal("a refused introspection was logged as an internal error")
	}
	if !strings.Contains(strings.ToLower(r.Errors[0].Message), "introspection") {
		t.Fatalf("production refusal does not say why: %s", r.Raw)
	}
	// __typename is not introspection of the schema and keeps working.
	if d := prod.gql(t, "", `{ __typename }`, nil); d["__typename"] != "Query" {
		t.Fatalf("__typename in production: %v", d)
	}
}

func TestLimitsFieldSuggestions(t *testing.T) {
	const q = `{ stores { edges { node { nmae } } } }`
	dev := newTestServer(t)
	r := refusedBeforeResolvers(t, dev, req{Query: q}, "")
	if !strings.Contains(r.Errors[0].Message, `Did you mean "name"`) {
		t.Fatalf("development lacks the suggestion: %s", r.Raw)
	}
	prod := productionServer(t)
	r = refusedBeforeResolvers(t, prod, req{Query: q}, "")
	if strings.Contains(r.Raw, "Did you mean") || strings.Contains(r.Raw, `"name"`) {
		t.Fatalf("production suggests fields: %s", r.Raw)
	}
	if !strings.Contains(r.Errors[0].Message, "nmae") {
		t.Fatalf("production error does not name the field: %s", r.Raw)
	}
}

// Production names nothing the caller did not write: no suggested
// arguments, enum values, input fields, directive arguments or types.
func TestLimitsNoSuggestionsInProduction(t *testing.T) {
	cases := []struct {
		name, query string
		vars        map[string]any
		// hidden are names that exist and that a suggestion would show.
		hidden []string
	}{
		{"argument", `{ stores(frist: 5) { totalCount } }`, nil, []string{`"first"`}},
		{"directive argument", `{ __typename @include(iff: true) }`, nil, nil},
		{"enum value", `{ me { appointments(status: BOKED) { edges { cursor } } } }`, nil, []string{"BOOKED"}},
		{"enum value as a string", `{ me { appointments(status: "BOOKED") { edges { cursor } } } }`, nil, nil},
		{"enum value in a variable", `query($s: AppointmentStatus) { me { appointments(status: $s) { edges { cursor } } } }`,
			map[string]any{"s": "BOKED"}, []string{"BOOKED"}},
		{"input field", `mutation { updateMyProfile(input: {nmae: "x"}) { userErrors { code } } }`, nil, []string{`"name"`}},
		{"input field in a variable", `mutation($in: UpdateMyProfileInput!) { updateMyProfile(input: $in) { userErrors { code } } }`,
			map[string]any{"in": map[string]any{"nmae": "x"}}, []string{`"name"`}},
		{"fragment type", `{ ...F } fragment F on Ownr { __typename }`, nil, []string{`"Owner"`}},
		{"field of an interface", `{ node(id: "x") { name } }`, nil, []string{`"Owner"`, `"Store"`}},
	}
	dev := newTestServer(t)
	prod := productionServer(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := refusedBeforeResolvers(t, prod, req{Query: c.query, Vars: c.vars}, "")
			if strings.Contains(r.Raw, "Did you mean") {
				t.Fatalf("production suggests: %s", r.Raw)
			}
			for _, h := range c.hidden {
				if strings.Contains(r.Raw, h) {
					t.Fatalf("production names %s: %s", h, r.Raw)
				}
			}
		})
	}
	// Development keeps them.
	r := refusedBeforeResolvers(t, dev, req{Query: cases[0].query}, "")
	if !strings.Contains(r.Raw, `Did you mean \"first\"`) {
		t.Fatalf("development lacks the suggestion: %s", r.Raw)
	}
}

func TestLimitsGraphiQL(t *testing.T) {
	dev := newTestServer(t)
	resp, raw := httpCall(t, nil, http.MethodGet, dev.URL+"/graphiql", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(raw), "/graphql") {
		t.Fatalf("GraphiQL in development: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	prod := productionServer(t)
	resp, raw = httpCall(t, nil, http.MethodGet, prod.URL+"/graphiql", nil, nil)
	expectProblem(t, resp, raw, http.StatusNotFound, string(models.CodeNotFound))
}

// No N+1: the statements of a list query do not grow with its rows.

const (
	fanOutPrefix = "多车测试"
	fanOutOwners = 24
)

var fanOutOnce sync.Once

// ensureFanOutOwners adds owners whose names share a prefix, with two cars
// each sold by alternating stores, for the statement-count tests.
func ensureFanOutOwners(t *testing.T, s *testServer) {
	t.Helper()
	var failed error
	fanOutOnce.Do(func() {
		ctx := context.Background()
		var stores []models.Store
		if err := s.DB.Conn(ctx).Order("code").Find(&stores).Error; err != nil || len(stores) < 2 {
			failed = fmt.Errorf("stores: %v (%d)", err, len(stores))
			return
		}
		admin := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleGroupAdmin},
			StoreIDs: []uuid.UUID{stores[0].ID, stores[1].ID}}
		for i := range fanOutOwners {
			for car := range 2 {
				vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LNPT1N2X0RG77%02d%d%d", i, car, car))
				if err != nil {
					failed = err
					return
				}
				store := stores[(i+car)%2].ID
				_, _, err = s.App.Directory.RegisterVehicle(ctx, admin, directory.VehicleRegistration{
					OwnerPhone: fmt.Sprintf("+86139555130%02d", i), OwnerName: fmt.Sprintf("%s%02d", fanOutPrefix, i),
					VIN: vin, Brand: "Toyota", Model: "Corolla", ModelYear: 2024, Colour: "白",
					SellingStoreID: &store,
				})
				if err != nil {
					failed = fmt.Errorf("register %s: %w", vin, err)
					return
				}
			}
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
}

// minStatements runs query a few times and returns the fewest statements it
// took (the loaders batch by time, so a slow scheduler can split a batch) and
// the last response's data. Six runs, a few milliseconds apart: CI runs
// several test processes on two cores, where three runs of a nested list in
// a row could all see a split batch.
func minStatements(t *testing.T, s *testServer, token, query string, vars map[string]any) (int64, map[string]any) {
	t.Helper()
	best := int64(-1)
	var data map[string]any
	for i := range 6 {
		if i > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		before := s.DB.Statements()
		data = s.gql(t, token, query, vars)
		if n := s.DB.Statements() - before; best < 0 || n < best {
			best = n
		}
	}
	return best, data
}

func TestNoNPlusOneOwners(t *testing.T) {
	s := newTestServer(t)
	ensureFanOutOwners(t, s)
	admin := s.staffToken(t, "admin")
	q := `query($n: Int!, $search: String!) { owners(search: $search, first: $n) { edges { node {
		name homeStore { name }
		vehicles(first: 3) { totalCount edges { node { vin sellingStore { name openingHours { opens } } owner { name } } } }
	} } } }`
	count := func(d map[string]any) (owners, vehicles, hours int) {
		edges, _ := dig(d, "owners", "edges").([]any)
		for _, e := range edges {
			if dig(e, "node", "homeStore", "name") == nil {
				t.Fatalf("owner without home store: %v", e)
			}
			vs, _ := dig(e, "node", "vehicles", "edges").([]any)
			for _, v := range vs {
				oh, _ := dig(v, "node", "sellingStore", "openingHours").([]any)
				hours += len(oh)
				if dig(v, "node", "owner", "name") != dig(e, "node", "name") {
					t.Fatalf("vehicle's owner is not the owner: %v", v)
				}
			}
			vehicles += len(vs)
		}
		return len(edges), vehicles, hours
	}
	few, dFew := minStatements(t, s, admin, q, map[string]any{"n": 2, "search": fanOutPrefix})
	many, dMany := minStatements(t, s, admin, q, map[string]any{"n": 20, "search": fanOutPrefix})
	o1, v1, _ := count(dFew)
	o2, v2, h2 := count(dMany)
	if o1 != 2 || o2 != 20 || v1 != 4 || v2 != 40 || h2 != 40*7 {
		t.Fatalf("rows: %d owners / %d vehicles vs %d owners / %d vehicles / %d hours", o1, v1, o2, v2, h2)
	}
	t.Logf("statements: %d for 2 owners, %d for 20 owners", few, many)
	if many > few+1 {
		t.Fatalf("N+1: %d statements for 2 owners, %d for 20", few, many)
	}
	if many > 10 {
		t.Fatalf("%d statements for one list query", many)
	}
}

func TestNoNPlusOneStores(t *testing.T) {
	s := newTestServer(t)
	q := `query($n: Int!) { stores(first: $n) { totalCount edges { node { code name openingHours { weekday opens closes } } } } }`
	one, d1 := minStatements(t, s, "", q, map[string]any{"n": 1})
	all, d2 := minStatements(t, s, "", q, map[string]any{"n": 20})
	e1, _ := dig(d1, "stores", "edges").([]any)
	e2, _ := dig(d2, "stores", "edges").([]any)
	if len(e1) != 1 || len(e2) < 2 {
		t.Fatalf("rows: %d and %d stores", len(e1), len(e2))
	}
	for _, e := range e2 {
		if oh, _ := dig(e, "node", "openingHours").([]any); len(oh) != 7 {
			t.Fatalf("store without its week of hours: %v", e)
		}
	}
	t.Logf("statements: %d for 1 store, %d for %d stores", one, all, len(e2))
	if all > one+1 {
		t.Fatalf("N+1: %d statements for 1 store, %d for %d", one, all, len(e2))
	}

	// A staff member's stores, through staffMe: one store or every store
	// costs the same.
	sq := `{ staffMe { stores { name openingHours { opens } } } }`
	nOne, dOne := minStatements(t, s, s.staffToken(t, "advisor.sz01"), sq, nil)
	nAll, dAll := minStatements(t, s, s.staffToken(t, "admin"), sq, nil)
	one2, _ := dig(dOne, "staffMe", "stores").([]any)
	all2, _ := dig(dAll, "staffMe", "stores").([]any)
	if len(one2) != 1 || len(all2) < 2 {
		t.Fatalf("stores: advisor %v, admin %v", dOne, dAll)
	}
	t.Logf("staffMe statements: %d for 1 store, %d for %d stores", nOne, nAll, len(all2))
	if nAll > nOne+1 {
		t.Fatalf("N+1: staffMe took %d statements for 1 store, %d for %d", nOne, nAll, len(all2))
	}
}

package limits

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// parse parses a document without schema validation, so tests can also feed
// documents validation would reject (e.g. fragment cycles).
func parse(t *testing.T, query string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func TestOperationDepth(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  int
	}{
		{"flat", `{ me viewer version }`, 1},
		{"nested", `{ me { vehicles { owner { name } } } version }`, 4},
		{"deepest branch wins", `{ a { b } c { d { e } } f }`, 3},
		{"named fragments", `
			{ me { ...MeFields } }
			fragment MeFields on Owner { vehicles { ...VehicleFields } }
			fragment VehicleFields on Vehicle { store { name } }`, 4},
		{"fragment at top level", `
			query { ...Root }
			fragment Root on Query { me { name } }`, 2},
		{"inline fragments", `
			{ node { ... on Vehicle { store { name } } ... on Owner { name } } }`, 3},
		{"nested inline fragments", `{ a { ... { ... on X { b { c } } } } }`, 3},
		{"fragment spread twice", `
			{ a { ...F } b { c { ...F } } }
			fragment F on T { x { y } }`, 4},
		{"unknown fragment counts as empty", `{ a { b ...Missing } }`, 2},
		{"empty operation", `{ __typename }`, 1},
		{"introspection counts one level", `{ __schema { types { fields { type { ofType { ofType { name } } } } } } }`, 1},
		{"__type counts one level", `{ __type(name: "X") { fields { type { name } } } }`, 1},
		{"data beside introspection counts", `{ __schema { types { name } } me { vehicles { owner { name } } } }`, 4},
		{"introspection in a fragment", `
			query { ...Root }
			fragment Root on Query { __schema { types { ...T } } me { name } }
			fragment T on __Type { fields { type { ofType { name } } } }`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := parse(t, c.query)
			if got := OperationDepth(doc.Operations[0], doc.Fragments); got != c.want {
				t.Errorf("OperationDepth = %d, want %d", got, c.want)
			}
		})
	}
}

func TestOperationDepthRecursionGuard(t *testing.T) {
	cases := map[string]string{
		"self": `
			{ a { ...F } }
			fragment F on T { b { ...F } }`,
		"mutual": `
			{ a { ...F } }
			fragment F on T { b { ...G } }
			fragment G on T { c { ...F } }`,
		"inline around cycle": `
			{ ...F }
			fragment F on Query { ... on Query { ...F x } }`,
	}
	for name, query := range cases {
		t.Run(name, func(t *testing.T) {
			doc := parse(t, query)
			// Any finite answer will do: validation refuses such documents.
			// Reaching this line at all proves there is no infinite loop.
			if got := OperationDepth(doc.Operations[0], doc.Fragments); got < 1 {
				t.Errorf("OperationDepth = %d", got)
			}
		})
	}
}

func TestOperationDepthFragmentFanOut(t *testing.T) {
	// Each fragment spreads the next twice: without memoisation the walk
	// would visit 2^40 spreads.
	const n = 40
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on T { a { ...F%d } b { ...F%d } }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on T { leaf }\n", n)
	doc := parse(t, b.String())
	if got := OperationDepth(doc.Operations[0], doc.Fragments); got != n+1 {
		t.Errorf("OperationDepth = %d, want %d", got, n+1)
	}
}

func TestOperationDepthNil(t *testing.T) {
	if got := OperationDepth(nil, nil); got != 0 {
		t.Errorf("OperationDepth(nil) = %d", got)
	}
}

// opContext builds the operation context gqlgen would pass for query.
func opContext(t *testing.T, query, name string) *graphql.OperationContext {
	t.Helper()
	doc := parse(t, query)
	return &graphql.OperationContext{
		RawQuery:      query,
		Doc:           doc,
		OperationName: name,
		Operation:     doc.Operations.ForName(name),
	}
}

func TestMutateOperationContext(t *testing.T) {
	d := Depth{Max: 3}
	ctx := context.Background()

	if err := d.MutateOperationContext(ctx, opContext(t, `{ a { b { c } } }`, "")); err != nil {
		t.Errorf("depth 3 refused: %v", err)
	}

	err := d.MutateOperationContext(ctx, opContext(t, `{ a { b { c { d } } } }`, ""))
	if err == nil {
		t.Fatal("depth 4 accepted")
	}
	if want := "query depth 4 exceeds the maximum of 3"; err.Message != want {
		t.Errorf("message = %q, want %q", err.Message, want)
	}
	if code := err.Extensions["code"]; code != "QUERY_TOO_DEEP" {
		t.Errorf("code = %v", code)
	}
}

func TestMutateOperationContextMeasuresSelectedOperation(t *testing.T) {
	const doc = `
		query Shallow { a }
		query Deep { a { b { c { d { e } } } } }`
	d := Depth{Max: 2}
	ctx := context.Background()
	if err := d.MutateOperationContext(ctx, opContext(t, doc, "Shallow")); err != nil {
		t.Errorf("Shallow refused: %v", err)
	}
	if err := d.MutateOperationContext(ctx, opContext(t, doc, "Deep")); err == nil {
		t.Error("Deep accepted")
	}
	// Without rc.Operation the extension falls back to OperationName.
	rc := opContext(t, doc, "Deep")
	rc.Operation = nil
	if err := d.MutateOperationContext(ctx, rc); err == nil {
		t.Error("Deep accepted via OperationName")
	}
}

func TestDepthExtension(t *testing.T) {
	if got := (Depth{}).ExtensionName(); got != "DepthLimit" {
		t.Errorf("ExtensionName = %q", got)
	}
	if err := (Depth{Max: 10}).Validate(nil); err != nil {
		t.Errorf("Validate(Max 10) = %v", err)
	}
	if err := (Depth{}).Validate(nil); err == nil {
		t.Error("Validate accepted Max 0")
	}
}

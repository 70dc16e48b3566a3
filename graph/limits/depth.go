// Package limits holds gqlgen handler extensions that refuse abusive
// documents before any resolver runs.
package limits

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeQueryTooDeep is the "code" extension of the error returned for a
// document nested deeper than Depth.Max.
const CodeQueryTooDeep = "QUERY_TOO_DEEP"

func init() {
	// Like a validation failure, an over-deep document is the client's
	// fault and nothing ran, so the HTTP transports answer 422, not 200.
	// Registered in init because errcode's registry is an unguarded map.
	errcode.RegisterErrorType(CodeQueryTooDeep, errcode.KindProtocol)
}

// Depth refuses operations whose selection sets nest deeper than Max, which
// bounds the resolver fan-out a single request can cause (e.g. cyclic
// owner -> vehicles -> owner paths). It implements graphql.HandlerExtension
// and graphql.OperationContextMutator; install it with handler.Server.Use.
type Depth struct {
	// Max is the deepest allowed nesting; a top-level field is depth 1.
	Max int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Depth{}

// ExtensionName names the extension in gqlgen's extension list.
func (Depth) ExtensionName() string { return "DepthLimit" }

// Validate is called once when the extension is installed; a non-positive Max
// would refuse every query, so it is treated as a configuration error.
func (d Depth) Validate(graphql.ExecutableSchema) error {
	if d.Max < 1 {
		return fmt.Errorf("limits: depth limit must be at least 1, got %d", d.Max)
	}
	return nil
}

// MutateOperationContext measures the operation about to run and refuses it
// with code QUERY_TOO_DEEP if it is deeper than Max.
func (d Depth) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	op := rc.Operation
	if op == nil && rc.Doc != nil {
		op = rc.Doc.Operations.ForName(rc.OperationName)
	}
	if op == nil {
		// gqlgen already refuses a missing operation before mutators run.
		return nil
	}
	var frags ast.FragmentDefinitionList
	if rc.Doc != nil {
		frags = rc.Doc.Fragments
	}
	if depth := OperationDepth(op, frags); depth > d.Max {
		err := gqlerror.Errorf("query depth %d exceeds the maximum of %d", depth, d.Max)
		errcode.Set(err, CodeQueryTooDeep)
		return err
	}
	return nil
}

// OperationDepth returns how deeply op's selection sets nest, following
// fragment spreads and inline fragments: fragments add no depth themselves,
// the fields inside them do. A top-level field is depth 1. Spreads of unknown
// fragments count as empty, and a fragment that spreads itself (directly or
// indirectly) is not followed again, so invalid documents cannot make this
// loop. An introspective field (__schema, __type) counts as one level
// whatever it selects: its answer is bounded by the schema (Introspective).
func OperationDepth(op *ast.OperationDefinition, frags ast.FragmentDefinitionList) int {
	if op == nil {
		return 0
	}
	w := depthWalker{frags: frags, memo: map[string]int{}, active: map[string]bool{}}
	return w.selectionSet(op.SelectionSet)
}

// depthWalker carries the state of one OperationDepth call.
type depthWalker struct {
	frags ast.FragmentDefinitionList
	// memo caches each fragment's depth: a fragment's depth does not depend
	// on where it is spread, and without the cache a chain of fragments each
	// spreading the next twice would take exponential time.
	memo map[string]int
	// active holds the fragments being expanded, to cut cycles.
	active map[string]bool
}

// selectionSet returns the depth of the deepest field path in set.
func (w *depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1
			if !Introspective(s) {
				d += w.selectionSet(s.SelectionSet)
			}
		case *ast.InlineFragment:
			d = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s.Name)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// fragment returns the depth of the named fragment's selection set.
func (w *depthWalker) fragment(name string) int {
	if d, ok := w.memo[name]; ok {
		return d
	}
	if w.active[name] {
		return 0
	}
	def := w.frags.ForName(name)
	if def == nil {
		return 0
	}
	w.active[name] = true
	d := w.selectionSet(def.SelectionSet)
	delete(w.active, name)
	w.memo[name] = d
	return d
}

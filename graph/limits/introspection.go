package limits

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Introspective reports whether f asks about the schema itself (__schema or
// __type). What such a field returns is bounded by the schema, not by any
// data: the standard introspection query nests fifteen deep (a type
// reference's ofType chain) yet reads no row. So the depth and complexity
// limits leave its subtree out, while the work of validating it still counts
// (Cost.Work) and introspection stays off in production.
func Introspective(f *ast.Field) bool {
	return f.Name == "__schema" || f.Name == "__type"
}

// Complexity refuses operations whose complexity, as gqlgen's complexity
// walker sums it (a connection costs its page size times its elements),
// exceeds Limit, with code COMPLEXITY_LIMIT_EXCEEDED. Introspective fields
// are left out of the sum (see Introspective). It implements
// graphql.HandlerExtension and graphql.OperationContextMutator.
type Complexity struct {
	Limit int

	es graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &Complexity{}

// ExtensionName names the extension in gqlgen's extension list.
func (*Complexity) ExtensionName() string { return "ComplexityLimit" }

// Validate keeps the schema the complexity functions belong to.
func (c *Complexity) Validate(es graphql.ExecutableSchema) error {
	if c.Limit < 1 {
		return fmt.Errorf("limits: complexity limit must be at least 1, got %d", c.Limit)
	}
	c.es = es
	return nil
}

// MutateOperationContext prices the operation about to run.
func (c *Complexity) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	op := rc.Operation
	if op == nil && rc.Doc != nil {
		op = rc.Doc.Operations.ForName(rc.OperationName)
	}
	if op == nil {
		return nil
	}
	data := *op
	data.SelectionSet = withoutIntrospection(op.SelectionSet)
	if n := complexity.Calculate(ctx, c.es, &data, rc.Variables); n > c.Limit {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", n, c.Limit)
		errcode.Set(err, CodeComplexityLimitExceeded)
		return err
	}
	return nil
}

// withoutIntrospection is set without its introspective fields, looking
// through inline fragments and fragment spreads (which become inline
// fragments of the same type and directives). Fields of other names are
// kept as they are: introspective fields exist on the root query type only,
// so only the selections on it need rewriting; the rest is shared, not
// copied. Cost bounds the document this walks before validation.
func withoutIntrospection(set ast.SelectionSet) ast.SelectionSet {
	out := make(ast.SelectionSet, 0, len(set))
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !Introspective(s) {
				out = append(out, s)
			}
		case *ast.InlineFragment:
			f := *s
			f.SelectionSet = withoutIntrospection(s.SelectionSet)
			out = append(out, &f)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				out = append(out, s)
				continue
			}
			out = append(out, &ast.InlineFragment{
				TypeCondition:    s.Definition.TypeCondition,
				Directives:       s.Directives,
				SelectionSet:     withoutIntrospection(s.Definition.SelectionSet),
				ObjectDefinition: s.ObjectDefinition,
				Position:         s.Position,
			})
		}
	}
	return out
}

package limits

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// CodeComplexityLimitExceeded is the "code" extension of the error returned
// for a document too costly to check or to run; gqlgen's complexity limit
// uses the same code.
const CodeComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"

// Cost prices a document before it is validated, in one pass linear in its
// size, and refuses it with code COMPLEXITY_LIMIT_EXCEEDED when validating
// or running it would cost more than the limits allow (docs/api-limits.md).
//
// Validation and gqlgen's complexity walker follow every fragment spread
// again where it is spread, so a few hundred bytes of fragments each
// spreading the previous one twice expand to billions of selections, and the
// check that same-named fields merge compares every pair of them. Here each
// fragment is measured once and the measure reused wherever it is spread.
//
// It implements graphql.HandlerExtension and
// graphql.OperationParameterMutator; install it with handler.Server.Use,
// after any extension that fills in the query (persisted queries).
type Cost struct {
	// Tokens is the parser's token limit, the same as the server's.
	Tokens int
	// Fields caps the fields the operation to run selects, fragments
	// expanded. Set it to the complexity limit: every field costs at least
	// 1, so an operation with more fields could never pass that limit.
	Fields int
	// Work caps the work of validating the whole document: the selections,
	// arguments and directives validation visits, fragments expanded once
	// per operation and fragment that spreads them, plus the comparisons of
	// same-named fields it makes.
	Work int
	// Measures, when set, keeps the measures of documents already priced,
	// by a digest of the document, the operation name and Work (which
	// bounds the counting), so that a client sending the same operations
	// again (the usual case) is not parsed twice per request.
	Measures graphql.Cache[DocumentMeasure]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = Cost{}

// ExtensionName names the extension in gqlgen's extension list.
func (Cost) ExtensionName() string { return "DocumentCost" }

// Validate refuses limits that would refuse every document.
func (c Cost) Validate(graphql.ExecutableSchema) error {
	if c.Fields < 1 || c.Work < 1 {
		return fmt.Errorf("limits: cost limits must be at least 1, got fields %d and work %d", c.Fields, c.Work)
	}
	return nil
}

// MutateOperationParameters prices the document about to be parsed and
// validated. A document that does not parse is left to the executor, which
// reports the syntax error.
func (c Cost) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	key := c.measureKey(p)
	m, ok := DocumentMeasure{}, false
	if c.Measures != nil {
		m, ok = c.Measures.Get(ctx, key)
	}
	if !ok {
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, c.Tokens)
		if err != nil {
			return nil
		}
		m = Measure(doc, p.OperationName, c.Work)
		if c.Measures != nil {
			c.Measures.Add(ctx, key, m)
		}
	}
	var refusal *gqlerror.Error
	switch {
	case m.Fields > c.Fields:
		refusal = gqlerror.Errorf("operation has complexity of at least %d, which exceeds the limit of %d", m.Fields, c.Fields)
	case m.Work > c.Work:
		refusal = gqlerror.Errorf("document takes at least %d units of work to check, more than the limit of %d; send fewer operations, fragment spreads or repeated fields", m.Work, c.Work)
	default:
		return nil
	}
	errcode.Set(refusal, CodeComplexityLimitExceeded)
	return refusal
}

// measureKey names a document's measure in Measures: a SHA-256 digest, so
// that a kept measure holds 32 bytes of key whatever the document's size.
func (c Cost) measureKey(p *graphql.RawParams) string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%d\x00%s\x00", c.Work, p.OperationName) // a hash does not fail
	_, _ = io.WriteString(h, p.Query)
	return string(h.Sum(nil))
}

// DocumentMeasure is what Measure found.
type DocumentMeasure struct {
	// Fields counts the fields of the named operation with its fragments
	// expanded; an introspective field counts as one, whatever it selects.
	Fields int
	// Work estimates from above the work of validating the document (see
	// Cost.Work).
	Work int
}

// Measure prices doc in time linear in its size. Counts saturate instead of
// overflowing. The comparisons validation makes to check that fields merge
// are counted only while the rest of the work is within maxWork, since
// counting them costs as much as the selections expanded.
func Measure(doc *ast.QueryDocument, operationName string, maxWork int) DocumentMeasure {
	m := newMeasurer(doc)
	var out DocumentMeasure
	target := doc.Operations.ForName(operationName)
	for _, op := range doc.Operations {
		s := m.selectionSet(op.SelectionSet)
		out.Work = add(out.Work, s.weight)
		if op == target {
			out.Fields = s.fields
		}
	}
	for _, def := range doc.Fragments {
		// Validation also walks every fragment on its own.
		out.Work = add(out.Work, m.selectionSet(def.SelectionSet).weight)
	}
	if out.Work > maxWork {
		return out
	}
	var inOps, inFragments int
	for _, op := range doc.Operations {
		inOps = add(inOps, m.comparisons(op.SelectionSet))
	}
	for _, def := range doc.Fragments {
		inFragments = add(inFragments, m.comparisons(def.SelectionSet))
	}
	// A fragment's selection sets are checked again for each operation
	// spreading it.
	out.Work = add(out.Work, add(inOps, mul(inFragments, len(doc.Operations)+1)))
	return out
}

// size is what a selection set costs, fragments expanded.
type size struct {
	fields  int // fields selected
	weight  int // selections, argument values and directives visited
	spreads int // fragment spreads followed
}

func (s size) plus(o size) size {
	return size{add(s.fields, o.fields), add(s.weight, o.weight), add(s.spreads, o.spreads)}
}

// measurer holds the state of one Measure call.
type measurer struct {
	frags map[string]*ast.FragmentDefinition
	// sizes, tops and collected cache each fragment's measures: they do not
	// depend on where it is spread.
	sizes     map[string]size
	tops      map[string]int
	collected map[string]*collection
	// active holds the fragments being expanded, to cut cycles (which
	// validation refuses anyway).
	active map[string]bool
	// weights remembers each field's weight, its selections included.
	weights map[*ast.Field]int
	// spreadWeight is what following a spread costs: validation looks the
	// fragment up by name in the document's list of fragments.
	spreadWeight int
}

func newMeasurer(doc *ast.QueryDocument) *measurer {
	m := &measurer{
		frags:     make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		sizes:     map[string]size{},
		tops:      map[string]int{},
		collected: map[string]*collection{},
		active:    map[string]bool{},
		weights:   map[*ast.Field]int{},
		// One more for every 100 fragments in the list.
		spreadWeight: 1 + len(doc.Fragments)/100,
	}
	for _, def := range doc.Fragments {
		if _, dup := m.frags[def.Name]; !dup {
			m.frags[def.Name] = def
		}
	}
	return m
}

// expand runs measure on the named fragment once, cutting cycles; it
// reports false for a fragment that is unknown or being expanded.
func (m *measurer) expand(name string, measure func(*ast.FragmentDefinition)) bool {
	def := m.frags[name]
	if def == nil || m.active[name] {
		return false
	}
	m.active[name] = true
	measure(def)
	delete(m.active, name)
	return true
}

func (m *measurer) selectionSet(set ast.SelectionSet) size {
	var total size
	for _, sel := range set {
		var s size
		switch sel := sel.(type) {
		case *ast.Field:
			s = m.selectionSet(sel.SelectionSet)
			if Introspective(sel) {
				// What it selects is priced by the schema, not by data
				// (see Introspective); validating it still counts as work.
				s.fields = 0
			}
			s.fields = add(s.fields, 1)
			s.weight = add(s.weight, 1+directivesWeight(sel.Directives))
			for _, arg := range sel.Arguments {
				s.weight = add(s.weight, valueWeight(arg.Value))
			}
			m.weights[sel] = s.weight
		case *ast.InlineFragment:
			s = m.selectionSet(sel.SelectionSet)
			s.weight = add(s.weight, 1+directivesWeight(sel.Directives))
		case *ast.FragmentSpread:
			s = m.fragment(sel.Name)
			s.weight = add(s.weight, m.spreadWeight+directivesWeight(sel.Directives))
			s.spreads = add(s.spreads, 1)
		}
		total = total.plus(s)
	}
	return total
}

func (m *measurer) fragment(name string) size {
	if s, ok := m.sizes[name]; ok {
		return s
	}
	var s size
	if m.expand(name, func(def *ast.FragmentDefinition) { s = m.selectionSet(def.SelectionSet) }) {
		m.sizes[name] = s
	}
	return s
}

func directivesWeight(dirs ast.DirectiveList) int {
	w := 0
	for _, d := range dirs {
		w = add(w, 1)
		for _, arg := range d.Arguments {
			w = add(w, valueWeight(arg.Value))
		}
	}
	return w
}

func valueWeight(v *ast.Value) int {
	w := 1
	if v != nil {
		for _, c := range v.Children {
			w = add(w, valueWeight(c.Value))
		}
	}
	return w
}

// A collection is what validation compares to check that the fields of a
// selection set merge: its fields (its own, those of its inline fragments
// and of the fragments it spreads) by response name, and the fragments it
// spreads itself. It compares every two fields of a name, at a cost of
// about the product of their weights, and every two fragments spread, each
// with the fragments they spread in turn.
type collection struct {
	fields  int
	byName  map[string]*group
	spreads group
	// spreadsByName groups the fragments spread by name: a fragment is not
	// compared with itself.
	spreadsByName map[string]*group
	// spreadTops sums, over the fragments spread, their count of spreads
	// times their own fields: the size of what comparing two fragments
	// reads.
	spreadTops, spreadTopsSquared int
}

// A group sums weights and squared weights, for counting products of pairs.
type group struct{ sum, sumSquares int }

func (g *group) add(w int) {
	g.sum = add(g.sum, w)
	g.sumSquares = add(g.sumSquares, mul(w, w))
}

// pairs is the sum of the products of every two weights in g:
// ((sum w)^2 - sum w^2) / 2.
func (g *group) pairs() int {
	sq := mul(g.sum, g.sum)
	if sq == maxCount {
		return maxCount
	}
	return (sq - g.sumSquares) / 2
}

// fragmentPairCost is what comparing two fragments costs beyond reading
// their fields, in the unit of comparing two fields.
const fragmentPairCost = 8

// cost is the comparisons checking c makes: every pair of same-named
// fields, every pair of fragments spread (with what they spread), and a
// look at each field.
func (c *collection) cost() int {
	w := c.fields
	for _, g := range c.byName {
		w = add(w, g.pairs())
	}
	pairs := c.spreads.pairs()
	for _, g := range c.spreadsByName {
		pairs -= g.pairs()
	}
	w = add(w, mul(fragmentPairCost, pairs))
	// Each of two fragments compared is read: sum over pairs of
	// a_i*a_j*(t_i+t_j) = A*sum(a_i*t_i) - sum(a_i^2*t_i).
	return add(w, max(mul(c.spreads.sum, c.spreadTops)-c.spreadTopsSquared, 0))
}

func newCollection() *collection {
	return &collection{byName: map[string]*group{}, spreadsByName: map[string]*group{}}
}

// named returns the group of name in byName, adding it if it is missing.
func named(byName map[string]*group, name string) *group {
	g := byName[name]
	if g == nil {
		g = &group{}
		byName[name] = g
	}
	return g
}

// collect adds what set collects to c. Validation compares the fields of
// a spread fragment with the others but not with each other (it does that
// where the fragment is defined), nor with those of another spread of the
// same fragment: so each fragment spread is one source of fields, whose
// pairs are not counted.
func (m *measurer) collect(set ast.SelectionSet, c *collection) {
	spread := map[string]int{}
	m.gather(set, c, spread)
	for name, times := range spread {
		from := m.fragmentCollection(name)
		if from == nil {
			continue
		}
		for field, g := range from.byName {
			named(c.byName, field).add(mul(times, g.sum))
		}
		c.fields = add(c.fields, mul(times, from.fields))
	}
}

// gather adds the fields of set and of its inline fragments to c, and the
// fragments it spreads, counting them by name in spread.
func (m *measurer) gather(set ast.SelectionSet, c *collection, spread map[string]int) {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			name := sel.Alias
			if name == "" {
				name = sel.Name
			}
			named(c.byName, name).add(m.weights[sel])
			c.fields = add(c.fields, 1)
		case *ast.InlineFragment:
			m.gather(sel.SelectionSet, c, spread)
		case *ast.FragmentSpread:
			a := add(1, m.fragment(sel.Name).spreads)
			t := m.topFields(sel.Name)
			c.spreads.add(a)
			named(c.spreadsByName, sel.Name).add(a)
			c.spreadTops = add(c.spreadTops, mul(a, t))
			c.spreadTopsSquared = add(c.spreadTopsSquared, mul(mul(a, a), t))
			spread[sel.Name]++
		}
	}
}

// fragmentCollection is what the named fragment's selection set collects.
func (m *measurer) fragmentCollection(name string) *collection {
	if c, ok := m.collected[name]; ok {
		return c
	}
	var c *collection
	if m.expand(name, func(def *ast.FragmentDefinition) { c = newCollection(); m.collect(def.SelectionSet, c) }) {
		m.collected[name] = c
	}
	return c
}

// topFields counts the named fragment's own fields and those of its inline
// fragments, not following its spreads.
func (m *measurer) topFields(name string) int {
	if t, ok := m.tops[name]; ok {
		return t
	}
	var count func(ast.SelectionSet) int
	count = func(set ast.SelectionSet) int {
		n := 0
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				n++
			case *ast.InlineFragment:
				n += count(sel.SelectionSet)
			}
		}
		return n
	}
	t := 0
	if def := m.frags[name]; def != nil {
		t = count(def.SelectionSet)
	}
	m.tops[name] = t
	return t
}

// comparisons counts what checking that fields merge costs in set and in
// the selection sets of its fields; the fragments it spreads count their
// own selection sets where they are defined.
func (m *measurer) comparisons(set ast.SelectionSet) int {
	c := newCollection()
	m.collect(set, c)
	w := c.cost()
	var nested func(ast.SelectionSet)
	nested = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				if len(sel.SelectionSet) > 0 {
					w = add(w, m.comparisons(sel.SelectionSet))
				}
			case *ast.InlineFragment:
				nested(sel.SelectionSet)
			}
		}
	}
	nested(set)
	return w
}

// maxCount is where counts saturate: far above any limit, far below
// overflow when two counts are added.
const maxCount = math.MaxInt64 / 4

func add(a, b int) int { return min(a+b, maxCount) }

func mul(a, b int) int {
	if a != 0 && b > maxCount/a {
		return maxCount
	}
	return min(a*b, maxCount)
}

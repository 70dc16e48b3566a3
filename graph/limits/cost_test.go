package limits

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
)

// fanOut is a document of levels fragments each spreading the previous one
// twice, under query: 2^levels copies of F0's selection.
func fanOut(levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on Query { __typename }\n", levels)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

func TestMeasureFields(t *testing.T) {
	cases := []struct {
		name, query, operation string
		fields                 int
	}{
		{"flat", `{ a b c }`, "", 3},
		{"nested", `{ a { b { c } } d }`, "", 4},
		{"inline fragments", `{ a { ... on T { b c } } }`, "", 3},
		{"fragment spread twice", `{ a { ...F } b { ...F } } fragment F on T { x { y } }`, "", 6},
		{"fan-out 10", fanOut(10), "", 1 << 10},
		{"fan-out 40", fanOut(40), "", 1 << 40},
		{"named operation", `query A { a } query B { a b { c } }`, "B", 3},
		{"unknown operation", `query A { a }`, "B", 0},
		{"unknown fragment counts as empty", `{ a ...Missing }`, "", 1},
		{"cycle is cut", `{ ...F } fragment F on Query { a ...G } fragment G on Query { b ...F }`, "", 2},
		{"introspection counts one field", `{ __schema { types { name fields { name } } } __type(name: "X") { name } a { b } }`, "", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Measure(parse(t, c.query), c.operation, 1<<40)
			if m.Fields != c.fields {
				t.Errorf("Fields = %d, want %d", m.Fields, c.fields)
			}
			if m.Work < m.Fields {
				t.Errorf("Work %d < Fields %d", m.Work, m.Fields)
			}
		})
	}
}

func TestMeasureSaturates(t *testing.T) {
	m := Measure(parse(t, fanOut(300)), "", 1<<40)
	if m.Fields != maxCount || m.Work != maxCount {
		t.Errorf("fan-out 300: %+v, want both saturated at %d", m, maxCount)
	}
}

func TestMeasureWork(t *testing.T) {
	work := func(q string) int { return Measure(parse(t, q), "", 1<<40).Work }
	distinct := work("{ " + strings.Repeat("a ", 1) + repeatAliases(99) + "}")
	same := work("{ " + strings.Repeat("a ", 100) + "}")
	// 100 copies of one field are compared pairwise; 100 distinct ones are not.
	if same < distinct+100*99/2 {
		t.Errorf("100 copies cost %d, 100 distinct fields %d", same, distinct)
	}
	// Every operation walks the fragments it spreads again.
	one := work("query Q0 { ...B } fragment B on Query { " + repeatAliases(50) + "}")
	many := work(strings.Repeat("query Q { ...B } ", 10) + "fragment B on Query { " + repeatAliases(50) + "}")
	if many < 10*50 || many < 5*one {
		t.Errorf("10 operations spreading B cost %d, one %d", many, one)
	}
	// A chain of fragments is walked from every fragment in it.
	var chain strings.Builder
	chain.WriteString("{ ...a0 }\n")
	for i := range 100 {
		fmt.Fprintf(&chain, "fragment a%d on Query { ...a%d }\n", i, i+1)
	}
	chain.WriteString("fragment a100 on Query { x }\n")
	if w := work(chain.String()); w < 100*100/2 {
		t.Errorf("chain of 100 fragments costs %d", w)
	}
	// Fragments spread side by side are compared pairwise.
	var side strings.Builder
	side.WriteString("{ ")
	for i := range 100 {
		fmt.Fprintf(&side, "...a%d ", i)
	}
	side.WriteString("}\n")
	for i := range 100 {
		fmt.Fprintf(&side, "fragment a%d on Query { x%d: __typename }\n", i, i)
	}
	if w := work(side.String()); w < fragmentPairCost*100*99/2 {
		t.Errorf("100 fragments side by side cost %d", w)
	}
}

func repeatAliases(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: a ", i)
	}
	return b.String()
}

func TestMeasureStopsCountingComparisonsOverLimit(t *testing.T) {
	q := "{ " + strings.Repeat("a ", 1000) + "}"
	if full := Measure(parse(t, q), "", 1<<40).Work; full < 1000*999/2 {
		t.Fatalf("Work = %d", full)
	}
	if cut := Measure(parse(t, q), "", 10).Work; cut > 1000*2 {
		t.Errorf("with the limit passed by the walk, comparisons were still counted: %d", cut)
	}
}

// introspectionQuery is the query GraphiQL sends, a fragment-heavy document
// every development server must accept.
const introspectionQuery = `
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestCost(t *testing.T) {
	t.Run("measured each time", func(t *testing.T) { testCost(t, nil) })
	// Each document is asked twice: the second answer comes from the kept
	// measure, and must be the first one's.
	t.Run("measures kept", func(t *testing.T) {
		kept := &countingCache{LRU: lru.New[DocumentMeasure](100)}
		testCost(t, kept)
		if kept.hits == 0 {
			t.Error("no measure was taken from the cache")
		}
	})
}

// countingCache counts the measures found in it.
type countingCache struct {
	*lru.LRU[DocumentMeasure]
	hits int
}

func (c *countingCache) Get(ctx context.Context, key string) (DocumentMeasure, bool) {
	m, ok := c.LRU.Get(ctx, key)
	if ok {
		c.hits++
	}
	return m, ok
}

func testCost(t *testing.T, measures graphql.Cache[DocumentMeasure]) {
	c := Cost{Tokens: 5000, Fields: 5000, Work: 50000, Measures: measures}
	ctx := context.Background()
	refuse := func(query, operation string) string {
		t.Helper()
		var msgs []string
		for range 2 {
			err := c.MutateOperationParameters(ctx, &graphql.RawParams{Query: query, OperationName: operation})
			if err == nil {
				msgs = append(msgs, "")
				continue
			}
			if code := err.Extensions["code"]; code != CodeComplexityLimitExceeded {
				t.Errorf("code = %v", code)
			}
			msgs = append(msgs, err.Message)
		}
		if msgs[0] != msgs[1] {
			t.Errorf("asked again: %q, then %q", msgs[0], msgs[1])
		}
		return msgs[0]
	}
	if msg := refuse(introspectionQuery, ""); msg != "" {
		t.Errorf("introspection query refused: %s", msg)
	}
	if msg := refuse(`{ a b { c } }`, ""); msg != "" {
		t.Errorf("small document refused: %s", msg)
	}
	if msg := refuse(fanOut(26), ""); !strings.Contains(msg, "complexity of at least 67108864") {
		t.Errorf("fan-out 26: %q", msg)
	}
	if msg := refuse("{ "+strings.Repeat("a ", 4000)+"}", ""); !strings.Contains(msg, "units of work") {
		t.Errorf("4000 copies of a field: %q", msg)
	}
	if msg := refuse(fanOut(7), ""); msg != "" {
		t.Errorf("fan-out 7 refused: %s", msg)
	}
	// Only the operation to run is held to the field limit; lowering the
	// limit applies to documents already measured.
	c.Fields = 100
	if msg := refuse(`{ a b { c } }`, ""); msg != "" {
		t.Errorf("small document refused: %s", msg)
	}
	if msg := refuse(fanOut(7), ""); !strings.Contains(msg, "complexity of at least 128") {
		t.Errorf("fan-out 7 under the lowered limit: %q", msg)
	}
	two := "query Small { a } query Big { ...F8 }" + strings.SplitN(fanOut(8), "\n", 2)[1]
	if msg := refuse(two, "Small"); msg != "" {
		t.Errorf("small operation refused for its neighbour: %s", msg)
	}
	if msg := refuse(two, "Big"); !strings.Contains(msg, "complexity of at least 256") {
		t.Errorf("operation of 256 fields: %q", msg)
	}
	// Syntax errors are the executor's to report.
	if msg := refuse(`{ a `, ""); msg != "" {
		t.Errorf("unparsable document refused here: %s", msg)
	}
	if msg := refuse("{ "+strings.Repeat("a ", 6000)+"}", ""); msg != "" {
		t.Errorf("document over the token limit refused here: %s", msg)
	}
}

func TestCostExtension(t *testing.T) {
	if got := (Cost{}).ExtensionName(); got != "DocumentCost" {
		t.Errorf("ExtensionName = %q", got)
	}
	if err := (Cost{Fields: 1, Work: 1}).Validate(nil); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if err := (Cost{Fields: 1}).Validate(nil); err == nil {
		t.Error("Validate accepted Work 0")
	}
}

// Pricing time grows with the document's size, not with what it expands to:
// each level of the fan-out adds one fragment and the same time.
func BenchmarkMeasureFanOut(b *testing.B) {
	for _, levels := range []int{10, 20, 40} {
		b.Run(fmt.Sprintf("levels=%d", levels), func(b *testing.B) {
			c := Cost{Tokens: 5000, Fields: 5000, Work: 50000}
			p := &graphql.RawParams{Query: fanOut(levels)}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				// 10 levels (1,024 fields) pass; 20 and 40 are refused.
				c.MutateOperationParameters(ctx, p)
			}
		})
	}
}

// What pricing adds to an ordinary document that passes (it is parsed once
// more before gqlgen parses and validates it).
func BenchmarkCostIntrospectionQuery(b *testing.B) {
	c := Cost{Tokens: 5000, Fields: 5000, Work: 50000}
	p := &graphql.RawParams{Query: introspectionQuery}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.MutateOperationParameters(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/graph/limits"
	"github.com/ownerhub/ownerhub/models"
)

// fullIntrospectionQuery is what graphql-js's getIntrospectionQuery returns
// with every option on (descriptions, specifiedByURL, directive
// repeatability, schema description, deprecated input values, oneOf), as
// graphql-codegen, GraphiQL and Postman send it: fifteen levels deep
// through the ofType chain of a type reference.
const fullIntrospectionQuery = `
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      isOneOf
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                  ofType {
                    kind
                    name
                    ofType {
                      kind
                      name
                      ofType {
                        kind
                        name
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
`

// The standard introspection query loads the whole schema from a
// development server, though it nests deeper than the depth limit.
func TestIntrospectionFullQuery(t *testing.T) {
	s := newTestServer(t)
	if d := rawDepth(t, fullIntrospectionQuery); d <= graph.DefaultLimits.Depth {
		t.Fatalf("the query nests %d deep, not over the limit of %d: the test proves nothing", d, graph.DefaultLimits.Depth)
	}
	before := s.DB.Statements()
	d := s.gql(t, "", fullIntrospectionQuery, nil)
	if n := s.DB.Statements() - before; n != 0 {
		t.Fatalf("introspection ran %d SQL statements", n)
	}
	if dig(d, "__schema", "queryType", "name") != "Query" || dig(d, "__schema", "subscriptionType", "name") != "Subscription" {
		t.Fatalf("root types: %v", dig(d, "__schema"))
	}
	types, _ := dig(d, "__schema", "types").([]any)
	byName := map[string]map[string]any{}
	for _, ty := range types {
		m, _ := ty.(map[string]any)
		name, _ := m["name"].(string)
		byName[name] = m
	}
	for _, want := range []string{"Owner", "Vehicle", "Mutation", "Money", "DateTime", "__Type"} {
		if byName[want] == nil {
			t.Fatalf("type %s missing from %d types", want, len(types))
		}
	}
	// A field's type reference unwraps NON_NULL and LIST to its named type.
	var sawList bool
	for _, f := range byName["Query"]["fields"].([]any) {
		ref := dig(f, "type")
		for ref != nil {
			if dig(ref, "kind") == "LIST" {
				sawList = true
			}
			if next := dig(ref, "ofType"); next != nil {
				ref = next
				continue
			}
			if dig(ref, "name") == nil {
				t.Fatalf("type reference of Query.%v ends without a name", dig(f, "name"))
			}
			break
		}
	}
	if !sawList && len(byName["Query"]["fields"].([]any)) == 0 {
		t.Fatal("Query has no fields")
	}
	if dirs, _ := dig(d, "__schema", "directives").([]any); len(dirs) == 0 {
		t.Fatal("no directives")
	}
}

// Introspection does not open a way round the limits for data: a data field
// next to it, or its own nesting, is measured as before.
func TestIntrospectionKeepsDataLimits(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, "+8613800000001")
	token := s.ownerToken(t, owner.ID)
	// Twenty levels of data beside the whole introspection query.
	deep := strings.Replace(fullIntrospectionQuery, "query IntrospectionQuery {",
		"query IntrospectionQuery { me { vehicles(first: 1) { edges { node { "+nestedVehicles(4, "vin")+" } } } }", 1)
	r := refusedBeforeResolvers(t, s, req{Query: deep, Token: token}, limits.CodeQueryTooDeep)
	if !strings.Contains(r.Errors[0].Message, "21") {
		t.Fatalf("depth is not the data's: %s", r.Errors[0].Message)
	}
	// Data as deep as the limit allows still runs beside introspection.
	atLimit := `{ __schema { types { name fields { type { ofType { ofType { ofType { name } } } } } } }
		me { vehicles(first: 1) { edges { node { owner { vehicles(first: 1) { edges { node {
		owner { homeStore { openingHours { opens } } } } } } } } } } } }`
	if d := s.gql(t, token, atLimit, nil); dig(d, "me", "vehicles") == nil || dig(d, "__schema", "types", 0, "name") == nil {
		t.Fatalf("data at the limit beside introspection: %v", d)
	}
	// Complexity: a costly data selection is refused with introspection
	// next to it, as it is alone.
	admin := s.staffToken(t, "admin")
	costly := `{ __type(name: "Owner") { name fields { name } } owners(search: "x", first: 100) { edges { node {
		vehicles(first: 100) { edges { node { sellingStore { openingHours { opens } } } } } } } } }`
	refusedBeforeResolvers(t, s, req{Query: costly, Token: admin}, limits.CodeComplexityLimitExceeded)
	// ... also when the costly part hides in a fragment on Query beside it.
	viaFragment := `query { ...Both } fragment Both on Query { __schema { types { name } } owners(search: "x", first: 100) {
		edges { node { vehicles(first: 100) { edges { node { sellingStore { openingHours { opens } } } } } } } } }`
	refusedBeforeResolvers(t, s, req{Query: viaFragment, Token: admin}, limits.CodeComplexityLimitExceeded)
}

// Production keeps introspection off, the standard query included.
func TestIntrospectionFullQueryOffInProduction(t *testing.T) {
	prod := productionServer(t)
	r := prod.do(t, req{Query: fullIntrospectionQuery})
	if r.Status != http.StatusOK && r.Status/100 != 4 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if r.Code() != string(models.CodeForbidden) || dig(r.Data, "__schema") != nil {
		t.Fatalf("full introspection in production: %s", r.Raw)
	}
	if strings.Contains(r.Raw, "Vehicle") {
		t.Fatalf("production answer shows the schema: %s", r.Raw)
	}
}

// rawDepth is how deep doc's first operation nests, fragments expanded and
// every field counted (introspective ones too).
func rawDepth(t *testing.T, doc string) int {
	t.Helper()
	d, err := parser.ParseQuery(&ast.Source{Input: doc})
	if err != nil {
		t.Fatal(err)
	}
	var depth func(ast.SelectionSet) int
	depth = func(set ast.SelectionSet) int {
		deepest := 0
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				deepest = max(deepest, 1+depth(s.SelectionSet))
			case *ast.InlineFragment:
				deepest = max(deepest, depth(s.SelectionSet))
			case *ast.FragmentSpread:
				deepest = max(deepest, depth(d.Fragments.ForName(s.Name).SelectionSet))
			}
		}
		return deepest
	}
	return depth(d.Operations[0].SelectionSet)
}

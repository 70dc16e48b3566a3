package main

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The schema as a client learns it by introspection, and what the
// authorization sweep builds from it: selections that ask for every field a
// response could leak through, and the operations' ID slots.

type swSchema struct {
	QueryType    struct{ Name string }
	MutationType struct{ Name string }
	Types        []*swType
	byName       map[string]*swType
	// hidden are fields left out of every selection while set (the
	// owner's crawl leaves out the fields only staff read).
	hidden map[string]bool
}

type swType struct {
	Kind          string
	Name          string
	Fields        []swField
	InputFields   []swInput
	EnumValues    []struct{ Name string }
	PossibleTypes []struct{ Name string }
}

type swField struct {
	Name string
	Args []swInput
	Type swRef
}

type swInput struct {
	Name         string
	Type         swRef
	DefaultValue *string
}

type swRef struct {
	Kind   string
	Name   string
	OfType *swRef
}

const swIntrospection = `query { __schema { queryType { name } mutationType { name }
	types { kind name
		fields(includeDeprecated: true) { name args { name defaultValue type { ...R } } type { ...R } }
		inputFields { name defaultValue type { ...R } }
		enumValues(includeDeprecated: true) { name }
		possibleTypes { name } } } }
	fragment R on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }`

// introspect reads the schema over HTTP, as any client of a development
// server can.
func introspect(t testing.TB, s *testServer) *swSchema {
	t.Helper()
	d := s.gql(t, "", swIntrospection, nil)
	raw, err := json.Marshal(d["__schema"])
	if err != nil {
		t.Fatal(err)
	}
	var sc swSchema
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	sc.byName = map[string]*swType{}
	for _, ty := range sc.Types {
		sc.byName[ty.Name] = ty
	}
	return &sc
}

// named is the type a reference names, without lists and non-null.
func (r swRef) named() string {
	if r.OfType != nil {
		return r.OfType.named()
	}
	return r.Name
}

// String is the reference in GraphQL notation, for variable definitions.
func (r swRef) String() string {
	switch r.Kind {
	case "NON_NULL":
		return r.OfType.String() + "!"
	case "LIST":
		return "[" + r.OfType.String() + "]"
	}
	return r.Name
}

func (r swRef) required() bool { return r.Kind == "NON_NULL" }

func (f swField) hasRequiredArg() bool {
	for _, a := range f.Args {
		if a.Type.required() && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

func (s *swSchema) leaf(name string) bool {
	k := s.byName[name].Kind
	return k == "SCALAR" || k == "ENUM"
}

// entity reports whether objects of the type have an identity (an id
// field): selections go a level deeper only through entities, so wrappers
// (connections, money, deadlines) cost no depth.
func (s *swSchema) entity(name string) bool {
	for _, f := range s.byName[name].Fields {
		if f.Name == "id" {
			return true
		}
	}
	return false
}

// implements lists the object types of an interface or union.
func (s *swSchema) implements(name string) []string {
	var out []string
	for _, p := range s.byName[name].PossibleTypes {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// selection selects every scalar field of the type and, depth entities
// deep, its relations; at depth 0 an entity shows its own scalars. With
// paged, fields with optional arguments (connections) are followed too,
// with their defaults, above depth 0.
func (s *swSchema) selection(name string, depth int, paged bool) string {
	return s.sel(name, depth, paged, map[string]bool{}, nil)
}

// selectionWithout is selection without the fields named in skip.
func (s *swSchema) selectionWithout(name string, depth int, skip map[string]bool) string {
	return s.sel(name, depth, false, map[string]bool{}, skip)
}

func (s *swSchema) sel(name string, depth int, paged bool, path, skip map[string]bool) string {
	ty := s.byName[name]
	if ty.Kind == "INTERFACE" || ty.Kind == "UNION" {
		parts := []string{"__typename"}
		for _, p := range s.implements(name) {
			if sub := s.sel(p, depth, paged, path, skip); sub != "" {
				parts = append(parts, "... on "+p+" { "+sub+" }")
			}
		}
		return strings.Join(parts, " ")
	}
	if path[name] {
		return ""
	}
	path[name] = true
	defer delete(path, name)
	var parts []string
	for _, f := range ty.Fields {
		if part := s.fieldSel(f, depth, paged, path, skip); part != "" {
			parts = append(parts, part)
		}
	}
	return strings.Join(parts, " ")
}

// fieldSel is one field's part of a selection ("" to leave it out).
func (s *swSchema) fieldSel(f swField, depth int, paged bool, path, skip map[string]bool) string {
	if f.hasRequiredArg() || (len(f.Args) > 0 && (!paged || depth == 0)) || skip[f.Name] || s.hidden[f.Name] {
		return ""
	}
	child := f.Type.named()
	if s.leaf(child) {
		return f.Name
	}
	if s.entity(child) {
		if depth == 0 {
			return ""
		}
		depth--
	}
	if sub := s.sel(child, depth, paged, path, skip); sub != "" {
		return f.Name + " { " + sub + " }"
	}
	return ""
}

// fieldSelections are selection's parts, one per field of the type, for
// documents that would be too costly as one.
func (s *swSchema) fieldSelections(name string, depth int, paged bool) []string {
	var out []string
	for _, f := range s.byName[name].Fields {
		if part := s.fieldSel(f, depth, paged, map[string]bool{name: true}, nil); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// globalType is the type a global id names ("" when v is not one).
func (s *swSchema) globalType(v string) string {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	typ, key, ok := strings.Cut(string(raw), ":")
	if !ok || s.byName[typ] == nil {
		return ""
	}
	if _, err := uuid.Parse(key); err != nil {
		return ""
	}
	return typ
}

// walkStrings calls fn with every string of a decoded JSON value and the
// key it was found under.
func walkStrings(v any, key string, fn func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkStrings(e, k, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, key, fn)
		}
	case string:
		fn(key, x)
	}
}

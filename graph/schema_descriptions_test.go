package graph_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestEverySchemaElementIsDescribed is the schema linter: every type, field,
// argument, input field, enum value, scalar and directive the schema declares
// carries a description, so that generated clients and schema browsers explain
// the whole API (docs/transport.md, "The published schema").
func TestEverySchemaElementIsDescribed(t *testing.T) {
	files, err := filepath.Glob("schema/*.graphqls")
	if err != nil || len(files) == 0 {
		t.Fatalf("schema files: %v %v", files, err)
	}
	var sources []*ast.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &ast.Source{Name: filepath.Base(f), Input: string(b)})
	}
	schema, gerr := gqlparser.LoadSchema(sources...)
	if gerr != nil {
		t.Fatal(gerr)
	}
	missing := undescribed(schema)
	if len(missing) > 0 {
		t.Errorf("%d schema elements have no description:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
}

// undescribed lists "file: Type.field(arg)" for each element the schema
// files declare without a description; built-in types are not the API's.
func undescribed(schema *ast.Schema) []string {
	var out []string
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	at := func(p *ast.Position) string {
		if p == nil || p.Src == nil {
			return "?"
		}
		return p.Src.Name
	}
	for _, def := range schema.Types {
		if def.BuiltIn || def.Position == nil || def.Position.Src == nil || def.Position.Src.BuiltIn {
			continue
		}
		if blank(def.Description) {
			out = append(out, at(def.Position)+": type "+def.Name)
		}
		for _, f := range def.Fields {
			if f.Position != nil && f.Position.Src != nil && f.Position.Src.BuiltIn {
				continue
			}
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if blank(f.Description) {
				out = append(out, at(f.Position)+": field "+def.Name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if blank(a.Description) {
					out = append(out, at(a.Position)+": argument "+def.Name+"."+f.Name+"("+a.Name+")")
				}
			}
		}
		for _, v := range def.EnumValues {
			if blank(v.Description) {
				out = append(out, at(v.Position)+": enum value "+def.Name+"."+v.Name)
			}
		}
	}
	for _, d := range schema.Directives {
		if d.Position == nil || d.Position.Src == nil || d.Position.Src.BuiltIn {
			continue
		}
		if blank(d.Description) {
			out = append(out, at(d.Position)+": directive @"+d.Name)
		}
		for _, a := range d.Arguments {
			if blank(a.Description) {
				out = append(out, at(a.Position)+": directive argument @"+d.Name+"("+a.Name+")")
			}
		}
	}
	sort.Strings(out)
	return out
}

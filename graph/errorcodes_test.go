package graph_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/errcode"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/graph/generated"
)

// The schema's ErrorCode enum is exactly the codes of the Go source: a code
// added in Go without its enum value (or an enum value no Go code has) fails
// here. A code is a constant of type models.Code, a string constant named
// Code... (graph's and graph/limits' transport codes), or the literal code of
// models.E / models.Ef.
func TestErrorCodeEnumMatchesGoCodes(t *testing.T) {
	inGo := goCodes(t, "..")
	enum := generated.NewExecutableSchema(generated.Config{}).Schema().Types["ErrorCode"]
	if enum == nil {
		t.Fatal("the schema has no ErrorCode enum")
	}
	inSchema := map[string]bool{}
	for _, v := range enum.EnumValues {
		inSchema[v.Name] = true
		if strings.TrimSpace(v.Description) == "" {
			t.Errorf("ErrorCode.%s has no description", v.Name)
		}
	}
	for _, c := range sortedKeys(inGo) {
		if !inSchema[c] {
			t.Errorf("%s (%s) is not a value of ErrorCode in graph/schema/errors.graphqls", c, inGo[c])
		}
	}
	for _, c := range sortedKeys(inSchema) {
		if _, ok := inGo[c]; !ok {
			t.Errorf("ErrorCode.%s is no code of the Go source", c)
		}
	}
	if len(inGo) < 90 {
		t.Errorf("found only %d codes in the Go source: is the scan still looking?", len(inGo))
	}
}

func TestGqlgenCodesNamed(t *testing.T) {
	if graph.CodeParseFailed != errcode.ParseFailed || graph.CodeValidationFailed != errcode.ValidationFailed {
		t.Fatalf("gqlgen's codes are %s and %s", errcode.ParseFailed, errcode.ValidationFailed)
	}
}

// goCodes scans the module's non-test Go files (not generated code, not the
// fakes of outside services) for codes, each with where it was found.
func goCodes(t *testing.T, root string) map[string]string {
	t.Helper()
	codes := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "generated", "authtest", "node_modules", "testdata", "bench":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		add := func(lit ast.Expr, what string) {
			if b, ok := lit.(*ast.BasicLit); ok && b.Kind == token.STRING {
				if s, err := strconv.Unquote(b.Value); err == nil {
					codes[s] = fset.Position(b.Pos()).String() + " " + what
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i >= len(n.Values) {
						break
					}
					if isCodeType(n.Type) || (n.Type == nil && strings.HasPrefix(name.Name, "Code")) {
						add(n.Values[i], name.Name)
					}
				}
			case *ast.CallExpr:
				if isErrorConstructor(n.Fun) && len(n.Args) > 0 {
					add(n.Args[0], "models.E")
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

func isCodeType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Code"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Code" && isIdent(e.X, "models")
	}
	return false
}

func isErrorConstructor(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "E" || e.Name == "Ef"
	case *ast.SelectorExpr:
		return (e.Sel.Name == "E" || e.Sel.Name == "Ef") && isIdent(e.X, "models")
	}
	return false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package models_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

func TestRefText(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("01a2471f-181a-78f0-bf02-ca966ef7bf15")
	r := models.RefTo(models.RefRepairOrder, id)
	if r.String() != "RepairOrder:"+id.String() {
		t.Fatalf("String = %q", r)
	}
	if got, ok := models.ParseRef(r.String()); !ok || got != r {
		t.Fatalf("ParseRef(%q) = %v %v", r, got, ok)
	}
	// One object has one text: only what String writes reads back.
	for _, s := range []string{"", "RepairOrder", ":" + id.String(), "RepairOrder:", "Repair Order:" + id.String(),
		"Repair1:" + id.String(), "RepairOrder:" + strings.ToUpper(id.String()), "RepairOrder:{" + id.String() + "}",
		"RepairOrder:" + strings.ReplaceAll(id.String(), "-", ""), "RepairOrder:urn:uuid:" + id.String()} {
		if got, ok := models.ParseRef(s); ok {
			t.Errorf("ParseRef(%q) accepted as %v", s, got)
		}
	}
}

func TestLinkEncode(t *testing.T) {
	t.Parallel()
	store, car := models.NewID(), models.NewID()
	id := func(r models.Ref) string { return "<" + r.String() + ">" }
	for _, c := range []struct {
		link models.Link
		want string
	}{
		{models.LinkTo(models.RefTo(models.RefVehicle, car)), "<Vehicle:" + car.String() + ">"},
		{models.Route("book", models.Param{Name: "storeId", Ref: models.RefTo(models.RefStore, store)},
			models.Param{Name: "vehicleId", Ref: models.RefTo(models.RefVehicle, car)}, models.Param{Name: "kind", Value: "MAINTENANCE"}),
			"book?storeId=<Store:" + store.String() + ">&vehicleId=<Vehicle:" + car.String() + ">&kind=MAINTENANCE"},
		{models.Route("membership"), "membership"},
		{"", ""},
		// Anything that names no reference is kept as it is.
		{"UmVwYWlyT3JkZXI6eA", "UmVwYWlyT3JkZXI6eA"},
		{"book?storeId=x&kind", "book?storeId=x&kind"},
		{"book?", "book?"},
	} {
		if got := c.link.Encode(id); got != c.want {
			t.Errorf("%q.Encode = %q; want %q", c.link, got, c.want)
		}
	}
}

// TestNoGlobalIDsInTheDomain: the domain names what it links to with a
// models.Ref; only the GraphQL layer turns references into global IDs. A
// domain package that imports encoding/base64 (or declares a ...GlobalID)
// is making its own copy of that encoding. The kernel's pager (page.go) is
// the one exception: a cursor is an opaque position in a list, not a
// reference, and the pager alone writes and reads it.
func TestNoGlobalIDsInTheDomain(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "encoding/base64" && path != "page.go" {
				t.Errorf("%s imports encoding/base64: link with a models.Ref; graph/ writes global IDs", fset.Position(imp.Pos()))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fn, ok := n.(*ast.FuncDecl); ok && strings.HasSuffix(strings.ToLower(fn.Name.Name), "globalid") {
				t.Errorf("%s declares %s: link with a models.Ref; graph/ writes global IDs", fset.Position(fn.Pos()), fn.Name.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read %d files under models/; the walk missed the domain", files)
	}
}

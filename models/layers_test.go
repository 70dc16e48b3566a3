package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the import path every package of ours starts with.
const module = "github.com/ownerhub/ownerhub"

// layers orders the module's packages from the bottom up. A package may
// import only packages of a lower layer: never one of its own layer, never
// one above. docs/architecture.md explains the layers; a new package gets a
// line here before it builds in CI.
var layers = []struct {
	what     string
	packages []string
}{
	{"leaves: nothing of ours", []string{"migrations", "models/validate", "auth", "graph/limits", "graph/globalid"}},
	{"the kernel", []string{"models", "auth/authtest"}},
	{"the outbox: messages to owners and phones, below everything that sends them", []string{"models/outbox"}},
	{"push: owners' devices and the outbox's push channel", []string{"models/push"}},
	{"the directory, which every capability reads", []string{"models/directory"}},
	{"WeChat: owners' subscription permissions, the shared access token and the outbox's WeChat channel; reads owners from the directory", []string{"models/wechat"}},
	{"the inbox, which every capability writes; it reads the owner's reach from the directory, the WeChat permissions and the push registry", []string{"models/inbox"}},
	{"capabilities on the kernel alone, and test databases", []string{"models/wallet", "models/roadside", "models/coupons", "models/jobs", "models/documents", "models/testdb"}},
	{"referrals: they reward through wallet and coupons, and are qualified by the capabilities above", []string{"models/referrals"}},
	{"online payments: they call wallet, and pay for the purposes the capabilities above them define", []string{"models/payments"}},
	{"service packages: they call wallet, and are bought online through payments; the workshop consumes them at settlement", []string{"models/packages"}},
	{"capabilities that call wallet (and take online payments)", []string{"models/workshop", "models/events"}},
	{"capabilities that build on repair orders", []string{"models/booking", "models/care"}},
	{"capabilities that read bookings (reminders; campaigns, which count the bookings invited owners made)", []string{"models/reminders", "models/crm"}},
	{"capabilities that reach every other one, and sign-in", []string{"models/privacy", "auth/signin"}},
	{"demo data for every capability", []string{"models/demo"}},
	{"GraphQL models", []string{"graph/model"}},
	{"generated GraphQL executor", []string{"graph/generated"}},
	{"GraphQL resolvers", []string{"graph"}},
	{"the server and benchmarks", []string{"server", "bench", "bench/boardpoll", "bench/crm", "bench/homebench"}},
}

// testOnly packages support tests: only _test.go files may import them.
var testOnly = []string{"models/testdb", "auth/authtest"}

var updateGraph = flag.Bool("update-graph", false, "rewrite the import graph in docs/architecture.md")

// pkg is what `go list` tells about one of our packages.
type pkg struct {
	ImportPath string
	Imports    []string
}

// ourPackages lists the module's packages with their imports (non-test
// files only), paths relative to the module ("models/wallet").
func ourPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		p.ImportPath = relative(p.ImportPath)
		var ours []string
		for _, imp := range p.Imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				ours = append(ours, relative(imp))
			}
		}
		p.Imports = ours
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages of ours", len(pkgs))
	}
	return pkgs
}

func relative(path string) string {
	return strings.TrimPrefix(path, module+"/")
}

// layerOf maps each package to its layer's index.
func layerOf() map[string]int {
	m := map[string]int{}
	for i, l := range layers {
		for _, p := range l.packages {
			m[p] = i
		}
	}
	return m
}

// TestImportsPointDown fails when a package imports one of its own layer or
// a higher one, when a package is missing from the table, and when non-test
// code imports test support.
func TestImportsPointDown(t *testing.T) {
	t.Parallel()
	layer := layerOf()
	for _, p := range ourPackages(t) {
		from, ok := layer[p.ImportPath]
		if !ok {
			t.Errorf("%s is not in the layering table in models/layers_test.go: give it a layer", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := layer[imp]
			switch {
			case !ok:
				// Reported as a package of its own.
			case slices.Contains(testOnly, imp):
				t.Errorf("%s imports %s, which only tests may import", p.ImportPath, imp)
			case to >= from:
				t.Errorf("%s (%s) imports %s (%s): a package may import only lower layers",
					p.ImportPath, layers[from].what, imp, layers[to].what)
			}
		}
	}
}

// TestArchitectureDocDrawsTheImports keeps the graph in docs/architecture.md
// equal to the real imports. Run with -update-graph to redraw it.
func TestArchitectureDocDrawsTheImports(t *testing.T) {
	t.Parallel()
	pkgs := ourPackages(t)
	path := filepath.Join("..", "docs", "architecture.md") // tests run in their package's directory
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- import graph: begin -->\n", "<!-- import graph: end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q block", path, strings.TrimSpace(begin), end)
	}
	want := drawGraph(pkgs)
	if got := string(doc[i+len(begin) : j]); got != want {
		if *updateGraph {
			updated := string(doc[:i+len(begin)]) + want + string(doc[j:])
			if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the import graph in docs/architecture.md is out of date; run\n"+
			"  go test ./models -run TestArchitectureDocDrawsTheImports -update-graph\nwant:\n%s", want)
	}
}

// drawGraph draws the imports as a Mermaid flowchart, higher layers on top.
// An edge implied by a longer path (server imports models, but also graph,
// which imports models) is left out so the picture stays readable; the
// layering test checks every edge.
func drawGraph(pkgs []pkg) string {
	imports := map[string][]string{}
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	reaches := func(from, to string, skip string) bool {
		seen := map[string]bool{}
		var walk func(string) bool
		walk = func(n string) bool {
			for _, m := range imports[n] {
				if n == from && m == skip {
					continue
				}
				if m == to {
					return true
				}
				if !seen[m] {
					seen[m] = true
					if walk(m) {
						return true
					}
				}
			}
			return false
		}
		return walk(from)
	}
	// Mermaid reserves some words (graph, end): prefix every node id.
	id := func(p string) string { return "pkg_" + strings.ReplaceAll(p, "/", "_") }
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	for i := len(layers) - 1; i >= 0; i-- {
		for _, p := range layers[i].packages {
			if _, ok := imports[p]; !ok {
				continue
			}
			fmt.Fprintf(&b, "  %s[\"%s\"]\n", id(p), p)
		}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		for _, p := range layers[i].packages {
			deps := slices.Clone(imports[p])
			slices.Sort(deps)
			for _, d := range deps {
				if !reaches(p, d, d) {
					fmt.Fprintf(&b, "  %s --> %s\n", id(p), id(d))
				}
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

package graph

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/workshop"
)

var updateAuth = flag.Bool("update-auth", false, "rewrite the @auth roles in graph/schema/*.graphqls from the staffRoles table")

// authUse is one @auth on a schema field.
type authUse struct {
	field    string // "Type.field"
	requires string // OWNER or STAFF
	roles    []string
	file     string
	line     int // 1-based line of the directive
}

// schemaAuth reads every @auth of the schema files, by field.
func schemaAuth(t *testing.T, files []string) []authUse {
	t.Helper()
	var uses []authUse
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := parser.ParseSchema(&ast.Source{Name: f, Input: string(src)})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, def := range append(doc.Definitions, doc.Extensions...) {
			for _, fd := range def.Fields {
				d := fd.Directives.ForName("auth")
				if d == nil {
					continue
				}
				u := authUse{field: def.Name + "." + fd.Name, file: f, line: d.Position.Line}
				if a := d.Arguments.ForName("requires"); a != nil {
					u.requires = a.Value.Raw
				}
				if a := d.Arguments.ForName("roles"); a != nil {
					for _, c := range a.Value.Children {
						u.roles = append(u.roles, c.Value.Raw)
					}
				}
				uses = append(uses, u)
			}
		}
	}
	return uses
}

// authDirectiveFor is the @auth a staff field's table entry asks for.
func authDirectiveFor(roles []auth.Role) string {
	if roles == nil {
		return "@auth(requires: STAFF)"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return "@auth(requires: STAFF, roles: [" + strings.Join(names, ", ") + "])"
}

func roleNames(roles []auth.Role) []string {
	if roles == nil {
		return nil
	}
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

var authCall = regexp.MustCompile(`@auth\([^)]*\)`)

// TestSchemaAuthRoles keeps the schema's @auth(requires: STAFF, roles:)
// equal to staffRoles, the table of the domain's role lists: every staff
// field is in the table with the list its operation enforces, and nothing
// else is. -update-auth rewrites the schema files from the table (then run
// gqlgen generate).
func TestSchemaAuthRoles(t *testing.T) {
	files, err := filepath.Glob("schema/*.graphqls")
	if err != nil || len(files) == 0 {
		t.Fatalf("schema files: %v %v", files, err)
	}
	seen := map[string]bool{}
	var problems []string
	rewrite := map[string]map[int]string{} // file -> line -> directive
	for _, u := range schemaAuth(t, files) {
		roles, listed := staffRoles[u.field]
		switch u.requires {
		case "STAFF":
			if !listed {
				problems = append(problems, fmt.Sprintf("%s (%s:%d) has @auth(requires: STAFF) but no entry in staffRoles (graph/authroles.go)", u.field, u.file, u.line))
				continue
			}
			seen[u.field] = true
			if !slices.Equal(u.roles, roleNames(roles)) {
				want := authDirectiveFor(roles)
				problems = append(problems, fmt.Sprintf("%s (%s:%d): roles %v, the domain's list is %s", u.field, u.file, u.line, u.roles, want))
				if rewrite[u.file] == nil {
					rewrite[u.file] = map[int]string{}
				}
				rewrite[u.file][u.line] = want
			}
		default:
			if listed {
				problems = append(problems, fmt.Sprintf("%s (%s:%d) is @auth(requires: %s) but listed in staffRoles", u.field, u.file, u.line, u.requires))
				seen[u.field] = true
			}
		}
	}
	for field, roles := range staffRoles {
		if !seen[field] {
			problems = append(problems, fmt.Sprintf("staffRoles lists %s, which has no @auth(requires: STAFF) in the schema", field))
		}
		if roles != nil && len(roles) == 0 {
			problems = append(problems, fmt.Sprintf("staffRoles: %s has an empty list, which nobody holds (nil means any staff)", field))
		}
	}
	if *updateAuth {
		for file, lines := range rewrite {
			rewriteAuth(t, file, lines)
		}
		if len(rewrite) > 0 {
			t.Logf("rewrote @auth in %d schema files; now run go run github.com/99designs/gqlgen generate", len(rewrite))
		}
		problems = slices.DeleteFunc(problems, func(p string) bool { return strings.Contains(p, "the domain's list is") })
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("the schema's @auth differs from the domain's role lists:\n  %s\n"+
			"fix staffRoles (graph/authroles.go), or regenerate the schema's roles from it: go test ./graph -run TestSchemaAuthRoles -update-auth",
			strings.Join(problems, "\n  "))
	}
}

// rewriteAuth replaces, on each given line of file, its one @auth(...) with
// the wanted directive.
func rewriteAuth(t *testing.T, file string, lines map[int]string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Split(string(src), "\n")
	for n, want := range lines {
		if got := authCall.FindAllStringIndex(text[n-1], -1); len(got) != 1 {
			t.Fatalf("%s:%d: want one @auth(...) on the line, found %d", file, n, len(got))
		}
		text[n-1] = authCall.ReplaceAllLiteralString(text[n-1], want)
	}
	if err := os.WriteFile(file, []byte(strings.Join(text, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRoleListsCannotBeChanged: a capability's role list is handed out as
// a copy, so a caller changing what it got changes no rule.
func TestRoleListsCannotBeChanged(t *testing.T) {
	for _, roles := range []func() []auth.Role{workshop.RolesSettle, care.RolesComplaintStep, jobs.RolesStatuses, directory.RolesSearchOwners} {
		got := roles()
		want := slices.Clone(got)
		got[0] = auth.RoleGroupAdmin
		if again := roles(); !slices.Equal(again, want) {
			t.Fatalf("a caller changed a role list: %v, was %v", again, want)
		}
	}
}

package models_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm/schema"
)

// tableOwners says which package owns each table of migrations/: the only
// one whose production code may name it in SQL (docs/architecture.md: a
// capability reads another capability's tables only through that
// capability's exported functions). The kernel's tables ("models") are the
// shared mechanisms every capability goes through (idempotency keys) or
// sign-in's; no capability below names them in SQL either.
var tableOwners = map[string]string{
	"stores": "models/directory", "store_hours": "models/directory", "staffs": "models/directory",
	"staff_roles": "models/directory", "staff_stores": "models/directory",
	"owners": "models/directory", "vehicles": "models/directory",

	"login_codes": "models", "refresh_tokens": "models", "auth_failures": "models",
	"idempotency_keys": "models", "staff_networks": "models",

	"notifications": "models/inbox", "notification_settings": "models/inbox",
	"deliveries": "models/outbox",
	// deliveries_new: the SQLite rebuild of deliveries (00015), renamed to it.
	"deliveries_new": "models/outbox",
	"devices":        "models/push",
	"payments":       "models/payments", "payment_refunds": "models/payments",
	// payments_new: the SQLite rebuild of payments (00021), renamed to it.
	"payments_new":            "models/payments",
	"payment_reconciliations": "models/payments", "payment_reconciliation_mismatches": "models/payments",
	// registrations_new: the SQLite rebuild of registrations (00023), renamed to it.
	"registrations_new":   "models/events",
	"job_runs":            "models/jobs",
	"persisted_documents": "models/documents",
	"wechat_tokens":       "models/wechat", "wechat_subscriptions": "models/wechat",

	"repair_orders": "models/workshop", "repair_order_items": "models/workshop",
	"repair_order_events": "models/workshop", "repair_order_payments": "models/workshop",
	"repair_order_sequences": "models/workshop", "store_boards": "models/workshop",
	"screen_tokens": "models/workshop",
	// repair_order_payments_new: the SQLite rebuild of repair_order_payments
	// (00024), renamed to it.
	"repair_order_payments_new": "models/workshop",
	// coupons_new: the SQLite rebuild of coupons (00032).
	"coupons_new": "models/coupons",

	"membership_accounts": "models/wallet", "ledger_entries": "models/wallet", "points_lots": "models/wallet",

	"slot_capacities": "models/booking", "calendar_overrides": "models/booking",
	"slot_bookings": "models/booking", "appointments": "models/booking",

	"events": "models/events", "registrations": "models/events",

	"consent_events": "models/directory", "deleted_owners": "models/directory",

	"surveys": "models/care", "complaints": "models/care", "complaint_events": "models/care",
	"follow_up_tasks": "models/care",
	"owner_segments":  "models/crm", "audiences": "models/crm", "campaigns": "models/crm", "campaign_invitations": "models/crm",
	// campaigns_new, campaign_invitations_new: the SQLite rebuilds of
	// campaigns and campaign_invitations (00031), renamed to them.
	"campaigns_new": "models/crm", "campaign_invitations_new": "models/crm",

	"assistance_requests": "models/roadside", "assistance_events": "models/roadside",
	"coupon_templates": "models/coupons", "coupons": "models/coupons",
	"referral_codes": "models/referrals", "referrals": "models/referrals", "referral_devices": "models/referrals",
	"referral_erased_phones": "models/referrals",
	"service_packages":       "models/packages", "owner_packages": "models/packages", "package_uses": "models/packages",
}

// A package's entities are its exported types that map to a table: a
// struct with a TableName method, or whose GORM default name (RepairOrder:
// repair_orders) is a table of migrations/, and aliases of such types
// (privacy.ConsentEvent). A query through one of them
// (Model(&models.Vehicle{}), Delete(&inbox.Notification{}), a row read into
// a workshop.RepairOrder) names its table as surely as SQL does. The
// kernel's models.Owner, Vehicle, Store, ... are the directory's rows
// (docs/architecture.md, "The kernel").

// tableExceptions are the places that still name another package's table,
// each with why. Keyed by "file: table"; a key that no longer matches
// anything fails the test too, so the list only shrinks.
var tableExceptions = map[string]string{}

var (
	sqlTable    = regexp.MustCompile(`\b(?:FROM|JOIN|UPDATE|INTO|TABLE)\s+([a-z_]+)\b`)
	gormTable   = regexp.MustCompile(`\.Table\("([a-z_]+)`)
	createTable = regexp.MustCompile(`CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)`)
	// typeName is a type as a file writes it: pkg.Type, or Type of its
	// own package.
	typeName = regexp.MustCompile(`(?:\b([a-z]\w*)\.)?\b([A-Z]\w*)\b`)
	// readInto is a GORM call reading into, or writing from, a variable.
	readInto = regexp.MustCompile(`\.(?:Find|Take|First|Scan|Create|Save|Delete|Update|Updates|CreateInBatches|FirstOrCreate|Model)\(&?(\w+)[,)]`)
)

// entityUses are the ways a line uses entity E (as the file writes it) in a
// query: as an empty model given to a call or kept in a table of queries
// (Model(&E{}), {&E{}, "owner_id = ?"}; not (&E{}).Method()) or as a GORM call's value
// (Create(&E{...})); and a variable declared to hold rows of E (var x E,
// var xs []*E, x := &E{...}), which a later GORM call reads into or writes
// from.
type entityUses struct{ model, decl *regexp.Regexp }

var usesOf = map[string]entityUses{}

func usesFor(e string) entityUses {
	if u, ok := usesOf[e]; ok {
		return u
	}
	q := regexp.QuoteMeta(e)
	u := entityUses{
		model: regexp.MustCompile(`(?:\w\(|\{|, )&` + q + `\{\}|\.(?:Model|Delete|Find|Take|First|Create|Save|Updates|CreateInBatches|FirstOrCreate)\(&?` + q + `\{`),
		decl:  regexp.MustCompile(`\bvar (\w+) (?:\[\]\*?|\*)?` + q + `$|\b(\w+) :?= (?:&|\[\]\*?)?` + q + `\{`),
	}
	usesOf[e] = u
	return u
}

// entityTables maps every entity of the packages under models/ ("wallet.Account",
// "models.Owner") to its table.
func entityTables(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	aliases := map[string]string{} // entity: the type it names
	naming := schema.NamingStrategy{}
	for _, dir := range append([]string{"."}, capabilityDirs(t)...) {
		pkg := filepath.Base(dir)
		if dir == "." {
			pkg = "models"
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]string{} // type: its TableName
		var structs []string
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if table, ok := tableNameMethod(d); ok {
						named[table[0]] = table[1]
					}
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						ts, ok := spec.(*ast.TypeSpec)
						if !ok || !ts.Name.IsExported() {
							continue
						}
						switch typ := ts.Type.(type) {
						case *ast.StructType:
							structs = append(structs, ts.Name.Name)
						case *ast.SelectorExpr:
							if x, ok := typ.X.(*ast.Ident); ok {
								aliases[pkg+"."+ts.Name.Name] = x.Name + "." + typ.Sel.Name
							}
						case *ast.Ident:
							aliases[pkg+"."+ts.Name.Name] = pkg + "." + typ.Name
						}
					}
				}
			}
		}
		for _, name := range structs {
			table, ok := named[name]
			if !ok {
				table = naming.TableName(name)
			}
			if _, known := tableOwners[table]; known {
				out[pkg+"."+name] = table
			}
		}
	}
	for e, target := range aliases {
		if table, ok := out[target]; ok {
			out[e] = table
		}
	}
	if out["models.Owner"] != "owners" || out["workshop.RepairOrder"] != "repair_orders" || out["wallet.Account"] != "membership_accounts" {
		t.Fatalf("entities found: %v", out)
	}
	return out
}

// tableNameMethod is the type and the table of a method
// func (T) TableName() string { return "table" }.
func tableNameMethod(d *ast.FuncDecl) ([2]string, bool) {
	if d.Name.Name != "TableName" || d.Recv == nil || len(d.Recv.List) != 1 || d.Body == nil || len(d.Body.List) != 1 {
		return [2]string{}, false
	}
	recv, ok := d.Recv.List[0].Type.(*ast.Ident)
	ret, ok2 := d.Body.List[0].(*ast.ReturnStmt)
	if !ok || !ok2 || len(ret.Results) != 1 {
		return [2]string{}, false
	}
	lit, ok := ret.Results[0].(*ast.BasicLit)
	if !ok {
		return [2]string{}, false
	}
	m := regexp.MustCompile(`^"([a-z_]+)"$`).FindStringSubmatch(lit.Value)
	if m == nil {
		return [2]string{}, false
	}
	return [2]string{recv.Name, m[1]}, true
}

// TestEveryTableHasAnOwner keeps tableOwners complete: every table the
// migrations create has a line there.
func TestEveryTableHasAnOwner(t *testing.T) {
	for _, dialect := range []string{"postgres", "sqlite"} {
		files, err := filepath.Glob(filepath.Join("..", "migrations", dialect, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no migrations for %s: %v", dialect, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
				if _, ok := tableOwners[m[1]]; !ok {
					t.Errorf("%s creates table %s: give it its owner in tableOwners", f, m[1])
				}
			}
		}
	}
}

// TestNoCapabilityNamesAnothersTables reads every package under models/
// (production files) and fails on each line that names, in SQL or through
// an entity, a table another package owns.
func TestNoCapabilityNamesAnothersTables(t *testing.T) {
	found := map[string][]string{} // exception key: where
	ents := entityTables(t)
	for _, dir := range capabilityDirs(t) {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		pkgPath := "models/" + filepath.Base(dir)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			rel := pkgPath + "/" + filepath.Base(f)
			for _, hit := range foreignTables(t, f, pkgPath, ents) {
				key := rel + ": " + hit.table
				where := fmt.Sprintf("%s:%d: names %s (owned by %s): %s", rel, hit.line, hit.table, tableOwners[hit.table], hit.text)
				if _, ok := tableExceptions[key]; ok {
					found[key] = append(found[key], where)
					continue
				}
				t.Errorf("%s\n\tread or write it through %s's exported functions", where, tableOwners[hit.table])
			}
		}
	}
	keys := make([]string, 0, len(tableExceptions))
	for k := range tableExceptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(found[k]) == 0 {
			t.Errorf("tableExceptions lists %q, which no longer happens: remove the line", k)
		}
	}
}

// capabilityDirs are the packages under models/ that the rule binds:
// every one but test support and the pure validation.
func capabilityDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !slices.Contains([]string{"testdb", "validate"}, e.Name()) {
			out = append(out, e.Name())
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %v under models/", out)
	}
	return out
}

type tableHit struct {
	line        int
	table, text string
}

// foreignTables lists the lines of file f (of package pkgPath) that name a
// table pkgPath does not own: in SQL, as a query's model, or through a
// variable of the function holding rows of an entity. Comment lines are
// skipped.
func foreignTables(t *testing.T, f, pkgPath string, ents map[string]string) []tableHit {
	t.Helper()
	file, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	own := filepath.Base(pkgPath)
	var out []tableHit
	rows := map[string]string{} // a variable of the function holding rows: their table
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "//") {
			continue
		}
		if strings.HasPrefix(line, "func ") {
			clear(rows)
		}
		var tables []string
		for _, re := range []*regexp.Regexp{sqlTable, gormTable} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				tables = append(tables, m[1])
			}
		}
		for _, m := range typeName.FindAllStringSubmatch(line, -1) {
			pkg := m[1]
			if pkg == "" {
				pkg = own
			}
			table, ok := ents[pkg+"."+m[2]]
			if !ok {
				continue
			}
			u := usesFor(m[0])
			if u.model.MatchString(line) {
				tables = append(tables, table)
			}
			for _, d := range u.decl.FindAllStringSubmatch(line, -1) {
				rows[d[1]+d[2]] = table
			}
		}
		for _, m := range readInto.FindAllStringSubmatch(line, -1) {
			if table, ok := rows[m[1]]; ok {
				tables = append(tables, table)
			}
		}
		slices.Sort(tables)
		for _, table := range slices.Compact(tables) {
			owner, known := tableOwners[table]
			if known && owner != pkgPath {
				out = append(out, tableHit{line: n, table: table, text: line})
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForeignTablesCatchesEntityQueries: the reader of
// TestNoCapabilityNamesAnothersTables finds each way a file of package
// models/care can reach the workshop's, the inbox's and the directory's
// rows, and not a method called on an empty value.
func TestForeignTablesCatchesEntityQueries(t *testing.T) {
	src := `package care

func f() {
	conn.Model(&workshop.RepairOrder{}).Where("id = ?", id).Count(&n)
	var order workshop.RepairOrder
	conn.Take(&order)
	rows := []*inbox.Notification{}
	conn.Where("owner_id = ?", id).Find(&rows)
	ev := &privacy.ConsentEvent{ID: id}
	conn.Create(ev)
	{&outbox.Delivery{}, "owner_id = ?"},
	conn.Raw("SELECT 1 FROM vehicles")
	conn.CreateInBatches(&rows, 100)
	loc := (&models.Store{}).Location()
	var mine FollowUpTask
	conn.Take(&mine)
}

func g() {
	conn.Take(&order)
}
`
	f := filepath.Join(t.TempDir(), "x.go")
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range foreignTables(t, f, "models/care", entityTables(t)) {
		got = append(got, fmt.Sprintf("%d:%s", h.line, h.table))
	}
	want := []string{"4:repair_orders", "6:repair_orders", "8:notifications", "10:consent_events", "11:deliveries",
		"12:vehicles", "13:notifications"}
	if !slices.Equal(got, want) {
		t.Fatalf("found %v; want %v", got, want)
	}
}

package models_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
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
	"job_runs":       "models/jobs",

	"repair_orders": "models/workshop", "repair_order_items": "models/workshop",
	"repair_order_events": "models/workshop", "repair_order_payments": "models/workshop",
	"repair_order_sequences": "models/workshop", "store_boards": "models/workshop",
	"screen_tokens": "models/workshop",

	"membership_accounts": "models/wallet", "ledger_entries": "models/wallet", "points_lots": "models/wallet",

	"slot_capacities": "models/booking", "calendar_overrides": "models/booking",
	"slot_bookings": "models/booking", "appointments": "models/booking",

	"events": "models/events", "registrations": "models/events",

	"consent_events": "models/privacy", "deleted_owners": "models/directory",

	"surveys": "models/care", "complaints": "models/care", "complaint_events": "models/care",
	"follow_up_tasks": "models/care",

	"assistance_requests": "models/roadside", "assistance_events": "models/roadside",
}

// directoryEntities are the kernel's types of the directory's rows
// (docs/architecture.md, "The kernel"): a query through one of them
// (Model(&models.Vehicle{}), a row read into a models.Owner) reads the
// directory's tables as surely as SQL naming them.
const directoryEntities = `Owner|Vehicle|Store|StoreHours|Staff|StaffRole|StaffStore`

// tableExceptions are the places that still name another package's table,
// each with why. Keyed by "file: table"; a key that no longer matches
// anything fails the test too, so the list only shrinks.
var tableExceptions = map[string]string{
	"models/demo/workshop.go: vehicles": "the demo data loads the directory's rows itself (seed.go) and " +
		"resets and sets the cars' mileage as its workshop history goes; the directory has no seeding operations",
	"models/demo/roadside.go: stores": "the demo data gives its stores coordinates; the directory has no operation to edit a store",
	"models/demo/care.go: stores":     "the demo data reads back the stores it seeded",
	"models/demo/privacy.go: owners":  "the demo data reads back the owners it seeded who gave consent",
	"models/demo/workshop.go: notifications": "the demo data marks the notifications of its past as read; " +
		"the inbox marks them read only for their owner",
	"models/demo/seed.go: owners": "the demo data checks whether it was already loaded by the demo owner's phone",
}

var (
	sqlTable    = regexp.MustCompile(`\b(?:FROM|JOIN|UPDATE|INTO|TABLE)\s+([a-z_]+)\b`)
	gormTable   = regexp.MustCompile(`\.Table\("([a-z_]+)`)
	entityQuery = regexp.MustCompile(`\.(?:Model|Delete|Find|Take|First|Create|Save|Update|Updates)\(&models\.(` + directoryEntities + `)\{`)
	entityRow   = regexp.MustCompile(`\bvar \w+ models\.(` + directoryEntities + `)$`)
	entityRows  = regexp.MustCompile(`\bvar (\w+) \[\]\*?models\.(` + directoryEntities + `)$`)
	readInto    = regexp.MustCompile(`\.(?:Find|Take|First|Scan)\(&(\w+)\)`)
	createTable = regexp.MustCompile(`CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)`)
)

// entityTables maps a directory entity to its table.
var entityTables = map[string]string{
	"Owner": "owners", "Vehicle": "vehicles", "Store": "stores", "StoreHours": "store_hours",
	"Staff": "staffs", "StaffRole": "staff_roles", "StaffStore": "staff_stores",
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
// a directory entity, a table another package owns.
func TestNoCapabilityNamesAnothersTables(t *testing.T) {
	found := map[string][]string{} // exception key: where
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
			for _, hit := range foreignTables(t, f, pkgPath) {
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
// table pkgPath does not own: in SQL, as a query's model, as a row read
// into a directory entity, or as a read into a slice of them declared in
// the file. Comment lines are skipped.
func foreignTables(t *testing.T, f, pkgPath string) []tableHit {
	t.Helper()
	file, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var out []tableHit
	entitySlices := map[string]string{} // a slice of directory entities: its entity
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "//") {
			continue
		}
		var tables []string
		for _, re := range []*regexp.Regexp{sqlTable, gormTable} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				tables = append(tables, m[1])
			}
		}
		for _, re := range []*regexp.Regexp{entityQuery, entityRow} {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				tables = append(tables, entityTables[m[1]])
			}
		}
		if m := entityRows.FindStringSubmatch(line); m != nil {
			entitySlices[m[1]] = m[2]
		}
		for _, m := range readInto.FindAllStringSubmatch(line, -1) {
			if e, ok := entitySlices[m[1]]; ok {
				tables = append(tables, entityTables[e])
			}
		}
		for _, table := range tables {
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

package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
)

// The authorization sweep. It learns the API as an outsider would, by
// introspection, and aims every query and mutation that takes an ID (or a
// string that names a customer's record: a phone number, a plate, a
// check-in code) at owner A, a customer of SZ01, and at SZ01's own records,
// calling each as another owner, GZ01's staff, an SZ01 technician, SZ01's
// screen and an anonymous caller. No response may carry A's data or SZ01's
// private records, and no call may change the database. Inputs are built
// from the schema, so an operation added later is swept without touching
// this test; one the sweep cannot aim (an ID slot it cannot tell the type
// of, an operation without any ID that is not listed as open) fails it.
func TestAuthorizationSweep(t *testing.T) {
	f := newSweepFixture(t)
	w := newSweepWorld(t, f)
	ops := w.operations(t)
	callers := w.callers(t)
	if t.Failed() {
		return
	}

	before := fingerprint(t, f.DB)
	outcomes := map[string]map[string][]string{} // op -> caller -> outcomes
	var mu sync.Mutex
	for _, op := range ops {
		var calls []swCall
		for _, c := range callers {
			cs, err := w.calls(op, c)
			if err != nil {
				t.Errorf("%s: %v", op.name, err)
				continue
			}
			calls = append(calls, cs...)
		}
		outcomes[op.name] = map[string][]string{}
		parallel(len(calls), 8, func(i int) {
			c := calls[i]
			out := w.run(t, c)
			mu.Lock()
			outcomes[op.name][c.caller.name] = append(outcomes[op.name][c.caller.name], out)
			mu.Unlock()
		})
		if after := fingerprint(t, f.DB); !after.equal(before) {
			var by []string
			for c, o := range outcomes[op.name] {
				by = append(by, c+"="+strings.Join(compact(o), ","))
			}
			sort.Strings(by)
			t.Errorf("%s changed the database (answers: %s):\n%s", op.name, strings.Join(by, " "), before.diff(after))
			before = after
		}
	}
	w.checkExercised(t, ops, outcomes)
	if t.Failed() || testing.Verbose() {
		var lines []string
		for _, op := range ops {
			var parts []string
			for _, c := range callers {
				if o := outcomes[op.name][c.name]; len(o) > 0 {
					parts = append(parts, c.name+"="+strings.Join(compact(o), ","))
				}
			}
			lines = append(lines, op.name+": "+strings.Join(parts, " "))
		}
		t.Logf("%d operations, outcomes:\n%s", len(ops), strings.Join(lines, "\n"))
	}
}

// parallel runs fn(0..n-1) on at most width goroutines.
func parallel(n, width int, fn func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(n, width) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// compact counts repeated outcomes: "NOT_FOUND x3".
func compact(list []string) []string {
	n := map[string]int{}
	var order []string
	for _, o := range list {
		if n[o] == 0 {
			order = append(order, o)
		}
		n[o]++
	}
	sort.Strings(order)
	for i, o := range order {
		if n[o] > 1 {
			order[i] = fmt.Sprintf("%s x%d", o, n[o])
		}
	}
	return order
}

// dbPrint is every row of every table, as text: two prints are equal
// when nothing was written in between.
type dbPrint map[string][]string

func fingerprint(t testing.TB, db *models.DB) dbPrint {
	t.Helper()
	conn := db.Conn(context.Background())
	tables, err := conn.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	// The tables are read side by side (the sweep reads them all after
	// every operation); a failure is reported once they are all read.
	lists := make([][]string, len(tables))
	errs := make([]error, len(tables))
	parallel(len(tables), 8, func(i int) { lists[i], errs[i] = tableRows(conn, tables[i]) })
	out := dbPrint{}
	for i, table := range tables {
		if errs[i] != nil {
			t.Fatalf("%s: %v", table, errs[i])
		}
		out[table] = lists[i]
	}
	return out
}

// tableRows is every row of a table as text, sorted.
func tableRows(conn *gorm.DB, table string) ([]string, error) {
	rows, err := conn.Raw(`SELECT * FROM "` + table + `"`).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var list []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		list = append(list, b.String())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Strings(list)
	return list, rows.Close()
}

func (p dbPrint) equal(q dbPrint) bool {
	if len(p) != len(q) {
		return false
	}
	for k, rows := range p {
		if !slices.Equal(rows, q[k]) {
			return false
		}
	}
	return true
}

// diff lists the rows q has and p has not (+) and the other way round (-).
func (p dbPrint) diff(q dbPrint) string {
	var b strings.Builder
	tables := map[string]bool{}
	for k := range p {
		tables[k] = true
	}
	for k := range q {
		tables[k] = true
	}
	var names []string
	for k := range tables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		was, is := map[string]int{}, map[string]int{}
		for _, r := range p[k] {
			was[r]++
		}
		for _, r := range q[k] {
			is[r]++
		}
		for _, r := range p[k] {
			if is[r] == 0 {
				fmt.Fprintf(&b, "  %s - %s\n", k, r)
			} else {
				is[r]--
			}
		}
		for _, r := range q[k] {
			if was[r] == 0 {
				fmt.Fprintf(&b, "  %s + %s\n", k, r)
			} else {
				was[r]--
			}
		}
	}
	return b.String()
}

// screenRefused is how the API answers a screen's token: it reads its
// store's board over REST and nothing else.
func screenRefused(r *gqlResponse) bool {
	return r.Status == http.StatusUnauthorized && r.Data == nil && r.Code() == "UNAUTHENTICATED"
}

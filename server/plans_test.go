package main

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// TestHotReadsUseIndexes runs the reads every owner and every screen makes
// most often, through the real server on the demo data, and asks
// PostgreSQL for the generic plan of each of their statements with
// sequential scans disabled: a plan that still reads a whole table (or
// walks a whole index without a condition on it) has no index to answer
// from, and would read every row of that table on each request once the
// tables are large. The home screen's glance at the cars did that
// (an OR of two conditions, one an IN subquery, on the orders) until its
// statement found the two kinds of order through the vehicle indexes.
//
// Not in parallel: it watches every statement of the shared database.
func TestHotReadsUseIndexes(t *testing.T) {
	if sharedDB.Dialect != models.Postgres {
		t.Skip("the plans checked are PostgreSQL's; the PostgreSQL pass runs this test")
	}
	s := newTestServer(t)
	owner := s.ownerToken(t, s.ownerByPhone(t, "+8613800000001").ID)
	advisor := s.staffToken(t, "advisor.sz01")
	store := pvGID("Store", e2eStoreID(t, s, "SZ01"))

	type statement struct {
		sql  string
		vars []any
	}
	var (
		mu   sync.Mutex
		seen = map[string]statement{}
	)
	stop := s.DB.Watch(func(sql string, vars []any) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := seen[sql]; !ok && strings.HasPrefix(strings.TrimSpace(strings.ToUpper(sql)), "SELECT") && strings.Contains(strings.ToUpper(sql), " FROM ") {
			seen[sql] = statement{sql, vars}
		}
	})
	s.gql(t, owner, homeQuery, nil)
	s.gql(t, owner, historyQuery, nil)
	s.gql(t, owner, `{ events(first: 20) { edges { node { id title status seatsLeft store { code } myRegistration { id status } } } } }`, nil)
	manager := s.staffToken(t, "manager.sz01")
	events := s.gql(t, manager, `query($s: ID!) { events(first: 5, filter: {storeId: $s}) { edges { node { id } } } }`, map[string]any{"s": store})
	for _, e := range dig(events, "events", "edges").([]any) {
		s.gql(t, manager, evRosterDoc, map[string]any{"e": dig(e, "node", "id")})
	}
	s.gql(t, advisor, bkScheduleDoc, map[string]any{"s": store, "d": time.Now().Format(time.DateOnly)})
	bdFull(t, s, "SZ01", advisor)
	stop()
	// A statement that read the watcher before stop may still be adding.
	mu.Lock()
	statements := slices.Collect(maps.Values(seen))
	mu.Unlock()
	if len(statements) < 10 {
		t.Fatalf("only %d statements watched", len(statements))
	}
	for _, st := range statements {
		plan := genericPlan(t, st.sql, st.vars)
		if whole := wholeTableScans(plan); len(whole) > 0 {
			t.Errorf("a hot read has no index to answer from (%s):\n%s\n\nplan:\n%s", strings.Join(whole, "; "), st.sql, plan)
		}
	}
	t.Logf("%d statements, each planned from indexes", len(statements))
}

// genericPlan is PostgreSQL's generic plan for sql with vars, as JSON: the
// plan a pool connection keeps for a statement it has run a few times,
// made with sequential scans disabled (enable_seqscan = off leaves them
// only where nothing else can answer). The settings are the session's, so
// the connection is closed afterwards rather than returned to the pool.
func genericPlan(t *testing.T, sql string, vars []any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := sharedDB.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool
		_ = conn.Close()
	}()
	for _, set := range []string{"SET enable_seqscan = off", "SET plan_cache_mode = force_generic_plan", "PREPARE hot_read AS " + sql} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			t.Fatalf("%s: %v", set, err)
		}
	}
	// EXPLAIN EXECUTE takes no bound arguments: the values are written
	// in, as literals of the types PREPARE inferred.
	explain := "EXPLAIN (FORMAT JSON) EXECUTE hot_read"
	if len(vars) > 0 {
		params := make([]string, len(vars))
		for i, v := range vars {
			params[i] = sqlLiteral(t, v)
		}
		explain += "(" + strings.Join(params, ", ") + ")"
	}
	var plan string
	if err := conn.QueryRowContext(ctx, explain).Scan(&plan); err != nil {
		t.Fatalf("%s: %v", explain, err)
	}
	return plan
}

// planNode is a node of PostgreSQL's JSON plan, with what tells a scan
// that reads a whole table or index.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Plans     []planNode `json:"Plans"`
}

// wholeTableScans names the scans of plan that read a whole table: a
// sequential scan, or an index scan without a condition on the index
// (walking all of it for its order) unless a Limit above it stops it.
func wholeTableScans(plan string) []string {
	var doc []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(plan), &doc); err != nil || len(doc) != 1 {
		return []string{fmt.Sprintf("unreadable plan: %v", err)}
	}
	var found []string
	var walk func(n planNode, limited bool)
	walk = func(n planNode, limited bool) {
		switch n.NodeType {
		case "Seq Scan":
			found = append(found, "sequential scan of "+n.Relation)
		case "Index Scan", "Index Only Scan":
			if n.IndexCond == "" && !limited {
				found = append(found, "every entry of "+n.IndexName+" on "+n.Relation)
			}
		}
		limited = limited || n.NodeType == "Limit"
		for _, c := range n.Plans {
			walk(c, limited)
		}
	}
	walk(doc[0].Plan, false)
	return found
}

// sqlLiteral writes an argument of a statement as a PostgreSQL literal,
// after database/sql's own conversion (valuers, pointers).
func sqlLiteral(t *testing.T, v any) string {
	t.Helper()
	v, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		t.Fatalf("argument %v: %v", v, err)
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool, int64, float64:
		return fmt.Sprint(x)
	case time.Time:
		return quote(x.Format(time.RFC3339Nano))
	case string:
		return quote(x)
	case []byte:
		return `'\x` + hex.EncodeToString(x) + `'`
	default:
		t.Fatalf("argument of type %T", v)
		return ""
	}
}

func TestWholeTableScans(t *testing.T) {
	cases := []struct {
		plan string
		want int
	}{
		{`[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "repair_orders"}}]`, 1},
		{`[{"Plan": {"Node Type": "Index Scan", "Relation Name": "owners", "Index Name": "owners_pkey", "Index Cond": "(id = $1)"}}]`, 0},
		{`[{"Plan": {"Node Type": "Index Scan", "Relation Name": "owners", "Index Name": "owners_pkey"}}]`, 1},
		{`[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": "Index Only Scan", "Relation Name": "stores", "Index Name": "stores_code_key"}]}}]`, 0},
		{`[{"Plan": {"Node Type": "Nested Loop", "Plans": [
			{"Node Type": "Bitmap Heap Scan", "Relation Name": "repair_orders", "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "repair_orders_vehicle_idx", "Index Cond": "(vehicle_id = $1)"}]},
			{"Node Type": "Seq Scan", "Relation Name": "vehicles"}]}}]`, 1},
	}
	for i, c := range cases {
		if got := wholeTableScans(c.plan); len(got) != c.want {
			t.Errorf("plan %d: %v; want %d whole-table scans", i, got, c.want)
		}
	}
}

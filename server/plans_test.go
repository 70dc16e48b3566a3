package main

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// TestHotReadsUseIndexes runs the reads every owner and every screen makes
// most often, through the real server on the demo data, and asks
// PostgreSQL for the generic plan of each of their statements with
// sequential scans disabled: a plan that still reads a whole table has no index to
// answer from, and would read every row of that table on each request
// once the tables are large. The home screen's glance at the cars did that
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
	var store string
	for _, e := range dig(s.gql(t, advisor, `{ stores(first: 50) { edges { node { id code } } } }`, nil), "stores", "edges").([]any) {
		if dig(e, "node", "code") == "SZ01" {
			store = dig(e, "node", "id").(string)
		}
	}
	if store == "" {
		t.Fatal("no SZ01 in the demo data")
	}

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
	if len(seen) < 10 {
		t.Fatalf("only %d statements watched", len(seen))
	}

	ctx := context.Background()
	for _, st := range seen {
		plan := explainWithoutSeqScans(t, ctx, st.sql, st.vars)
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("a hot read has no index to answer from:\n%s\n\nplan:\n%s", st.sql, plan)
		}
	}
	t.Logf("%d statements, each planned from indexes", len(seen))
}

// explainWithoutSeqScans is PostgreSQL's generic plan for sql with vars
// (the plan a pool connection keeps for a statement it has run a few
// times), in a transaction where sequential scans are disabled
// (enable_seqscan = off leaves them only where nothing else can answer).
func explainWithoutSeqScans(t *testing.T, ctx context.Context, sql string, vars []any) string {
	t.Helper()
	conn, err := sharedDB.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	for _, set := range []string{"SET enable_seqscan = off", "SET plan_cache_mode = force_generic_plan", "PREPARE hot_read AS " + sql} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			t.Fatalf("%s: %v", set, err)
		}
	}
	defer func() {
		for _, reset := range []string{"DEALLOCATE hot_read", "RESET enable_seqscan", "RESET plan_cache_mode"} {
			if _, err := conn.ExecContext(ctx, reset); err != nil {
				t.Errorf("%s: %v", reset, err)
			}
		}
	}()
	// EXPLAIN EXECUTE takes no bound arguments: the values are written
	// in, as literals of the types PREPARE inferred.
	params := make([]string, len(vars))
	for i, v := range vars {
		params[i] = sqlLiteral(t, v)
	}
	explain := "EXPLAIN EXECUTE hot_read"
	if len(params) > 0 {
		explain += "(" + strings.Join(params, ", ") + ")"
	}
	rows, err := conn.QueryContext(ctx, explain)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	defer func() { _ = rows.Close() }()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// sqlLiteral writes an argument of a statement as a PostgreSQL literal.
func sqlLiteral(t *testing.T, v any) string {
	t.Helper()
	if valuer, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = valuer.Value(); err != nil {
			t.Fatal(err)
		}
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		return fmt.Sprint(x)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x)
	case time.Time:
		return quote(x.Format(time.RFC3339Nano))
	case string:
		return quote(x)
	case fmt.Stringer:
		return quote(x.String())
	default:
		return quote(fmt.Sprint(x))
	}
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Outages of PostgreSQL, made by cutting this test's own database off: new
// connections refused (ALLOW_CONNECTIONS false) and existing backends
// terminated, as a database restart does. Other test packages share the
// server, so it is never restarted.

// outage controls the connections of one test database from a connection
// to the server's maintenance database.
type outage struct {
	t     *testing.T
	admin *pgx.Conn
	name  string
}

func newOutage(t *testing.T, dbURL string) *outage {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	base, err := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(context.Background(), base.String())
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{t: t, admin: admin, name: name}
	t.Cleanup(func() {
		o.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")
		admin.Close(context.Background())
	})
	return o
}

func (o *outage) exec(sql string, args ...any) {
	o.t.Helper()
	if _, err := o.admin.Exec(context.Background(), sql, args...); err != nil {
		o.t.Fatalf("%s: %v", sql, err)
	}
}

// begin refuses new connections and terminates every backend of the
// database.
func (o *outage) begin() int {
	o.t.Helper()
	o.exec("ALTER DATABASE " + o.name + " ALLOW_CONNECTIONS false")
	var n int
	err := o.admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, o.name).Scan(&n)
	if err != nil {
		o.t.Fatal(err)
	}
	return n
}

func (o *outage) end() { o.exec("ALTER DATABASE " + o.name + " ALLOW_CONNECTIONS true") }

// waitFor polls the database's backends until cond's query answers true.
func (o *outage) waitFor(what, cond string, args ...any) {
	o.t.Helper()
	for range 500 {
		var ok bool
		if err := o.admin.QueryRow(context.Background(), cond, args...).Scan(&ok); err != nil {
			o.t.Fatal(err)
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.t.Fatalf("never: %s", what)
}

// waitForLog polls the server's log for a line matching re.
func waitForLog(t *testing.T, s *testServer, re *regexp.Regexp) {
	t.Helper()
	for range 1000 {
		if re.MatchString(s.Logs.String()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line matching %s in:\n%s", re, s.Logs)
}

// orderKey is the database key of a repair order's global id.
func orderKey(t *testing.T, gid string) string {
	t.Helper()
	typ, key, ok := strings.Cut(decodeGlobalID(t, gid), ":")
	if !ok || typ != "RepairOrder" {
		t.Fatalf("not a repair order id: %s", gid)
	}
	return key
}

func decodeGlobalID(t *testing.T, gid string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		t.Fatalf("global id %q: %v", gid, err)
	}
	return string(raw)
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func requirePostgres(t *testing.T, why string) {
	t.Helper()
	if !onPostgres() {
		t.Skip("PostgreSQL only: " + why)
	}
}

// A subscription whose re-read fails on a passing database error reads
// again with backoff and keeps delivering once the database answers.
func TestSubscriptionRetriesAFailedReread(t *testing.T) {
	requirePostgres(t, "the embedded SQLite database has no server whose connections can fail while the process runs")
	db, dbURL := ownDB(t, models.Pool{}, true)
	f := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = db })
	car := f.quickCar(t, "SZ01")
	advisor := f.staff(t, "advisor.sz01")
	o := f.open(t, advisor, f.sz, car.Plate, 1500, "REPAIR", nil)
	id := wkStr(o["id"])
	<-db.LiveReady()

	c := wsConnect(t, f.testServer, car.OwnerToken)
	op := c.subscribe(t, subOrderDoc, map[string]any{"id": id})
	c.nextResult(t, op, subWait)

	// The pool loses the database; the live-updates listener keeps its
	// connection and hears a change announced.
	notify, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close(context.Background())
	cut := newOutage(t, dbURL)
	cut.exec("ALTER DATABASE " + cut.name + " ALLOW_CONNECTIONS false")
	cut.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1
		AND application_name <> 'ownerhub-live' AND pid <> $2`, cut.name, notify.PgConn().PID())
	if _, err := notify.Exec(context.Background(), "SELECT pg_notify('ownerhub_live', $1)", workshop.OrderTopic(mustUUID(t, orderKey(t, id)))); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, f.testServer, regexp.MustCompile(`"msg":"live update: read failed; retrying"`))
	if m, ok := c.recv(200 * time.Millisecond); ok {
		t.Fatalf("while the database is away the subscription sent %s %s", m.Type, m.Payload)
	}
	cut.end()
	d := c.waitFor(t, op, 20*time.Second, subOrderIn("CHECKED_IN"))
	if dig(d, "repairOrderUpdated", "id") != id {
		t.Fatalf("re-read after the outage: %v", d)
	}
	f.move(t, advisor, id, "DIAGNOSING", "")
	c.waitFor(t, op, subWait, subOrderIn("DIAGNOSING"))
}

// When the database stays away past the retries, the subscription ends
// with an error the client can act on: UNAVAILABLE, retryable.
func TestSubscriptionEndsWithUnavailable(t *testing.T) {
	requirePostgres(t, "the embedded SQLite database has no server whose connections can fail while the process runs")
	db, dbURL := ownDB(t, models.Pool{}, true)
	f := newWorkshop(t, func(_ *Config, d *Deps) {
		d.DB = db
		d.LiveRetry = graph.Retry{Attempts: 3, First: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	})
	car := f.quickCar(t, "SZ01")
	o := f.open(t, f.staff(t, "advisor.sz01"), f.sz, car.Plate, 1500, "REPAIR", nil)
	id := wkStr(o["id"])
	<-db.LiveReady()
	c := wsConnect(t, f.testServer, car.OwnerToken)
	op := c.subscribe(t, subOrderDoc, map[string]any{"id": id})
	c.nextResult(t, op, subWait)

	notify, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close(context.Background())
	cut := newOutage(t, dbURL)
	cut.exec("ALTER DATABASE " + cut.name + " ALLOW_CONNECTIONS false")
	cut.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1
		AND application_name <> 'ownerhub-live' AND pid <> $2`, cut.name, notify.PgConn().PID())
	if _, err := notify.Exec(context.Background(), "SELECT pg_notify('ownerhub_live', $1)", workshop.OrderTopic(mustUUID(t, orderKey(t, id)))); err != nil {
		t.Fatal(err)
	}
	m, ok := c.recv(20 * time.Second)
	if !ok {
		t.Fatalf("no message after the re-reads failed (read error %v)", c.err())
	}
	var errs []gqlError
	switch m.Type {
	case "next":
		var r wsResult
		_ = json.Unmarshal(m.Payload, &r)
		errs = r.Errors
	case "error":
		_ = json.Unmarshal(m.Payload, &errs)
	}
	if m.ID != op || len(errs) != 1 || errs[0].Extensions["code"] != "UNAVAILABLE" || errs[0].Extensions["retryable"] != true || errs[0].Message == "" {
		t.Fatalf("want an UNAVAILABLE, retryable error, got %s %s", m.Type, m.Payload)
	}
	if m.Type == "next" {
		if end, ok := c.recv(subWait); !ok || end.ID != op || end.Type != "complete" {
			t.Fatalf("want complete after the error, got %+v", end)
		}
	}
	waitForLog(t, f.testServer, regexp.MustCompile(`"msg":"database unavailable"`))
	cut.end()
}

// The outage test: the database's backends are terminated mid-request and
// mid-subscription and new connections refused for a while. Requests in
// the meantime answer UNAVAILABLE (retryable, HTTP 503 with Retry-After),
// each logged with its request id and counted; readiness says so; once the
// database is back, requests succeed and the subscription, whose listener
// reconnects, delivers the next change.
func TestDatabaseOutage(t *testing.T) {
	requirePostgres(t, "the embedded SQLite database has no server to lose; its lock timeout is tested by TestLockTimeoutAnswersBusy")
	db, dbURL := ownDB(t, models.Pool{}, true)
	f := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = db })
	car := f.quickCar(t, "SZ01")
	advisor := f.staff(t, "advisor.sz01")
	o := f.open(t, advisor, f.sz, car.Plate, 1500, "REPAIR", nil)
	id := wkStr(o["id"])
	<-db.LiveReady()
	c := wsConnect(t, f.testServer, car.OwnerToken)
	op := c.subscribe(t, subOrderDoc, map[string]any{"id": id})
	c.nextResult(t, op, subWait)

	// A request is in flight, waiting for a row another session holds, when
	// the database goes.
	holder, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	htx, err := holder.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := htx.Exec(context.Background(), "SELECT id FROM owners WHERE id = $1 FOR UPDATE", car.Owner.ID); err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan *gqlResponse, 1)
	go func() {
		inFlight <- f.do(t, req{Query: `mutation { updateMyProfile(input: {name: "改名"}) { owner { name } } }`, Token: car.OwnerToken})
	}()
	cut := newOutage(t, dbURL)
	cut.waitFor("the request waits for the row", `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE datname = $1 AND wait_event_type = 'Lock' AND application_name = 'ownerhub')`, cut.name)
	if n := cut.begin(); n < 3 {
		t.Fatalf("terminated %d backends; want the pool's, the listener's and the lock holder's", n)
	}

	var ids []string
	check := func(what string, r *gqlResponse) {
		t.Helper()
		if r.Code() != "UNAVAILABLE" || r.Errors[0].Extensions["retryable"] != true || r.Errors[0].Message == "" {
			t.Fatalf("%s during the outage: want UNAVAILABLE, retryable, got %d %s", what, r.Status, r.Raw)
		}
		if r.Data != nil && len(r.Data) > 0 && !allNull(r.Data) {
			t.Fatalf("%s: partial data %v", what, r.Data)
		}
		if r.Status != http.StatusServiceUnavailable || statusOfRetryAfter(r.Header) <= 0 {
			t.Fatalf("%s: HTTP %d, Retry-After %q; want 503 with Retry-After", what, r.Status, r.Header.Get("Retry-After"))
		}
		ids = append(ids, r.Header.Get(echo.HeaderXRequestID))
	}
	check("the request in flight", <-inFlight)
	check("an owner's query", f.do(t, req{Query: `{ me { name vehicles { totalCount } } }`, Token: car.OwnerToken}))
	check("an anonymous query", f.do(t, req{Query: storesQuery}))
	check("a staff mutation", f.call(t, advisor, "moveRepairOrder", wkMove(id, "DIAGNOSING", "")))

	resp, raw := httpCall(t, nil, http.MethodGet, f.URL+"/api/v1/me/export", nil, map[string]string{"Authorization": "Bearer " + car.OwnerToken})
	p := expectProblem(t, resp, raw, http.StatusServiceUnavailable, "UNAVAILABLE")
	if p["retryable"] != true || statusOfRetryAfter(resp.Header) <= 0 {
		t.Fatalf("REST during the outage: %s, Retry-After %q", raw, resp.Header.Get("Retry-After"))
	}
	ids = append(ids, resp.Header.Get(echo.HeaderXRequestID))

	for _, rid := range ids {
		l := findLog(t, f.Logs.String(), "database unavailable", rid)
		if l["level"] != "WARN" || l["err"] == nil {
			t.Fatalf("log line: %v", l)
		}
	}
	if n := countLogs(t, f.Logs.String(), "database unavailable", ids[1]); n != 1 {
		t.Fatalf("the owner's query logged %d times, want once", n)
	}
	if n := scrapeCounter(t, f.testServer, "ownerhub_db_unavailable_total"); n < float64(len(ids)) {
		t.Fatalf("ownerhub_db_unavailable_total %v after %d failed requests", n, len(ids))
	}
	resp, raw = httpCall(t, nil, http.MethodGet, f.URL+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz during the outage: %d %s", resp.StatusCode, raw)
	}

	cut.end()
	// The listener reconnects; readiness comes back with it.
	for i := 0; ; i++ {
		resp, raw = httpCall(t, nil, http.MethodGet, f.URL+"/readyz", nil, nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if i == 1000 {
			t.Fatalf("readyz after the outage: %d %s", resp.StatusCode, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := f.gql(t, car.OwnerToken, `{ me { name } }`, nil); dig(d, "me", "name") == nil {
		t.Fatalf("after the outage: %v", d)
	}
	f.move(t, advisor, id, "DIAGNOSING", "")
	c.waitFor(t, op, 20*time.Second, subOrderIn("DIAGNOSING"))
}

func allNull(m map[string]any) bool {
	for _, v := range m {
		if v != nil {
			return false
		}
	}
	return true
}

func countLogs(t *testing.T, logs, msg, requestID string) int {
	t.Helper()
	n := 0
	for _, l := range logLines(t, logs) {
		if l["msg"] == msg && l["request_id"] == requestID {
			n++
		}
	}
	return n
}

// scrapeCounter reads one unlabelled series from /metrics.
func scrapeCounter(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer plain.CloseIdleConnections()
	_, raw := httpCall(t, plain, http.MethodGet, s.URL+"/metrics", nil, nil)
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no series %s", name)
	return 0
}

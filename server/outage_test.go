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
// database, and returns how many it terminated once they are gone.
func (o *outage) begin() int { return o.cut("", 0) }

// cut refuses new connections and terminates the backends of the database
// but those of application spareApp and the one with pid sparePID, and
// returns how many it terminated once they are gone (termination is a
// signal; a backend may still answer for a moment).
func (o *outage) cut(spareApp string, sparePID uint32) int {
	o.t.Helper()
	o.exec("ALTER DATABASE " + o.name + " ALLOW_CONNECTIONS false")
	const others = `FROM pg_stat_activity WHERE datname = $1 AND pid <> $2 AND ($3 = '' OR application_name <> $3)`
	// A connection that was starting as connections were refused can show
	// up a moment later: terminate until a pass, a while after the last,
	// finds none.
	n := 0
	for pass := 0; ; pass++ {
		var k int
		if err := o.admin.QueryRow(context.Background(), "SELECT count(pg_terminate_backend(pid)) "+others,
			o.name, sparePID, spareApp).Scan(&k); err != nil {
			o.t.Fatal(err)
		}
		if pass > 0 && k == 0 {
			return n
		}
		n += k
		o.waitFor("the terminated backends are gone", "SELECT NOT EXISTS (SELECT 1 "+others+")", o.name, sparePID, spareApp)
		time.Sleep(100 * time.Millisecond)
	}
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

// followed is a server on a database of its own with an owner following
// their car's open repair order over a subscription.
type followed struct {
	*wkFixture
	dbURL   string
	car     wkCar
	advisor string
	order   string // the order's global id
	sub     *wsClient
	op      string // the subscription's operation id
}

func newFollowed(t *testing.T, pool models.Pool, tweak func(*Deps)) *followed {
	t.Helper()
	db, dbURL := ownDB(t, pool, true)
	f := newWorkshop(t, func(_ *Config, d *Deps) {
		d.DB = db
		if tweak != nil {
			tweak(d)
		}
	})
	x := &followed{wkFixture: f, dbURL: dbURL, car: f.quickCar(t, "SZ01"), advisor: f.staff(t, "advisor.sz01")}
	x.order = wkStr(f.open(t, x.advisor, f.sz, x.car.Plate, 1500, "REPAIR", nil)["id"])
	<-db.LiveReady()
	x.sub = wsConnect(t, f.testServer, x.car.OwnerToken)
	x.op = x.sub.subscribe(t, subOrderDoc, map[string]any{"id": x.order})
	x.sub.nextResult(t, x.op, subWait)
	// Opening the order announced it: should that announcement reach the
	// subscription only now (a busy machine), its re-read arrives next.
	// Let it, so that what the tests receive later is their own.
	for {
		if _, ok := x.sub.recv(500 * time.Millisecond); !ok {
			break
		}
	}
	return x
}

// cutPoolKeepListener cuts every connection of the server but its
// live-updates listener's and refuses new ones, then announces a change to
// the order from a connection of its own, so that the subscription re-reads
// while the database cannot be reached.
func (x *followed) cutPoolKeepListener(t *testing.T) *outage {
	t.Helper()
	notify, err := pgx.Connect(context.Background(), x.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notify.Close(context.Background()) })
	cut := newOutage(t, x.dbURL)
	cut.cut("ownerhub-live", notify.PgConn().PID())
	topic := workshop.OrderTopic(mustUUID(t, orderKey(t, x.order)))
	if _, err := notify.Exec(context.Background(), "SELECT pg_notify('ownerhub_live', $1)", topic); err != nil {
		t.Fatal(err)
	}
	return cut
}

// A subscription whose re-read fails on a passing database error reads
// again with backoff and keeps delivering once the database answers.
func TestSubscriptionRetriesAFailedReread(t *testing.T) {
	requirePostgres(t, "the embedded SQLite database has no server whose connections can fail while the process runs")
	x := newFollowed(t, models.Pool{}, nil)
	cut := x.cutPoolKeepListener(t)
	waitForLog(t, x.testServer, regexp.MustCompile(`"msg":"live update: read failed; retrying"`))
	if m, ok := x.sub.recv(200 * time.Millisecond); ok {
		t.Fatalf("while the database is away the subscription sent %s %s", m.Type, m.Payload)
	}
	cut.end()
	d := x.sub.waitFor(t, x.op, 20*time.Second, subOrderIn("CHECKED_IN"))
	if dig(d, "repairOrderUpdated", "id") != x.order {
		t.Fatalf("re-read after the outage: %v", d)
	}
	retried(t, func() *gqlResponse { return x.call(t, x.advisor, "moveRepairOrder", wkMove(x.order, "DIAGNOSING", "")) })
	x.sub.waitFor(t, x.op, subWait, subOrderIn("DIAGNOSING"))
}

// When the database stays away past the retries, the subscription ends
// with an error the client can act on: UNAVAILABLE, retryable.
func TestSubscriptionEndsWithUnavailable(t *testing.T) {
	requirePostgres(t, "the embedded SQLite database has no server whose connections can fail while the process runs")
	x := newFollowed(t, models.Pool{}, func(d *Deps) {
		d.LiveRetry = graph.Retry{Attempts: 3, First: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	})
	cut := x.cutPoolKeepListener(t)
	c, op := x.sub, x.op
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
	waitForLog(t, x.testServer, regexp.MustCompile(`"msg":"database unavailable"`))
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
	// A lock timeout longer than the test takes to cut the database off:
	// the request in flight must still be waiting then.
	x := newFollowed(t, models.Pool{LockTimeout: 12 * time.Second, StatementTimeout: 12 * time.Second}, nil)
	f, dbURL, car, advisor, id, c, op := x.wkFixture, x.dbURL, x.car, x.advisor, x.order, x.sub, x.op

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
	// The request's backend goes before the lock holder's: were the
	// holder's first, the request could take the row and commit before
	// its own backend went.
	n := cut.cut("", holder.PgConn().PID())
	if n += cut.begin(); n < 3 {
		t.Fatalf("terminated %d backends; want the pool's, the listener's and the lock holder's", n)
	}

	var ids []string
	check := func(what string, r *gqlResponse) {
		t.Helper()
		if r.Code() != "UNAVAILABLE" || r.Errors[0].Extensions["retryable"] != true || r.Errors[0].Message == "" {
			t.Fatalf("%s during the outage: want UNAVAILABLE, retryable, got %d %s", what, r.Status, r.Raw)
		}
		if len(r.Data) > 0 && !allNull(r.Data) {
			t.Fatalf("%s: partial data %v", what, r.Data)
		}
		if r.Status != http.StatusServiceUnavailable || statusOfRetryAfter(r.Header) <= 0 {
			t.Fatalf("%s: HTTP %d, Retry-After %q; want 503 with Retry-After", what, r.Status, r.Header.Get("Retry-After"))
		}
		ids = append(ids, r.Header.Get(echo.HeaderXRequestID))
	}
	check("the request in flight", <-inFlight)
	check("an owner's query", f.do(t, req{Query: `{ me { name vehicles { totalCount } } }`, Token: car.OwnerToken}))
	check("an anonymous query of two fields", f.do(t, req{Query: `{ a: stores(first: 1) { totalCount } b: stores(first: 2) { totalCount } }`}))
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
	if n := countLogs(t, f.Logs.String(), "database unavailable", ids[2]); n != 1 {
		t.Fatalf("a request whose two fields failed logged %d times, want once", n)
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
	// As a client would, a request that still meets a connection the
	// outage ended is sent again.
	if r := retried(t, func() *gqlResponse { return f.do(t, req{Query: `{ me { name } }`, Token: car.OwnerToken}) }); dig(r.Data, "me", "name") == nil {
		t.Fatalf("after the outage: %s", r.Raw)
	}
	retried(t, func() *gqlResponse { return f.call(t, advisor, "moveRepairOrder", wkMove(id, "DIAGNOSING", "")) })
	c.waitFor(t, op, 20*time.Second, subOrderIn("DIAGNOSING"))
}

// retried sends a request again while it answers a retryable error (at most
// five times), as a client does, and fails unless it ends without errors.
func retried(t *testing.T, send func() *gqlResponse) *gqlResponse {
	t.Helper()
	var r *gqlResponse
	for range 5 {
		if r = send(); len(r.Errors) == 0 || r.Errors[0].Extensions["retryable"] != true {
			break
		}
	}
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("unexpected errors (%d): %s", r.Status, r.Raw)
	}
	return r
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

// Command homebench measures the owner's home screen against the database's
// own speed, in one go (bench/home.sh builds and runs it; see
// bench/README.md):
//
//  1. pgbench-style primary-key point selects (SELECT ... FROM owners WHERE
//     id = $1, random ids) through the same driver the server uses (pgx on
//     PostgreSQL, the embedded SQLite driver on the server's file);
//  2. the owner's home query, the board's 304, the board rendered and the
//     events list, through the real HTTP server, at each concurrency of
//     -concurrency, and the home query from one client.
//
// For each it reports req/s, p50 and p99, SQL statements per request (the
// server's ownerhub_db_statements_total over the run) and new database
// connections per second (the server's ownerhub_db_connections_opened_total;
// on PostgreSQL also pg_stat_database.sessions), and the CPU time per
// request of the server, the database, this tool and the whole machine
// (cpu.go). The home query's figure of merit is its req/s as a fraction of
// point reads/s divided by its statements per request: 1 would mean the
// request costs no more than its statements.
//
// With -server it starts that server binary on a free port with a fresh
// embedded database (or -database-url, seeded when empty), rate limits off
// (RATE_LIMIT_PER_USER=off, RATE_LIMIT_ANONYMOUS_PER_IP=off), and stops it
// at the end.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
)

const (
	homeQuery = `{ me { name phone homeStore { name }
	vehicles(first: 5) { edges { node { plate model mileageKm
		lastService { deliveredAt mileageIn totals { total { amountFen } } }
		activeRepairOrder { status promisedAt } } } }
	membership { balance { amountFen } points tier } } }`
	// meQuery is the smallest signed-in request: the admission read and
	// the owner's name from it, through the same HTTP, authentication and
	// GraphQL path as the home query (the floor under any owner request).
	meQuery     = `{ me { name } }`
	eventsQuery = `{ events(first: 20) { edges { node { id title status seatsLeft store { code } myRegistration { id status } } } } }`
	ownerPhone  = "+8613800000001" // the demo owner
	ownerCode   = "246810"
)

type bench struct {
	url      string
	duration time.Duration
	client   *http.Client
	db       *sql.DB // the tool's own handle, for the point selects
	postgres bool
	owner    string
	screen   string
	store    string
	// serverPID is the server's process, when this tool started it.
	serverPID int
}

func main() {
	serverBin := flag.String("server", "", "server binary to start (empty: use -url)")
	url := flag.String("url", "", "base URL of a running server (with -server: chosen)")
	dbURL := flag.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (empty: the server's embedded database)")
	dataDir := flag.String("data-dir", "", "the server's DATA_DIR (SQLite; with -server: a temporary one)")
	duration := flag.Duration("duration", 3*time.Second, "measured time of each run")
	conc := flag.String("concurrency", "8,32", "concurrent clients, comma-separated")
	flag.Parse()

	b := &bench{url: *url, duration: *duration, postgres: *dbURL != ""}
	b.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	if *serverBin != "" {
		if *dataDir == "" {
			d, err := os.MkdirTemp("", "ownerhub-homebench")
			check(err)
			defer func() { _ = os.RemoveAll(d) }()
			*dataDir = d
		}
		stopServer = b.startServer(*serverBin, *dbURL, *dataDir)
		defer stopServer()
	}
	var err error
	if b.postgres {
		b.db, err = sql.Open("pgx", *dbURL)
	} else {
		b.db, err = sql.Open(sqlite.DriverName, filepath.Join(*dataDir, "ownerhub.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	}
	check(err)
	defer func() { _ = b.db.Close() }()
	b.signIn()

	var levels []int
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		levels = append(levels, n)
	}
	load1, load5, _ := loadAvg()
	fmt.Printf("database %s, %d CPUs, load average %s %s at start, %v per run\n\n", b.dialect(), runtime.NumCPU(), load1, load5, b.duration)
	fmt.Printf("%-12s %4s %9s %8s %8s %10s %11s %26s\n", "what", "c", "req/s", "p50 ms", "p99 ms", "stmts/req", "new conn/s", "CPU µs/req: srv db tool all")

	single := b.run("home", 1, b.home)
	single.print()
	for _, c := range levels {
		pk := b.pointSelects(c)
		pk.print()
		me := b.run("me", c, b.me)
		me.print()
		home := b.run("home", c, b.home)
		home.print()
		b.run("board 304", c, b.board304()).print()
		b.run("board 200", c, b.boardFull).print()
		b.run("events", c, b.events).print()
		if home.stmts > 0 {
			fmt.Printf("  home at %d clients: %.2f of point reads/s / statements per request (%.0f / (%.0f / %.2f)); target >= 0.5\n",
				c, home.rps/(pk.rps/home.stmts), home.rps, pk.rps, home.stmts)
		}
	}
	load1, load5, _ = loadAvg()
	fmt.Printf("\none client's home p50: %.2f ms (target < 5 ms); load average %s %s at the end\n", single.p50, load1, load5)
}

func (b *bench) dialect() string {
	if b.postgres {
		return "postgres"
	}
	return "sqlite"
}

type result struct {
	what       string
	c          int
	n          int
	rps        float64
	p50, p99   float64
	stmts      float64 // per request; -1 when not applicable
	newConnsPS float64
	cpu        cpuSample // per request
}

func (r result) print() {
	stmts := "-"
	if r.stmts >= 0 {
		stmts = fmt.Sprintf("%.2f", r.stmts)
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	fmt.Printf("%-12s %4d %9.0f %8.2f %8.2f %10s %11.2f %7.0f %5.0f %5.0f %5.0f\n", r.what, r.c, r.rps, r.p50, r.p99, stmts, r.newConnsPS,
		us(r.cpu.server), us(r.cpu.db), us(r.cpu.tool), us(r.cpu.machine))
}

// run calls do from c workers for the duration (after a quarter of it
// unmeasured) and measures it.
func (b *bench) run(what string, c int, do func() error) result {
	b.load(c, b.duration/4, do, nil)
	m0 := b.metrics()
	s0 := b.sessions()
	var lat []time.Duration
	cpu0 := b.cpu()
	start := time.Now()
	n := b.load(c, b.duration, do, &lat)
	el := time.Since(start)
	cpu1 := b.cpu()
	m1 := b.metrics()
	s1 := b.sessions()
	r := result{what: what, c: c, n: n, rps: float64(n) / el.Seconds(), stmts: (m1.stmts - m0.stmts) / float64(n), cpu: perRequest(cpu0, cpu1, n)}
	r.p50, r.p99 = pct(lat, 0.50), pct(lat, 0.99)
	r.newConnsPS = (m1.opened - m0.opened) / el.Seconds()
	if b.postgres {
		// Sessions of the whole database; the tool's own pool is idle.
		r.newConnsPS = max(r.newConnsPS, float64(s1-s0)/el.Seconds())
	}
	return r
}

// load runs do from c workers for d and returns the calls made; with lat,
// it records each call's latency.
func (b *bench) load(c int, d time.Duration, do func() error, lat *[]time.Duration) int {
	var mu sync.Mutex
	var total atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := do(); err != nil {
					fatal(err)
				}
				mine = append(mine, time.Since(t))
			}
			total.Add(int64(len(mine)))
			if lat != nil {
				mu.Lock()
				*lat = append(*lat, mine...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return int(total.Load())
}

func pct(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
}

// pointSelects runs primary-key selects of owners from c workers through
// the tool's own pool of c connections.
func (b *bench) pointSelects(c int) result {
	var ids []string
	rows, err := b.db.Query("SELECT id FROM owners")
	check(err)
	for rows.Next() {
		var id string
		check(rows.Scan(&id))
		ids = append(ids, id)
	}
	check(rows.Err())
	b.db.SetMaxOpenConns(c)
	b.db.SetMaxIdleConns(c)
	q := "SELECT name, phone FROM owners WHERE id = $1"
	if !b.postgres {
		q = "SELECT name, phone FROM owners WHERE id = ?"
	}
	do := func() error {
		var name, phone string
		return b.db.QueryRow(q, ids[rand.IntN(len(ids))]).Scan(&name, &phone)
	}
	b.load(c, b.duration/4, do, nil)
	var lat []time.Duration
	cpu0 := b.cpu()
	start := time.Now()
	n := b.load(c, b.duration, do, &lat)
	el := time.Since(start)
	r := result{what: "pk select", c: c, n: n, rps: float64(n) / el.Seconds(), stmts: 1, cpu: perRequest(cpu0, b.cpu(), n)}
	r.p50, r.p99 = pct(lat, 0.50), pct(lat, 0.99)
	b.db.SetMaxIdleConns(1)
	b.db.SetMaxOpenConns(1)
	return r
}

func (b *bench) home() error   { return b.graphql(b.owner, homeQuery, "me") }
func (b *bench) events() error { return b.graphql(b.owner, eventsQuery, "events") }
func (b *bench) me() error     { return b.graphql(b.owner, meQuery, "me") }

func (b *bench) boardFull() error {
	_, status, err := b.get("/api/v1/stores/SZ01/board", b.screen, "")
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("board: %d", status)
	}
	return err
}

// board304 polls with the current ETag, as a screen does between changes
// (the ETag moves with the minute: the 200 then taken is counted too).
func (b *bench) board304() func() error {
	var etag atomic.Value
	etag.Store("")
	return func() error {
		tag, status, err := b.get("/api/v1/stores/SZ01/board", b.screen, etag.Load().(string))
		if err != nil {
			return err
		}
		switch status {
		case http.StatusNotModified:
		case http.StatusOK:
			etag.Store(tag)
		default:
			return fmt.Errorf("board poll: %d", status)
		}
		return nil
	}
}

func (b *bench) get(path, token, ifNoneMatch string) (etag string, status int, err error) {
	req, _ := http.NewRequest(http.MethodGet, b.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get("ETag"), resp.StatusCode, nil
}

func (b *bench) graphql(token, query, want string) error {
	out, err := b.gql(token, query, nil)
	if err == nil && out[want] == nil {
		err = fmt.Errorf("no %s in the answer", want)
	}
	return err
}

func (b *bench) gql(token, query string, vars map[string]any) (map[string]any, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if len(out.Errors) > 0 || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%d: %v", resp.StatusCode, out.Errors)
	}
	return out.Data, nil
}

// signIn takes the demo owner's token (the server's OTP_TEST_NUMBERS code)
// and a screen token for SZ01 issued by its manager.
func (b *bench) signIn() {
	_, err := b.gql("", `mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent } }`, map[string]any{"p": ownerPhone})
	check(err)
	d, err := b.gql("", `mutation($p: String!, $c: String!) { verifyLoginCode(input: {phone: $p, code: $c}) { session { accessToken } } }`,
		map[string]any{"p": ownerPhone, "c": ownerCode})
	check(err)
	b.owner = dig(d, "verifyLoginCode", "session", "accessToken")
	d, err = b.gql("", `mutation { staffLogin(input: {username: "manager.sz01", password: "ownerhub-demo"}) { session { accessToken } } }`, nil)
	check(err)
	staff := dig(d, "staffLogin", "session", "accessToken")
	d, err = b.gql(staff, `{ stores(first: 50) { edges { node { id code } } } }`, nil)
	check(err)
	for _, e := range d["stores"].(map[string]any)["edges"].([]any) {
		if n := e.(map[string]any)["node"].(map[string]any); n["code"] == "SZ01" {
			b.store = n["id"].(string)
		}
	}
	d, err = b.gql(staff, `mutation($s: ID!) { issueScreenToken(input: {storeId: $s, name: "homebench"}) { token } }`, map[string]any{"s": b.store})
	check(err)
	b.screen = dig(d, "issueScreenToken", "token")
	if b.owner == "" || b.screen == "" {
		fatal(errors.New("sign-in failed"))
	}
}

func dig(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

type serverMetrics struct{ stmts, opened float64 }

func (b *bench) metrics() serverMetrics {
	resp, err := b.client.Get(b.url + "/metrics")
	check(err)
	defer func() { _ = resp.Body.Close() }()
	var m serverMetrics
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "ownerhub_db_statements_total":
			m.stmts = v
		case "ownerhub_db_connections_opened_total":
			m.opened = v
		}
	}
	return m
}

// sessions is pg_stat_database.sessions of the database (PostgreSQL 14+;
// 0 elsewhere).
func (b *bench) sessions() int64 {
	if !b.postgres {
		return 0
	}
	var n sql.NullInt64
	_ = b.db.QueryRow("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").Scan(&n)
	return n.Int64
}

func (b *bench) startServer(bin, dbURL, dataDir string) func() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := l.Addr().String()
	_ = l.Close()
	b.url = "http://" + addr
	env := append(os.Environ(), "HTTP_ADDR="+addr, "DATA_DIR="+dataDir, "APP_ENV=development", "LOG_LEVEL=warn",
		"RATE_LIMIT_PER_USER=off", "RATE_LIMIT_ANONYMOUS_PER_IP=off", "OTP_TEST_NUMBERS="+ownerPhone+"="+ownerCode,
		"DATABASE_URL="+dbURL)
	if dbURL != "" {
		seed := exec.Command(bin, "seed")
		seed.Env = env
		if out, err := seed.CombinedOutput(); err != nil && !strings.Contains(string(out), "already has data") {
			fatal(fmt.Errorf("seed: %v: %s", err, out))
		}
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	check(cmd.Start())
	b.serverPID = cmd.Process.Pid
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(b.url + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	fatal(fmt.Errorf("the server did not become ready: %s", logs.String()))
	return nil
}

func loadAvg() (string, string, string) {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?", "?", "?"
	}
	f := strings.Fields(string(raw))
	return f[0], f[1], f[2]
}

func check(err error) {
	if err != nil {
		fatal(err)
	}
}

// stopServer stops the server this tool started, if any: fatal calls it, as
// os.Exit runs no deferred call.
var stopServer = func() {}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "homebench:", err)
	stopServer()
	os.Exit(1)
}

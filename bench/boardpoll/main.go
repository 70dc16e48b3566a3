// Command boardpoll is a load tool for the workshop screens' board,
// GET /api/v1/stores/{code}/board, on a running OwnerHub server. It polls
// the board from -concurrency workers for -duration and reports requests per
// second, latency percentiles, the answers by status, and the SQL statements
// per request, which it reads from the server's ownerhub_db_statements_total
// metric at /metrics before and after the run.
//
// Modes:
//
//	304   every poll carries If-None-Match with the current ETag, as a screen
//	      does between changes: the server answers 304 Not Modified. When the
//	      ETag moves (a change to an order, or the minute turning over), the
//	      200 answer is counted and its new ETag used from then on.
//	full  no If-None-Match: every poll renders and sends the whole board.
//	both  304, then full.
//
// The server rate-limits the board per client IP (50/s, burst 200), which
// would measure the limiter rather than the board. With -clients N the tool
// spreads its requests over N addresses of 198.18.0.0/15 (the benchmarking
// range of RFC 2544) in X-Forwarded-For; the server honours the header only
// when started with TRUST_PROXY_HEADERS=true. bench/board.sh does both.
//
// The last line of each run is tab-separated, starting with "result", for
// scripts: mode, requests, req/s, p50 ms, p99 ms, statements per request
// ("n/a" without the metric), orders on the board, and the answers by status.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const statementsMetric = "ownerhub_db_statements_total"

type config struct {
	url         string
	store       string
	token       string
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	mode        string
	clients     int
}

func main() {
	var c config
	freePort := flag.Bool("free-port", false, "print a free TCP port on 127.0.0.1 and exit (for scripts)")
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the running server")
	flag.StringVar(&c.store, "store", "SZ01", "store code")
	flag.StringVar(&c.token, "token", os.Getenv("BOARD_TOKEN"), "screen (or staff) bearer token; default $BOARD_TOKEN")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "measured duration of each mode")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured polling before each mode (connections, caches)")
	flag.IntVar(&c.concurrency, "concurrency", 8, "concurrent pollers (one keep-alive connection each)")
	flag.StringVar(&c.mode, "mode", "both", "304, full or both")
	flag.IntVar(&c.clients, "clients", 0, "spread requests over this many X-Forwarded-For addresses (0: none; needs TRUST_PROXY_HEADERS=true on the server)")
	flag.Parse()

	if *freePort {
		port, err := pickFreePort()
		if err != nil {
			fatal(err)
		}
		fmt.Println(port)
		return
	}
	if c.token == "" {
		fatal(errors.New("-token is required (a screen token from issueScreenToken, or a staff access token)"))
	}
	if c.concurrency < 1 || c.duration <= 0 || c.clients < 0 || c.clients > 1<<17 {
		fatal(errors.New("-concurrency must be at least 1, -duration positive, -clients between 0 and 131072"))
	}
	var modes []string
	switch c.mode {
	case "304", "full":
		modes = []string{c.mode}
	case "both":
		modes = []string{"304", "full"}
	default:
		fatal(fmt.Errorf("-mode must be 304, full or both, not %q", c.mode))
	}
	c.url = strings.TrimRight(c.url, "/")
	p := newPoller(c)
	for i, m := range modes {
		if i > 0 {
			fmt.Println()
		}
		r, err := p.run(m)
		if err != nil {
			fatal(err)
		}
		var out strings.Builder
		r.print(&out)
		if _, err := os.Stdout.WriteString(out.String()); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "boardpoll:", err)
	os.Exit(1)
}

func pickFreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }() // only the port number was wanted
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poller polls one store's board.
type poller struct {
	cfg    config
	client *http.Client
	board  string
	next   atomic.Uint64 // request counter, picks the X-Forwarded-For address
}

func newPoller(c config) *poller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = c.concurrency * 2
	tr.MaxIdleConnsPerHost = c.concurrency * 2
	tr.MaxConnsPerHost = 0
	return &poller{
		cfg:    c,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		board:  c.url + "/api/v1/stores/" + c.store + "/board",
	}
}

// result is what one mode measured.
type result struct {
	mode        string
	concurrency int
	elapsed     time.Duration
	requests    int
	status      map[int]int
	netErrors   int
	latencies   []time.Duration // sorted
	bytes       int64           // response bodies as read (decompressed)
	orders      int             // cards on the board when the run began
	version     int64
	statements  float64 // delta of the metric, valid when haveMetric
	haveMetric  bool
	metricNote  string
	serverCount float64 // board requests the server counted (ownerhub_http_requests_total)
	haveServer  bool
}

// snapshot is what /metrics said at one moment.
type snapshot struct {
	statements, boardRequests float64
	haveStatements, haveReqs  bool
}

func (p *poller) run(mode string) (*result, error) {
	// One plain GET: checks the token, gives the first ETag and the board's
	// size.
	etag, orders, version, err := p.prime()
	if err != nil {
		return nil, err
	}
	var current atomic.Value
	current.Store(etag)

	if p.cfg.warmup > 0 {
		p.load(p.cfg.warmup, mode, &current)
	}

	before, errBefore := p.scrape()
	start := time.Now()
	workers := p.load(p.cfg.duration, mode, &current)
	elapsed := time.Since(start)
	after, errAfter := p.scrape()

	r := &result{mode: mode, concurrency: p.cfg.concurrency, elapsed: elapsed, status: map[int]int{}, orders: orders, version: version}
	for _, w := range workers {
		r.requests += w.requests
		r.netErrors += w.netErrors
		r.bytes += w.bytes
		r.latencies = append(r.latencies, w.latencies...)
		for s, n := range w.status {
			r.status[s] += n
		}
	}
	slices.Sort(r.latencies)
	switch {
	case errBefore != nil:
		r.metricNote = "could not read /metrics: " + errBefore.Error()
	case errAfter != nil:
		r.metricNote = "could not read /metrics: " + errAfter.Error()
	case !before.haveStatements || !after.haveStatements:
		r.metricNote = "the server does not export " + statementsMetric + "; statements per request unknown"
	default:
		r.statements, r.haveMetric = after.statements-before.statements, true
	}
	if errBefore == nil && errAfter == nil && before.haveReqs && after.haveReqs {
		r.serverCount, r.haveServer = after.boardRequests-before.boardRequests, true
	}
	return r, nil
}

// worker is one poller's tally.
type worker struct {
	requests, netErrors int
	status              map[int]int
	latencies           []time.Duration
	bytes               int64
}

// load polls from cfg.concurrency goroutines for d. A poll under way when
// d is up is finished and counted, not cut off: a cancelled request would be
// an error in the server's log and a statement count without its request.
func (p *poller) load(d time.Duration, mode string, current *atomic.Value) []*worker {
	workers := make([]*worker, p.cfg.concurrency)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{status: map[int]int{}, latencies: make([]time.Duration, 0, 1<<14)}
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(deadline) {
				etag := ""
				if mode == "304" {
					etag = current.Load().(string)
				}
				t0 := time.Now()
				status, newTag, n, err := p.get(etag)
				d := time.Since(t0)
				w.requests++
				if err != nil {
					w.netErrors++
					continue
				}
				w.status[status]++
				w.bytes += n
				w.latencies = append(w.latencies, d)
				if mode == "304" && status == http.StatusOK && newTag != "" {
					current.Store(newTag)
				}
			}
		})
	}
	wg.Wait()
	return workers
}

func (p *poller) newRequest(etag string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, p.board, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.token)
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if p.cfg.clients > 0 {
		k := int(p.next.Add(1) % uint64(p.cfg.clients))
		// 198.18.0.0/15: 131072 addresses.
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.%d.%d.%d", 18+(k>>16), (k>>8)&0xff, k&0xff))
	}
	return req, nil
}

// get does one poll and reads the whole answer.
func (p *poller) get(etag string) (status int, newTag string, n int64, err error) {
	req, err := p.newRequest(etag)
	if err != nil {
		return 0, "", 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	n, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close() // read to the end: nothing left to report
	if err != nil {
		return 0, "", 0, err
	}
	return resp.StatusCode, resp.Header.Get("ETag"), n, nil
}

// prime does one unconditional poll and reads the board.
func (p *poller) prime() (etag string, orders int, version int64, err error) {
	req, err := p.newRequest("")
	if err != nil {
		return "", 0, 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", 0, 0, fmt.Errorf("GET %s: %w", p.board, err)
	}
	defer func() { _ = resp.Body.Close() }() // closing a read body has nothing to report
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, 0, fmt.Errorf("GET %s: %s: %s", p.board, resp.Status, strings.TrimSpace(string(body)))
	}
	var b struct {
		Version int64 `json:"version"`
		Columns []struct {
			Cards []json.RawMessage `json:"cards"`
		} `json:"columns"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return "", 0, 0, fmt.Errorf("the board is not JSON: %w", err)
	}
	for _, c := range b.Columns {
		orders += len(c.Cards)
	}
	etag = resp.Header.Get("ETag")
	if etag == "" {
		return "", 0, 0, errors.New("the board answer has no ETag")
	}
	return etag, orders, b.Version, nil
}

// scrape reads the statement counter and the board route's request count
// from /metrics (Prometheus text format).
func (p *poller) scrape() (snapshot, error) {
	var s snapshot
	req, err := http.NewRequest(http.MethodGet, p.cfg.url+"/metrics", nil)
	if err != nil {
		return s, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := p.client.Do(req)
	if err != nil {
		return s, err
	}
	defer func() { _ = resp.Body.Close() }() // closing a read body has nothing to report
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body) // drained for reuse; the status is the error
		return s, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics picks ownerhub_db_statements_total and the sum of
// ownerhub_http_requests_total over the board route out of the Prometheus
// text exposition format.
func parseMetrics(r io.Reader) (snapshot, error) {
	var s snapshot
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		labels := ""
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			labels, rest = rest[1:j], rest[j+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		switch {
		case name == statementsMetric:
			s.statements, s.haveStatements = s.statements+v, true
		case name == "ownerhub_http_requests_total" && strings.Contains(labels, `route="/api/v1/stores/:code/board"`):
			s.boardRequests, s.haveReqs = s.boardRequests+v, true
		}
	}
	return s, sc.Err()
}

func (r *result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *result) percentile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// perRequestBase is what statements are divided by: the board requests the
// server counted between the two scrapes when it exports them (the same
// window as the statement counter, requests cut off at the end included),
// else the requests the tool completed.
func (r *result) perRequestBase() (float64, string) {
	if r.haveServer && r.serverCount > 0 {
		return r.serverCount, "board requests counted by the server"
	}
	return float64(r.requests), "requests completed by the tool"
}

func (r *result) statementsPerRequest() string {
	base, _ := r.perRequestBase()
	if !r.haveMetric || base == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(r.statements/base, 'f', 3, 64)
}

func (r *result) statusSummary() string {
	codes := make([]int, 0, len(r.status))
	for c := range r.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d=%d", c, r.status[c]))
	}
	if r.netErrors > 0 {
		parts = append(parts, fmt.Sprintf("errors=%d", r.netErrors))
	}
	return strings.Join(parts, " ")
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func (r *result) print(w *strings.Builder) {
	fmt.Fprintf(w, "mode %s: %d requests in %s from %d pollers\n", r.mode, r.requests, r.elapsed.Round(time.Millisecond), r.concurrency)
	fmt.Fprintf(w, "  requests/s       %.0f\n", r.rps())
	fmt.Fprintf(w, "  latency          p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n",
		ms(r.percentile(0.50)), ms(r.percentile(0.90)), ms(r.percentile(0.99)), ms(r.percentile(1)))
	fmt.Fprintf(w, "  status           %s\n", r.statusSummary())
	if ok := r.status[http.StatusOK] + r.status[http.StatusNotModified]; ok > 0 {
		fmt.Fprintf(w, "  body bytes/req   %.0f (decompressed)\n", float64(r.bytes)/float64(ok))
	}
	fmt.Fprintf(w, "  board            %d orders, version %d\n", r.orders, r.version)
	if r.haveMetric {
		base, what := r.perRequestBase()
		fmt.Fprintf(w, "  SQL statements   %s per request: %.0f statements (%s) / %.0f %s\n",
			r.statementsPerRequest(), r.statements, statementsMetric, base, what)
	} else {
		fmt.Fprintf(w, "  SQL statements   n/a: %s\n", r.metricNote)
	}
	if d := int(r.serverCount) - r.requests; r.haveServer && (d > r.concurrency || d < 0) {
		fmt.Fprintf(w, "  note             the server counted %.0f board requests, the tool %d: are other clients using this server?\n", r.serverCount, r.requests)
	}
	if n := r.status[http.StatusTooManyRequests]; n > 0 {
		fmt.Fprintf(w, "  WARNING          %d answers were 429: the server rate-limits the board per client IP; start it with TRUST_PROXY_HEADERS=true and pass -clients 1024\n", n)
	}
	if r.mode == "304" && r.status[http.StatusNotModified] == 0 {
		fmt.Fprintln(w, "  WARNING          no 304 answers: is If-None-Match honoured?")
	}
	fmt.Fprintf(w, "result\t%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\n", r.mode, r.requests, r.rps(),
		ms(r.percentile(0.50)), ms(r.percentile(0.99)), r.statementsPerRequest(), r.orders, r.statusSummary())
}

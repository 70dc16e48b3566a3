package main

import (
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models/documents"
)

// scrape reads every series of /metrics, keyed by name and labels as
// series() writes them.
func scrape(t *testing.T, s *testServer) map[string]float64 {
	t.Helper()
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer plain.CloseIdleConnections()
	resp, raw := httpCall(t, plain, http.MethodGet, s.URL+"/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(raw), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			t.Fatalf("series %q: %v", l, err)
		}
		out[l[:i]] = v
	}
	return out
}

// series is a series' key in scrape's map: its labels in name order, as
// the exposition format writes them.
func series(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func op(name, typ string) map[string]string { return map[string]string{"operation": name, "type": typ} }

// wantSeries fails unless the series has the value.
func wantSeries(t *testing.T, m map[string]float64, key string, want float64) {
	t.Helper()
	got, ok := m[key]
	if !ok {
		t.Errorf("no series %s", key)
		return
	}
	if got != want {
		t.Errorf("%s = %v, want %v", key, got, want)
	}
}

// Operations are counted and timed by name, their errors and userErrors by
// code; names the clients choose get series of their own only up to a cap.
func TestMetricsGraphQLOperations(t *testing.T) {
	s := newTestServer(t)

	s.gql(t, "", `{ __typename }`, nil)
	for range 2 {
		s.gql(t, "", `query Hello { __typename }`, nil)
	}
	// A document that does not validate: its name is not trusted.
	if r := s.do(t, req{Query: `query Nope { noSuchField }`}); r.Code() != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("invalid document: %s", r.Raw)
	}
	// An error with extensions.code from a resolver.
	r := s.do(t, req{Query: `query Me { me { name } }`})
	meCode := r.Code()
	if meCode == "" {
		t.Fatalf("me without a token: %s", r.Raw)
	}
	// A userError.
	d := s.gql(t, "", `mutation BadLogin { staffLogin(input: {username: "advisor.sz01", password: "not-the-password"}) {
		userErrors { code } } }`, nil)
	userCodes := e2eStrings(dig(d, "staffLogin", "userErrors"), "code")
	if len(userCodes) != 1 {
		t.Fatalf("wrong password: %v", d)
	}

	m := scrape(t, s)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("anonymous", "query")), 1)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("Hello", "query")), 2)
	wantSeries(t, m, series("ownerhub_graphql_operation_duration_seconds_count", op("Hello", "query")), 2)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("invalid", "")), 1)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("BadLogin", "mutation")), 1)
	wantSeries(t, m, series("ownerhub_graphql_errors_total", map[string]string{"operation": "invalid", "code": "GRAPHQL_VALIDATION_FAILED", "kind": "error"}), 1)
	wantSeries(t, m, series("ownerhub_graphql_errors_total", map[string]string{"operation": "Me", "code": meCode, "kind": "error"}), 1)
	wantSeries(t, m, series("ownerhub_graphql_errors_total", map[string]string{"operation": "BadLogin", "code": userCodes[0], "kind": "userError"}), 1)
	for key := range m {
		if strings.Contains(key, `"Nope"`) {
			t.Errorf("a document that did not validate named a series: %s", key)
		}
		if strings.HasPrefix(key, "ownerhub_graphql_errors_total") && strings.Contains(key, `"Hello"`) {
			t.Errorf("an operation without errors counted one: %s", key)
		}
	}

	// Hello, Me and BadLogin took 3 of the names; the others are "other".
	const sent = maxOperationNames + 5
	for i := range sent {
		s.gql(t, "", fmt.Sprintf(`query N%03d { __typename }`, i), nil)
	}
	m = scrape(t, s)
	named := 0
	for key := range m {
		if strings.HasPrefix(key, `ownerhub_graphql_operations_total{operation="N`) {
			named++
		}
	}
	if named != maxOperationNames-3 {
		t.Errorf("%d names got series of their own, want %d", named, maxOperationNames-3)
	}
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("other", "query")), float64(sent-(maxOperationNames-3)))
	// Names seen before the cap keep their series.
	s.gql(t, "", `query Hello { __typename }`, nil)
	wantSeries(t, scrape(t, s), series("ownerhub_graphql_operations_total", op("Hello", "query")), 3)
}

// Under trusted documents, only the allow-list's operation names are
// labels: a refused document's name never is.
func TestMetricsTrustedOperationNames(t *testing.T) {
	listed := `query AppStores { stores(first: 1) { edges { node { code } } } }`
	trusted := graph.TrustedDocuments{documents.Hash(listed): listed}
	s := newTestServer(t, func(c *Config, _ *Deps) { c.TrustedDocuments = trusted })
	if r := s.apq(t, documents.Hash(listed), "", nil); len(r.Errors) > 0 {
		t.Fatalf("listed document: %s", r.Raw)
	}
	if r := s.do(t, req{Query: `query Chosen { __typename }`}); r.Code() != graph.CodeDocumentNotTrusted {
		t.Fatalf("unlisted document: %s", r.Raw)
	}
	m := scrape(t, s)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("AppStores", "query")), 1)
	wantSeries(t, m, series("ownerhub_graphql_errors_total", map[string]string{"operation": "invalid", "code": graph.CodeDocumentNotTrusted, "kind": "error"}), 1)
	for key := range m {
		if strings.Contains(key, "Chosen") {
			t.Errorf("an unlisted name has a series: %s", key)
		}
	}
}

// Subscriptions and WebSocket connections are gauges; a WebSocket's
// request, which lasts as long as the connection, is counted but stays out
// of the latency histogram.
func TestMetricsSubscriptionsAndWebSockets(t *testing.T) {
	f := newWorkshop(t)
	gauges := func() (subs, sockets float64, m map[string]float64) {
		m = scrape(t, f.testServer)
		return m["ownerhub_graphql_active_subscriptions"], m["ownerhub_websocket_connections"], m
	}
	waitGauges := func(subs, sockets float64) map[string]float64 {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			s, w, m := gauges()
			if s == subs && w == sockets {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("subscriptions %v, WebSockets %v; want %v and %v", s, w, subs, sockets)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitGauges(0, 0)
	timedGET := series("ownerhub_http_request_duration_seconds_count", map[string]string{"route": "/graphql", "method": "GET"})

	c := wsConnect(t, f.testServer, f.staff(t, "foreman.sz01"))
	id := c.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	c.nextResult(t, id, subWait)
	m := waitGauges(1, 1)
	wantSeries(t, m, series("ownerhub_graphql_operations_total", op("anonymous", "subscription")), 1)

	c2 := wsConnect(t, f.testServer, f.staff(t, "foreman.sz01"))
	id2 := c2.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	c2.nextResult(t, id2, subWait)
	waitGauges(2, 2)

	// The client stops one subscription; the connection stays.
	c.send(t, wsMessage{ID: id, Type: "complete"})
	waitGauges(1, 2)
	// A connection closed under a running subscription ends both.
	_ = c2.conn.CloseNow()
	waitGauges(0, 1)
	_ = c.conn.CloseNow()
	m = waitGauges(0, 0)

	wantSeries(t, m, series("ownerhub_http_requests_total", map[string]string{"route": "/graphql", "method": "GET", "status": "101"}), 2)
	if n, ok := m[timedGET]; ok {
		t.Errorf("WebSocket requests were timed: %s = %v", timedGET, n)
	}
}

// The pool's statistics and the build are exported.
func TestMetricsPoolAndBuild(t *testing.T) {
	s := newTestServer(t)
	s.gql(t, "", `{ __typename }`, nil)
	m := scrape(t, s)
	db := map[string]string{"db_name": "ownerhub"}
	wantSeries(t, m, series("go_sql_max_open_connections", db), float64(s.DB.SQL.Stats().MaxOpenConnections))
	if m[series("go_sql_max_open_connections", db)] == 0 {
		t.Error("the pool has no maximum")
	}
	for _, name := range []string{"go_sql_open_connections", "go_sql_idle_connections", "go_sql_in_use_connections", "go_sql_wait_count_total"} {
		if _, ok := m[series(name, db)]; !ok {
			t.Errorf("no series %s", series(name, db))
		}
	}
	b := currentBuild()
	wantSeries(t, m, series("ownerhub_build_info", map[string]string{"version": b.Version, "commit": b.Commit, "goversion": runtime.Version()}), 1)
}

// The version comes from -ldflags when linked in, else from what go build
// recorded of the module and its VCS.
func TestBuildInfoFallback(t *testing.T) {
	read := func(settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}, Settings: settings}, true
		}
	}
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}
	for _, c := range []struct {
		name, version, commit string
		read                  func() (*debug.BuildInfo, bool)
		want                  buildInfo
	}{
		{"linked", "1.4.0", "deadbeef", read(vcs...), buildInfo{"1.4.0", "deadbeef", "go1.99"}},
		{"vcs", "", "", read(vcs...), buildInfo{"devel", "abc123-dirty", "go1.99"}},
		{"clean tree", "", "", read(debug.BuildSetting{Key: "vcs.revision", Value: "abc123"}), buildInfo{"devel", "abc123", "go1.99"}},
		{"nothing", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, buildInfo{"devel", "unknown", runtime.Version()}},
	} {
		if got := readBuild(c.version, c.commit, c.read); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if got := (buildInfo{"1.4.0", "deadbeef", "go1.26.8"}).String(); got != "ownerhub 1.4.0 (commit deadbeef, go1.26.8)" {
		t.Errorf("--version prints %q", got)
	}
}

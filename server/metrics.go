package main

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
)

// metrics are the Prometheus series the server exports at /metrics.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	unavailable prometheus.Counter
	busy        prometheus.Counter

	operations    *prometheus.CounterVec
	opDuration    *prometheus.HistogramVec
	gqlErrors     *prometheus.CounterVec
	subscriptions prometheus.Gauge
	webSockets    prometheus.Gauge
	names         *operationNames
}

// newMetrics registers the series; trusted, when not nil, are the only
// operation names that get a series of their own (the allow-list's).
func newMetrics(db *models.DB, build buildInfo, trusted []string) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ownerhub_http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ownerhub_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	m.unavailable = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ownerhub_db_unavailable_total",
		Help: "Requests and subscriptions answered UNAVAILABLE because the database could not be reached.",
	})
	m.busy = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ownerhub_db_busy_total",
		Help: "Requests and subscriptions answered BUSY: a lock or statement timeout, or a conflict that outlasted the retries.",
	})
	statements := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ownerhub_db_statements_total",
		Help: "SQL statements sent to the database.",
	}, func() float64 { return float64(db.Statements()) })
	retries := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ownerhub_db_tx_retries_total",
		Help: "Transactions run again after a deadlock, serialization failure or busy database.",
	}, func() float64 { return float64(db.TxRetries()) })
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ownerhub_graphql_operations_total",
		Help: "GraphQL operations answered, by operation name (bounded, see docs/operations.md) and type.",
	}, []string{"operation", "type"})
	m.opDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ownerhub_graphql_operation_duration_seconds",
		Help:    "Time to answer a GraphQL query or mutation, by operation name and type.",
		Buckets: prometheus.DefBuckets,
	}, []string{"operation", "type"})
	m.gqlErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ownerhub_graphql_errors_total",
		Help: "GraphQL errors (errors[].extensions.code) and userErrors answered, by operation, code and kind.",
	}, []string{"operation", "code", "kind"})
	m.subscriptions = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ownerhub_graphql_active_subscriptions",
		Help: "GraphQL subscriptions running now on this instance.",
	})
	m.webSockets = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ownerhub_websocket_connections",
		Help: "WebSocket connections open now on this instance.",
	})
	m.names = newOperationNames(trusted)
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ownerhub_build_info",
		Help:        "The running binary's version, commit and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": build.Version, "commit": build.Commit, "goversion": build.GoVersion},
	})
	buildInfo.Set(1)
	// Connections the pool has opened: those open now and those it has
	// closed for its limits (a connection dropped by an error is not
	// counted). Its rate is the churn the pool settings aim to keep at 0.
	opened := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ownerhub_db_connections_opened_total",
		Help: "Database connections the pool has opened (open now plus closed by its idle and lifetime limits).",
	}, func() float64 {
		st := db.SQL.Stats()
		return float64(int64(st.OpenConnections) + st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed)
	})
	// The loaders' scheduler (docs/performance.md, "When batches go out"):
	// both stay at 0 unless a statement of a field outlasts the watchdog or
	// gqlgen's executor stops doing what the count follows.
	watchdog := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ownerhub_graphql_loader_watchdog_sends_total",
		Help: "Loader batches sent by the watchdog because their operation did not go idle within 50 ms.",
	}, func() float64 { return float64(graph.LoaderWatchdogSends()) })
	miscounts := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ownerhub_graphql_loader_miscounts_total",
		Help: "Operations that ended with the loaders' count of running fields wrong (each is logged).",
	}, func() float64 { n, _ := graph.LoaderMiscounts(); return float64(n) })
	m.registry.MustRegister(m.requests, m.duration, m.unavailable, m.busy, statements, retries, opened, watchdog, miscounts,
		m.operations, m.opDuration, m.gqlErrors, m.subscriptions, m.webSockets, buildInfo,
		collectors.NewDBStatsCollector(db.SQL, "ownerhub"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Answered counts a GraphQL answer (graph.Observer).
func (m *metrics) Answered(a graph.Answer) {
	op := m.names.label(a)
	if a.First {
		m.operations.WithLabelValues(op, a.Type).Inc()
		if a.Type == "query" || a.Type == "mutation" {
			m.opDuration.WithLabelValues(op, a.Type).Observe(a.Duration.Seconds())
		}
	}
	for _, code := range a.Errors {
		m.gqlErrors.WithLabelValues(op, codeLabel(code), "error").Inc()
	}
	for _, code := range a.UserErrors {
		m.gqlErrors.WithLabelValues(op, codeLabel(code), "userError").Inc()
	}
}

// Subscriptions follows the subscriptions running (graph.Observer).
func (m *metrics) Subscriptions(delta int) { m.subscriptions.Add(float64(delta)) }

// maxOperationNames caps the operation names that get series of their own
// when no allow-list names them: clients choose the names, and every name
// would otherwise be a new series (and memory) for good.
const maxOperationNames = 100

// operationNames turns a client's operation name into a label of bounded
// cardinality: with trusted documents, the allow-list's names; otherwise
// the first maxOperationNames names seen (of at most 64 characters). Any
// other name is "other"; an unnamed operation is "anonymous", a document
// that did not parse or validate "invalid".
type operationNames struct {
	mu    sync.Mutex
	known map[string]bool
	fixed bool
}

func newOperationNames(trusted []string) *operationNames {
	n := &operationNames{known: map[string]bool{}, fixed: trusted != nil}
	for _, name := range trusted {
		n.known[name] = true
	}
	return n
}

func (n *operationNames) label(a graph.Answer) string {
	switch {
	case !a.Valid:
		return "invalid"
	case a.Operation == "":
		return "anonymous"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.known[a.Operation] {
		return a.Operation
	}
	if n.fixed || len(n.known) >= maxOperationNames || len(a.Operation) > 64 {
		return "other"
	}
	n.known[a.Operation] = true
	return a.Operation
}

var codeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// codeLabel is an error code as a label: the codes are the server's own,
// but an error without one, or with something else, is counted apart.
func codeLabel(code string) string {
	if code == "" {
		return "NONE"
	}
	if !codeRE.MatchString(code) {
		return "OTHER"
	}
	return code
}

// middleware counts and times every request by its route pattern (not its
// URL, which would make a series per id) and the status written, which is
// final here: errors are written inside it (writeErrors). A WebSocket is
// counted as a request but not timed: its request lasts as long as the
// connection (minutes), which would swamp the latency of the others; the
// connections open are a gauge instead.
func (m *metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ws := isWebSocket(c)
			if ws {
				m.webSockets.Inc()
			}
			err := next(c)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
			if ws {
				m.webSockets.Dec()
			} else {
				m.duration.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
			}
			return err
		}
	}
}

// databaseFailed counts an answer UNAVAILABLE or BUSY.
func (m *metrics) databaseFailed(code models.Code) {
	if code == models.CodeBusy {
		m.busy.Inc()
		return
	}
	m.unavailable.Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

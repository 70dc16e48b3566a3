package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ownerhub/ownerhub/models"
)

// metrics are the Prometheus series the server exports at /metrics.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	unavailable prometheus.Counter
	busy        prometheus.Counter
}

func newMetrics(db *models.DB) *metrics {
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
	m.registry.MustRegister(m.requests, m.duration, m.unavailable, m.busy, statements, retries, opened,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// middleware counts and times every request by its route pattern (not its
// URL, which would make a series per id) and the status written, which is
// final here: errors are written inside it (writeErrors).
func (m *metrics) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
			m.duration.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
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

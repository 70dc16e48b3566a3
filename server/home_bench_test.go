package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// BenchmarkHomeQuery serves the owner's home query (the one bench/home.sh
// drives) through the app's HTTP handler in process, without a network
// client, so that a CPU profile shows the server's own cost per request:
//
//	go test -run x -bench HomeQuery -cpuprofile cpu.out ./server
func BenchmarkHomeQuery(b *testing.B) { benchParallel(b, homeQuery) }

// BenchmarkMeQuery serves the smallest signed-in query (the owner's name,
// which the admission read already has) the same way: the floor under
// every owner request, HTTP, authentication, the admission read and
// GraphQL, with nothing of its own to read.
//
//	go test -run x -bench MeQuery -cpuprofile cpu.out ./server
func BenchmarkMeQuery(b *testing.B) { benchParallel(b, `{ me { name } }`) }

// benchParallel serves query from GOMAXPROCS goroutines and reports, with
// ns/op, the statements and the process's CPU time per request.
func benchParallel(b *testing.B, query string) {
	serve := benchServer(b, query)
	serve.do()
	s := serve.server
	before, cpu := s.DB.Statements(), processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serve.do()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(s.DB.Statements()-before)/float64(b.N), "stmts/op")
	// The process's CPU time (user and system) per request: steadier than
	// ns/op on a shared machine, and what bounds requests per second when
	// the server is CPU-bound. The database's own CPU is not in it.
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// benchServe is an app and a query it serves as the demo owner through
// its HTTP handler in process: do returns the response body.
type benchServe struct {
	server *testServer
	do     func() []byte
}

// benchServer starts an app as bench/home.sh starts the server (rate
// limits off, warnings only) and returns a function that serves query as
// the demo owner, failing the benchmark on any error.
func benchServer(b *testing.B, query string) benchServe {
	s := newTestServer(b, func(c *Config, d *Deps) {
		c.RateLimits.IPRate, c.RateLimits.UserRate = rate.Inf, rate.Inf
		d.Log = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	token := s.ownerToken(b, s.ownerByPhone(b, "+8613800000001").ID)
	body, _ := json.Marshal(map[string]any{"query": query})
	return benchServe{server: s, do: func() []byte {
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.App.Echo.ServeHTTP(w, r)
		if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		return w.Body.Bytes()
	}}
}

// historyQuery is an owner's service history across their cars: three
// levels of lists (cars, their delivered orders, each order's items and
// payments) whose keys the loaders batch.
const historyQuery = `{ me { vehicles(first: 5) { edges { node { plate
	serviceHistory(first: 10) { edges { node { number deliveredAt store { name }
		items { description approval } payments { method } totals { total { amountFen } } } } } } } } } }`

// BenchmarkHistoryQuery serves historyQuery to one client at a time: its
// time per request is the latency of a query with nested lists, where a
// batch that waits for a fixed time would cost that time per level.
//
//	go test -run x -bench HistoryQuery ./server
func BenchmarkHistoryQuery(b *testing.B) {
	serve := benchServer(b, historyQuery)
	if out := serve.do(); !bytes.Contains(out, []byte(`"items":[{`)) {
		b.Fatalf("the demo owner has no history with items: %s", out)
	}
	before := serve.server.DB.Statements()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve.do()
	}
	b.StopTimer()
	b.ReportMetric(float64(serve.server.DB.Statements()-before)/float64(b.N), "stmts/op")
}

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Command server runs OwnerHub: `go run ./server` serves the API on the
// embedded database with demo data; `migrate` and `seed` are the by-hand
// subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // store time zones resolve on hosts without tzdata

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

const usage = `usage: server [serve|migrate|seed|healthcheck [-ready]|--version]

  serve        apply pending migrations and serve the API (default)
  migrate      apply pending migrations and exit
  seed         load demo data into an empty database and exit
  healthcheck  ask the server on HTTP_ADDR for /healthz (with -ready, also
               /readyz); exit 0 if it answers 200, 1 otherwise
  --version    print the version, commit and Go version and exit

Configuration comes from environment variables, described in README.md`

// shutdownGrace is how long in-flight requests may take to finish after
// SIGINT/SIGTERM.
const shutdownGrace = 10 * time.Second

// gcPercent is the garbage collector's target when GOGC is not set: a
// home-screen request allocates about 170 kB that is garbage once it is
// answered,
// against a live heap of tens of megabytes, so Go's default of 100 spent
// a sixth of a busy server's CPU collecting. 400 lets the heap grow to five
// times what is live between collections (docs/performance.md, "The
// request's own cost"). GOGC and GOMEMLIMIT still apply when set.
const gcPercent = 400

// setGCPercent sets the collector's target to gcPercent unless GOGC is set.
func setGCPercent(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func main() {
	setGCPercent(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ownerhub:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	// Neither reads the configuration nor opens the database: a probe must
	// answer in a container whatever the server's state.
	switch cmd {
	case "--version", "-version", "version":
		if len(args) > 1 {
			return errors.New(usage)
		}
		_, err := fmt.Fprintln(stdout, currentBuild())
		return err
	case "healthcheck":
		return healthcheck(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 1 || (cmd != "serve" && cmd != "migrate" && cmd != "seed") {
		return errors.New(usage)
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	db, err := models.OpenPool(cfg.DatabaseURL, cfg.DataDir, log, cfg.Pool)
	if err != nil {
		return err
	}
	defer func() {
		// A pool that fails to close is a failed command, unless it failed
		// already.
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()

	n, err := migrations.Up(ctx, db.SQL, string(db.Dialect), nil)
	if err != nil {
		return err
	}
	if n > 0 {
		log.Info("applied migrations", "count", n, "dialect", db.Dialect)
	}
	switch cmd {
	case "migrate":
		// The work is done whether or not the report reaches stdout.
		_, _ = fmt.Fprintf(stdout, "database is up to date (%d migrations applied now)\n", n)
		return nil
	case "seed":
		if cfg.Production {
			// Demo data includes a GROUP_ADMIN with a published password.
			return errors.New("seed: demo data is not loaded when APP_ENV=production")
		}
		sum, err := demo.Seed(ctx, db, cfg.DemoPassword)
		if errors.Is(err, demo.ErrNotEmpty) {
			return errors.New("seed: the database already has data; demo data goes into an empty database only")
		}
		if err != nil {
			return err
		}
		// The work is done whether or not the report reaches stdout.
		_, _ = fmt.Fprintf(stdout, "loaded demo data: %d stores, %d staff, %d owners, %d vehicles\n", sum.Stores, sum.Staff, sum.Owners, sum.Vehicles)
		return nil
	}
	return serve(ctx, cfg, db, log, stdout)
}

func serve(ctx context.Context, cfg Config, db *models.DB, log *slog.Logger, stdout io.Writer) error {
	if !cfg.Production {
		if err := cfg.ensureDevSecret(); err != nil {
			return err
		}
	}
	seeded := false
	// The zero-config path: an empty embedded database gets demo data, so a
	// newcomer can sign in at once. PostgreSQL is seeded only by hand.
	if db.Dialect == models.SQLite && !cfg.Production {
		_, err := demo.Seed(ctx, db, cfg.DemoPassword)
		switch {
		case err == nil:
			seeded = true
		case !errors.Is(err, demo.ErrNotEmpty):
			return err
		}
	}
	app, err := NewApp(cfg, Deps{DB: db, Log: log, SMS: smsSender(cfg, log), WeChat: weChat(cfg)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.Production && cfg.MetricsAddr == "" && cfg.MetricsToken == "" {
		log.Warn("/metrics is served to anyone on HTTP_ADDR: set METRICS_ADDR or METRICS_TOKEN")
	}
	servers := []*http.Server{httpServer(app.Echo, log)}
	listeners := []net.Listener{ln}
	metricsAddr := ln.Addr()
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close() // the METRICS_ADDR failure is the error to report
			return fmt.Errorf("METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.MetricsHandler)
		servers = append(servers, httpServer(mux, log))
		listeners = append(listeners, mln)
		metricsAddr = mln.Addr()
	}
	// Say the instance is up once it hears other instances' changes, so
	// that /readyz agrees (at most a few seconds; /readyz tells meanwhile).
	select {
	case <-db.LiveReady():
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	var welcome strings.Builder
	printWelcome(&welcome, cfg, db, ln.Addr(), metricsAddr, seeded, demo.Present(ctx, db))
	// The banner is a courtesy: a closed stdout does not stop the server.
	_, _ = io.WriteString(stdout, welcome.String())

	// River's workers (the outbox's and the scheduled jobs') stop after
	// the HTTP servers: a request that enqueued a message before shutdown
	// has it sent here or, if this instance stops first, by another
	// instance or at the next start. A scheduled job still running at the
	// end of the grace is cancelled; its period's run is retried by
	// another instance or at the next start (see models/jobs).
	if err := app.Outbox.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := app.Outbox.Stop(sctx); err != nil {
			log.Warn("river: stop", "err", err)
		}
	}()

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	select {
	case err := <-errc:
		for _, srv := range servers {
			_ = srv.Close() // the server that stopped is the error to report
		}
		return err
	case <-ctx.Done():
	}
	// Readiness fails first and the server keeps serving for the drain
	// period, so that load balancers stop sending before it stops accepting.
	app.Drain()
	log.Info("draining: /readyz answers 503; serving until the drain period ends", "drain", cfg.DrainPeriod.String())
	time.Sleep(cfg.DrainPeriod)
	log.Info("shutting down; letting in-flight requests finish", "grace", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	return nil
}

func httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      requestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func printWelcome(w *strings.Builder, cfg Config, db *models.DB, addr, metricsAddr net.Addr, seeded, demoData bool) {
	base := "http://" + displayHost(addr)
	fmt.Fprintf(w, "OwnerHub is running (%s, %s database)\n", envName(cfg), db.Dialect)
	fmt.Fprintf(w, "  GraphQL:  %s/graphql\n", base)
	if !cfg.Production {
		fmt.Fprintf(w, "  GraphiQL: %s/graphiql\n", base)
	}
	fmt.Fprintf(w, "  Health:   %s/healthz  %s/readyz\n", base, base)
	fmt.Fprintf(w, "  Metrics:  http://%s/metrics\n", displayHost(metricsAddr))
	if seeded {
		fmt.Fprintln(w, "  Loaded demo data into the new embedded database.")
	}
	if !cfg.Production && demoData {
		if code, ok := cfg.TestCodes[demo.DemoOwnerPhone]; ok {
			fmt.Fprintf(w, "  Demo owner: phone %s, code %s (requestLoginCode, then verifyLoginCode)\n", demo.DemoOwnerPhone, code)
		}
		fmt.Fprintf(w, "  Demo staff: advisor.sz01, manager.sz01, admin ... password %q (staffLogin)\n", cfg.DemoPassword)
	}
}

func displayHost(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func envName(cfg Config) string {
	if cfg.Production {
		return "production"
	}
	return "development"
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})})
}

// smsSender is where login codes go without an SMS_PROVIDER. In
// development, the log; in production a code must never reach a log: phone
// sign-in works there for OTP_TEST_NUMBERS only, and says so. With a
// provider, codes go through the outbox (see NewApp) and this is nil.
func smsSender(cfg Config, log *slog.Logger) auth.SMSSender {
	if cfg.SMSProvider != "" {
		return nil
	}
	if cfg.Production {
		log.Warn("no SMS gateway is configured: phone sign-in works only for OTP_TEST_NUMBERS")
		return noSMSGateway{}
	}
	return auth.LogSMSSender{Log: log}
}

// noSMSGateway refuses to send, so a code is never issued that nobody gets.
type noSMSGateway struct{}

func (noSMSGateway) SendLoginCode(context.Context, string, string) error {
	return errors.New("no SMS gateway is configured")
}

// weChat is the mini-program's code exchange, or nil without credentials:
// loginWithWeChat then answers WECHAT_NOT_CONFIGURED without calling WeChat.
func weChat(cfg Config) auth.WeChat {
	if cfg.WeChatAppID == "" || cfg.WeChatAppSecret == "" {
		return nil
	}
	return &auth.WeChatClient{BaseURL: cfg.WeChatAPIBase, AppID: cfg.WeChatAppID, Secret: cfg.WeChatAppSecret}
}

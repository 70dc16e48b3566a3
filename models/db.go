package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Dialect names the database behind a DB. Everything that differs between the
// two lives behind a method of DB named for what it does (ForUpdate, ...).
type Dialect string

// The two supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is the database handle every operation runs on.
type DB struct {
	root       *gorm.DB
	SQL        *sql.DB
	probe      *sql.DB // one connection for readiness, apart from the pool
	maxIdle    int
	Dialect    Dialect
	statements *atomic.Int64
	watcher    *atomic.Pointer[Watcher]
	retries    *atomic.Int64
	live       *hub
	stopLive   context.CancelFunc
	clock      Clock // nil: the real time; see WithClock
	queueConn  *pgx.ConnConfig
}

// SQLitePath is where the embedded database lives inside dataDir.
func SQLitePath(dataDir string) string { return filepath.Join(dataDir, "ownerhub.db") }

// Pool sizes and bounds an instance's database connections. Zero fields
// take the defaults below.
type Pool struct {
	// MaxOpenConns caps the connections open at once; MaxIdleConns is how
	// many of them stay open while unused (default: all of them, so that a
	// busy instance does not close and reopen connections).
	MaxOpenConns, MaxIdleConns int
	// LockTimeout is how long a statement waits for a lock (a row, or on
	// SQLite the write lock) before it fails with BUSY; StatementTimeout
	// (PostgreSQL) is how long any statement may run. Both stay below the
	// request timeout, so that a request stuck behind one account's lock
	// gives its connection back instead of starving other owners.
	LockTimeout, StatementTimeout time.Duration
	// ConnMaxLifetime closes a connection this long after it opened (0:
	// never), so that a load balancer or a failover in front of PostgreSQL
	// sees connections move in time; ConnMaxIdleTime closes one unused
	// this long. Both are long against a request, so that steady load never
	// reopens connections (each reopening is a backend start, an
	// authentication and its prepared statements made again).
	ConnMaxLifetime, ConnMaxIdleTime time.Duration
	// LiveCacheMaxAge is the longest a read kept until announced
	// (CachedUntilAnnounced) is served: the bound on its staleness should
	// an announcement be lost (default DefaultLiveCacheMaxAge).
	LiveCacheMaxAge time.Duration
}

// Defaults of Pool.
const (
	DefaultMaxOpenPostgres  = 20
	DefaultMaxOpenSQLite    = 8
	DefaultLockTimeout      = 5 * time.Second
	DefaultStatementTimeout = 10 * time.Second
	DefaultConnMaxLifetime  = time.Hour
	DefaultConnMaxIdleTime  = 5 * time.Minute
	// connectTimeout bounds a PostgreSQL connection attempt that names none
	// in its URL (connect_timeout), so that an unreachable server fails a
	// request with UNAVAILABLE rather than with its timeout.
	connectTimeout = 5 * time.Second
)

func (p Pool) withDefaults(d Dialect) Pool {
	if p.MaxOpenConns <= 0 {
		p.MaxOpenConns = DefaultMaxOpenPostgres
		if d == SQLite {
			p.MaxOpenConns = DefaultMaxOpenSQLite
		}
	}
	if p.MaxIdleConns <= 0 || p.MaxIdleConns > p.MaxOpenConns {
		p.MaxIdleConns = p.MaxOpenConns
	}
	if p.LockTimeout <= 0 {
		p.LockTimeout = DefaultLockTimeout
	}
	if p.StatementTimeout <= 0 {
		p.StatementTimeout = DefaultStatementTimeout
	}
	if p.ConnMaxLifetime <= 0 {
		p.ConnMaxLifetime = DefaultConnMaxLifetime
	}
	if p.ConnMaxIdleTime <= 0 {
		p.ConnMaxIdleTime = DefaultConnMaxIdleTime
	}
	if p.LiveCacheMaxAge <= 0 {
		p.LiveCacheMaxAge = DefaultLiveCacheMaxAge
	}
	return p
}

func (p Pool) apply(sqlDB *sql.DB) {
	sqlDB.SetMaxOpenConns(p.MaxOpenConns)
	sqlDB.SetMaxIdleConns(p.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(p.ConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(p.ConnMaxIdleTime)
}

// Open connects to PostgreSQL when databaseURL is set, otherwise opens (and
// creates) the embedded SQLite database in dataDir, with the default pool.
func Open(databaseURL, dataDir string, log *slog.Logger) (*DB, error) {
	return OpenPool(databaseURL, dataDir, log, Pool{})
}

// OpenPool is Open with the pool sized and bounded by pool.
//
// Besides the pool, a DB holds one connection of its own for readiness
// probes (Ping), so that a pool busy with requests is not mistaken for an
// unreachable database; on PostgreSQL, the live-updates listener has a third.
// The connections name themselves to PostgreSQL (application_name
// "ownerhub", "ownerhub-ready", "ownerhub-live" unless the URL names the
// application), so that an operator can tell them apart.
func OpenPool(databaseURL, dataDir string, log *slog.Logger, pool Pool) (*DB, error) {
	cfg := &gorm.Config{
		NowFunc:                Clock(nil).read,
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // every write that needs one runs inside WithTx
		TranslateError:         true,
	}
	if databaseURL != "" {
		return openPostgres(databaseURL, cfg, log, pool.withDefaults(Postgres))
	}
	pool = pool.withDefaults(SQLite)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	dsn := sqliteDSN(SQLitePath(dataDir), pool.LockTimeout)
	g, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// WAL lets readers run beside the one writer; _txlock=immediate makes every
	// transaction take the write lock when it begins, so concurrent writers
	// queue on the busy timeout (the lock timeout) instead of failing on a
	// lock upgrade.
	pool.apply(sqlDB)
	if err := sqlDB.Ping(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if log != nil {
		log.Debug("opened embedded database", "path", SQLitePath(dataDir))
	}
	probe, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db, err := newDB(g, sqlDB, probe, SQLite, pool)
	if err != nil {
		return nil, err
	}
	close(db.live.ready)
	return db, nil
}

func openPostgres(databaseURL string, cfg *gorm.Config, log *slog.Logger, pool Pool) (*DB, error) {
	conf, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if conf.ConnectTimeout == 0 {
		conf.ConnectTimeout = connectTimeout
	}
	app := conf.RuntimeParams["application_name"]
	if app == "" {
		app = "ownerhub"
	}
	named := func(name string) *pgx.ConnConfig {
		c := conf.Copy()
		c.RuntimeParams["application_name"] = name
		return c
	}
	requests := named(app)
	// Sent at connection start: no statement of a request waits longer.
	requests.RuntimeParams["lock_timeout"] = strconv.FormatInt(pool.LockTimeout.Milliseconds(), 10)
	requests.RuntimeParams["statement_timeout"] = strconv.FormatInt(pool.StatementTimeout.Milliseconds(), 10)
	sqlDB := stdlib.OpenDB(*requests)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool.apply(sqlDB)
	if err := sqlDB.Ping(); err != nil {
		_ = sqlDB.Close() // the failed ping is the error to report
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	db, err := newDB(g, sqlDB, stdlib.OpenDB(*named(app + "-ready")), Postgres, pool)
	if err != nil {
		return nil, err
	}
	db.queueConn = named(app + "-queue")
	ctx, cancel := context.WithCancel(context.Background())
	db.stopLive = cancel
	go db.listen(ctx, named(app+"-live"), log)
	return db, nil
}

func newDB(g *gorm.DB, sqlDB, probe *sql.DB, d Dialect, pool Pool) (*DB, error) {
	probe.SetMaxOpenConns(1)
	probe.SetMaxIdleConns(1)
	db := &DB{root: g, SQL: sqlDB, probe: probe, maxIdle: pool.MaxIdleConns, Dialect: d, statements: new(atomic.Int64), watcher: new(atomic.Pointer[Watcher]), retries: new(atomic.Int64), live: newHub(), stopLive: func() {}}
	db.live.cache.maxAge = pool.LiveCacheMaxAge
	count := func(g *gorm.DB) {
		db.statements.Add(1)
		if w := db.watcher.Load(); w != nil {
			(*w)(g.Statement.SQL.String(), g.Statement.Vars)
		}
		if g.Error != nil {
			g.Error = db.checkLost(g.Error)
		}
	}
	cb := g.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("ownerhub:count", count),
		cb.Query().After("gorm:query").Register("ownerhub:count", count),
		cb.Update().After("gorm:update").Register("ownerhub:count", count),
		cb.Delete().After("gorm:delete").Register("ownerhub:count", count),
		cb.Row().After("gorm:row").Register("ownerhub:count", count),
		cb.Raw().After("gorm:raw").Register("ownerhub:count", count),
	} {
		if err != nil {
			return nil, err
		}
	}
	return db, nil
}

// Statements is how many SQL statements went through GORM since Open: the
// measure behind "no N+1" tests and the statements metric.
func (db *DB) Statements() int64 { return db.statements.Load() }

// Watcher is told every statement that goes through GORM, after it ran:
// its SQL (with the dialect's placeholders) and its arguments.
type Watcher func(sql string, vars []any)

// Watch has w told every statement until stop is called, replacing any
// watcher before it: for tests that check what reads ask of the database
// (the plans of the hot reads). w may be called from several goroutines at
// once, and by a statement that began before stop returned. It costs a
// statement one atomic load while nothing watches.
func (db *DB) Watch(w Watcher) (stop func()) {
	db.watcher.Store(&w)
	return func() { db.watcher.CompareAndSwap(&w, nil) }
}

// QueueListenerConfig is, on PostgreSQL, the configuration of a connection
// apart from the pool on which the job queue (models/outbox) listens for
// new jobs, named "<application>-queue"; nil on SQLite.
func (db *DB) QueueListenerConfig() *pgx.ConnConfig {
	if db.queueConn == nil {
		return nil
	}
	return db.queueConn.Copy()
}

// TxRetries is how many transactions WithTx ran again after a deadlock, a
// serialization failure or a busy database: a lock order that two
// operations disagree on shows up here.
func (db *DB) TxRetries() int64 { return db.retries.Load() }

func sqliteDSN(path string, lockTimeout time.Duration) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(lockTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Close closes the connection pool, the readiness connection and the
// live-updates listener.
func (db *DB) Close() error {
	db.stopLive()
	return errors.Join(db.probe.Close(), db.SQL.Close())
}

type txKey struct{}

// tx is the transaction running in a context, with what must happen only
// once it has committed.
type tx struct {
	conn        *gorm.DB
	now         time.Time // the transaction's time (Clock.Now)
	afterCommit *[]func() // shared with the states AtTime derives
}

func txState(ctx context.Context) *tx {
	t, _ := ctx.Value(txKey{}).(*tx)
	return t
}

// Conn returns the transaction running in ctx, or the pool when there is none.
func (db *DB) Conn(ctx context.Context) *gorm.DB {
	if t := txState(ctx); t != nil {
		return t.conn
	}
	if db.clock != nil {
		return db.root.Session(&gorm.Session{Context: ctx, NowFunc: db.clock.read})
	}
	return db.root.WithContext(ctx)
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool { return txState(ctx) != nil }

const maxTxAttempts = 5

// WithTx runs fn in a transaction: it joins the one already in ctx, or begins
// one and commits it when fn returns nil. A transaction that fails on a
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// is retried from the start a bounded number of times, so fn must do nothing
// outside the database that cannot be repeated. So is one that could not
// begin because its connection was lost (nothing of it ran): the pool
// opens a new one.
//
// A transaction it begins reads db's clock once, when it begins: that is its
// time (Clock.Now), which GORM also stamps on the rows it creates and
// updates, so that everything the transaction writes carries one time.
func (db *DB) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		state := &tx{now: db.clock.read(), afterCommit: new([]func())}
		err = db.root.WithContext(ctx).Transaction(func(conn *gorm.DB) error {
			state.conn = conn.Session(&gorm.Session{NowFunc: func() time.Time { return state.now }})
			return fn(context.WithValue(ctx, txKey{}, state))
		})
		if err == nil {
			for _, f := range *state.afterCommit {
				f()
			}
			return nil
		}
		err = db.checkLost(err)
		notBegun := state.conn == nil && DatabaseFailure(err) == ErrUnavailable
		// A lock or statement timeout is not run again: it would wait as
		// long again; the client is told BUSY and may retry.
		if !(retryable(err) || notBegun) || ctx.Err() != nil {
			return err
		}
		db.retries.Add(1)
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
	return err
}

// checkLost marks a network error of the driver (see markLost) and, when
// err says the database was lost, closes the pool's idle connections: the
// server that ended this one (a restart, an operator terminating backends)
// has most likely ended them too, and each would fail one request before
// the pool noticed.
func (db *DB) checkLost(err error) error {
	err = markLost(err)
	if DatabaseFailure(err) == ErrUnavailable {
		db.SQL.SetMaxIdleConns(0)
		db.SQL.SetMaxIdleConns(db.maxIdle)
	}
	return err
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// DatabaseFailure classifies an error of the database that is a passing
// condition rather than a bug or a refusal, and so worth the client's retry:
//
//   - ErrUnavailable: the database cannot be reached: a connection refused,
//     reset or lost, a connection attempt that timed out, the server
//     shutting down or starting up (57P01, 57P02, 57P03), a connection
//     exception (08xxx), too many connections (53300);
//   - ErrBusy: a lock or statement timeout (55P03, 57014), or a deadlock,
//     serialization failure or busy SQLite database still failing after
//     WithTx's retries;
//   - ErrTimedOut: the request's own time ran out (its context's deadline)
//     while it waited for the database.
//
// It returns nil for anything else. This is the one place that decides;
// the GraphQL error presenter and the REST error handler map what it
// returns.
func DatabaseFailure(err error) *Error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimedOut
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return ErrUnavailable
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "53300":
			return ErrUnavailable
		case pgErr.Code == "55P03", pgErr.Code == "57014", retryable(err):
			return ErrBusy
		}
		return nil
	}
	var lost *lostConnection
	if errors.As(err, &lost) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return ErrUnavailable
	}
	if retryable(err) {
		return ErrBusy
	}
	return nil
}

// lostConnection marks a network error of the database driver (the
// connection reset or cut mid-statement), so that DatabaseFailure tells it
// from a network error of another service.
type lostConnection struct{ err error }

func (l *lostConnection) Error() string { return l.err.Error() }
func (l *lostConnection) Unwrap() error { return l.err }

// markLost wraps err in lostConnection when it is a network error; the
// database layer calls it on every error it returns.
func markLost(err error) error {
	var lost *lostConnection
	if errors.As(err, &lost) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // a request that ended is not a database that went away
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return &lostConnection{err}
	}
	return err
}

// ForUpdate locks the rows q reads until the transaction ends. On PostgreSQL it
// is SELECT ... FOR UPDATE; SQLite needs nothing, because every transaction
// already holds the database's write lock from its start.
func (db *DB) ForUpdate(q *gorm.DB) *gorm.DB {
	if db.Dialect == Postgres {
		return q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}

// ForNoKeyUpdate is ForUpdate for a change that leaves the row's key alone:
// on PostgreSQL SELECT ... FOR NO KEY UPDATE, which rows of other tables
// referencing this one (a notification, a ledger entry of the owner) do not
// wait for, so that it makes no lock cycle with transactions that insert
// them while holding other locks.
func (db *DB) ForNoKeyUpdate(q *gorm.DB) *gorm.DB {
	if db.Dialect == Postgres {
		return q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	return q
}

// WithinDays is the SQL condition that the time in column later falls in
// the days days from the time in column earlier: earlier <= later <
// earlier + days days. PostgreSQL adds an interval; SQLite, which keeps
// times as text, compares Julian day numbers (millisecond precision).
func (db *DB) WithinDays(later, earlier string, days int) string {
	n := strconv.Itoa(days)
	if db.Dialect == Postgres {
		return later + " >= " + earlier + " AND " + later + " < " + earlier + " + make_interval(days => " + n + ")"
	}
	return "julianday(" + later + ") >= julianday(" + earlier + ") AND julianday(" + later + ") < julianday(" + earlier + ") + " + n
}

// IsUniqueViolation reports whether err is a unique-key violation.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Ping checks the database answers, on the readiness connection: a pool
// whose every connection is taken is busy, not unreachable.
func (db *DB) Ping(ctx context.Context) error { return db.probe.PingContext(ctx) }

// Probe is the readiness connection, for checks beside Ping (such as
// pending migrations) that must not queue behind requests.
func (db *DB) Probe() *sql.DB { return db.probe }

// storedTimeLayouts are how a timestamp computed in SQL reaches Go as text:
// database/sql formats PostgreSQL's as RFC 3339; SQLite gives the text the
// driver stored.
var storedTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// ParseStoredTime reads, in UTC, a timestamp a query computed (a subquery's
// or an aggregate's), which both dialects hand over as text.
func ParseStoredTime(s string) (time.Time, error) {
	var err error
	for _, layout := range storedTimeLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

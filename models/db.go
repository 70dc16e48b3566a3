package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
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
	Dialect    Dialect
	statements *atomic.Int64
	retries    *atomic.Int64
	live       *hub
	stopLive   context.CancelFunc
}

// Now is the clock every stored timestamp comes from: UTC, truncated to the
// microsecond so that both dialects round-trip it exactly.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// NowOr is the time of a service's injectable clock as the database keeps
// times (UTC, to the microsecond), or Now when the service has none.
func NowOr(clock func() time.Time) time.Time {
	if clock == nil {
		return Now()
	}
	return clock().UTC().Truncate(time.Microsecond)
}

// SQLitePath is where the embedded database lives inside dataDir.
func SQLitePath(dataDir string) string { return filepath.Join(dataDir, "ownerhub.db") }

// Open connects to PostgreSQL when databaseURL is set, otherwise opens (and
// creates) the embedded SQLite database in dataDir.
func Open(databaseURL, dataDir string, log *slog.Logger) (*DB, error) {
	cfg := &gorm.Config{
		NowFunc:                Now,
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // every write that needs one runs inside WithTx
		TranslateError:         true,
	}
	if databaseURL != "" {
		g, err := gorm.Open(postgres.Open(databaseURL), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		if err := sqlDB.Ping(); err != nil {
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		db, err := newDB(g, sqlDB, Postgres)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		db.stopLive = cancel
		go db.listen(ctx, databaseURL, log)
		return db, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	g, err := gorm.Open(sqlite.Open(sqliteDSN(SQLitePath(dataDir))), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// WAL lets readers run beside the one writer; _txlock=immediate makes every
	// transaction take the write lock when it begins, so concurrent writers
	// queue on the busy timeout instead of failing on a lock upgrade.
	sqlDB.SetMaxOpenConns(8)
	if err := sqlDB.Ping(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if log != nil {
		log.Debug("opened embedded database", "path", SQLitePath(dataDir))
	}
	db, err := newDB(g, sqlDB, SQLite)
	if err != nil {
		return nil, err
	}
	close(db.live.ready)
	return db, nil
}

func newDB(g *gorm.DB, sqlDB *sql.DB, d Dialect) (*DB, error) {
	db := &DB{root: g, SQL: sqlDB, Dialect: d, statements: new(atomic.Int64), retries: new(atomic.Int64), live: newHub(), stopLive: func() {}}
	count := func(*gorm.DB) { db.statements.Add(1) }
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

// TxRetries is how many transactions WithTx ran again after a deadlock, a
// serialization failure or a busy database: a lock order that two
// operations disagree on shows up here.
func (db *DB) TxRetries() int64 { return db.retries.Load() }

func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(30000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// Close closes the connection pool.
func (db *DB) Close() error {
	db.stopLive()
	return db.SQL.Close()
}

type txKey struct{}

// tx is the transaction running in a context, with what must happen only
// once it has committed.
type tx struct {
	conn        *gorm.DB
	afterCommit []func()
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
	return db.root.WithContext(ctx)
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool { return txState(ctx) != nil }

const maxTxAttempts = 5

// WithTx runs fn in a transaction: it joins the one already in ctx, or begins
// one and commits it when fn returns nil. A transaction that fails on a
// serialization failure or deadlock (PostgreSQL) or a busy database (SQLite)
// is retried from the start a bounded number of times, so fn must do nothing
// outside the database that cannot be repeated.
func (db *DB) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if InTx(ctx) {
		return fn(ctx)
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		state := &tx{}
		err = db.root.WithContext(ctx).Transaction(func(conn *gorm.DB) error {
			state.conn = conn
			return fn(context.WithValue(ctx, txKey{}, state))
		})
		if err == nil {
			for _, f := range state.afterCommit {
				f()
			}
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		db.retries.Add(1)
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
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

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

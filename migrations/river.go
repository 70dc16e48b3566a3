package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverDriver is River's driver for the dialect over the project's own pool:
// database/sql on both, so that a job is inserted with the *sql.Tx of the
// operation's transaction.
func RiverDriver(db *sql.DB, dialect string) (riverdriver.Driver[*sql.Tx], error) {
	switch dialect {
	case "postgres":
		return riverdatabasesql.New(db), nil
	case "sqlite":
		return riversqlite.New(db), nil
	}
	return nil, fmt.Errorf("unknown dialect %q", dialect)
}

// riverLock is the PostgreSQL advisory lock that serializes River's
// migrations across instances starting at once (goose's own lock is released
// by then).
const riverLock = 0x6f68_7269 // "ohri"

// riverUp applies River's pending migrations, each in its own transaction
// (one of them adds an enum value that a later statement uses, which
// PostgreSQL refuses in one transaction). On PostgreSQL a session holding
// riverLock runs them, so that of several instances starting at once one
// migrates and the others find nothing to do.
func riverUp(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) error {
	driver, err := RiverDriver(db, dialect)
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if dialect == "postgres" {
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate river: %w", err)
		}
		defer func() { _ = conn.Close() }()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", riverLock); err != nil {
			return fmt.Errorf("migrate river: %w", err)
		}
		// Unlocked with its own context: the lock must not outlive a
		// cancelled migration on a pooled connection.
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", riverLock)
		}()
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// riverPending reports whether River has migrations left to apply.
func riverPending(ctx context.Context, db *sql.DB, dialect string) (bool, error) {
	driver, err := RiverDriver(db, dialect)
	if err != nil {
		return false, err
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(nil)})
	if err != nil {
		return false, err
	}
	have, err := m.ExistingVersions(ctx)
	if err != nil {
		// No river_migration table yet (or no answer): not migrated.
		return true, nil
	}
	return len(have) < len(m.AllVersions()), nil
}

// quiet is log, or a logger that drops River's info lines about each step.
func quiet(log *slog.Logger) *slog.Logger {
	if log != nil {
		return log
	}
	return slog.New(slog.DiscardHandler)
}

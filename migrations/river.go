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

// riverUp applies River's pending migrations one version per transaction
// (one of them adds an enum value that a later version uses, which
// PostgreSQL refuses in one transaction), on one connection of the pool, so
// that a pool of one connection does too. On PostgreSQL each transaction
// first takes riverLock: of several instances starting at once one applies
// a version and the others find it applied.
func riverUp(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) error {
	driver, err := RiverDriver(db, dialect)
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	for {
		applied, err := riverStep(ctx, db, dialect, m)
		if err != nil {
			return fmt.Errorf("migrate river: %w", err)
		}
		if !applied {
			return nil
		}
	}
}

// riverStep applies River's next pending migration, if any, in a
// transaction of its own.
func riverStep(ctx context.Context, db *sql.DB, dialect string, m *rivermigrate.Migrator[*sql.Tx]) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }() // after Commit, a no-op
	if dialect == "postgres" {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", riverLock); err != nil {
			return false, err
		}
	}
	// Deprecated because versions batched in one transaction may fail;
	// here each transaction holds one version (MaxSteps 1), which Migrate
	// does too, but Migrate cannot run under our lock on a pool of one.
	//lint:ignore SA1019 one version per transaction, as Migrate does
	res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1}) //nolint:staticcheck // one version per transaction, as Migrate does
	if err != nil {
		return false, err
	}
	return len(res.Versions) > 0, tx.Commit()
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

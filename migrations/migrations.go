// Package migrations holds the versioned, forward-only schema migrations of
// both dialects, embedded in the binary and applied with goose.
//
// postgres/ and sqlite/ hold the same versions; each file says the same thing
// in its dialect's SQL. A test checks that both sets match the models.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// provider builds a goose provider for the dialect ("postgres" or "sqlite").
func provider(db *sql.DB, dialect string, log *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	var d goose.Dialect
	switch dialect {
	case "postgres":
		d = goose.DialectPostgres
		// Several instances may start at once: one migrates, the others wait.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case "sqlite":
		d = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("unknown dialect %q", dialect)
	}
	return goose.NewProvider(d, db, sub, opts...)
}

// Up applies every pending migration, then River's (the job queue's own
// tables, see docs/decisions/0004-outbox-on-river.md), and returns how many
// of ours it applied.
func Up(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) (int, error) {
	p, err := provider(db, dialect, log)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	if err := riverUp(ctx, db, dialect, log); err != nil {
		return len(res), err
	}
	return len(res), nil
}

// UpTo applies the pending migrations up to and including version and
// returns how many it applied; a test of a migration uses it to write rows
// the way the schema before held them.
func UpTo(ctx context.Context, db *sql.DB, dialect string, version int64) (int, error) {
	p, err := provider(db, dialect, nil)
	if err != nil {
		return 0, err
	}
	res, err := p.UpTo(ctx, version)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Pending reports whether migrations remain to be applied.
func Pending(ctx context.Context, db *sql.DB, dialect string) (bool, error) {
	p, err := provider(db, dialect, nil)
	if err != nil {
		return false, err
	}
	if pending, err := p.HasPending(ctx); pending || err != nil {
		return pending, err
	}
	return riverPending(ctx, db, dialect)
}

// Versions lists the migration versions of a dialect, in order, read from
// the embedded file names (goose's convention: "<version>_<name>.sql").
func Versions(dialect string) ([]int64, error) {
	names, err := fs.Glob(files, dialect+"/*.sql")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("unknown dialect %q", dialect)
	}
	out := make([]int64, 0, len(names))
	for _, n := range names {
		base := path.Base(n)
		v, err := strconv.ParseInt(base[:strings.IndexByte(base, '_')], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", n, err)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// Digest is a digest of every migration file of a dialect: two builds with
// the same digest create the same schema (River's migrations aside, which
// come with its module's version). The tests' PostgreSQL databases are
// copies of a template migrated once per digest (models/testdb).
func Digest(dialect string) (string, error) {
	names, err := fs.Glob(files, dialect+"/*.sql")
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("unknown dialect %q", dialect)
	}
	h := sha256.New()
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return "", err
		}
		// A hash's Write never fails.
		_, _ = fmt.Fprintf(h, "%s %d\n", n, len(b))
		_, _ = h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

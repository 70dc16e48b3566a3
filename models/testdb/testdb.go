// Package testdb gives each test package a fresh, migrated database of the
// dialect under test: SQLite in a temporary directory by default, PostgreSQL
// when TEST_DATABASE_URL is set (a new database is created and dropped).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for CREATE/DROP DATABASE

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
)

// URL returns the database URL of a new, empty database for the dialect under
// test ("" for SQLite, whose data lives in a data directory) and a function
// that drops it.
func URL() (databaseURL string, drop func(), err error) {
	return newDatabase(false)
}

// MigratedURL is URL for a database that holds every migration already: on
// PostgreSQL a copy of a template database migrated once for all the test
// packages that run the same migrations (a copy takes a fraction of the
// seconds migrating takes, and the suite makes over a hundred databases).
// The caller still runs migrations.Up, which finds nothing left to apply
// unless River's own migrations changed.
func MigratedURL() (databaseURL string, drop func(), err error) {
	return newDatabase(true)
}

func newDatabase(migrated bool) (databaseURL string, drop func(), err error) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return "", func() {}, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "ownerhub_t_" + hex.EncodeToString(b)
	create := "CREATE DATABASE " + name
	if migrated {
		tpl, err := template(admin, *u)
		if err != nil {
			_ = admin.Close() // the template's error is the one to report
			return "", nil, err
		}
		create += " TEMPLATE " + tpl
	}
	if _, err := admin.Exec(create); err != nil {
		_ = admin.Close() // the failed CREATE is the error to report
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		// Best effort: a database left behind costs disk, not correctness.
		_, _ = admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
		_ = admin.Close()
	}, nil
}

// template returns the name of the migrated template database of this
// build's migrations, creating it if no test package has yet. Test packages
// run side by side, so one creates it under an advisory lock while the
// others wait; it is migrated under another name and renamed when complete,
// so a run that died half way leaves no template to copy. Templates of other
// migrations are dropped when a new one is made.
func template(admin *sql.DB, u url.URL) (string, error) {
	digest, err := migrations.Digest("postgres")
	if err != nil {
		return "", err
	}
	name := "ownerhub_tpl_" + digest[:16]
	ctx := context.Background()
	conn, err := admin.Conn(ctx) // one session: the advisory lock is held by it
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	const lockKey = 7_346_021_001 // any number of ours: the template's lock
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", fmt.Errorf("lock the test template: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey) }()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	var old []string
	rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'ownerhub_tpl_%' AND datname <> $1", name)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			_ = rows.Close()
			return "", err
		}
		old = append(old, n)
	}
	if err := rows.Close(); err != nil {
		return "", err
	}
	for _, n := range old {
		// Best effort: another build's template in use stays until next time.
		_, _ = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n)
	}
	building := name + "_new"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create the test template: %w", err)
	}
	u.Path = "/" + building
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, db, "postgres", nil)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("migrate the test template: %w", err)
	}
	// Renaming waits for no session: the migration's are closed, and
	// PostgreSQL waits a few seconds for their backends to exit.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("name the test template: %w", err)
	}
	return name, nil
}

// New returns a fresh database with every migration applied and a function
// that closes and drops it; for TestMain, where there is no testing.T.
func New() (*models.DB, func(), error) {
	dbURL, drop, err := MigratedURL()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "ownerhub-test-")
	if err != nil {
		drop()
		return nil, nil, err
	}
	cleanup := func() {
		drop()
		_ = os.RemoveAll(dir) // best effort, like drop
	}
	db, err := models.Open(dbURL, dir, nil)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open test database: %w", err)
	}

	closeAll := func() {
		_ = db.Close() // best effort, like drop
		cleanup()
	}
	if _, err := migrations.Up(context.Background(), db.SQL, string(db.Dialect), nil); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("migrate test database: %w", err)
	}
	return db, closeAll, nil
}

// Open returns a fresh database with every migration applied, closed and
// dropped when the test ends.
func Open(t testing.TB) *models.DB {
	t.Helper()
	db, cleanup, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return db
}

// Instances opens n handles, each with its own connection pool as n server
// instances would have, on one new PostgreSQL database, migrated and given
// to prepare (nil: nothing) once; closed and dropped when the test ends. On
// SQLite, which serves one process, it returns nil: the caller skips or
// shares its one database.
func Instances(t testing.TB, n int, prepare func(*models.DB) error) []*models.DB {
	t.Helper()
	dbURL, drop, err := MigratedURL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	if dbURL == "" {
		return nil
	}
	dbs := make([]*models.DB, n)
	for i := range dbs {
		db, err := models.Open(dbURL, t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	if _, err := migrations.Up(context.Background(), dbs[0].SQL, string(dbs[0].Dialect), nil); err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		if err := prepare(dbs[0]); err != nil {
			t.Fatal(err)
		}
	}
	return dbs
}

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
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
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

// New returns a fresh database with every migration applied and a function
// that closes and drops it; for TestMain, where there is no testing.T.
func New() (*models.DB, func(), error) {
	dbURL, drop, err := URL()
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
	dbURL, drop, err := URL()
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

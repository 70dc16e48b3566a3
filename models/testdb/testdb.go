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
// test ("" for SQLite, whose data lives in dataDir) and a function that drops it.
func URL(t testing.TB) (databaseURL string, drop func()) {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		return "", func() {}
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "ownerhub_t_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = admin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
		admin.Close()
	}
}

// Open returns a fresh database with every migration applied, closed and
// dropped when the test ends.
func Open(t testing.TB) *models.DB {
	t.Helper()
	dbURL, drop := URL(t)
	db, err := models.Open(dbURL, t.TempDir(), nil)
	if err != nil {
		drop()
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		drop()
	})
	if _, err := migrations.Up(context.Background(), db.SQL, string(db.Dialect), nil); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

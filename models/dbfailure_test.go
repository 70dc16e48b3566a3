package models_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ownerhub/ownerhub/models"
)

// Which database errors are passing conditions a client should retry.
func TestDatabaseFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgx.Connect(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if refused == nil {
		t.Fatal("a connection to port 1 succeeded")
	}
	pg := func(code string) error { return fmt.Errorf("update owner: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		name string
		err  error
		want models.Code // "" for none
	}{
		{"no error", nil, ""},
		{"connection refused", refused, models.CodeUnavailable},
		{"administrator shutdown", pg("57P01"), models.CodeUnavailable},
		{"crash shutdown", pg("57P02"), models.CodeUnavailable},
		{"starting up", pg("57P03"), models.CodeUnavailable},
		{"connection failure", pg("08006"), models.CodeUnavailable},
		{"too many connections", pg("53300"), models.CodeUnavailable},
		{"bad pooled connection", fmt.Errorf("query: %w", driver.ErrBadConn), models.CodeUnavailable},
		{"lock timeout", pg("55P03"), models.CodeBusy},
		{"statement timeout", pg("57014"), models.CodeBusy},
		{"deadlock after the retries", pg("40P01"), models.CodeBusy},
		{"serialization failure after the retries", pg("40001"), models.CodeBusy},
		{"SQLite busy after the retries", errors.New("database is locked (5) (SQLITE_BUSY)"), models.CodeBusy},
		{"unique violation", pg("23505"), ""},
		{"syntax error", pg("42601"), ""},
		{"the request's own deadline", fmt.Errorf("find owner: %w", context.DeadlineExceeded), models.CodeUnavailable},
		{"another service's network error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, ""},
		{"a domain refusal", models.ErrConflict, ""},
	} {
		got := models.DatabaseFailure(c.err)
		if (got == nil) != (c.want == "") || (got != nil && got.Code != c.want) {
			t.Errorf("%s: %v, want %q", c.name, got, c.want)
			continue
		}
		if got != nil && (!got.Retryable() || got.RetryAfterSeconds <= 0 || got.Refusal() ||
			got.Message("zh") == "" || got.Message("en") == "") {
			t.Errorf("%s: %+v is not a retryable error with messages and a wait", c.name, got)
		}
	}
}

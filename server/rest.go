package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
)

// readyz answers 200 when the database answers and every migration is
// applied, 503 otherwise, so a load balancer sends no traffic before that.
func readyz(db *models.DB) echo.HandlerFunc {
	// Migrations only move forward: once every one is applied, later probes
	// need not ask again.
	var migrated atomic.Bool
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
		}
		if !migrated.Load() {
			pending, err := migrations.Pending(ctx, db.SQL, string(db.Dialect))
			if err != nil || pending {
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "migrations pending"})
			}
			migrated.Store(true)
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI 3 description of the REST routes.
func openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}

func graphiQL() http.HandlerFunc {
	return playground.Handler("OwnerHub GraphiQL", "/graphql")
}

func writeJSON(c echo.Context, v any) error {
	return json.NewEncoder(c.Response()).Encode(v)
}

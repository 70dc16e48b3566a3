package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
)

// readyz answers 200 when this instance should get traffic: the database
// answers on the readiness connection (not the request pool, which may be
// merely busy), every migration is applied, the live-updates listener
// hears other instances, and the server is not draining for shutdown.
// Otherwise 503, with the reason, so that a load balancer sends elsewhere.
func readyz(db *models.DB, draining *atomic.Bool) echo.HandlerFunc {
	// Migrations only move forward: once every one is applied, later probes
	// need not ask again.
	var migrated atomic.Bool
	return func(c echo.Context) error {
		body := map[string]string{"status": "ready", "database": "ok", "liveUpdates": db.LiveState()}
		unready := func(reason string) error {
			body["status"], body["reason"] = "unavailable", reason
			return c.JSON(http.StatusServiceUnavailable, body)
		}
		if draining.Load() {
			return unready("draining")
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			body["database"] = "unreachable"
			return unready("database unreachable")
		}
		if !migrated.Load() {
			pending, err := migrations.Pending(ctx, db.Probe(), string(db.Dialect))
			if err != nil || pending {
				return unready("migrations pending")
			}
			migrated.Store(true)
		}
		if body["liveUpdates"] == "not listening" {
			return unready("live updates not listening")
		}
		return c.JSON(http.StatusOK, body)
	}
}

//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI 3 description of the REST routes.
func openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}

func writeJSON(c echo.Context, v any) error {
	return json.NewEncoder(c.Response()).Encode(v)
}

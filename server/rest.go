package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
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

// graphiQL serves the development-only GraphiQL page with a
// Content-Security-Policy that lets it run its own inline script (by hash)
// and what it loads from its CDN, and nothing else.
func graphiQL() echo.HandlerFunc {
	page := playground.Handler("OwnerHub GraphiQL", "/graphql")
	rec := httptest.NewRecorder()
	page(rec, httptest.NewRequest(http.MethodGet, "/graphiql", nil))
	csp := graphiQLPolicy(rec.Body.String())
	return func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", csp)
		page(c.Response(), c.Request())
		return nil
	}
}

var (
	inlineScriptRE = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	scriptOriginRE = regexp.MustCompile(`<script\s[^>]*src="(https://[^/"]+)/`)
	styleOriginRE  = regexp.MustCompile(`<link\s[^>]*href="(https://[^/"]+)/`)
)

// graphiQLPolicy is the CSP of a GraphiQL page: default deny; its scripts
// by origin and inline ones by hash; styles from its CDN and inline (the
// editor sets style attributes); requests to this server only.
func graphiQLPolicy(page string) string {
	origins := func(re *regexp.Regexp) []string {
		var out []string
		for _, m := range re.FindAllStringSubmatch(page, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		return out
	}
	scripts := origins(scriptOriginRE)
	for _, m := range inlineScriptRE.FindAllStringSubmatch(page, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	styles := origins(styleOriginRE)
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src " + strings.Join(append(styles, "'unsafe-inline'"), " "),
		"font-src " + strings.Join(append(styles, "data:"), " "),
		"img-src 'self' data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func writeJSON(c echo.Context, v any) error {
	return json.NewEncoder(c.Response()).Encode(v)
}

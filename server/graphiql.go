package main

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/labstack/echo/v4"
)

// graphiQLAssets are GraphiQL's scripts and stylesheet, and React's, served
// from the binary: the page works offline and runs no CDN's code
// (graphiql/README.md says where they come from).
//
//go:embed graphiql/*.js graphiql/*.css
var graphiQLAssets embed.FS

const graphiQLAssetPath = "/graphiql/assets/"

// graphiQLRoutes serves the development-only GraphiQL page and its assets,
// with a Content-Security-Policy that lets the page run its own inline
// script (by hash) and what it loads from this server, and nothing else.
func graphiQLRoutes(e *echo.Echo) {
	asset := func(name string) (url, sri string) {
		raw, err := graphiQLAssets.ReadFile("graphiql/" + name)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		sum := sha256.Sum256(raw)
		return graphiQLAssetPath + name, "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	js, jsSRI := asset("graphiql.min.js")
	css, cssSRI := asset("graphiql.min.css")
	react, reactSRI := asset("react.production.min.js")
	reactDOM, reactDOMSRI := asset("react-dom.production.min.js")
	page := playground.Handler("OwnerHub GraphiQL", "/graphql",
		playground.WithGraphiqlVersion(js, css, jsSRI, cssSRI),
		playground.WithGraphiqlReactVersion(react, reactDOM, reactSRI, reactDOMSRI))
	rec := httptest.NewRecorder()
	page(rec, httptest.NewRequest(http.MethodGet, "/graphiql", nil))
	csp := graphiQLPolicy(rec.Body.String())
	e.GET("/graphiql", func(c echo.Context) error {
		c.Response().Header().Set("Content-Security-Policy", csp)
		page(c.Response(), c.Request())
		return nil
	})
	e.GET(graphiQLAssetPath+":name", func(c echo.Context) error {
		name := path.Base(c.Param("name"))
		raw, err := graphiQLAssets.ReadFile("graphiql/" + name)
		if err != nil {
			return echo.ErrNotFound
		}
		typ := "text/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".css") {
			typ = "text/css; charset=utf-8"
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, typ, raw)
	})
}

var inlineScriptRE = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// graphiQLPolicy is the CSP of the GraphiQL page: default deny; scripts
// from this server and its inline ones by hash; styles and fonts from this
// server and inline (the editor sets style attributes, the stylesheet
// carries its fonts as data: URLs); requests to this server only.
func graphiQLPolicy(page string) string {
	scripts := []string{"'self'"}
	for _, m := range inlineScriptRE.FindAllStringSubmatch(page, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src 'self' 'unsafe-inline'",
		"font-src 'self' data:",
		"img-src 'self' data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

package main

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
)

// schemaHandler serves the published schema (graph.SDL, the text of the
// committed schema.graphql) for graphql-codegen and the like: to anyone in
// development, and in production, where introspection is off, to signed-in
// staff only (docs/transport.md).
func schemaHandler(production bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		if production {
			who, ok := auth.PrincipalFrom(c.Request().Context())
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer`)
				return models.ErrUnauthenticated
			}
			if !who.IsStaff() {
				return models.ErrForbidden
			}
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		}
		return c.Blob(http.StatusOK, "application/graphql; charset=utf-8", graph.SDL())
	}
}

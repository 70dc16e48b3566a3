// Package graph is the GraphQL layer: the schema (schema/*.graphqls), gqlgen's
// generated code, and thin resolvers that read the caller from the context,
// call one domain operation and map its result.
package graph

import (
	"log/slog"

	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

// Resolver holds the services resolvers call; nothing else.
type Resolver struct {
	DB     *models.DB
	SignIn *signin.Service
	Log    *slog.Logger
}

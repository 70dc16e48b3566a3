package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ownerhub/ownerhub/graph/generated"
	"github.com/ownerhub/ownerhub/graph/limits"
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
)

// Limits are the abuse limits every document meets before any resolver runs.
type Limits struct {
	// ParserTokens caps the tokens of a document (gqlgen's default is
	// unlimited): a flood of aliases or directives is refused while parsing.
	ParserTokens int
	// Depth caps nesting of selection sets.
	Depth int
	// Complexity caps the summed cost of a document, where a list costs its
	// page size times its elements' cost.
	Complexity int
}

// DefaultLimits suit the owner app, the mini-program and staff tools.
var DefaultLimits = Limits{ParserTokens: 5000, Depth: 12, Complexity: 5000}

// Options configure the GraphQL handler.
type Options struct {
	Resolver *Resolver
	Limits   Limits
	// Development enables introspection and field suggestions.
	Development bool
}

// NewHandler builds the GraphQL HTTP handler with explicit transports (POST
// and GET per GraphQL over HTTP), the @auth directive, dataloaders per
// operation, the abuse limits and the error presenter.
func NewHandler(o Options) *handler.Server {
	cfg := generated.Config{Resolvers: o.Resolver}
	cfg.Directives.Auth = authDirective
	cfg.Complexity = complexity()
	srv := handler.New(generated.NewExecutableSchema(cfg))

	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(o.Limits.ParserTokens)
	srv.Use(limits.Depth{Max: o.Limits.Depth})
	srv.Use(extension.FixedComplexityLimit(o.Limits.Complexity))
	if o.Development {
		srv.Use(extension.Introspection{})
		srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	} else {
		srv.SetDisableSuggestion(true)
	}

	db := o.Resolver.DB
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(WithLoaders(ctx, db))
	})
	srv.SetErrorPresenter(ErrorPresenter(o.Resolver.Log))
	srv.SetRecoverFunc(Recover(o.Resolver.Log))
	return srv
}

// complexity prices fields whose cost is not 1: a connection costs its page
// size times what each element selects, and each sign-in attempt is dear so
// that one document cannot carry a burst of them under aliases.
func complexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot
	c.Query.Owners = func(child int, _ string, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.Stores = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Owner.Vehicles = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Staff.Stores = func(child int) int { return 10 * (child + 1) }
	c.Store.OpeningHours = func(child int) int { return 7 * (child + 1) }
	c.Mutation.RequestLoginCode = func(child int, _ model.RequestLoginCodeInput) int { return signInCost + child }
	c.Mutation.VerifyLoginCode = func(child int, _ model.VerifyLoginCodeInput) int { return signInCost + child }
	c.Mutation.LoginWithWeChat = func(child int, _ model.LoginWithWeChatInput) int { return signInCost + child }
	c.Mutation.StaffLogin = func(child int, _ model.StaffLoginInput) int { return signInCost + child }
	c.Mutation.RefreshSession = func(child int, _ model.RefreshSessionInput) int { return signInCost + child }
	return c
}

// signInCost makes a document hold at most a handful of sign-in attempts.
const signInCost = 1000

func pageCost(child int, first *int) int {
	n := models.DefaultPageSize
	if first != nil && *first > 0 {
		n = *first
	}
	return 1 + n*(child+1)
}

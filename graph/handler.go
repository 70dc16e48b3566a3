package graph

import (
	"context"
	"errors"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph/generated"
	"github.com/ownerhub/ownerhub/graph/limits"
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/wallet"
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
	// ValidationWork caps the work of validating a document, measured before
	// validation runs (limits.Cost): a document of fragments spread many
	// times, or of many copies of one field, is refused in milliseconds.
	ValidationWork int
}

// DefaultLimits suit the owner app, the mini-program and staff tools.
var DefaultLimits = Limits{ParserTokens: 5000, Depth: 12, Complexity: 5000, ValidationWork: 50000}

// Options configure the GraphQL handler.
type Options struct {
	Resolver *Resolver
	Limits   Limits
	// Development enables introspection and field suggestions.
	Development bool
	// Authenticate verifies the bearer token a WebSocket client sends in its
	// connection_init payload (browsers cannot set headers on WebSockets).
	Authenticate func(token string) (*auth.Principal, error)
	// WebSocketOrigins are the host patterns (e.g. "app.example.com") whose
	// pages may open subscriptions; clients that send no Origin (apps,
	// mini-programs, screens) are always accepted.
	WebSocketOrigins []string
	// Admit, when set, runs before every operation that passed the limits;
	// an error refuses the operation, presented as a resolver's error is.
	// The signed-in owner's rows it returns, if any, are the operation's
	// me and its home store (read once, with the check).
	Admit func(ctx context.Context) (Admitted, error)
	// Failed, when set, is told of each operation that failed on a passing
	// database condition (UNAVAILABLE or BUSY), once per operation.
	Failed func(models.Code)
	// LiveRetry is how subscriptions read again after a passing database
	// failure (zero: DefaultRetry).
	LiveRetry Retry
	// Documents keeps the documents of automatic persisted queries for
	// every instance (nil: no persisted queries).
	Documents DocumentStore
	// TrustedDocuments, when set, is the allow-list of the only documents
	// served (by hash or in full); Documents is then not used.
	TrustedDocuments TrustedDocuments
	// Observer, when set, is told of every answer and of the
	// subscriptions that start and end (metrics).
	Observer Observer
	// WebSocketInitTimeout is how long a WebSocket may wait before sending
	// connection_init (zero: DefaultWebSocketInitTimeout); past it the
	// connection is closed with 4408.
	WebSocketInitTimeout time.Duration
}

// DefaultWebSocketInitTimeout is how long a new WebSocket has to send
// connection_init.
const DefaultWebSocketInitTimeout = 10 * time.Second

// Admitted is what an operation's admission read of the signed-in owner:
// their row and home store (nil when not read).
type Admitted struct {
	Owner     *models.Owner
	HomeStore *models.Store
}

// NewHandler builds the GraphQL HTTP handler with explicit transports (POST
// and GET per GraphQL over HTTP, see httpTransport; WebSocket), the @auth directive, dataloaders per
// operation, the abuse limits and the error presenter.
func NewHandler(o Options) *handler.Server {
	cfg := generated.Config{Resolvers: o.Resolver}
	cfg.Directives.Auth = authDirective
	cfg.Complexity = complexity()
	schema := generated.NewExecutableSchema(cfg)
	srv := handler.New(schema)

	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{})
	initTimeout := o.WebSocketInitTimeout
	if initTimeout <= 0 {
		initTimeout = DefaultWebSocketInitTimeout
	}
	srv.AddTransport(&transport.Websocket{
		// The protocol's rules and close codes are kept by
		// protocolWebsocket, the initialisation timeout included.
		Implementation: protocolWebsocket{
			inner: transport.CoderWebsocketImplementation{
				AcceptOptions: coderws.AcceptOptions{OriginPatterns: o.WebSocketOrigins},
			},
			initTimeout: initTimeout,
		},
		InitFunc:              wsInit(o.Authenticate),
		CloseFunc:             wsClose,
		KeepAlivePingInterval: 15 * time.Second,
	})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(o.Limits.ParserTokens)
	srv.Use(limits.Depth{Max: o.Limits.Depth})
	srv.Use(&limits.Complexity{Limit: o.Limits.Complexity})
	if o.Development {
		srv.Use(extension.Introspection{})
	}
	// After the depth and complexity limits: a document is registered
	// only once it passed them (persistedDocuments.MutateOperationContext).
	if o.Documents != nil || o.TrustedDocuments != nil {
		srv.Use(&persistedDocuments{Store: o.Documents, Trusted: o.TrustedDocuments, Log: o.Resolver.Log})
	}
	if !o.Development {
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	// After persisted queries, which fill in the document it prices.
	srv.Use(limits.Cost{Tokens: o.Limits.ParserTokens, Fields: o.Limits.Complexity, Work: o.Limits.ValidationWork,
		Measures: lru.New[limits.DocumentMeasure](1000)})

	present := ErrorPresenter(o.Resolver.Log, o.Failed)
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		op := graphql.GetOperationContext(ctx).Operation
		if overWebSocket(ctx) && (op == nil || op.Operation != ast.Subscription) {
			// Queries and mutations go over HTTP, where rate limits and
			// token expiry apply to each request.
			resp := graphql.ErrorResponse(ctx, "only subscriptions are served over WebSocket; send queries and mutations over HTTP")
			observe(ctx, o.Observer, resp)
			return graphql.OneShot(resp)
		}
		state := &operation{log: o.Resolver.Log, retry: o.LiveRetry}
		ctx = withOperation(ctx, state)
		var me Admitted
		if o.Admit != nil {
			var err error
			if me, err = o.Admit(ctx); err != nil {
				resp := &graphql.Response{Errors: gqlerror.List{present(ctx, err)}}
				state.note(resp)
				observe(ctx, o.Observer, resp)
				return graphql.OneShot(resp)
			}
		}
		if op != nil && op.Operation == ast.Subscription {
			// A subscription lives long and sends many results: its
			// loaders batch but must not cache, or later results would
			// repeat what the first one read.
			subscribed(ctx, o.Observer)
			return next(WithLoaders(ctx, o.Resolver, false))
		}
		ctx = WithLoaders(ctx, o.Resolver, true)
		if op != nil {
			loaders(ctx).sched = newScheduler(schema.Schema(), graphql.GetOperationContext(ctx), o.Resolver.Log)
		}
		if op != nil && op.Operation == ast.Query {
			// A mutation's me reads the row it changed.
			l := loaders(ctx)
			l.me = me.Owner
			if me.HomeStore != nil {
				l.Store.Prime(me.HomeStore.ID, me.HomeStore)
			}
		}
		return next(ctx)
	})
	// The loaders' scheduler counts the fields as they resolve.
	srv.AroundFields(countFields)
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if s := schedulerOf(ctx); s != nil && resp != nil {
			s.end(ctx)
		}
		state := operationOf(ctx)
		if resp == nil {
			// A subscription's stream ended: on an error, the client is
			// told which before the stream completes.
			if err := state.takeEnd(); err != nil {
				resp = streamEnd(ctx, present, err)
				observe(ctx, o.Observer, resp)
				return resp
			}
			return nil
		}
		state.note(resp)
		observe(ctx, o.Observer, resp)
		return resp
	})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		unresolved(ctx)
		return present(ctx, err)
	})
	srv.SetRecoverFunc(Recover(o.Resolver.Log))
	return srv
}

// rulesWithoutSuggestions is gqlparser's rule set with every rule that
// suggests names that exist ("Did you mean ...") swapped for its silent
// variant: arguments, directive arguments, enum values, input fields and
// types, besides the fields and leaves gqlgen's SetDisableSuggestion covers.
// Without introspection, suggestions would give the schema away one guess
// at a time.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range []struct{ suggests, silent core.Rule }{
		{rules.FieldsOnCorrectTypeRule, rules.FieldsOnCorrectTypeRuleWithoutSuggestions},
		{rules.ScalarLeafsRule, rules.ScalarLeafsRuleWithoutSuggestions},
		{rules.KnownArgumentNamesRule, rules.KnownArgumentNamesRuleWithoutSuggestions},
		{rules.KnownTypeNamesRule, rules.KnownTypeNamesRuleWithoutSuggestions},
		{rules.ValuesOfCorrectTypeRule, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap.suggests.Name)
		r.AddRule(swap.silent.Name, swap.silent.RuleFunc)
	}
	return r
}

// wsInit authenticates a WebSocket connection from the Authorization entry of
// its connection_init payload ("Bearer <token>"). A connection without one
// stays anonymous (or keeps the principal of its upgrade request's header);
// a bad token closes it with 4403 (CloseForbidden).
//
// The connection ends when the token expires: a subscription must not
// outlive the access it was granted with. The acknowledgement carries no
// payload (never the token back).
func wsInit(authenticate func(string) (*auth.Principal, error)) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		conn := &wsConn{}
		ctx = context.WithValue(ctx, wsKey{}, conn)
		if who, ok := auth.PrincipalFrom(ctx); ok {
			ctx = conn.until(ctx, who.ExpiresAt)
		}
		h := p.Authorization()
		if h == "" || authenticate == nil {
			return ctx, nil, nil
		}
		// A refused init closes with 4403 Forbidden, which the standard
		// client does not retry at once (1000 it would, forever).
		refused := transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, CloseForbidden), "Forbidden")
		tok, ok := auth.BearerToken(h)
		if !ok {
			return refused, nil, errors.New("authorization must be \"Bearer <token>\"")
		}
		who, err := authenticate(tok)
		if err != nil {
			return refused, nil, errors.New("access token is not valid")
		}
		return conn.until(auth.WithPrincipal(ctx, who), who.ExpiresAt), nil, nil
	}
}

type wsKey struct{}

// wsConn is what a WebSocket connection's context carries: the cancel
// functions of its deadlines, released when the connection closes.
type wsConn struct{ cancels []context.CancelFunc }

func (c *wsConn) until(ctx context.Context, t time.Time) context.Context {
	if t.IsZero() {
		return ctx
	}
	ctx, cancel := context.WithDeadline(ctx, t)
	c.cancels = append(c.cancels, cancel)
	return ctx
}

func wsClose(ctx context.Context, _ int) {
	if c, ok := ctx.Value(wsKey{}).(*wsConn); ok {
		for _, cancel := range c.cancels {
			cancel()
		}
	}
}

func overWebSocket(ctx context.Context) bool {
	_, ok := ctx.Value(wsKey{}).(*wsConn)
	return ok
}

// complexity prices fields whose cost is not 1: a connection costs its page
// size times what each element selects, and each sign-in attempt is dear so
// that one document cannot carry a burst of them under aliases.
func complexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot
	c.Query.Owners = func(child int, _ string, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.Stores = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Owner.Vehicles = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Vehicle.ServiceHistory = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Membership.Transactions = func(child int, first *int, _ *string, _ []wallet.EntryKind) int { return pageCost(child, first) }
	c.Owner.Notifications = func(child int, first *int, _ *string, _ *bool) int { return pageCost(child, first) }
	c.Owner.Appointments = func(child int, first *int, _ *string, _ *booking.Status) int { return pageCost(child, first) }
	c.Owner.AssistanceRequests = func(child int, first *int, _ *string) int { return pageCost(child, first) }
	c.Query.OpenAssistanceRequests = func(child int, _ *string, first *int, _ *string) int { return pageCost(child, first) }
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

// pageCost is what a connection costs. A page size outside 1..100 is refused
// by the resolver anyway; here it is clamped, and the product saturates, so
// that no size can overflow the sum into something small.
func pageCost(child int, first *int) int {
	n := models.DefaultPageSize
	if first != nil && *first > 0 {
		n = min(*first, models.MaxPageSize)
	}
	return 1 + n*(min(child, maxCost)+1)
}

// maxCost bounds one field's cost, far above any limit and far below overflow.
const maxCost = 1 << 40

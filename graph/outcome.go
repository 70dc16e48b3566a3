package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Outcome is what the HTTP transport learns of a GraphQL request once it
// ran: whether it failed whole (no data) on passing conditions only (every
// error retryable), and how long to wait before retrying. The server
// answers such a request 503 with Retry-After, as it does on REST.
type Outcome struct {
	mu         sync.Mutex
	retryAfter int
}

type outcomeKey struct{}

// WithOutcome returns a context whose GraphQL operation reports to the
// returned Outcome.
func WithOutcome(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// RetryAfter is the seconds to wait when the request failed whole on a
// passing condition; ok is false otherwise.
func (o *Outcome) RetryAfter() (seconds int, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.retryAfter, o.retryAfter > 0
}

// operation is what one GraphQL operation keeps between its resolvers,
// its error presenter and its responses.
type operation struct {
	log     *slog.Logger
	retry   Retry
	outcome *Outcome // nil where no HTTP answer waits (WebSocket)

	mu       sync.Mutex
	reported bool  // a database failure was logged and counted
	end      error // why a subscription's stream ended, until answered

	answers    bool     // an answer was observed (Observer)
	userErrors []string // codes of userErrors not yet observed
}

type operationKey struct{}

func withOperation(ctx context.Context, op *operation) context.Context {
	op.outcome, _ = ctx.Value(outcomeKey{}).(*Outcome)
	return context.WithValue(ctx, operationKey{}, op)
}

// operationOf is the operation running in ctx (a bare one outside an
// operation, so that callers need not check).
func operationOf(ctx context.Context) *operation {
	if op, ok := ctx.Value(operationKey{}).(*operation); ok {
		return op
	}
	return &operation{log: slog.Default()}
}

// firstFailure reports whether this is the operation's first database
// failure: one request is logged and counted once, whatever the number of
// its fields that failed with it.
func (op *operation) firstFailure() bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	first := !op.reported
	op.reported = true
	return first
}

// endWith records why a subscription's stream ends, for its last response.
func (op *operation) endWith(err error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.end = err
}

func (op *operation) takeEnd() error {
	op.mu.Lock()
	defer op.mu.Unlock()
	err := op.end
	op.end = nil
	return err
}

// note tells the outcome when resp failed whole on passing conditions.
func (op *operation) note(resp *graphql.Response) {
	if op.outcome == nil || len(resp.Errors) == 0 || !noData(resp.Data) {
		return
	}
	wait := 1
	for _, e := range resp.Errors {
		if e.Extensions["retryable"] != true {
			return
		}
		if s, ok := e.Extensions["retryAfterSeconds"].(int); ok && s > wait {
			wait = s
		}
	}
	op.outcome.mu.Lock()
	op.outcome.retryAfter = wait
	op.outcome.mu.Unlock()
}

// noData reports whether a response carries no result: no data, or only
// nulls at its root.
func noData(data json.RawMessage) bool {
	if len(data) == 0 || string(data) == "null" {
		return true
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(data, &root); err != nil {
		return false
	}
	for _, v := range root {
		if string(v) != "null" {
			return false
		}
	}
	return true
}

// streamEnd is the last response of a subscription whose stream ended on
// an error: the error, on the subscription's field, for the presenter.
func streamEnd(ctx context.Context, present graphql.ErrorPresenterFunc, err error) *graphql.Response {
	gerr := &gqlerror.Error{Err: err, Message: err.Error()}
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && len(op.SelectionSet) > 0 {
			if f, ok := op.SelectionSet[0].(*ast.Field); ok {
				gerr.Path = ast.Path{ast.PathName(f.Alias)}
			}
		}
	}
	return &graphql.Response{Errors: gqlerror.List{present(ctx, gerr)}}
}

package graph

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Observer is told what the GraphQL handler answers, for metrics.
// Its methods must be safe to call at once from many operations.
type Observer interface {
	// Answered is called for each answer: once for a query or mutation,
	// for each result of a subscription.
	Answered(Answer)
	// Subscriptions is called with +1 when a subscription starts and -1
	// when it ends, however it ends.
	Subscriptions(delta int)
}

// Answer is one answer of an operation.
type Answer struct {
	// Operation is the name the document gives the operation that ran
	// ("" for an anonymous one); Valid is false when the document did not
	// get that far (it did not parse or validate, or named no operation
	// it holds), and the name is then "".
	Operation string
	Valid     bool
	// Type is query, mutation or subscription ("" when not Valid).
	Type string
	// First is true for an operation's first answer; Duration is the time
	// from the request's start to it.
	First    bool
	Duration time.Duration
	// Errors are the extensions.code of each error of the answer;
	// UserErrors the code of each userErrors entry the operation's
	// resolvers returned since its previous answer.
	Errors     []string
	UserErrors []string
}

// observe tells o of resp, an answer of the operation in ctx.
func observe(ctx context.Context, o Observer, resp *graphql.Response) {
	if o == nil || resp == nil {
		return
	}
	a := Answer{First: true}
	if graphql.HasOperationContext(ctx) {
		rc := graphql.GetOperationContext(ctx)
		if rc.Operation != nil {
			a.Valid, a.Operation, a.Type = true, rc.Operation.Name, string(rc.Operation.Operation)
		}
		if !rc.Stats.OperationStart.IsZero() {
			a.Duration = time.Since(rc.Stats.OperationStart)
		}
	}
	if op, ok := ctx.Value(operationKey{}).(*operation); ok {
		a.First, a.UserErrors = op.answered()
	}
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		a.Errors = append(a.Errors, code)
	}
	o.Answered(a)
}

// userError notes a userErrors entry of the operation, for its Answer.
func (op *operation) userError(code string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.userErrors = append(op.userErrors, code)
}

// answered takes the userErrors codes noted since the last answer, and
// whether this is the operation's first answer.
func (op *operation) answered() (first bool, codes []string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	first = !op.answers
	op.answers = true
	codes, op.userErrors = op.userErrors, nil
	return first, codes
}

// subscribed tells o that a subscription started, and that it ended once
// ctx (the subscription's own, cancelled when it ends) is done.
func subscribed(ctx context.Context, o Observer) {
	if o == nil {
		return
	}
	o.Subscriptions(1)
	var once sync.Once
	context.AfterFunc(ctx, func() { once.Do(func() { o.Subscriptions(-1) }) })
}

// OperationNames are the names of the operations the allow-list's
// documents hold: the only names an operation run under it can have.
func (t TrustedDocuments) OperationNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, doc := range t {
		d, err := parser.ParseQuery(&ast.Source{Input: doc})
		if err != nil {
			continue
		}
		for _, op := range d.Operations {
			if op.Name != "" && !seen[op.Name] {
				seen[op.Name] = true
				names = append(names, op.Name)
			}
		}
	}
	return names
}

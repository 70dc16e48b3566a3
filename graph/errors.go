package graph

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ownerhub/ownerhub/graph/limits"
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
)

// userErrors splits a domain result: an expected refusal becomes the
// payload's userErrors; anything else stays an error for the presenter.
func userErrors(ctx context.Context, err error) ([]*model.UserError, error) {
	if err == nil {
		return []*model.UserError{}, nil
	}
	if e, ok := models.AsError(err); ok && e.Refusal() {
		ue := &model.UserError{Code: e.Code, Message: e.Message(models.Lang(ctx))}
		operationOf(ctx).userError(string(ue.Code))
		if e.Field != "" {
			ue.Field = []string{"input", e.Field}
		}
		return []*model.UserError{ue}, nil
	}
	return nil, err
}

// ErrorPresenter maps every error a resolver returns to a GraphQL error with
// a stable extensions.code, exactly once. Internal failures are logged with
// the request's id and reach the client as a bare INTERNAL error: no SQL, no
// stack, no driver message. A passing database failure (models.DatabaseFailure)
// is UNAVAILABLE or BUSY with extensions.retryable, logged once per
// operation and told to failed (nil: nobody), which counts it.
func ErrorPresenter(log *slog.Logger, failed func(models.Code)) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var already *gqlerror.Error
		if errors.As(err, &already) && already.Extensions["code"] != nil && !hasDomainError(err) {
			// Parse, validation, depth, complexity: gqlgen's own, or
			// the limits'.
			return localizeRequestError(ctx, gqlErr)
		}
		e, ok := models.AsError(err)
		if !ok {
			if e = models.DatabaseFailure(err); e != nil {
				ok = true
				if operationOf(ctx).firstFailure() {
					log.WarnContext(ctx, "database "+strings.ToLower(string(e.Code)), "err", err, "path", gqlErr.Path.String())
					if failed != nil {
						failed(e.Code)
					}
				}
			}
		}
		if ok {
			gqlErr.Message = e.Message(models.Lang(ctx))
			code := e.Code
			if e.Refusal() {
				// A refusal that reaches here came from a query, or from
				// reading a mutation's arguments (an ID, a page) before the
				// domain ran; neither has userErrors: it is the client's
				// input that is wrong. A more specific refusal code is kept
				// as the reason.
				code = models.CodeInvalidArgument
				if e.Code != models.CodeInvalidArgument {
					gqlErr.Extensions = map[string]any{"reason": string(e.Code)}
				}
			}
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			gqlErr.Extensions["code"] = string(code)
			if field := e.Field; field != "" {
				gqlErr.Extensions["field"] = field
			} else if field := inputPath(ctx, gqlErr.Path); field != "" {
				gqlErr.Extensions["field"] = field
			}
			if e.RetryAfterSeconds > 0 {
				gqlErr.Extensions["retryAfterSeconds"] = e.RetryAfterSeconds
			}
			if e.Retryable() {
				gqlErr.Extensions["retryable"] = true
			}
			return gqlErr
		}
		if errors.As(err, &already) && !hasCause(already) {
			// A gqlgen error without a Go cause: input coercion and the like.
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			if gqlErr.Extensions["code"] == nil {
				gqlErr.Extensions["code"] = string(models.CodeInvalidArgument)
			}
			return gqlErr
		}
		if errors.As(err, &already) && already.Err != nil && already.Err.Error() == "introspection disabled" {
			// gqlgen's refusal of __schema/__type in production: the
			// client asked for something switched off, nothing failed.
			gqlErr.Message = "introspection is disabled"
			if models.Lang(ctx) != "en" {
				gqlErr.Message = "本服务器未开放内省查询（introspection is disabled）"
			}
			gqlErr.Extensions = map[string]any{"code": string(models.CodeForbidden)}
			return gqlErr
		}
		log.ErrorContext(ctx, "internal error", "err", err, "path", gqlErr.Path.String())
		return &gqlerror.Error{
			Message:    internalMessage(ctx),
			Path:       gqlErr.Path,
			Extensions: map[string]any{"code": string(models.CodeInternal)},
		}
	}
}

// inputPath names, dotted ("input.items.0.name"), the argument or input
// field an error is about when reading it failed (a scalar's refusal): the
// part of the error's path below the field whose arguments were read.
func inputPath(ctx context.Context, path ast.Path) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	at := fc.Path()
	if len(path) <= len(at) || path[:len(at)].String() != at.String() {
		return ""
	}
	parts := make([]string, len(path)-len(at))
	for i, el := range path[len(at):] {
		switch el := el.(type) {
		case ast.PathName:
			parts[i] = string(el)
		case ast.PathIndex:
			parts[i] = strconv.Itoa(int(el))
		}
	}
	return strings.Join(parts, ".")
}

func hasDomainError(err error) bool {
	_, ok := models.AsError(err)
	return ok
}

func hasCause(e *gqlerror.Error) bool { return e.Err != nil }

// The codes gqlgen gives a document that does not parse or is not valid
// (errcode.ParseFailed and errcode.ValidationFailed), named here so that the
// schema's ErrorCode enum is checked against them like every other code.
const (
	CodeParseFailed      = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed = "GRAPHQL_VALIDATION_FAILED"
)

// requestErrorSummaries are the Chinese words put before the details of a
// document refused before it ran, by code. The details stay as the parser,
// the validator or the limits wrote them (in English; they quote the
// document); codes never change. Other codes (a persisted query not found,
// which clients match by message) are left alone.
var requestErrorSummaries = map[string]string{
	CodeParseFailed:                    "查询语句有语法错误",
	CodeValidationFailed:               "查询语句与接口定义不符",
	limits.CodeQueryTooDeep:            "查询嵌套层数超过上限",
	limits.CodeComplexityLimitExceeded: "查询过于复杂",
}

// localizeRequestError puts the Chinese summary before the message of a
// refused document when the caller reads Chinese.
func localizeRequestError(ctx context.Context, e *gqlerror.Error) *gqlerror.Error {
	code, _ := e.Extensions["code"].(string)
	if summary, ok := requestErrorSummaries[code]; ok && models.Lang(ctx) != "en" {
		e.Message = summary + "：" + e.Message
	}
	return e
}

func internalMessage(ctx context.Context) string {
	if models.Lang(ctx) == "en" {
		return "internal error; please try again later"
	}
	return "服务器内部错误，请稍后重试"
}

// Recover turns a panic inside a resolver into an INTERNAL error and logs it.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", p)
		return errors.New("panic in resolver")
	}
}

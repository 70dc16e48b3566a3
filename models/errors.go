package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Code is a stable, machine-readable error code. Clients branch on codes;
// messages are for people and may change.
type Code string

// Codes shared by every capability. Capabilities add their own refusal codes
// (SLOT_FULL, INSUFFICIENT_BALANCE, ...) next to their operations.
const (
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeForbidden       Code = "FORBIDDEN"
	CodeNotFound        Code = "NOT_FOUND"
	CodeConflict        Code = "CONFLICT"
	// CodeInvalidArgument is the one code for "your input is wrong",
	// wherever it is found: by the domain (a mutation's userError), by a
	// page's arguments or an ID in a query, or by a scalar before the
	// resolver runs (GraphQL errors; see graph/errors.go).
	CodeInvalidArgument Code = "INVALID_ARGUMENT"
	CodeRateLimited     Code = "RATE_LIMITED"
	CodeInternal        Code = "INTERNAL"
	// CodeUnavailable and CodeBusy are passing conditions of the database
	// (see DatabaseFailure): the same request may succeed when retried.
	CodeUnavailable Code = "UNAVAILABLE"
	CodeBusy        Code = "BUSY"
)

// Error is the one error type of the domain. Operations return it (possibly
// wrapped) for every expected refusal; anything else is an internal failure.
type Error struct {
	Code  Code
	Field string // input field the error is about, dotted ("input.vin"); empty if none
	zh    string
	en    string
	// RetryAfterSeconds is set on RATE_LIMITED, UNAVAILABLE and BUSY errors.
	RetryAfterSeconds int
}

// E builds an Error with a Chinese (default) and an English message.
func E(code Code, zh, en string) *Error {
	return &Error{Code: code, zh: zh, en: en}
}

// Ef is E with an English message built from a format.
func Ef(code Code, zh string, enFormat string, args ...any) *Error {
	return &Error{Code: code, zh: zh, en: fmt.Sprintf(enFormat, args...)}
}

// On returns a copy of e that names the input field it is about.
func (e *Error) On(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.en }

// Is lets errors.Is match on the code: errors.Is(err, ErrNotFound) holds for
// every NOT_FOUND error whatever its message.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Message returns the message in the given language ("en" or anything else
// for Chinese, the default for owners).
func (e *Error) Message(lang string) string {
	if lang == "en" || e.zh == "" {
		return e.en
	}
	return e.zh
}

// Refusal reports whether the error is an expected business refusal, which
// mutations return as userErrors, rather than an authentication, permission,
// lookup or internal failure, which are GraphQL errors.
func (e *Error) Refusal() bool {
	switch e.Code {
	case CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeRateLimited, CodeInternal,
		CodeUnavailable, CodeBusy:
		return false
	}
	return true
}

// Retryable reports whether the same request may succeed when sent again
// (after RetryAfterSeconds): the database was unreachable or busy.
func (e *Error) Retryable() bool { return e.Code == CodeUnavailable || e.Code == CodeBusy }

// AsError extracts the domain error from err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Common errors. Compare with errors.Is; build specific ones with E.
var (
	ErrUnauthenticated = E(CodeUnauthenticated, "请先登录", "authentication required")
	ErrForbidden       = E(CodeForbidden, "无权执行此操作", "not allowed")
	ErrNotFound        = E(CodeNotFound, "未找到", "not found")
	ErrConflict        = E(CodeConflict, "数据已被他人修改，请刷新后重试", "changed by someone else; reload and try again")
	ErrUnavailable     = retryAfter(E(CodeUnavailable, "服务暂时不可用，请稍后重试", "the service is briefly unavailable; try again shortly"), 2)
	ErrBusy            = retryAfter(E(CodeBusy, "数据正在被其他操作使用，请稍后重试", "the data is busy with another change; try again shortly"), 1)
	ErrTimedOut        = retryAfter(E(CodeUnavailable, "请求处理超时，请稍后重试", "the request took too long; try again shortly"), 2)
)

func retryAfter(e *Error, seconds int) *Error {
	e.RetryAfterSeconds = seconds
	return e
}

// NotFound names what was not found.
func NotFound(what string) *Error {
	return Ef(CodeNotFound, "未找到"+what, "%s not found", what)
}

// Invalid is an INVALID_ARGUMENT refusal about one input field.
func Invalid(field, zh, en string) *Error {
	return E(CodeInvalidArgument, zh, en).On(field)
}

// RateLimited refuses a request that came too often.
func RateLimited(retryAfterSeconds int) *Error {
	e := Ef(CodeRateLimited, "操作过于频繁，请稍后再试", "too many requests; retry in %d s", retryAfterSeconds)
	e.RetryAfterSeconds = retryAfterSeconds
	return e
}

type langKey struct{}

// WithLang records the caller's preferred message language ("zh" or "en").
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// Lang is the caller's message language; Chinese unless they asked for English.
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(langKey{}).(string); ok && l == "en" {
		return "en"
	}
	return "zh"
}

// NotFoundAs turns GORM's "record not found" into nf (the capability's own
// NOT_FOUND, naming what is missing); other errors pass through.
func NotFoundAs(err error, nf *Error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nf
	}
	return err
}

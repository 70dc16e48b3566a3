package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/text/language"
	"golang.org/x/time/rate"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
)

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// requestIDHandler adds the request id in the context to every log record,
// so a log line of a failure can be found from the id a client reports.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// accessLog writes one structured JSON line per request.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogRemoteIP: true,
		LogRequestID: true, LogError: true, LogResponseSize: true, LogRoutePath: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			attrs := []slog.Attr{
				slog.String("method", v.Method),
				slog.String("uri", v.URI),
				slog.String("route", v.RoutePath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("remote_ip", v.RemoteIP),
				slog.Int64("bytes_out", v.ResponseSize),
			}
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}

// writeErrors hands an error returned by a handler or a middleware to the
// error handler here, inside the access log and the metrics, so that both
// see the status and size the client got rather than guessing from the
// error.
func writeErrors() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := next(c); err != nil {
				c.Error(err)
			}
			return nil
		}
	}
}

// securityHeaders tells browsers not to guess content types and not to
// send our URLs (which may carry ids) to other sites, on every answer.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			return next(c)
		}
	}
}

// noStore keeps answers carrying personal data out of every cache.
func noStore() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			return next(c)
		}
	}
}

// graphQLStatus answers 503 with Retry-After a GraphQL request that failed
// whole on a passing condition (the database unreachable or busy), as REST
// does; a request with any result keeps its 200.
func graphQLStatus() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if isWebSocket(c) {
				return next(c)
			}
			ctx, outcome := graph.WithOutcome(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			res := c.Response()
			res.Before(func() {
				if s, ok := outcome.RetryAfter(); ok && res.Status == http.StatusOK {
					res.Header().Set("Retry-After", strconv.Itoa(s))
					res.Status = http.StatusServiceUnavailable
				}
			})
			return next(c)
		}
	}
}

// bearerOnly lets through requests bearing token only (for /metrics when
// METRICS_TOKEN is set); nobody else learns what is there.
func bearerOnly(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, _ := auth.BearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			got := sha256.Sum256([]byte(tok))
			if tok == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer`)
				return models.ErrUnauthenticated
			}
			return next(c)
		}
	}
}

// recoverPanics answers a panic with a bare 500 and logs the stack.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					err = echo.NewHTTPError(http.StatusInternalServerError)
				}
			}()
			return next(c)
		}
	}
}

// requestContext carries what domain code needs from the request: the
// caller's language (answered in Content-Language) and IP address.
func requestContext() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			lang := preferredLang(c.Request().Header.Get("Accept-Language"))
			ctx = models.WithLang(ctx, lang)
			h := c.Response().Header()
			h.Set("Content-Language", contentLanguage[lang])
			h.Add(echo.HeaderVary, "Accept-Language")
			ctx = auth.WithClientIP(ctx, clientNetwork(c.RealIP()))
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// clientNetwork is what per-client limits count by: the IPv4 address, or
// the /64 network of an IPv6 address (one subscriber line holds a whole /64,
// so counting single addresses would let it pass every limit).
func clientNetwork(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Is4() || addr.Is4In6() {
		if err == nil {
			return addr.Unmap().String()
		}
		return ip
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// requestIDPattern is what an incoming X-Request-Id may look like to be
// kept; anything else is replaced, so a client cannot write into our logs.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// sanitizeRequestID drops an incoming request id that is not a plain token.
func sanitizeRequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header
			if id := h.Get(echo.HeaderXRequestID); id != "" && !requestIDPattern.MatchString(id) {
				h.Del(echo.HeaderXRequestID)
			}
			return next(c)
		}
	}
}

// messageLanguages are the languages messages are written in, the default
// first; contentLanguage names each in the Content-Language header.
var (
	messageLanguages = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})
	contentLanguage  = map[string]string{"zh": "zh-CN", "en": "en"}
)

// preferredLang is the message language ("zh" or "en") an Accept-Language
// header asks for, q-values honoured (golang.org/x/text's matcher): "fr,
// en;q=0.5" is English, "zh-CN, en" Chinese, and a header naming neither
// (or none) Chinese. Traditional Chinese ("zh-TW, en") counts as a weak
// match for the Simplified messages, so a later English wins. The one place
// the language is chosen; requestContext puts it in the context.
func preferredLang(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return "zh"
	}
	_, i, conf := messageLanguages.Match(tags...)
	if conf == language.No || i == 0 {
		return "zh"
	}
	return "en"
}

// authenticate reads a Bearer token into the context. No header means an
// anonymous caller (sign-in mutations, public queries); a header with a bad
// or expired token is refused with 401 (by refuse, in the route's shape) so
// the app knows to refresh. A refused token first spends its client
// network's anonymous budget, and is answered 429 once that is spent: token
// checks are cheap, but a flood of forged tokens is still a flood.
func authenticate(verify func(string) (*auth.Principal, error), limits *rateLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if h == "" {
				return next(c)
			}
			var p *auth.Principal
			why := errNotBearer
			if tok, ok := auth.BearerToken(h); ok {
				var err error
				p, err = verify(tok)
				switch {
				case errors.Is(err, auth.ErrTokenExpired):
					why = errTokenExpired
				case err != nil:
					why = errTokenInvalid
				}
			}
			if p == nil {
				if limits.spent(c) {
					return tooManyRequests(c)
				}
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
				return refuse(c, why)
			}
			c.SetRequest(c.Request().WithContext(auth.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

// refusal is a request the middleware refuses before any handler runs (a
// bad token, too many requests): a domain error and the reason the client
// acts on (TOKEN_EXPIRED: refresh).
type refusal struct {
	err    *models.Error
	reason string
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// The middleware's refusals.
var (
	errNotBearer = &refusal{models.E(models.CodeUnauthenticated, "Authorization 请求头须为 \"Bearer <令牌>\"",
		"Authorization must be \"Bearer <token>\""), string(reasonInvalidToken)}
	errTokenInvalid = &refusal{models.E(models.CodeUnauthenticated, "访问令牌无效", "access token is not valid"), string(reasonInvalidToken)}
	errTokenExpired = &refusal{models.E(models.CodeUnauthenticated, "访问令牌已过期，请刷新会话",
		"access token expired; refresh the session"), string(reasonTokenExpired)}
	errTooManyRequests = &refusal{models.RateLimited(1), ""}
)

// refuse answers a refusal in the shape its route speaks: GraphQL's
// {"errors": [...]} (code and reason in extensions) on /graphql, and
// problem+json, through problemHandler, on every REST route.
func refuse(c echo.Context, r *refusal) error {
	if c.Path() != "/graphql" {
		return r
	}
	ext := map[string]any{"code": string(r.err.Code)}
	if r.reason != "" {
		ext["reason"] = r.reason
	}
	if r.err.RetryAfterSeconds > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(r.err.RetryAfterSeconds))
	}
	// In the media type the client negotiated, as the GraphQL answer would be.
	media, ok := graph.NegotiateMediaType(c.Request().Header.Get(echo.HeaderAccept))
	if !ok {
		media = graph.MediaJSON
	}
	body, err := json.Marshal(map[string]any{
		"errors": []map[string]any{{"message": r.err.Message(models.Lang(c.Request().Context())), "extensions": ext}},
	})
	if err != nil {
		return err
	}
	return c.Blob(statusOf(r.err.Code), media+"; charset=utf-8", body)
}

// RateLimits are requests per second and bursts: per client network for
// anonymous callers, per user for signed-in ones. A rate of rate.Inf ("off"
// in the environment) turns that limit off.
type RateLimits struct {
	IPRate, UserRate   rate.Limit
	IPBurst, UserBurst int
}

// DefaultRateLimits. Carrier NAT puts thousands of phones behind one
// address, so signed-in callers count per user only, and the per-address
// budget, for anonymous callers (signing in, public queries), is generous:
// it stops a script, not a city.
var DefaultRateLimits = RateLimits{IPRate: 100, IPBurst: 300, UserRate: 20, UserBurst: 100}

// rateLimiter holds the request budgets: one per client network for
// anonymous callers, one per principal for signed-in ones (screens
// included). One rateLimiter serves every route, so that a caller has one
// budget wherever it spends it.
type rateLimiter struct {
	byNetwork, byPrincipal middleware.RateLimiterStore // nil: that limit is off
}

func newRateLimiter(l RateLimits) *rateLimiter {
	return &rateLimiter{byNetwork: buckets(l.IPRate, l.IPBurst), byPrincipal: buckets(l.UserRate, l.UserBurst)}
}

// buckets is a token bucket per key, or nil when the rate is off.
func buckets(r rate.Limit, burst int) middleware.RateLimiterStore {
	if r == rate.Inf {
		return nil
	}
	return middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: r, Burst: burst, ExpiresIn: 3 * time.Minute,
	})
}

// spent takes one request from the caller's budget, the principal's when
// authenticate found one and the client network's otherwise, and reports
// whether there was none left.
func (l *rateLimiter) spent(c echo.Context) bool {
	store, key := l.byNetwork, clientNetwork(c.RealIP())
	if p, ok := auth.PrincipalFrom(c.Request().Context()); ok {
		store, key = l.byPrincipal, string(p.Kind)+":"+p.ID.String()
	}
	if store == nil {
		return false
	}
	ok, err := store.Allow(key)
	return err == nil && !ok
}

// middleware refuses callers over their budget with 429; it runs after
// authenticate, which says who the caller is.
func (l *rateLimiter) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if l.spent(c) {
				return tooManyRequests(c)
			}
			return next(c)
		}
	}
}

func tooManyRequests(c echo.Context) error { return refuse(c, errTooManyRequests) }

// problemHandler answers REST errors as application/problem+json (RFC 9457)
// with a stable code; internal errors are logged and never shown. A passing
// database failure (models.DatabaseFailure) answers 503 with Retry-After and
// "retryable": true, is logged as a warning and told to failed, which
// counts it.
func problemHandler(log *slog.Logger, failed func(models.Code)) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ctx := c.Request().Context()
		status, code, detail := http.StatusInternalServerError, string(models.CodeInternal), "internal error"
		var he *echo.HTTPError
		de, isDomain := models.AsError(err)
		if !isDomain {
			if de = models.DatabaseFailure(err); de != nil {
				isDomain = true
				log.WarnContext(ctx, "database "+strings.ToLower(string(de.Code)), "err", err)
				failed(de.Code)
			}
		}
		switch {
		case isDomain:
			status, code, detail = statusOf(de.Code), string(de.Code), de.Message(models.Lang(ctx))
		case errors.As(err, &he) && he.Code < 500:
			status, code = he.Code, codeOfStatus(he.Code)
			detail = http.StatusText(he.Code)
			if m, ok := he.Message.(string); ok {
				detail = m
			}
		default:
			log.ErrorContext(ctx, "request failed", "err", err)
		}
		extra := map[string]any{}
		if isDomain && de.Retryable() {
			extra["retryable"] = true
		}
		if isDomain && de.RetryAfterSeconds > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(de.RetryAfterSeconds))
		}
		var r *refusal
		if errors.As(err, &r) && r.reason != "" {
			extra["reason"] = r.reason
		}
		_ = writeProblem(c, status, code, detail, extra)
	}
}

// writeProblem answers an application/problem+json document (RFC 9457):
// type, title, status, detail, the project's code, the request id, and
// extra members.
func writeProblem(c echo.Context, status int, code, detail string, extra map[string]any) error {
	p := map[string]any{
		"type":      "about:blank",
		"title":     http.StatusText(status),
		"status":    status,
		"detail":    detail,
		"code":      code,
		"requestId": c.Response().Header().Get(echo.HeaderXRequestID),
	}
	for k, v := range extra {
		p[k] = v
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(status)
	return writeJSON(c, p)
}

func statusOf(code models.Code) int {
	switch code {
	case models.CodeUnauthenticated:
		return http.StatusUnauthorized
	case models.CodeForbidden:
		return http.StatusForbidden
	case models.CodeNotFound:
		return http.StatusNotFound
	case models.CodeConflict:
		return http.StatusConflict
	case models.CodeRateLimited:
		return http.StatusTooManyRequests
	case models.CodeInternal:
		return http.StatusInternalServerError
	case models.CodeUnavailable, models.CodeBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

func codeOfStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return string(models.CodeUnauthenticated)
	case http.StatusForbidden:
		return string(models.CodeForbidden)
	case http.StatusNotFound:
		return string(models.CodeNotFound)
	case http.StatusTooManyRequests:
		return string(models.CodeRateLimited)
	case http.StatusRequestEntityTooLarge:
		return string(codePayloadTooLarge)
	case http.StatusMethodNotAllowed:
		return string(codeMethodNotAllowed)
	case http.StatusUnsupportedMediaType:
		return string(codeUnsupportedMediaType)
	}
	if status >= 500 {
		return string(models.CodeInternal)
	}
	return string(models.CodeInvalidArgument)
}

// bufferBody reads a request body of unknown length up front, so that one
// over the limit is refused with 413 here rather than reaching GraphQL as a
// read error.
func bufferBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Body == nil || r.Body == http.NoBody {
				return next(c)
			}
			b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				var he *echo.HTTPError
				if errors.As(err, &he) {
					return he
				}
				return echo.NewHTTPError(http.StatusBadRequest, "could not read the request body")
			}
			if int64(len(b)) > limit {
				return echo.ErrStatusRequestEntityTooLarge
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			return next(c)
		}
	}
}

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/documents"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/wechat"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Deps are the outside services the app talks to; tests pass fakes for the
// ones we cannot reach (SMS gateway, WeChat).
type Deps struct {
	DB     *models.DB
	Log    *slog.Logger
	SMS    auth.SMSSender
	WeChat auth.WeChat
	// Limits overrides graph.DefaultLimits when non-zero.
	Limits graph.Limits
	// RequestTimeout overrides the request timeout when non-zero (tests).
	RequestTimeout time.Duration
	// LiveRetry overrides graph.DefaultRetry when non-zero.
	LiveRetry graph.Retry
	// WebSocketInitTimeout overrides graph.DefaultWebSocketInitTimeout
	// when non-zero (tests).
	WebSocketInitTimeout time.Duration
	// Outbox tunes the outbox's workers (tests: short polls).
	Outbox outbox.Config
	// APNsClient is the HTTP/2 client APNs is called with; nil means its
	// own (tests: one that trusts the fake's certificate).
	APNsClient *http.Client
}

// App is the HTTP application: the Echo instance and what it was built with.
type App struct {
	Echo      *echo.Echo
	Tokens    *auth.Tokens
	SignIn    *signin.Service
	Directory *directory.Service
	Inbox     *inbox.Service
	Workshop  *workshop.Service
	Wallet    *wallet.Service
	Booking   *booking.Service
	Events    *events.Service
	Roadside  *roadside.Service
	Coupons   *coupons.Service
	Referrals *referrals.Service
	Packages  *packages.Service
	Care      *care.Service
	CRM       *crm.Service
	Jobs      *jobs.Runner
	Privacy   *privacy.Service
	Payments  *payments.Service
	// Outbox sends messages to owners; serve starts its workers.
	Outbox  *outbox.Outbox
	Metrics *prometheus.Registry
	// MetricsHandler serves /metrics on METRICS_ADDR when that is set
	// (the app's own routes then leave it out).
	MetricsHandler http.Handler

	draining atomic.Bool
}

// Drain makes /readyz answer 503 from now on, while everything else is
// served as before: the first step of a graceful shutdown.
func (a *App) Drain() { a.draining.Store(true) }

// Timeouts of the HTTP server and of one request.
const (
	requestTimeout   = 15 * time.Second
	bodyLimit        = "1M"
	bodyLimitBytes   = 1 << 20
	readHeaderTimout = 5 * time.Second
)

// NewApp wires the Echo application: middleware, GraphQL, REST and probes.
func NewApp(cfg Config, d Deps) (*App, error) {
	tokens, err := auth.NewTokens(cfg.JWTSecret, signin.DefaultAccessTTL)
	if err != nil {
		return nil, err
	}
	svc := &signin.Service{
		DB:     d.DB,
		Tokens: tokens,
		SMS:    d.SMS,
		WeChat: d.WeChat,
		Config: signin.Config{TestCodes: cfg.TestCodes, CodeSecret: derivedKey(cfg.JWTSecret, "login-codes"),
			Limits: cfg.SignInLimits},
	}
	wx := &wechat.Service{DB: d.DB, Directory: &directory.Service{DB: d.DB}, Log: d.Log, Config: wechat.Config{
		BaseURL: cfg.WeChatAPIBase, AppID: cfg.WeChatAppID, Secret: cfg.WeChatAppSecret,
		Templates: cfg.WeChatTemplates, State: cfg.WeChatState}}
	if cfg.WeChatAppID != "" && cfg.WeChatAppSecret != "" {
		svc.WeChatPhones = wx
	}
	// The scheduled jobs share the outbox's River client (a queue of
	// their own); their list follows the services they call.
	runner := &jobs.Runner{DB: d.DB, Log: d.Log}
	ob, err := newOutbox(cfg, d, wx, runner)
	if err != nil {
		return nil, err
	}
	if cfg.SMSProvider != "" {
		svc.Outbox = ob
	}
	limits := d.Limits
	if limits == (graph.Limits{}) {
		limits = graph.DefaultLimits
	}
	// The API takes owner and staff tokens; a screen's token reads its
	// store's board over REST and nothing else.
	verify := func(token string) (*auth.Principal, error) {
		p, err := tokens.Verify(token)
		if err != nil {
			return nil, err
		}
		if p.Kind == auth.KindScreen {
			return nil, errScreenToken
		}
		return p, nil
	}
	dir := &directory.Service{DB: d.DB}
	devices := &push.Registry{DB: d.DB, Providers: pushProviders(cfg)}
	ib := &inbox.Service{DB: d.DB, Directory: dir, WeChat: wx, Devices: devices}
	if cfg.SMSProvider != "" || wx.Configured() || cfg.APNs != nil || cfg.JPush != nil {
		// Owner messages leave the inbox only when a provider sends them
		// (SMS, WeChat or push; the outbox chooses among those configured).
		ib.Outbox, ib.Routing = ob, inbox.Routing{MarketingWeeklyCap: cfg.MarketingWeeklyCap}
	}
	wl := &wallet.Service{DB: d.DB, Config: cfg.Wallet, Directory: dir}
	cp := &coupons.Service{DB: d.DB, Directory: dir, Inbox: ib}
	rcfg := cfg.Referrals
	if rcfg.PhoneKey == nil {
		// Erased phones' digests are keyed by the deployment's secret, as
		// the login codes are (docs/referrals.md, "Privacy").
		rcfg.PhoneKey = derivedKey(cfg.JWTSecret, "erased-phones")
	}
	rf := &referrals.Service{DB: d.DB, Config: rcfg, Directory: dir, Inbox: ib, Wallet: wl, Coupons: cp}
	svc.Referrals = rf
	pk := &packages.Service{DB: d.DB, Config: cfg.Packages, Directory: dir, Wallet: wl, Inbox: ib}
	ws := &workshop.Service{DB: d.DB, Wallet: wl, Directory: dir, Inbox: ib, Coupons: cp, Referrals: rf, Packages: pk}
	bk := &booking.Service{DB: d.DB, Workshop: ws, Directory: dir, Inbox: ib}
	ev := &events.Service{DB: d.DB, Wallet: wl, Directory: dir, Inbox: ib, Coupons: cp}
	rs := &roadside.Service{DB: d.DB, Directory: dir, Inbox: ib}
	cr := &care.Service{DB: d.DB, Directory: dir, Inbox: ib, Workshop: ws}
	cm := &crm.Service{DB: d.DB, Directory: dir, Workshop: ws, Thresholds: cfg.Segments, Events: ev, Inbox: ib,
		Coupons: cp, ConversionDays: cfg.ConversionDays}
	rm := &reminders.Service{DB: d.DB, Workshop: ws, Booking: bk, Directory: dir, Inbox: ib}
	pay, err := newPayments(cfg, d, wl, dir, ws, ib)
	if err != nil {
		return nil, err
	}
	payFor(pay, ev, pk, cfg)
	// Capabilities add their export Sections and deletion Erasers here.
	pv := &privacy.Service{DB: d.DB, Directory: dir, Inbox: ib,
		Sections: []privacy.Section{
			{Name: "repairOrders", Export: ws.ExportOwner},
			{Name: "wallet", Export: wl.ExportOwner},
			{Name: "appointments", Export: bk.ExportOwner},
			{Name: "eventRegistrations", Export: ev.ExportOwner},
			{Name: "care", Export: cr.ExportOwner},
			{Name: "crm", Export: cm.ExportOwner},
			{Name: "roadsideAssistance", Export: rs.ExportOwner},
			{Name: "devices", Export: devices.ExportOwner},
			{Name: "onlinePayments", Export: pay.ExportOwner},
			{Name: "wechatSubscriptions", Export: wx.ExportOwner},
			{Name: "coupons", Export: cp.ExportOwner},
			{Name: "referrals", Export: rf.ExportOwner},
			{Name: "servicePackages", Export: pk.ExportOwner},
		},
		Erasers: []privacy.Eraser{wl.EraseOwner, bk.EraseOwner, ev.EraseOwner, cr.EraseOwner, rs.EraseOwner, devices.EraseOwner,
			pay.EraseOwner, wx.EraseOwner, cm.EraseOwner, cp.EraseOwner, rf.EraseOwner, pk.EraseOwner},
		Lockers:         []privacy.Eraser{ev.LockOwner},
		BeforeAnonymise: []func(context.Context, *models.Owner) error{rf.ForgetPhone},
		Links:           graph.LinkOut,
	}
	runner.Jobs = scheduledJobs(runner, scheduled{DB: d.DB, SignIn: svc, Wallet: wl, Booking: bk, Reminders: rm, Events: ev, Care: cr,
		Payments: pay, CRM: cm, Coupons: cp, Packages: pk})
	if err := runner.Attach(ob.River()); err != nil {
		return nil, fmt.Errorf("scheduled jobs: %w", err)
	}
	var trustedNames []string
	if cfg.TrustedDocuments != nil {
		trustedNames = cfg.TrustedDocuments.OperationNames()
		if trustedNames == nil {
			trustedNames = []string{}
		}
	}
	reg := newMetrics(d.DB, currentBuild(), trustedNames)
	gql := graph.NewHandler(graph.Options{
		Resolver: &graph.Resolver{DB: d.DB, Directory: dir, Inbox: ib, SignIn: svc, Workshop: ws, Wallet: wl, Booking: bk, EventsService: ev,
			Roadside: rs, Care: cr, CRM: cm, Jobs: runner, Privacy: pv, Tokens: tokens, Log: d.Log,
			Push: devices, Payments: pay, WeChat: wx, Coupons: cp, Referrals: rf, Packages: pk},
		Limits:           limits,
		Development:      !cfg.Production,
		Authenticate:     verify,
		WebSocketOrigins: hostsOf(cfg.CORSOrigins),
		// A deleted account's access tokens stop working at once (one
		// primary-key read per owner operation, once it passed the limits).
		Admit:     activeOwners(pv),
		Failed:    reg.databaseFailed,
		Observer:  reg,
		LiveRetry: d.LiveRetry,

		WebSocketInitTimeout: d.WebSocketInitTimeout,
		Documents:            &documents.Store{DB: d.DB},
		TrustedDocuments:     cfg.TrustedDocuments,
	})

	app := &App{Tokens: tokens, SignIn: svc, Directory: dir, Inbox: ib, Workshop: ws, Wallet: wl, Booking: bk, Events: ev, Roadside: rs,
		Coupons: cp, Referrals: rf, Packages: pk, Care: cr, CRM: cm, Jobs: runner, Privacy: pv, Payments: pay, Outbox: ob, Metrics: reg.registry, MetricsHandler: reg.handler()}
	e := echo.New()
	app.Echo = e
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = problemHandler(d.Log, reg.databaseFailed)
	if cfg.TrustProxyHeaders {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}

	e.Use(sanitizeRequestID())
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		RequestIDHandler: func(c echo.Context, id string) {
			c.SetRequest(c.Request().WithContext(withRequestID(c.Request().Context(), id)))
		},
	}))
	e.Use(securityHeaders())
	e.Use(accessLog(d.Log))
	e.Use(reg.middleware())
	e.Use(writeErrors())
	e.Use(recoverPanics(d.Log))
	// Browsers may call from the configured origins only; with none
	// configured, no cross-origin page may (Echo's default would be "*").
	if len(cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  cfg.CORSOrigins,
			AllowHeaders:  []string{"Authorization", "Content-Type", "Accept", "Accept-Language", "If-None-Match"},
			ExposeHeaders: []string{echo.HeaderXRequestID, "ETag", "Retry-After"},
			MaxAge:        600,
		}))
	}
	e.Use(middleware.BodyLimit(bodyLimit))
	// A WebSocket lives for as long as its subscriptions: neither compressed
	// as one response nor bound by the request timeout.
	// /metrics compresses itself (promhttp).
	uncompressed := func(c echo.Context) bool { return isWebSocket(c) || c.Path() == "/metrics" }
	// Brotli for clients that prefer it, gzip for the others.
	e.Use(brotliCompress(uncompressed))
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{Skipper: uncompressed}))
	timeout := requestTimeout
	if d.RequestTimeout > 0 {
		timeout = d.RequestTimeout
	}
	// A request out of time is answered like any passing failure
	// (models.DatabaseFailure), not with Echo's bare 503.
	e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Skipper: isWebSocket, Timeout: timeout,
		ErrorHandler: func(err error, _ echo.Context) error { return err }}))
	e.Use(requestContext())

	e.GET("/healthz", healthz)
	e.GET("/readyz", readyz(d.DB, &app.draining))
	if cfg.MetricsAddr == "" {
		var protect []echo.MiddlewareFunc
		if cfg.MetricsToken != "" {
			protect = append(protect, bearerOnly(cfg.MetricsToken))
		}
		e.GET("/metrics", echo.WrapHandler(app.MetricsHandler), protect...)
	}
	e.GET("/api/v1/openapi.json", openAPI)
	// Middleware on the routes themselves, not a group: a group would also
	// authenticate and rate-limit the not-found answers of unknown paths.
	// One limiter for every route: a caller has one budget.
	rl := newRateLimiter(cfg.RateLimits)
	// The board takes screen tokens too (tokens.Verify, not verify).
	e.GET("/api/v1/stores/:code/board", boardHandler(ws), noStore(), authenticate(tokens.Verify, rl), rl.middleware())
	api := []echo.MiddlewareFunc{noStore(), bufferBody(bodyLimitBytes), authenticate(verify, rl), rl.middleware()}
	e.GET("/api/v1/me/export", exportHandler(pv), api...)
	e.GET("/schema.graphql", schemaHandler(cfg.Production), api...)
	// WeChat Pay's notifications carry its signature, not a token.
	e.POST(wechatPayNotifyPath, paymentNotifyHandler(pay, d.Log), noStore(), bufferBody(bodyLimitBytes))
	e.POST(wechatPayRefundNotifyPath, refundNotifyHandler(pay, d.Log), noStore(), bufferBody(bodyLimitBytes))
	graphQL := append([]echo.MiddlewareFunc{graphQLStatus()}, api...)
	e.POST("/graphql", echo.WrapHandler(gql), graphQL...)
	e.GET("/graphql", echo.WrapHandler(gql), graphQL...)
	if !cfg.Production {
		graphiQLRoutes(e)
	}
	return app, nil
}

var errScreenToken = errors.New("a screen token reads its store's board only")

func isWebSocket(c echo.Context) bool {
	return strings.EqualFold(c.Request().Header.Get(echo.HeaderUpgrade), "websocket")
}

// hostsOf turns CORS origins into the host patterns WebSocket accepts.
func hostsOf(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		} else if o == "*" {
			hosts = append(hosts, "*")
		}
	}
	return hosts
}

// derivedKey derives a purpose-specific key from the server secret, so one
// leaked derived key does not forge access tokens.
func derivedKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ownerhub/" + purpose))
	return m.Sum(nil)
}

func healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// pushProviders are the push providers configured: the inbox routes push
// only to their devices.
func pushProviders(cfg Config) []string {
	out := []string{}
	if cfg.APNs != nil {
		out = append(out, push.ProviderAPNs)
	}
	if cfg.JPush != nil {
		out = append(out, push.ProviderJPush)
	}
	return out
}

// newOutbox builds the outbox with the configured channels; a channel
// without a provider logs (see outbox.LogChannel).
func newOutbox(cfg Config, d Deps, wx *wechat.Service, concerns ...outbox.Concern) (*outbox.Outbox, error) {
	channels := map[string]outbox.Channel{}
	if wx.Configured() {
		channels[outbox.ChannelWeChat] = &wechat.Channel{Service: wx}
	}
	if cfg.SMSProvider == "aliyun" {
		sms, err := outbox.NewAliyunSMS(cfg.AliyunSMS)
		if err != nil {
			return nil, err
		}
		channels[outbox.ChannelSMS] = sms
	}
	providers := map[string]push.Provider{}
	if cfg.APNs != nil {
		c := *cfg.APNs
		c.Client = d.APNsClient
		p, err := push.NewAPNs(c)
		if err != nil {
			return nil, err
		}
		providers[push.ProviderAPNs] = p
	}
	if cfg.JPush != nil {
		p, err := push.NewJPush(*cfg.JPush)
		if err != nil {
			return nil, err
		}
		providers[push.ProviderJPush] = p
	}
	if len(providers) > 0 {
		channels[outbox.ChannelPush] = &push.Channel{Registry: &push.Registry{DB: d.DB}, Providers: providers, Log: d.Log}
	}
	return outbox.New(d.DB, channels, d.Outbox, d.Log, concerns...)
}

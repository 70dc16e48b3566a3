package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/wechat"
)

// Config is everything the server reads from its environment.
type Config struct {
	HTTPAddr     string
	DatabaseURL  string // empty: embedded SQLite in DataDir
	DataDir      string
	Production   bool
	JWTSecret    []byte
	CORSOrigins  []string
	TestCodes    map[string]string // OTP_TEST_NUMBERS, parsed
	DemoPassword string
	LogLevel     string

	WeChatAPIBase   string
	WeChatAppID     string
	WeChatAppSecret string
	// WeChatTemplates are the subscription message templates by kind
	// (WECHAT_TEMPLATE_<KIND>); none: no message goes by WeChat.
	// WeChatState is the mini-program version they open
	// (WECHAT_MINIPROGRAM_STATE).
	WeChatTemplates map[string]wechat.Template
	WeChatState     string

	// TrustProxyHeaders takes the client IP from X-Forwarded-For (set it only
	// behind a proxy that overwrites the header).
	TrustProxyHeaders bool

	// RateLimits limit HTTP requests, SignInLimits sign-in attempts, per
	// client network (anonymous) or user (RATE_LIMIT_*).
	RateLimits   RateLimits
	SignInLimits signin.Limits

	// Pool sizes the database pool and bounds its lock and statement
	// waits (zero fields: the database's defaults).
	Pool models.Pool
	// MetricsAddr, when set, is the only address /metrics is served on;
	// MetricsToken, when set, is the bearer token /metrics asks for.
	MetricsAddr  string
	MetricsToken string
	// DrainPeriod is how long the server keeps serving after SIGTERM with
	// /readyz failing, so that load balancers stop sending first.
	DrainPeriod time.Duration

	// Wallet holds the stored-value cap, top-up bonus rules and tier
	// thresholds.
	Wallet wallet.Config

	// Segments are the aftersales segments' window and thresholds.
	Segments crm.Thresholds
	// ConversionDays is how long after a campaign's invitation what the
	// owner does counts for the campaign (CRM_CONVERSION_DAYS).
	ConversionDays int

	// Referrals is the referral link base and reward.
	Referrals referrals.Config

	// SMSProvider is "" (no gateway: development logs login codes,
	// production sends none) or "aliyun" (Alibaba Cloud SMS, configured by
	// AliyunSMS, through the outbox).
	SMSProvider string
	AliyunSMS   outbox.AliyunConfig
	// MarketingWeeklyCap bounds the marketing messages an owner is sent
	// beyond the inbox in any 7 days (NOTIFY_MARKETING_WEEKLY_CAP).
	MarketingWeeklyCap int

	// Packages holds the service packages' refund rule
	// (PACKAGE_REFUND_FEE_PERCENT).
	Packages packages.Config

	// APNs and JPush configure the push providers; nil when not
	// configured (push to their devices then only logs).
	APNs  *push.APNsConfig
	JPush *push.JPushConfig

	// WeChatPay is the merchant account of online payment; nil when
	// PAYMENT_PROVIDER is unset (online payment refused). PaymentHold is
	// how long a started payment may be paid, and how long an event's
	// seats are held for an owner paying its fee online.
	WeChatPay   *payments.WeChatPayConfig
	PaymentHold time.Duration

	// TrustedDocuments, read from the file TRUSTED_DOCUMENTS names, is the
	// allow-list of the only GraphQL documents served; nil: any document,
	// with automatic persisted queries kept in the database.
	TrustedDocuments graph.TrustedDocuments
}

// Defaults, also shown in the README.
const (
	defaultAddr          = ":8080"
	defaultDataDir       = "./data"
	defaultDemoPassword  = "ownerhub-demo"
	defaultTestNumbers   = "+8613800000001=246810"
	defaultWeChatAPIBase = "https://api.weixin.qq.com"
	jwtSecretFile        = "jwt-secret"
	minJWTSecretBytes    = 32
	minMetricsToken      = 16
	// defaultProductionDrain leaves a load balancer probing every few
	// seconds time to see /readyz fail, within a 30 s termination grace.
	defaultProductionDrain = 5 * time.Second
)

// LoadConfig reads the configuration. It returns one error saying what is
// wrong, for the server to print before it stops.
func LoadConfig(getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		HTTPAddr:        env("HTTP_ADDR", defaultAddr),
		DatabaseURL:     env("DATABASE_URL", ""),
		DataDir:         env("DATA_DIR", defaultDataDir),
		DemoPassword:    env("DEMO_PASSWORD", defaultDemoPassword),
		LogLevel:        env("LOG_LEVEL", "info"),
		WeChatAPIBase:   env("WECHAT_API_BASE_URL", defaultWeChatAPIBase),
		WeChatAppID:     env("WECHAT_APP_ID", ""),
		WeChatAppSecret: env("WECHAT_APP_SECRET", ""),
		RateLimits:      DefaultRateLimits,
		SignInLimits:    signin.DefaultLimits,
		Wallet:          wallet.DefaultConfig(),
	}
	switch appEnv := env("APP_ENV", "development"); appEnv {
	case "development":
	case "production":
		c.Production = true
	default:
		return c, fmt.Errorf("APP_ENV must be development or production, not %q", appEnv)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return c, errors.New("DATABASE_URL must be a postgres:// URL (leave it unset for the embedded database)")
	}
	if v := env("TRUST_PROXY_HEADERS", "false"); v == "true" || v == "1" {
		c.TrustProxyHeaders = true
	} else if v != "false" && v != "0" {
		return c, fmt.Errorf("TRUST_PROXY_HEADERS must be true or false, not %q", v)
	}
	for _, o := range strings.Split(env("CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
				return c, fmt.Errorf("CORS_ORIGINS: %q is not an origin like https://app.example.com", o)
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if err := loadLimits(&c, env); err != nil {
		return c, err
	}
	if err := loadOperations(&c, env); err != nil {
		return c, err
	}
	if err := loadWalletConfig(&c.Wallet, env); err != nil {
		return c, err
	}
	if err := loadSegments(&c, env); err != nil {
		return c, err
	}
	if err := loadReferrals(&c, env); err != nil {
		return c, err
	}
	if err := loadPush(&c, env); err != nil {
		return Config{}, err
	}
	if err := loadPayments(&c, env); err != nil {
		return c, err
	}
	if err := loadSMS(&c, env); err != nil {
		return c, err
	}
	if err := loadPackages(&c, env); err != nil {
		return Config{}, err
	}
	if err := loadNotify(&c, env); err != nil {
		return c, err
	}
	if err := loadWeChat(&c, env); err != nil {
		return c, err
	}
	if err := c.Wallet.Validate(); err != nil {
		return c, err
	}
	testNumbers := env("OTP_TEST_NUMBERS", "")
	if testNumbers == "" && !c.Production {
		testNumbers = defaultTestNumbers
	}
	codes, err := signin.ParseTestCodes(testNumbers)
	if err != nil {
		return c, fmt.Errorf("OTP_TEST_NUMBERS: %w", err)
	}
	c.TestCodes = codes

	if s := getenv("JWT_SECRET"); s != "" {
		if len(s) < minJWTSecretBytes {
			return c, fmt.Errorf("JWT_SECRET must be at least %d bytes", minJWTSecretBytes)
		}
		c.JWTSecret = []byte(s)
	} else if c.Production {
		return c, errors.New("JWT_SECRET is required when APP_ENV=production")
	}
	if c.Production && (c.WeChatAppID == "") != (c.WeChatAppSecret == "") {
		return c, errors.New("WECHAT_APP_ID and WECHAT_APP_SECRET must be set together")
	}
	return c, nil
}

// ensureDevSecret gives a development server a JWT secret that survives
// restarts (so sessions do too): generated once, kept in DATA_DIR.
func (c *Config) ensureDevSecret() error {
	if len(c.JWTSecret) > 0 {
		return nil
	}
	path := filepath.Join(c.DataDir, jwtSecretFile)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= minJWTSecretBytes {
		c.JWTSecret = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	secret := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("DATA_DIR: keep the development JWT secret: %w", err)
	}
	c.JWTSecret = []byte(secret)
	return nil
}

// loadLimits reads the abuse limits: RATE_LIMIT_ANONYMOUS_PER_IP and
// RATE_LIMIT_PER_USER as "<requests per second>,<burst>", the sign-in
// limits per client network as whole numbers. "off" turns any of them off,
// for benchmarks.
func loadLimits(c *Config, env func(key, def string) string) error {
	for _, l := range []struct {
		name  string
		rate  *rate.Limit
		burst *int
	}{
		{"RATE_LIMIT_ANONYMOUS_PER_IP", &c.RateLimits.IPRate, &c.RateLimits.IPBurst},
		{"RATE_LIMIT_PER_USER", &c.RateLimits.UserRate, &c.RateLimits.UserBurst},
	} {
		v := env(l.name, "")
		switch r, b, ok := parseRate(v); {
		case v == "":
		case !ok:
			return fmt.Errorf("%s must be <requests per second>,<burst> (e.g. 100,300) or off, not %q", l.name, v)
		default:
			*l.rate, *l.burst = r, b
		}
	}
	for _, l := range []struct {
		name string
		n    *int
	}{
		{"RATE_LIMIT_LOGIN_CODES_PER_IP", &c.SignInLimits.CodesPerIP},
		{"RATE_LIMIT_WRONG_CODES_PER_IP", &c.SignInLimits.WrongCodesPerIP},
		{"RATE_LIMIT_STAFF_FAILURES_PER_IP", &c.SignInLimits.StaffFailuresPerIP},
		{"RATE_LIMIT_STAFF_FAILURES_PER_USER_IP", &c.SignInLimits.StaffFailuresPerUserIP},
	} {
		v := env(l.name, "")
		if v == "" {
			continue
		}
		if v == "off" {
			*l.n = signin.Off
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s must be a whole number of at least 1, or off, not %q", l.name, v)
		}
		*l.n = n
	}
	return nil
}

// parseRate reads "<requests per second>,<burst>" or "off" (rate.Inf).
func parseRate(v string) (rate.Limit, int, bool) {
	if v == "off" {
		return rate.Inf, 0, true
	}
	rs, bs, ok := strings.Cut(v, ",")
	r, err1 := strconv.ParseFloat(strings.TrimSpace(rs), 64)
	b, err2 := strconv.Atoi(strings.TrimSpace(bs))
	if !ok || err1 != nil || err2 != nil || !(r > 0) || math.IsInf(r, 0) || b < 1 {
		return 0, 0, false
	}
	return rate.Limit(r), b, true
}

// loadWalletConfig reads the wallet's business settings, all in fen:
// WALLET_BALANCE_CAP_FEN (500000), WALLET_TOP_UP_BONUS ("100000:10000", i.e.
// top up 1,000 and get 100; rules separated by commas) and TIER_THRESHOLDS_FEN
// ("0,300000,1000000,3000000" for BASIC, SILVER, GOLD, PLATINUM).
func loadWalletConfig(w *wallet.Config, env func(key, def string) string) error {
	if v := env("WALLET_BALANCE_CAP_FEN", ""); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("WALLET_BALANCE_CAP_FEN must be a positive number of fen, not %q", v)
		}
		w.BalanceCapFen = n
	}
	if v := env("WALLET_TOP_UP_BONUS", ""); v != "" {
		var rules []wallet.BonusRule
		for _, part := range strings.Split(v, ",") {
			minS, bonusS, ok := strings.Cut(strings.TrimSpace(part), ":")
			minFen, err1 := strconv.ParseInt(minS, 10, 64)
			bonusFen, err2 := strconv.ParseInt(bonusS, 10, 64)
			if !ok || err1 != nil || err2 != nil || minFen <= 0 || bonusFen <= 0 {
				return fmt.Errorf("WALLET_TOP_UP_BONUS: %q is not <minimum fen>:<bonus fen>", part)
			}
			rules = append(rules, wallet.BonusRule{MinFen: minFen, BonusFen: bonusFen})
		}
		w.BonusRules = rules
	}
	if v := env("TIER_THRESHOLDS_FEN", ""); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) != 4 {
			return fmt.Errorf("TIER_THRESHOLDS_FEN needs four numbers (BASIC,SILVER,GOLD,PLATINUM), not %q", v)
		}
		var t [4]int64
		for i, p := range parts {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil || n < 0 || (i > 0 && n <= t[i-1]) || (i == 0 && n != 0) {
				return fmt.Errorf("TIER_THRESHOLDS_FEN must start at 0 and rise, not %q", v)
			}
			t[i] = n
		}
		w.TierThresholdsFen = t
	}
	return nil
}

// loadOperations reads the database pool and timeouts, the metrics
// endpoint's protection and the drain period (see docs/operations.md).
func loadOperations(c *Config, env func(key, def string) string) error {
	count := func(key string) (int, error) {
		v := env(key, "")
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%s must be a positive number of connections, not %q", key, v)
		}
		return n, nil
	}
	duration := func(key string, below time.Duration) (time.Duration, error) {
		v := env(key, "")
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || (below > 0 && d >= below) {
			return 0, fmt.Errorf("%s must be a duration such as 3s, above 0 and below %v, not %q", key, below, v)
		}
		return d, nil
	}
	var err error
	p := &c.Pool
	if p.MaxOpenConns, err = count("DB_MAX_OPEN_CONNS"); err != nil {
		return err
	}
	if p.MaxIdleConns, err = count("DB_MAX_IDLE_CONNS"); err != nil {
		return err
	}
	if p.MaxOpenConns > 0 && p.MaxIdleConns > p.MaxOpenConns {
		return fmt.Errorf("DB_MAX_IDLE_CONNS (%d) must not exceed DB_MAX_OPEN_CONNS (%d)", p.MaxIdleConns, p.MaxOpenConns)
	}
	if p.MaxIdleConns == 0 {
		p.MaxIdleConns = p.MaxOpenConns
	}
	// Below the request timeout, so that a request waiting on a lock fails
	// with BUSY and gives its connection back before it would time out.
	if p.LockTimeout, err = duration("DB_LOCK_TIMEOUT", requestTimeout); err != nil {
		return err
	}
	if p.StatementTimeout, err = duration("DB_STATEMENT_TIMEOUT", requestTimeout); err != nil {
		return err
	}
	for key, d := range map[string]*time.Duration{"DB_CONN_MAX_LIFETIME": &p.ConnMaxLifetime, "DB_CONN_MAX_IDLE_TIME": &p.ConnMaxIdleTime} {
		v := env(key, "")
		if v == "" {
			continue
		}
		// At least a minute: shorter, steady load would reopen connections.
		if *d, err = time.ParseDuration(v); err != nil || *d < time.Minute {
			return fmt.Errorf("%s must be a duration of at least 1m, such as 30m, not %q", key, v)
		}
	}
	// The bound on a cached board poll's staleness should a notification
	// be lost (docs/performance.md).
	if v := env("LIVE_CACHE_MAX_AGE", ""); v != "" {
		if p.LiveCacheMaxAge, err = time.ParseDuration(v); err != nil || p.LiveCacheMaxAge < time.Second || p.LiveCacheMaxAge > time.Hour {
			return fmt.Errorf("LIVE_CACHE_MAX_AGE must be a duration from 1s to 1h, such as 10s, not %q", v)
		}
	}
	if p.LockTimeout > 0 && p.StatementTimeout > 0 && p.LockTimeout > p.StatementTimeout {
		return fmt.Errorf("DB_LOCK_TIMEOUT (%v) must not exceed DB_STATEMENT_TIMEOUT (%v)", p.LockTimeout, p.StatementTimeout)
	}

	if c.Production {
		c.DrainPeriod = defaultProductionDrain
	}
	if v := env("DRAIN_PERIOD", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			return fmt.Errorf("DRAIN_PERIOD must be a duration from 0s to 1m, not %q", v)
		}
		c.DrainPeriod = d
	}
	if path := env("TRUSTED_DOCUMENTS", ""); path != "" {
		docs, err := graph.LoadTrustedDocuments(path)
		if err != nil {
			return fmt.Errorf("TRUSTED_DOCUMENTS: %w", err)
		}
		c.TrustedDocuments = docs
	}
	c.MetricsAddr = env("METRICS_ADDR", "")
	c.MetricsToken = env("METRICS_TOKEN", "")
	if c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		return fmt.Errorf("METRICS_TOKEN must be at least %d characters", minMetricsToken)
	}
	return nil
}

// loadPackages reads PACKAGE_REFUND_FEE_PERCENT: the whole percentage, 0
// to 100, of a refunded package's unused value the store keeps (default
// 10; docs/packages.md).
func loadPackages(c *Config, env func(key, def string) string) error {
	v := env("PACKAGE_REFUND_FEE_PERCENT", strconv.Itoa(packages.DefaultRefundFeePercent))
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100 {
		return fmt.Errorf("PACKAGE_REFUND_FEE_PERCENT must be a whole number from 0 to 100, not %q", v)
	}
	c.Packages = packages.Config{RefundFeePercent: n}
	return nil
}

// loadNotify reads NOTIFY_MARKETING_WEEKLY_CAP: a whole number of
// marketing messages per owner per 7 days, 0 or more (default 2).
func loadNotify(c *Config, env func(key, def string) string) error {
	v := env("NOTIFY_MARKETING_WEEKLY_CAP", strconv.Itoa(outbox.DefaultMarketingWeeklyCap))
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("NOTIFY_MARKETING_WEEKLY_CAP must be a whole number, 0 or more, not %q", v)
	}
	c.MarketingWeeklyCap = n
	return nil
}

// loadSMS reads the SMS gateway: SMS_PROVIDER (empty or aliyun) and, for
// aliyun, ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET,
// ALIYUN_SMS_SIGN_NAME and ALIYUN_SMS_TEMPLATE_LOGIN (all required),
// ALIYUN_SMS_TEMPLATE_<KIND> for each kind of owner message to send by SMS,
// and
// ALIYUN_SMS_ENDPOINT (a host, or an http(s) URL; the public endpoint when
// unset).
func loadSMS(c *Config, env func(key, def string) string) error {
	switch p := env("SMS_PROVIDER", ""); p {
	case "":
		return nil
	case "aliyun":
		c.SMSProvider = p
	default:
		return fmt.Errorf("SMS_PROVIDER must be aliyun or unset, not %q", p)
	}
	a := outbox.AliyunConfig{
		AccessKeyID:     env("ALIYUN_SMS_ACCESS_KEY_ID", ""),
		AccessKeySecret: env("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
		SignName:        env("ALIYUN_SMS_SIGN_NAME", ""),
		Templates:       map[string]string{outbox.KindLoginCode: env("ALIYUN_SMS_TEMPLATE_LOGIN", "")},
		Endpoint:        env("ALIYUN_SMS_ENDPOINT", ""),
	}
	for _, v := range []struct{ name, value string }{
		{"ALIYUN_SMS_ACCESS_KEY_ID", a.AccessKeyID},
		{"ALIYUN_SMS_ACCESS_KEY_SECRET", a.AccessKeySecret},
		{"ALIYUN_SMS_SIGN_NAME", a.SignName},
		{"ALIYUN_SMS_TEMPLATE_LOGIN", a.Templates[outbox.KindLoginCode]},
	} {
		if v.value == "" {
			return fmt.Errorf("%s is required when SMS_PROVIDER=aliyun", v.name)
		}
	}
	if tpl := a.Templates[outbox.KindLoginCode]; !strings.HasPrefix(tpl, "SMS_") {
		return fmt.Errorf("ALIYUN_SMS_TEMPLATE_LOGIN must be a template code like SMS_123456789, not %q", tpl)
	}
	// A kind of owner message goes by SMS only with a template of its own.
	for _, kind := range outbox.Kinds() {
		name := "ALIYUN_SMS_TEMPLATE_" + kind
		if tpl := env(name, ""); tpl != "" {
			if !strings.HasPrefix(tpl, "SMS_") {
				return fmt.Errorf("%s must be a template code like SMS_123456789, not %q", name, tpl)
			}
			a.Templates[kind] = tpl
		}
	}
	if e := a.Endpoint; e != "" {
		host := e
		if strings.Contains(e, "://") {
			u, err := url.Parse(e)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
				return fmt.Errorf("ALIYUN_SMS_ENDPOINT must be a host like dysmsapi.aliyuncs.com or an http(s) URL without a path, not %q", e)
			}
			host = u.Host
		}
		if strings.ContainsAny(host, "/ ?#") {
			return fmt.Errorf("ALIYUN_SMS_ENDPOINT must be a host like dysmsapi.aliyuncs.com or an http(s) URL without a path, not %q", e)
		}
	}
	c.AliyunSMS = a
	return nil
}

// loadPush reads the push providers. APNs, when any PUSH_APNS_* is set:
// PUSH_APNS_KEY_FILE (the .p8 key), PUSH_APNS_KEY_ID, PUSH_APNS_TEAM_ID and
// PUSH_APNS_TOPIC (the bundle id) are required; PUSH_APNS_ENDPOINT is
// production (the default), sandbox or an https URL (a test server).
// JPush, when PUSH_JPUSH_APP_KEY or PUSH_JPUSH_MASTER_SECRET is set: both
// are required; PUSH_JPUSH_ENDPOINT is an http(s) URL, api.jpush.cn's by
// default.
func loadPush(c *Config, env func(key, def string) string) error {
	a := push.APNsConfig{KeyID: env("PUSH_APNS_KEY_ID", ""), TeamID: env("PUSH_APNS_TEAM_ID", ""),
		Topic: env("PUSH_APNS_TOPIC", "")}
	keyFile, endpoint := env("PUSH_APNS_KEY_FILE", ""), env("PUSH_APNS_ENDPOINT", "")
	if keyFile != "" || a.KeyID != "" || a.TeamID != "" || a.Topic != "" || endpoint != "" {
		for _, v := range []struct{ name, value string }{
			{"PUSH_APNS_KEY_FILE", keyFile}, {"PUSH_APNS_KEY_ID", a.KeyID},
			{"PUSH_APNS_TEAM_ID", a.TeamID}, {"PUSH_APNS_TOPIC", a.Topic},
		} {
			if v.value == "" {
				return fmt.Errorf("%s is required when APNs is configured (any PUSH_APNS_* set)", v.name)
			}
		}
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("PUSH_APNS_KEY_FILE: %w", err)
		}
		if _, err := push.ParseAPNsKey(key); err != nil {
			return fmt.Errorf("PUSH_APNS_KEY_FILE %s: %w", keyFile, err)
		}
		a.Key = key
		switch endpoint {
		case "", "production":
			a.Endpoint = push.APNsProduction
		case "sandbox":
			a.Endpoint = push.APNsSandbox
		default:
			if !isBaseURL(endpoint, "https") {
				return fmt.Errorf("PUSH_APNS_ENDPOINT must be production, sandbox or an https URL without a path, not %q", endpoint)
			}
			a.Endpoint = endpoint
		}
		c.APNs = &a
	}
	j := push.JPushConfig{AppKey: env("PUSH_JPUSH_APP_KEY", ""), MasterSecret: env("PUSH_JPUSH_MASTER_SECRET", ""),
		Endpoint: env("PUSH_JPUSH_ENDPOINT", push.JPushEndpoint)}
	if j.AppKey != "" || j.MasterSecret != "" {
		if j.AppKey == "" || j.MasterSecret == "" {
			return errors.New("PUSH_JPUSH_APP_KEY and PUSH_JPUSH_MASTER_SECRET are both required for JPush")
		}
		if !isBaseURL(j.Endpoint, "https", "http") {
			return fmt.Errorf("PUSH_JPUSH_ENDPOINT must be an http(s) URL without a path, not %q", j.Endpoint)
		}
		c.JPush = &j
	}
	return nil
}

// isBaseURL reports whether s is a URL of one of schemes with a host and
// no path, query or fragment.
func isBaseURL(s string, schemes ...string) bool {
	u, err := url.Parse(s)
	return err == nil && slices.Contains(schemes, u.Scheme) && u.Host != "" && strings.Trim(u.Path, "/") == "" &&
		u.RawQuery == "" && u.Fragment == ""
}

// loadWeChat reads the subscription message templates:
// WECHAT_TEMPLATE_<KIND>=<templateId>:<key>=<param>,... for each kind of
// owner message to send by WeChat (see wechat.ParseTemplate), which need
// WECHAT_APP_ID and WECHAT_APP_SECRET; and WECHAT_MINIPROGRAM_STATE
// (formal, trial or developer; formal by default).
func loadWeChat(c *Config, env func(key, def string) string) error {
	c.WeChatState = env("WECHAT_MINIPROGRAM_STATE", wechat.StateFormal)
	switch c.WeChatState {
	case wechat.StateFormal, wechat.StateTrial, wechat.StateDeveloper:
	default:
		return fmt.Errorf("WECHAT_MINIPROGRAM_STATE must be formal, trial or developer, not %q", c.WeChatState)
	}
	kinds := outbox.Kinds()
	sort.Strings(kinds)
	for _, kind := range kinds {
		name := "WECHAT_TEMPLATE_" + kind
		spec := env(name, "")
		if spec == "" {
			continue
		}
		t, err := wechat.ParseTemplate(kind, spec)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if c.WeChatTemplates == nil {
			c.WeChatTemplates = map[string]wechat.Template{}
		}
		c.WeChatTemplates[kind] = t
	}
	if len(c.WeChatTemplates) > 0 && (c.WeChatAppID == "" || c.WeChatAppSecret == "") {
		return errors.New("WECHAT_TEMPLATE_* needs WECHAT_APP_ID and WECHAT_APP_SECRET")
	}
	return nil
}

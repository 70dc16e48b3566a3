package main

import (
	"bytes"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/wallet"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/wechat"
)

// envOf is a getenv over a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	var asked []string
	cfg, err := LoadConfig(func(k string) string { asked = append(asked, k); return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		HTTPAddr:       ":8080",
		DatabaseURL:    "",
		DataDir:        "./data",
		Production:     false,
		JWTSecret:      nil, // generated and kept in DATA_DIR by serve
		CORSOrigins:    nil,
		TestCodes:      map[string]string{"+8613800000001": "246810"},
		DemoPassword:   "ownerhub-demo",
		LogLevel:       "info",
		WeChatAPIBase:  "https://api.weixin.qq.com",
		WeChatState:    "formal",
		RateLimits:     DefaultRateLimits,
		SignInLimits:   signin.DefaultLimits,
		Wallet:         wallet.DefaultConfig(),
		Segments:       crm.DefaultThresholds,
		ConversionDays: crm.DefaultConversionDays,
		Referrals:      referrals.Config{LinkBase: referrals.DefaultLinkBase, Reward: referrals.Reward{Points: referrals.DefaultRewardPoints}},
		// The default weekly cap of marketing messages per owner.
		MarketingWeeklyCap: 2,
		Packages:           packages.DefaultConfig(),
		PaymentHold:        payments.DefaultHold,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	for _, v := range []string{"HTTP_ADDR", "DATABASE_URL", "DATA_DIR", "APP_ENV", "JWT_SECRET", "CORS_ORIGINS",
		"OTP_TEST_NUMBERS", "DEMO_PASSWORD", "LOG_LEVEL", "WECHAT_API_BASE_URL", "WECHAT_APP_ID", "WECHAT_APP_SECRET",
		"TRUST_PROXY_HEADERS", "RATE_LIMIT_ANONYMOUS_PER_IP", "RATE_LIMIT_PER_USER", "RATE_LIMIT_LOGIN_CODES_PER_IP",
		"RATE_LIMIT_WRONG_CODES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_USER_IP",
		"SMS_PROVIDER", "PACKAGE_REFUND_FEE_PERCENT", "PAYMENT_PROVIDER", "PAYMENT_HOLD", "WECHAT_MINIPROGRAM_STATE", "WECHAT_TEMPLATE_READY_FOR_PICKUP",
		"TRUSTED_DOCUMENTS"} {
		found := false
		for _, a := range asked {
			found = found || a == v
		}
		if !found {
			t.Errorf("LoadConfig never reads %s", v)
		}
	}
}

func TestConfigEverySetting(t *testing.T) {
	secret := strings.Repeat("s", 40)
	cfg, err := LoadConfig(envOf(map[string]string{
		"HTTP_ADDR":                        "127.0.0.1:9000",
		"DATABASE_URL":                     "postgresql://u:p@db:5432/ownerhub",
		"DATA_DIR":                         "/var/lib/ownerhub",
		"APP_ENV":                          "production",
		"JWT_SECRET":                       secret,
		"CORS_ORIGINS":                     " https://app.example.com , http://localhost:5173,",
		"OTP_TEST_NUMBERS":                 "13800000009=135790, +86 139 0000 0001=000000",
		"DEMO_PASSWORD":                    "another-password",
		"LOG_LEVEL":                        "debug",
		"WECHAT_API_BASE_URL":              "http://127.0.0.1:1",
		"WECHAT_APP_ID":                    "wx123",
		"WECHAT_APP_SECRET":                "shh",
		"WECHAT_MINIPROGRAM_STATE":         "developer",
		"WECHAT_TEMPLATE_READY_FOR_PICKUP": "tmplReady:thing1=title",
		"TRUST_PROXY_HEADERS":              "true",

		"RATE_LIMIT_ANONYMOUS_PER_IP":           "250, 1000",
		"RATE_LIMIT_PER_USER":                   "0.5,2",
		"RATE_LIMIT_LOGIN_CODES_PER_IP":         "300",
		"RATE_LIMIT_WRONG_CODES_PER_IP":         "off",
		"RATE_LIMIT_STAFF_FAILURES_PER_IP":      "80",
		"RATE_LIMIT_STAFF_FAILURES_PER_USER_IP": "8",

		"DB_MAX_OPEN_CONNS":    "40",
		"DB_MAX_IDLE_CONNS":    "30",
		"DB_LOCK_TIMEOUT":      "2s",
		"DB_STATEMENT_TIMEOUT": "8s",
		"METRICS_ADDR":         "127.0.0.1:9100",
		"METRICS_TOKEN":        "scrape-me-0123456789",
		"DRAIN_PERIOD":         "10s",

		"SMS_PROVIDER":                 "aliyun",
		"ALIYUN_SMS_ACCESS_KEY_ID":     "LTAI5t-key",
		"ALIYUN_SMS_ACCESS_KEY_SECRET": "key-secret",
		"ALIYUN_SMS_SIGN_NAME":         "车主之家",
		"ALIYUN_SMS_TEMPLATE_LOGIN":    "SMS_465000001",
		"ALIYUN_SMS_ENDPOINT":          "https://dysmsapi.aliyuncs.com",

		"PAYMENT_HOLD":               "5m",
		"PACKAGE_REFUND_FEE_PERCENT": "5",

		"CRM_SEGMENT_WINDOW_MONTHS": "18",
		"CRM_SEGMENT_THRESHOLDS":    "maintenance:2, mechanical:3",
		"CRM_CONVERSION_DAYS":       "14",
		"REFERRAL_LINK_BASE":        "https://app.example.com/r/",
		"REFERRAL_REWARD":           "points:800",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		HTTPAddr:        "127.0.0.1:9000",
		DatabaseURL:     "postgresql://u:p@db:5432/ownerhub",
		DataDir:         "/var/lib/ownerhub",
		Production:      true,
		JWTSecret:       []byte(secret),
		CORSOrigins:     []string{"https://app.example.com", "http://localhost:5173"},
		TestCodes:       map[string]string{"+8613800000009": "135790", "+8613900000001": "000000"},
		DemoPassword:    "another-password",
		LogLevel:        "debug",
		WeChatAPIBase:   "http://127.0.0.1:1",
		WeChatAppID:     "wx123",
		WeChatAppSecret: "shh",
		WeChatState:     "developer",
		WeChatTemplates: map[string]wechat.Template{outbox.KindReadyForPickup: {Kind: outbox.KindReadyForPickup, ID: "tmplReady",
			Fields: []wechat.Field{{Key: "thing1", Param: "title"}}}},
		TrustProxyHeaders: true,
		RateLimits:        RateLimits{IPRate: 250, IPBurst: 1000, UserRate: 0.5, UserBurst: 2},
		SignInLimits:      signin.Limits{CodesPerIP: 300, WrongCodesPerIP: signin.Off, StaffFailuresPerIP: 80, StaffFailuresPerUserIP: 8},
		Pool:              models.Pool{MaxOpenConns: 40, MaxIdleConns: 30, LockTimeout: 2 * time.Second, StatementTimeout: 8 * time.Second},
		MetricsAddr:       "127.0.0.1:9100",
		MetricsToken:      "scrape-me-0123456789",
		DrainPeriod:       10 * time.Second,
		Wallet:            wallet.DefaultConfig(),
		Segments:          crm.Thresholds{WindowMonths: 18, Insurance: 1, Maintenance: 2, Mechanical: 3},
		ConversionDays:    14,
		Referrals:         referrals.Config{LinkBase: "https://app.example.com/r/", Reward: referrals.Reward{Points: 800}},
		SMSProvider:       "aliyun",
		AliyunSMS: outbox.AliyunConfig{AccessKeyID: "LTAI5t-key", AccessKeySecret: "key-secret", SignName: "车主之家",
			Templates: map[string]string{outbox.KindLoginCode: "SMS_465000001"}, Endpoint: "https://dysmsapi.aliyuncs.com"},
		MarketingWeeklyCap: 2,
		Packages:           packages.Config{RefundFeePercent: 5},
		PaymentHold:        5 * time.Minute,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("settings:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestConfigRateLimitsOff(t *testing.T) {
	env := map[string]string{}
	for _, v := range []string{"RATE_LIMIT_ANONYMOUS_PER_IP", "RATE_LIMIT_PER_USER", "RATE_LIMIT_LOGIN_CODES_PER_IP",
		"RATE_LIMIT_WRONG_CODES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_IP", "RATE_LIMIT_STAFF_FAILURES_PER_USER_IP"} {
		env[v] = "off"
	}
	cfg, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimits.IPRate != rate.Inf || cfg.RateLimits.UserRate != rate.Inf {
		t.Fatalf("rate limits: %+v", cfg.RateLimits)
	}
	off := signin.Limits{CodesPerIP: signin.Off, WrongCodesPerIP: signin.Off, StaffFailuresPerIP: signin.Off, StaffFailuresPerUserIP: signin.Off}
	if cfg.SignInLimits != off {
		t.Fatalf("sign-in limits: %+v", cfg.SignInLimits)
	}
}

func TestConfigProductionHasNoDefaultTestNumber(t *testing.T) {
	cfg, err := LoadConfig(envOf(map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Production || len(cfg.TestCodes) != 0 {
		t.Fatalf("production test codes: %v", cfg.TestCodes)
	}
	// Listed explicitly (an app-store reviewer), they are honoured.
	cfg, err = LoadConfig(envOf(map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32),
		"OTP_TEST_NUMBERS": "+8613800000001=246810"}))
	if err != nil || cfg.TestCodes["+8613800000001"] != "246810" {
		t.Fatalf("explicit test number in production: %v %v", cfg.TestCodes, err)
	}
}

func TestConfigErrors(t *testing.T) {
	prod := func(extra map[string]string) map[string]string {
		m := map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("k", 32)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		says []string
	}{
		{"production without JWT_SECRET", map[string]string{"APP_ENV": "production"}, []string{"JWT_SECRET", "production"}},
		{"short JWT_SECRET", map[string]string{"JWT_SECRET": "short"}, []string{"JWT_SECRET", "32"}},
		{"short JWT_SECRET in production", prod(map[string]string{"JWT_SECRET": strings.Repeat("k", 31)}), []string{"JWT_SECRET", "32"}},
		{"bad APP_ENV", map[string]string{"APP_ENV": "staging"}, []string{"APP_ENV", "staging"}},
		{"bad OTP_TEST_NUMBERS: no code", map[string]string{"OTP_TEST_NUMBERS": "+8613800000001"}, []string{"OTP_TEST_NUMBERS"}},
		{"bad OTP_TEST_NUMBERS: short code", map[string]string{"OTP_TEST_NUMBERS": "+8613800000001=123"}, []string{"OTP_TEST_NUMBERS"}},
		{"bad OTP_TEST_NUMBERS: not a mobile", map[string]string{"OTP_TEST_NUMBERS": "12345=246810"}, []string{"OTP_TEST_NUMBERS"}},
		{"bad CORS origin", map[string]string{"CORS_ORIGINS": "https://ok.example.com,app.example.com"}, []string{"CORS_ORIGINS", "app.example.com"}},
		{"DATABASE_URL not postgres", map[string]string{"DATABASE_URL": "mysql://u@h/db"}, []string{"DATABASE_URL", "postgres"}},
		{"DATABASE_URL a file", map[string]string{"DATABASE_URL": "./data/ownerhub.db"}, []string{"DATABASE_URL"}},
		{"bad LOG_LEVEL", map[string]string{"LOG_LEVEL": "verbose"}, []string{"LOG_LEVEL", "verbose"}},
		{"bad TRUST_PROXY_HEADERS", map[string]string{"TRUST_PROXY_HEADERS": "yes please"}, []string{"TRUST_PROXY_HEADERS"}},
		{"WeChat id without secret in production", prod(map[string]string{"WECHAT_APP_ID": "wx1"}), []string{"WECHAT_APP_ID", "WECHAT_APP_SECRET"}},
		{"bad RATE_LIMIT_ANONYMOUS_PER_IP", map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "fast"}, []string{"RATE_LIMIT_ANONYMOUS_PER_IP", "fast", "off"}},
		{"RATE_LIMIT_PER_USER without a burst", map[string]string{"RATE_LIMIT_PER_USER": "20"}, []string{"RATE_LIMIT_PER_USER", "20"}},
		{"RATE_LIMIT_PER_USER of zero", map[string]string{"RATE_LIMIT_PER_USER": "0,10"}, []string{"RATE_LIMIT_PER_USER"}},
		{"RATE_LIMIT_ANONYMOUS_PER_IP burst of zero", map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "10,0"}, []string{"RATE_LIMIT_ANONYMOUS_PER_IP"}},
		{"RATE_LIMIT_ANONYMOUS_PER_IP negative", map[string]string{"RATE_LIMIT_ANONYMOUS_PER_IP": "-1,5"}, []string{"RATE_LIMIT_ANONYMOUS_PER_IP"}},
		{"RATE_LIMIT_LOGIN_CODES_PER_IP of zero", map[string]string{"RATE_LIMIT_LOGIN_CODES_PER_IP": "0"}, []string{"RATE_LIMIT_LOGIN_CODES_PER_IP", "off"}},
		{"bad RATE_LIMIT_WRONG_CODES_PER_IP", map[string]string{"RATE_LIMIT_WRONG_CODES_PER_IP": "lots"}, []string{"RATE_LIMIT_WRONG_CODES_PER_IP", "lots"}},
		{"negative RATE_LIMIT_STAFF_FAILURES_PER_IP", map[string]string{"RATE_LIMIT_STAFF_FAILURES_PER_IP": "-5"}, []string{"RATE_LIMIT_STAFF_FAILURES_PER_IP"}},
		{"unknown SMS_PROVIDER", map[string]string{"SMS_PROVIDER": "twilio"}, []string{"SMS_PROVIDER", "twilio", "aliyun"}},
		{"aliyun without a key", prod(aliyunVars("ALIYUN_SMS_ACCESS_KEY_ID", "")), []string{"ALIYUN_SMS_ACCESS_KEY_ID", "required"}},
		{"aliyun without a secret", prod(aliyunVars("ALIYUN_SMS_ACCESS_KEY_SECRET", "")), []string{"ALIYUN_SMS_ACCESS_KEY_SECRET", "required"}},
		{"aliyun without a sign name", prod(aliyunVars("ALIYUN_SMS_SIGN_NAME", "")), []string{"ALIYUN_SMS_SIGN_NAME", "required"}},
		{"aliyun without a login template", prod(aliyunVars("ALIYUN_SMS_TEMPLATE_LOGIN", "")), []string{"ALIYUN_SMS_TEMPLATE_LOGIN", "required"}},
		{"aliyun template not a code", prod(aliyunVars("ALIYUN_SMS_TEMPLATE_LOGIN", "您的验证码是${code}")), []string{"ALIYUN_SMS_TEMPLATE_LOGIN", "SMS_"}},
		{"aliyun endpoint with a path", prod(aliyunVars("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/api")), []string{"ALIYUN_SMS_ENDPOINT"}},
		{"aliyun endpoint of another scheme", prod(aliyunVars("ALIYUN_SMS_ENDPOINT", "ftp://dysmsapi.aliyuncs.com")), []string{"ALIYUN_SMS_ENDPOINT"}},
		{"fractional RATE_LIMIT_STAFF_FAILURES_PER_USER_IP", map[string]string{"RATE_LIMIT_STAFF_FAILURES_PER_USER_IP": "1.5"}, []string{"RATE_LIMIT_STAFF_FAILURES_PER_USER_IP"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadConfig(envOf(c.env))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			for _, s := range c.says {
				if !strings.Contains(msg, s) {
					t.Fatalf("error %q does not mention %q", msg, s)
				}
			}
		})
	}
}

// aliyunVars is a complete Alibaba Cloud SMS configuration with name set to
// value.
func aliyunVars(name, value string) map[string]string {
	m := map[string]string{"SMS_PROVIDER": "aliyun", "ALIYUN_SMS_ACCESS_KEY_ID": "LTAI5t-key", "ALIYUN_SMS_ACCESS_KEY_SECRET": "key-secret",
		"ALIYUN_SMS_SIGN_NAME": "车主之家", "ALIYUN_SMS_TEMPLATE_LOGIN": "SMS_465000001"}
	m[name] = value
	return m
}

func TestConfigDevSecretKeptInDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	load := func() Config {
		cfg, err := LoadConfig(envOf(map[string]string{"DATA_DIR": dir}))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.ensureDevSecret(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	first := load()
	if len(first.JWTSecret) < 32 {
		t.Fatalf("generated secret of %d bytes", len(first.JWTSecret))
	}
	path := filepath.Join(dir, "jwt-secret")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Fatalf("secret file is readable by others: %v", perm)
	}
	second := load()
	if !bytes.Equal(first.JWTSecret, second.JWTSecret) {
		t.Fatalf("next start generated another secret")
	}
	// Tokens signed before the restart still verify after it.
	before, err := auth.NewTokens(first.JWTSecret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	after, err := auth.NewTokens(second.JWTSecret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := before.Issue(auth.Principal{Kind: auth.KindOwner, ID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Verify(tok); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}

	// Another data directory gets another secret.
	other := Config{DataDir: t.TempDir()}
	if err := other.ensureDevSecret(); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.JWTSecret, first.JWTSecret) {
		t.Fatalf("two data directories share a secret")
	}

	// A configured JWT_SECRET wins, and nothing is written.
	dir3 := t.TempDir()
	cfg, err := LoadConfig(envOf(map[string]string{"DATA_DIR": dir3, "JWT_SECRET": strings.Repeat("j", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ensureDevSecret(); err != nil {
		t.Fatal(err)
	}
	if string(cfg.JWTSecret) != strings.Repeat("j", 32) {
		t.Fatalf("JWT_SECRET replaced")
	}
	if _, err := os.Stat(filepath.Join(dir3, "jwt-secret")); !os.IsNotExist(err) {
		t.Fatalf("secret file written although JWT_SECRET is set: %v", err)
	}
}

func TestConfigPush(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "AuthKey.p8")
	fake := authtest.NewAPNs(t, "cn.ownerhub.app")
	if err := os.WriteFile(keyFile, fake.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	apns := map[string]string{"PUSH_APNS_KEY_FILE": keyFile, "PUSH_APNS_KEY_ID": "ABC123DEFG", "PUSH_APNS_TEAM_ID": "DEF123GHIJ",
		"PUSH_APNS_TOPIC": "cn.ownerhub.app", "PUSH_JPUSH_APP_KEY": "app-key", "PUSH_JPUSH_MASTER_SECRET": "master"}
	cfg, err := LoadConfig(envOf(apns))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APNs == nil || cfg.APNs.Endpoint != push.APNsProduction || cfg.APNs.Topic != "cn.ownerhub.app" ||
		cfg.JPush == nil || cfg.JPush.Endpoint != push.JPushEndpoint {
		t.Fatalf("push settings: %+v %+v", cfg.APNs, cfg.JPush)
	}
	if cfg, err := LoadConfig(envOf(map[string]string{})); err != nil || cfg.APNs != nil || cfg.JPush != nil {
		t.Fatalf("unset push: %+v %+v, %v", cfg.APNs, cfg.JPush, err)
	}
	with := func(k, v string) map[string]string {
		env := maps.Clone(apns)
		env[k] = v
		return env
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-key"), []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{
		with("PUSH_APNS_TEAM_ID", ""),
		with("PUSH_APNS_KEY_FILE", filepath.Join(dir, "missing.p8")),
		with("PUSH_APNS_KEY_FILE", filepath.Join(dir, "not-a-key")),
		with("PUSH_APNS_ENDPOINT", "http://api.push.apple.com"),
		with("PUSH_JPUSH_MASTER_SECRET", ""),
		with("PUSH_JPUSH_ENDPOINT", "https://api.jpush.cn/v3/push"),
	} {
		if _, err := LoadConfig(envOf(env)); err == nil {
			t.Errorf("LoadConfig accepted %v", env)
		}
	}
	if cfg, err := LoadConfig(envOf(with("PUSH_APNS_ENDPOINT", "sandbox"))); err != nil || cfg.APNs.Endpoint != push.APNsSandbox {
		t.Fatalf("sandbox: %+v, %v", cfg.APNs, err)
	}
}

func TestConfigWeChatPay(t *testing.T) {
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "apiclient_key.pem")
	if err := os.WriteFile(keyFile, []byte(fake.MerchantKeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	pay := map[string]string{"PAYMENT_PROVIDER": "wechatpay", "WECHAT_APP_ID": "wx-mini", "WECHATPAY_MCH_ID": fake.MchID,
		"WECHATPAY_MERCHANT_SERIAL": fake.MerchantSerial, "WECHATPAY_MERCHANT_KEY": keyFile,
		"WECHATPAY_PUBLIC_KEY_ID": fake.PublicKeyID, "WECHATPAY_PUBLIC_KEY": fake.PublicKeyPEM,
		"WECHATPAY_API_V3_KEY": fake.APIv3Key, "WECHATPAY_NOTIFY_URL": "https://api.example.com/api/v1/payments/wechat/notify"}
	cfg, err := LoadConfig(envOf(pay))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.WeChatPay
	if w == nil || w.AppID != "wx-mini" || w.MobileAppID != "" || w.MerchantKeyPEM != fake.MerchantKeyPEM ||
		w.PublicKeyPEM != strings.TrimSpace(fake.PublicKeyPEM) || w.MchID != fake.MchID ||
		w.RefundNotifyURL != "https://api.example.com/api/v1/payments/wechat/refund-notify" {
		t.Fatalf("wechat pay settings: %+v", w)
	}
	if cfg, err := LoadConfig(envOf(map[string]string{})); err != nil || cfg.WeChatPay != nil {
		t.Fatalf("unset: %+v, %v", cfg.WeChatPay, err)
	}
	with := func(k, v string) map[string]string {
		env := maps.Clone(pay)
		env[k] = v
		return env
	}
	for _, env := range []map[string]string{
		with("PAYMENT_PROVIDER", "alipay"),
		with("WECHATPAY_MCH_ID", ""),
		with("WECHATPAY_API_V3_KEY", "too-short"),
		with("WECHATPAY_MERCHANT_KEY", filepath.Join(dir, "missing.pem")),
		with("WECHATPAY_MERCHANT_KEY", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"),
		with("WECHATPAY_PUBLIC_KEY", fake.MerchantKeyPEM),
		with("WECHATPAY_NOTIFY_URL", "api.example.com/notify"),
		with("WECHATPAY_REFUND_NOTIFY_URL", "api.example.com/refund-notify"),
		with("PAYMENT_HOLD", "10s"),
		with("PAYMENT_HOLD", "soon"),
	} {
		if _, err := LoadConfig(envOf(env)); err == nil {
			t.Errorf("LoadConfig accepted %v", env)
		}
	}
	prod := with("APP_ENV", "production")
	prod["JWT_SECRET"] = strings.Repeat("s", 40)
	prod["WECHAT_APP_SECRET"] = "shh"
	prod["WECHATPAY_NOTIFY_URL"] = "http://api.example.com/api/v1/payments/wechat/notify"
	if _, err := LoadConfig(envOf(prod)); err == nil {
		t.Error("production accepted a plain-http notify URL")
	}
	prod = with("APP_ENV", "production")
	prod["JWT_SECRET"] = strings.Repeat("s", 40)
	prod["WECHAT_APP_SECRET"] = "shh"
	prod["WECHATPAY_REFUND_NOTIFY_URL"] = "http://api.example.com/api/v1/payments/wechat/refund-notify"
	if _, err := LoadConfig(envOf(prod)); err == nil {
		t.Error("production accepted a plain-http refund notify URL")
	}
	if cfg, err := LoadConfig(envOf(with("WECHATPAY_REFUND_NOTIFY_URL", "https://pay.example.com/refunds"))); err != nil ||
		cfg.WeChatPay.RefundNotifyURL != "https://pay.example.com/refunds" {
		t.Fatalf("refund notify URL set: %+v %v", cfg, err)
	}
}

// Subscription message templates: one variable per kind, checked at start.
func TestConfigWeChatTemplates(t *testing.T) {
	app := map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s1"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(app)
		maps.Copy(m, extra)
		return m
	}
	cfg, err := LoadConfig(envOf(with(map[string]string{
		"WECHAT_TEMPLATE_READY_FOR_PICKUP": "tmpl-Ready_1:thing1=title, name2=name",
		"WECHAT_TEMPLATE_BIRTHDAY":         "tmplBirthday:thing3=title,date4=time",
		"WECHAT_MINIPROGRAM_STATE":         "trial",
	})))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]wechat.Template{
		outbox.KindReadyForPickup: {Kind: outbox.KindReadyForPickup, ID: "tmpl-Ready_1",
			Fields: []wechat.Field{{Key: "thing1", Param: "title"}, {Key: "name2", Param: "name"}}},
		outbox.KindBirthday: {Kind: outbox.KindBirthday, ID: "tmplBirthday", Fields: []wechat.Field{{Key: "thing3", Param: "title"}, {Key: "date4", Param: "time"}}},
	}
	if !reflect.DeepEqual(cfg.WeChatTemplates, want) || cfg.WeChatState != "trial" {
		t.Fatalf("templates %+v state %q", cfg.WeChatTemplates, cfg.WeChatState)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		says []string
	}{
		"no template id":       {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": ":thing1=title"}), []string{"WECHAT_TEMPLATE_BIRTHDAY"}},
		"no fields":            {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1"}), []string{"WECHAT_TEMPLATE_BIRTHDAY", "<templateId>"}},
		"unknown field type":   {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:colour1=title"}), []string{"WECHAT_TEMPLATE_BIRTHDAY", "colour"}},
		"key without a number": {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:thing=title"}), []string{"WECHAT_TEMPLATE_BIRTHDAY", "thing"}},
		"key twice":            {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:thing1=title,thing1=name"}), []string{"WECHAT_TEMPLATE_BIRTHDAY", "twice"}},
		"no parameter":         {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:thing1="}), []string{"WECHAT_TEMPLATE_BIRTHDAY"}},
		"a time not the time":  {with(map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:time2=title"}), []string{"WECHAT_TEMPLATE_BIRTHDAY", "time"}},
		"without credentials":  {map[string]string{"WECHAT_TEMPLATE_BIRTHDAY": "tmpl1:thing1=title"}, []string{"WECHAT_TEMPLATE_", "WECHAT_APP_ID"}},
		"bad state":            {with(map[string]string{"WECHAT_MINIPROGRAM_STATE": "beta"}), []string{"WECHAT_MINIPROGRAM_STATE", "beta"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(envOf(c.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

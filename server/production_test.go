package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// In production there is no SMS gateway yet: a login code must not be
// written anywhere (not even the log), and only test numbers can sign in.
func TestProductionNeverLogsLoginCodes(t *testing.T) {
	logs := &logBuffer{}
	s := newTestServer(t, func(c *Config, d *Deps) {
		c.Production = true
		c.TestCodes = map[string]string{"+8613900009999": "112233"}
		d.Log = slog.New(slog.NewJSONHandler(logs, nil))
		d.SMS = smsSender(*c, d.Log)
	})
	t.Cleanup(func() { // shared database: leave no code whose resend interval would refuse a rerun
		s.DB.Conn(context.Background()).Where("phone IN ?", []string{"+8613900009999", "+8613911112222"}).Delete(&models.LoginCode{})
	})
	r := s.do(t, req{Query: `mutation { requestLoginCode(input: {phone: "13911112222"}) { sent userErrors { code } } }`})
	if dig(r.Data, "requestLoginCode", "sent") == true {
		t.Fatalf("a code was reported sent without a gateway: %s", r.Raw)
	}
	if strings.Contains(logs.String(), "sms login code") || strings.Contains(logs.String(), `"code":"`) {
		t.Fatalf("a login code reached the log: %s", logs.String())
	}
	// A configured test number still signs in (nothing is sent for it).
	ok := s.gql(t, "", `mutation { requestLoginCode(input: {phone: "13900009999"}) { sent userErrors { code } } }`, nil)
	if dig(ok, "requestLoginCode", "sent") != true {
		t.Fatalf("test number: %v", ok)
	}
	in := s.gql(t, "", `mutation { verifyLoginCode(input: {phone: "13900009999", code: "112233"}) { session { accessToken } userErrors { code } } }`, nil)
	if dig(in, "verifyLoginCode", "session", "accessToken") == nil {
		t.Fatalf("test number sign-in: %v", in)
	}
}

func TestProductionRefusesDemoData(t *testing.T) {
	env := map[string]string{"APP_ENV": "production", "JWT_SECRET": testSecret, "DATA_DIR": t.TempDir()}
	err := run(context.Background(), []string{"seed"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "production") {
		t.Fatalf("seed in production: %v", err)
	}
}

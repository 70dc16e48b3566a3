package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/authtest"
)

const testAppSecret = "s3cr3t-app-secret"

// newClient returns a client aimed at base with test credentials.
func newClient(base string) *auth.WeChatClient {
	return &auth.WeChatClient{BaseURL: base, AppID: "wx-test-app", Secret: testAppSecret}
}

// noSecret fails the test if err quotes the app secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testAppSecret) {
		t.Errorf("error leaks the app secret: %v", err)
	}
}

func TestCode2Session(t *testing.T) {
	fake := authtest.NewFakeWeChat()
	defer fake.Close()
	fake.AddCode("code-1", "openid-1", "unionid-1")
	fake.AddCode("code-2", "openid-2", "")
	c := newClient(fake.URL())
	ctx := context.Background()

	got, err := c.Code2Session(ctx, "code-1")
	if err != nil {
		t.Fatalf("Code2Session: %v", err)
	}
	if got != (auth.WeChatSession{OpenID: "openid-1", UnionID: "unionid-1"}) {
		t.Errorf("session = %+v", got)
	}
	got, err = c.Code2Session(ctx, "code-2")
	if err != nil || got != (auth.WeChatSession{OpenID: "openid-2"}) {
		t.Errorf("without unionid: %+v, %v", got, err)
	}

	// Codes are one-time, as in WeChat.
	_, err = c.Code2Session(ctx, "code-1")
	if !errors.Is(err, auth.ErrWeChatCodeInvalid) || !strings.Contains(err.Error(), "40163") {
		t.Errorf("reused code: %v; want ErrWeChatCodeInvalid (40163)", err)
	}
	_, err = c.Code2Session(ctx, "never-issued")
	if !errors.Is(err, auth.ErrWeChatCodeInvalid) || !strings.Contains(err.Error(), "40029") {
		t.Errorf("unknown code: %v; want ErrWeChatCodeInvalid (40029)", err)
	}
	_, err = c.Code2Session(ctx, "")
	if !errors.Is(err, auth.ErrWeChatCodeInvalid) {
		t.Errorf("empty code: %v; want ErrWeChatCodeInvalid", err)
	}
	noSecret(t, err)
}

// Without app id or secret WeChat would refuse the call (40013): it is not
// made.
func TestCode2SessionWithoutCredentials(t *testing.T) {
	fake := authtest.NewFakeWeChat()
	defer fake.Close()
	fake.AddCode("code", "openid", "")

	for name, c := range map[string]*auth.WeChatClient{
		"no appid":  {BaseURL: fake.URL(), Secret: testAppSecret},
		"no secret": {BaseURL: fake.URL(), AppID: "wx-test-app"},
		"neither":   {BaseURL: fake.URL()},
	} {
		_, err := c.Code2Session(context.Background(), "code")
		if !errors.Is(err, auth.ErrWeChatNotConfigured) || errors.Is(err, auth.ErrWeChatCodeInvalid) {
			t.Errorf("%s: %v; want ErrWeChatNotConfigured", name, err)
		}
	}
	if n := fake.Requests(); n != 0 {
		t.Errorf("%d calls reached WeChat", n)
	}
	// The failed attempts must not have used up the code.
	if _, err := newClient(fake.URL()).Code2Session(context.Background(), "code"); err != nil {
		t.Errorf("code consumed by rejected requests: %v", err)
	}
}

func TestFakeWeChatChecksGrantType(t *testing.T) {
	fake := authtest.NewFakeWeChat()
	defer fake.Close()
	fake.AddCode("code", "openid", "")
	resp, err := http.Get(fake.URL() + "/sns/jscode2session?appid=a&secret=b&js_code=code&grant_type=password")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.ErrCode != 40013 {
		t.Errorf("errcode = %d, want 40013", body.ErrCode)
	}
}

func TestCode2SessionFailures(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"http 500": func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		},
		"not json": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("<html>maintenance</html>"))
		},
		"other errcode": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"errcode":-1,"errmsg":"system error"}`))
		},
		"no openid": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"session_key":"k"}`))
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			_, err := newClient(srv.URL).Code2Session(context.Background(), "code")
			if err == nil || errors.Is(err, auth.ErrWeChatCodeInvalid) {
				t.Errorf("got %v; want a non-code error", err)
			}
			noSecret(t, err)
		})
	}
}

func TestCode2SessionTransportErrorsHideSecret(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens any more

	_, err := newClient(base).Code2Session(context.Background(), "code")
	if err == nil {
		t.Fatal("want an error from a closed server")
	}
	noSecret(t, err)

	_, err = newClient("://bad url").Code2Session(context.Background(), "code")
	if err == nil {
		t.Fatal("want an error from a bad base URL")
	}
	noSecret(t, err)
}

func TestCode2SessionTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c := newClient(srv.URL)
	c.HTTP = &http.Client{Timeout: 50 * time.Millisecond}
	_, err := c.Code2Session(context.Background(), "code")
	if err == nil {
		t.Fatal("want a timeout error")
	}
	noSecret(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient(srv.URL).Code2Session(ctx, "code")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	noSecret(t, err)
}

// The SMS fakes are tested here as well: they live in authtest beside the
// WeChat fake.

func TestLogSMSSender(t *testing.T) {
	var buf bytes.Buffer
	s := auth.LogSMSSender{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := s.SendLoginCode(context.Background(), "+8613800138000", "123456"); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output %q: %v", buf.String(), err)
	}
	if rec["level"] != "INFO" || rec["msg"] != "sms login code" || rec["phone"] != "+8613800138000" || rec["code"] != "123456" {
		t.Errorf("log record = %v", rec)
	}
}

func TestSMSOutbox(t *testing.T) {
	var o authtest.SMSOutbox
	var sender auth.SMSSender = &o
	ctx := context.Background()
	const phone = "+8613800138000"

	if _, ok := o.Last(phone); ok || o.Count(phone) != 0 {
		t.Fatal("empty outbox reports a code")
	}
	_ = sender.SendLoginCode(ctx, phone, "111111")
	_ = sender.SendLoginCode(ctx, phone, "222222")
	if code, ok := o.Last(phone); !ok || code != "222222" || o.Count(phone) != 2 {
		t.Errorf("Last = %q, %v; Count = %d", code, ok, o.Count(phone))
	}
	if o.Count("+8613900139000") != 0 {
		t.Error("codes leak between phones")
	}

	gatewayDown := errors.New("gateway down")
	o.FailWith(gatewayDown)
	if err := sender.SendLoginCode(ctx, phone, "333333"); !errors.Is(err, gatewayDown) || o.Count(phone) != 2 {
		t.Errorf("FailWith: err %v, count %d", err, o.Count(phone))
	}
	o.FailWith(nil)

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { _ = sender.SendLoginCode(ctx, "+15550100", "000000") })
	}
	wg.Wait()
	if n := o.Count("+15550100"); n != 50 {
		t.Errorf("concurrent sends recorded %d, want 50", n)
	}
}

// Package authtest provides in-process fakes of the external services the
// auth package talks to (WeChat, the SMS gateway), because tests cannot reach
// the real ones.
package authtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
)

// FakeWeChat is a local stand-in for WeChat's mini-program API: login
// (/sns/jscode2session; codes registered with AddCode work once, as in
// WeChat), and, for an app registered with AddApp, the access token
// (/cgi-bin/stable_token), subscription messages
// (/cgi-bin/message/subscribe/send) and verified phone numbers
// (/wxa/business/getuserphonenumber). See wechat_api.go.
type FakeWeChat struct {
	// Server is the running fake; point auth.WeChatClient.BaseURL at URL().
	Server *httptest.Server

	mu       sync.Mutex
	codes    map[string]*fakeCode
	requests int
	api      fakeAPI
}

// fakeCode is one registered login code and whether it has been redeemed.
type fakeCode struct {
	openid, unionid string
	used            bool
}

// NewFakeWeChat starts a fake WeChat server. The caller must Close it.
func NewFakeWeChat() *FakeWeChat {
	f := &FakeWeChat{codes: make(map[string]*fakeCode)}
	f.api.init()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/jscode2session", f.jscode2session)
	mux.HandleFunc("POST /cgi-bin/stable_token", f.stableToken)
	mux.HandleFunc("POST /cgi-bin/message/subscribe/send", f.subscribeSend)
	mux.HandleFunc("POST /wxa/business/getuserphonenumber", f.phoneNumber)
	f.Server = httptest.NewServer(mux)
	return f
}

// AddCode registers a one-time login code for the given user. A second use of
// the code answers errcode 40163, as WeChat does.
func (f *FakeWeChat) AddCode(code, openid, unionid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[code] = &fakeCode{openid: openid, unionid: unionid}
}

// Requests is how many calls reached the fake, so that a test can tell that
// nothing was asked of WeChat.
func (f *FakeWeChat) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// URL is the base URL of the fake, for auth.WeChatClient.BaseURL.
func (f *FakeWeChat) URL() string { return f.Server.URL }

// Close shuts the fake down.
func (f *FakeWeChat) Close() { f.Server.Close() }

// jscode2session mimics WeChat's answers: HTTP 200 with a JSON body whose
// errcode says what went wrong.
func (f *FakeWeChat) jscode2session(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	q := r.URL.Query()
	if q.Get("appid") == "" || q.Get("secret") == "" || q.Get("grant_type") != "authorization_code" {
		writeWeChat(w, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
		return
	}
	code := q.Get("js_code")
	if code == "" {
		writeWeChat(w, map[string]any{"errcode": 41008, "errmsg": "missing code"})
		return
	}
	f.mu.Lock()
	c, ok := f.codes[code]
	used := ok && c.used
	if ok {
		c.used = true
	}
	f.mu.Unlock()
	switch {
	case !ok:
		writeWeChat(w, map[string]any{"errcode": 40029, "errmsg": "invalid code"})
	case used:
		writeWeChat(w, map[string]any{"errcode": 40163, "errmsg": "code been used"})
	default:
		body := map[string]any{"openid": c.openid, "session_key": "fake-session-key"}
		if c.unionid != "" {
			body["unionid"] = c.unionid
		}
		writeWeChat(w, body)
	}
}

// writeWeChat writes body as JSON with status 200, which WeChat uses even for
// errors.
func writeWeChat(w http.ResponseWriter, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

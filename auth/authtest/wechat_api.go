package authtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// fakeAPI is the state of the fake's server-to-server API (under
// FakeWeChat.mu).
type fakeAPI struct {
	apps map[string]string // app id -> secret
	// tokens are the access tokens issued, with when each stops working;
	// current is the one stable_token hands out while it lasts.
	tokens     map[string]time.Time
	current    string
	tokenCalls int
	forced     int
	seq        int
	ttl        time.Duration
	templates  map[string]map[string]string // template id -> key -> field type
	// permissions by openid and template: what the user accepted and not
	// used; an openid is known once it has an entry.
	permissions map[string]map[string]int
	sent        []SubscribeMessage
	// fail are errcodes to answer the next sends with, in order; outage
	// answers HTTP 503 to everything but login.
	fail   []int
	outage bool
	phones map[string]FakePhone // getPhoneNumber code -> number
}

// FakePhone is what WeChat verified for a getPhoneNumber code.
type FakePhone struct {
	Pure, CountryCode string
}

// SubscribeMessage is a subscription message the fake accepted.
type SubscribeMessage struct {
	ToUser, TemplateID, Page, State string
	// Data is each key's value.
	Data map[string]string
}

func (a *fakeAPI) init() {
	a.apps = map[string]string{}
	a.tokens = map[string]time.Time{}
	a.templates = map[string]map[string]string{}
	a.permissions = map[string]map[string]int{}
	a.phones = map[string]FakePhone{}
	a.ttl = 2 * time.Hour
}

// fakeLimits are WeChat's limits on a value, in characters, per field type.
var fakeLimits = map[string]int{"thing": 20, "name": 10, "phrase": 5, "car_number": 8, "character_string": 32,
	"number": 32, "letter": 32, "symbol": 5, "amount": 12, "phone_number": 17, "time": 32, "date": 32}

// AddApp registers a mini-program's credentials for stable_token.
func (f *FakeWeChat) AddApp(appID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api.apps[appID] = secret
}

// SetTokenTTL sets the expires_in of the tokens issued from now on.
func (f *FakeWeChat) SetTokenTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api.ttl = d
}

// TokenCalls is how many times stable_token was called, and how many of
// those forced a refresh.
func (f *FakeWeChat) TokenCalls() (calls, forced int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.api.tokenCalls, f.api.forced
}

// ExpireTokens makes every token issued so far expired (42001), as if its
// two hours had passed.
func (f *FakeWeChat) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.api.tokens {
		f.api.tokens[t] = time.Time{}
	}
	f.api.current = ""
}

// AddTemplate registers a subscription message template with its keys
// (thing1, time2, ...).
func (f *FakeWeChat) AddTemplate(id string, keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string]string{}
	for _, k := range keys {
		m[k] = strings.TrimRight(k, "0123456789")
	}
	f.api.templates[id] = m
}

// Accept records that openid accepted template n times
// (wx.requestSubscribeMessage): n messages may be sent.
func (f *FakeWeChat) Accept(openid, template string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.api.permissions[openid] == nil {
		f.api.permissions[openid] = map[string]int{}
	}
	f.api.permissions[openid][template] += n
}

// Permission is what openid has left for template.
func (f *FakeWeChat) Permission(openid, template string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.api.permissions[openid][template]
}

// FailSends makes the next sends answer these errcodes, one each.
func (f *FakeWeChat) FailSends(codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api.fail = append(f.api.fail, codes...)
}

// SetOutage makes the API (not login) answer HTTP 503 while on.
func (f *FakeWeChat) SetOutage(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api.outage = on
}

// Sent is the subscription messages accepted so far.
func (f *FakeWeChat) Sent() []SubscribeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SubscribeMessage(nil), f.api.sent...)
}

// AddPhoneCode registers a one-time getPhoneNumber code for a number
// (pure: without country code).
func (f *FakeWeChat) AddPhoneCode(code, pure, countryCode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api.phones[code] = FakePhone{Pure: pure, CountryCode: countryCode}
}

// decode reads r's JSON body into v; false (answered) when it is not JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeWeChat(w, map[string]any{"errcode": 47001, "errmsg": "data format error"})
		return false
	}
	return true
}

// down answers 503 during an outage; the caller holds no lock.
func (f *FakeWeChat) down(w http.ResponseWriter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.api.outage {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return true
	}
	return false
}

// begin starts an API call: answers 503 during an outage, decodes the JSON
// body into in and, when token, checks the access token. It returns true
// holding f.mu (the caller unlocks), or false having answered and unlocked.
func (f *FakeWeChat) begin(w http.ResponseWriter, r *http.Request, in any, token bool) bool {
	if f.down(w) || !decode(w, r, in) {
		return false
	}
	f.mu.Lock()
	if token {
		if code := f.tokenError(r.URL.Query().Get("access_token")); code != 0 {
			f.mu.Unlock()
			writeWeChat(w, map[string]any{"errcode": code, "errmsg": "invalid credential"})
			return false
		}
	}
	return true
}

// tokenError is the errcode for an access token (under f.mu): 0 when good.
func (f *FakeWeChat) tokenError(tok string) int {
	exp, ok := f.api.tokens[tok]
	switch {
	case tok == "" || !ok:
		return 40001
	case !time.Now().Before(exp):
		return 42001
	}
	return 0
}

func (f *FakeWeChat) stableToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if !f.begin(w, r, &in, false) {
		return
	}
	defer f.mu.Unlock()
	f.api.tokenCalls++
	secret, ok := f.api.apps[in.AppID]
	switch {
	case in.GrantType != "client_credential":
		writeWeChat(w, map[string]any{"errcode": 40002, "errmsg": "invalid grant_type"})
		return
	case !ok:
		writeWeChat(w, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
		return
	case in.Secret != secret:
		writeWeChat(w, map[string]any{"errcode": 40125, "errmsg": "invalid appsecret"})
		return
	}
	if in.ForceRefresh {
		f.api.forced++
		delete(f.api.tokens, f.api.current)
		f.api.current = ""
	}
	if f.tokenError(f.api.current) != 0 {
		f.api.seq++
		f.api.current = fmt.Sprintf("fake-token-%d-%d", f.api.seq, time.Now().UnixNano())
		f.api.tokens[f.api.current] = time.Now().Add(f.api.ttl)
	}
	writeWeChat(w, map[string]any{"access_token": f.api.current,
		"expires_in": int(time.Until(f.api.tokens[f.api.current]).Seconds())})
}

func (f *FakeWeChat) subscribeSend(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ToUser     string                       `json:"touser"`
		TemplateID string                       `json:"template_id"`
		Page       string                       `json:"page"`
		State      string                       `json:"miniprogram_state"`
		Data       map[string]map[string]string `json:"data"`
	}
	if !f.begin(w, r, &in, true) {
		return
	}
	defer f.mu.Unlock()
	if len(f.api.fail) > 0 {
		code := f.api.fail[0]
		f.api.fail = f.api.fail[1:]
		writeWeChat(w, map[string]any{"errcode": code, "errmsg": "fake failure"})
		return
	}
	keys, ok := f.api.templates[in.TemplateID]
	if !ok {
		writeWeChat(w, map[string]any{"errcode": 40037, "errmsg": "invalid template_id"})
		return
	}
	perms, known := f.api.permissions[in.ToUser]
	if !known {
		writeWeChat(w, map[string]any{"errcode": 40003, "errmsg": "invalid openid"})
		return
	}
	switch in.State {
	case "", "formal", "trial", "developer":
	default:
		writeWeChat(w, map[string]any{"errcode": 47003, "errmsg": "argument invalid! miniprogram_state"})
		return
	}
	data := map[string]string{}
	for k, typ := range keys {
		v, ok := in.Data[k]["value"]
		if !ok || len(in.Data[k]) != 1 || v == "" || utf8.RuneCountInString(v) > fakeLimits[typ] {
			writeWeChat(w, map[string]any{"errcode": 47003, "errmsg": "argument invalid! data." + k + ".value"})
			return
		}
		data[k] = v
	}
	if len(in.Data) != len(keys) {
		writeWeChat(w, map[string]any{"errcode": 47003, "errmsg": "argument invalid! data has unknown keys"})
		return
	}
	if perms[in.TemplateID] <= 0 {
		writeWeChat(w, map[string]any{"errcode": 43101, "errmsg": "user refuse to accept the msg"})
		return
	}
	perms[in.TemplateID]--
	f.api.sent = append(f.api.sent, SubscribeMessage{ToUser: in.ToUser, TemplateID: in.TemplateID, Page: in.Page,
		State: in.State, Data: data})
	writeWeChat(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(f.api.sent)})
}

func (f *FakeWeChat) phoneNumber(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if !f.begin(w, r, &in, true) {
		return
	}
	defer f.mu.Unlock()
	p, ok := f.api.phones[in.Code]
	if !ok {
		writeWeChat(w, map[string]any{"errcode": 40029, "errmsg": "invalid code"})
		return
	}
	delete(f.api.phones, in.Code)
	writeWeChat(w, map[string]any{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
		"phoneNumber": "+" + p.CountryCode + p.Pure, "purePhoneNumber": p.Pure, "countryCode": p.CountryCode,
		"watermark": map[string]any{"timestamp": time.Now().Unix(), "appid": "fake"}}})
}

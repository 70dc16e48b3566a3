package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultWeChatBaseURL is the WeChat API host used when WeChatClient.BaseURL
// is empty.
const DefaultWeChatBaseURL = "https://api.weixin.qq.com"

// WeChat error codes that mean the login code itself is unusable, so the
// mini-program should fetch a fresh one with wx.login rather than retry.
const (
	weChatCodeInvalid = 40029
	weChatCodeUsed    = 40163
)

// maxWeChatBody bounds what is read from WeChat; real answers are ~200 bytes.
const maxWeChatBody = 64 << 10

// ErrWeChatCodeInvalid means WeChat rejected the login code as unknown,
// expired or already used. It is the caller's fault, not an outage.
var ErrWeChatCodeInvalid = errors.New("wechat login code invalid or already used")

// ErrWeChatNotConfigured means the mini-program's app id or secret is not
// set: WeChat would refuse the call, so it is not made.
var ErrWeChatNotConfigured = errors.New("wechat mini-program app id and secret are not configured")

// defaultWeChatHTTP is used when WeChatClient.HTTP is nil; the timeout keeps
// a slow WeChat from holding login requests open.
var defaultWeChatHTTP = &http.Client{Timeout: 5 * time.Second}

// WeChatSession is the identity WeChat vouches for. The session_key WeChat
// also returns is deliberately dropped: it is a secret the API never needs,
// and not holding it means it cannot leak into logs.
type WeChatSession struct {
	// OpenID identifies the user within this mini-program.
	OpenID string
	// UnionID identifies the user across the group's WeChat apps; empty when
	// the mini-program is not bound to an open platform account.
	UnionID string
}

// WeChat exchanges a mini-program login code for the user's identity. It is
// an interface so tests can use a fake instead of the real endpoint.
type WeChat interface {
	// Code2Session exchanges a one-time wx.login code.
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
}

// WeChatClient calls WeChat's code2Session endpoint:
// GET {BaseURL}/sns/jscode2session?appid=..&secret=..&js_code=..&grant_type=authorization_code.
type WeChatClient struct {
	// BaseURL is the API host without a trailing path; empty means
	// DefaultWeChatBaseURL. Tests point it at a fake.
	BaseURL string
	// AppID and Secret are the mini-program credentials.
	AppID, Secret string
	// HTTP is the client to use; nil means one with a 5s timeout.
	HTTP *http.Client
}

var _ WeChat = (*WeChatClient)(nil)

// code2SessionResponse mirrors WeChat's JSON answer, minus session_key.
type code2SessionResponse struct {
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// Code2Session exchanges code for the user's OpenID and UnionID. Codes WeChat
// rejects as invalid (40029) or used (40163) yield ErrWeChatCodeInvalid; a
// client without AppID or Secret yields ErrWeChatNotConfigured without a
// call; any other WeChat error or transport failure is returned wrapped.
// Errors never contain the request URL, because it carries the app secret.
func (c *WeChatClient) Code2Session(ctx context.Context, code string) (WeChatSession, error) {
	if c.AppID == "" || c.Secret == "" {
		return WeChatSession{}, ErrWeChatNotConfigured
	}
	if code == "" {
		return WeChatSession{}, fmt.Errorf("wechat code2session: %w: empty code", ErrWeChatCodeInvalid)
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultWeChatBaseURL
	}
	q := url.Values{
		"appid":      {c.AppID},
		"secret":     {c.Secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimRight(base, "/")+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return WeChatSession{}, fmt.Errorf("wechat code2session: build request: %w", withoutURL(err))
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultWeChatHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return WeChatSession{}, fmt.Errorf("wechat code2session: %w", withoutURL(err))
	}
	// Closing a response body only frees the connection: nothing to report.
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWeChatBody))
	if err != nil {
		return WeChatSession{}, fmt.Errorf("wechat code2session: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return WeChatSession{}, fmt.Errorf("wechat code2session: HTTP status %d", resp.StatusCode)
	}
	var r code2SessionResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return WeChatSession{}, fmt.Errorf("wechat code2session: decode response: %w", err)
	}
	switch r.ErrCode {
	case 0:
	case weChatCodeInvalid, weChatCodeUsed:
		return WeChatSession{}, fmt.Errorf("wechat code2session: %w (errcode %d: %s)", ErrWeChatCodeInvalid, r.ErrCode, r.ErrMsg)
	default:
		return WeChatSession{}, fmt.Errorf("wechat code2session: errcode %d: %s", r.ErrCode, r.ErrMsg)
	}
	if r.OpenID == "" {
		return WeChatSession{}, errors.New("wechat code2session: response has no openid")
	}
	return WeChatSession{OpenID: r.OpenID, UnionID: r.UnionID}, nil
}

// withoutURL drops the *url.Error wrapper, which quotes the full request URL
// and with it the app secret, keeping only the underlying cause.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Package wechat is the mini-program's side of WeChat beyond sign-in: the
// access token every instance shares, owners' subscription message
// permissions (订阅消息: one accepted template = one message), the outbox's
// WeChat channel that sends them, and the verified phone number of a
// getPhoneNumber code. It speaks WeChat's HTTP API directly;
// docs/decisions/0006-wechat-http-api.md says why, docs/notifications.md how
// the channel and the permissions work.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// MiniProgram states a subscription message opens (miniprogram_state).
const (
	StateFormal    = "formal"
	StateTrial     = "trial"
	StateDeveloper = "developer"
)

// Field is one key of a template (thing1, time2, ...) and the payload
// parameter that fills it.
type Field struct {
	Key, Param string
}

// Type is the key's type: its name without the trailing number (thing1 is
// a thing), which sets the value's limits (see Value).
func (f Field) Type() string { return strings.TrimRight(f.Key, "0123456789") }

// Template is the subscription message template of one kind of message.
type Template struct {
	Kind string
	// ID is the template's id in the mini-program's console.
	ID     string
	Fields []Field
}

// Config configures the mini-program's WeChat API.
type Config struct {
	// BaseURL is WeChat's API host (DefaultBaseURL when empty).
	BaseURL       string
	AppID, Secret string
	// Templates by kind of message; no template, no WeChat message of
	// that kind.
	Templates map[string]Template
	// State is the mini-program version a message opens (StateFormal when
	// empty).
	State string
	// HTTP is the client of every call (10 s timeout when nil).
	HTTP *http.Client
}

// Service is the mini-program's WeChat API and the owners' subscription
// permissions. A nil *Service is WeChat not configured: no permission, no
// channel.
type Service struct {
	DB        *models.DB
	Directory *directory.Service
	Config    Config
	// Clock is the service's clock outside transactions (nil: the real
	// time).
	Clock models.Clock
	Log   *slog.Logger
}

var (
	templateID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	fieldKey   = regexp.MustCompile(`^[a-z_]+[0-9]+$`)
	paramName  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,31}$`)
)

// ParseTemplate reads the configuration of kind's template:
// "<templateId>:<key>=<param>,<key>=<param>,..." (for example
// "Xb1k...:thing1=title,name2=name"): each key of the template in the
// mini-program's console and the payload parameter that fills it.
func ParseTemplate(kind, spec string) (Template, error) {
	id, fields, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || !templateID.MatchString(id) {
		return Template{}, fmt.Errorf("want <templateId>:<key>=<param>,..., not %q", spec)
	}
	t := Template{Kind: kind, ID: id}
	seen := map[string]bool{}
	for _, f := range strings.Split(fields, ",") {
		key, param, ok := strings.Cut(strings.TrimSpace(f), "=")
		key, param = strings.TrimSpace(key), strings.TrimSpace(param)
		switch {
		case !ok || !fieldKey.MatchString(key) || !paramName.MatchString(param):
			return Template{}, fmt.Errorf("field %q: want <key>=<param>, like thing1=title", f)
		case limits[strings.TrimRight(key, "0123456789")].runes == 0:
			return Template{}, fmt.Errorf("field %q: %s is not a WeChat field type (%s)", f, strings.TrimRight(key, "0123456789"), strings.Join(FieldTypes(), ", "))
		case seen[key]:
			return Template{}, fmt.Errorf("field %q: key %s given twice", f, key)
		case (strings.HasPrefix(key, "time") || strings.HasPrefix(key, "date")) && param != "time":
			// WeChat refuses anything but a time there; the message's
			// time is the one parameter that is one.
			return Template{}, fmt.Errorf("field %q: a %s field takes the parameter time", f, strings.TrimRight(key, "0123456789"))
		}
		seen[key] = true
		t.Fields = append(t.Fields, Field{Key: key, Param: param})
	}
	return t, nil
}

// Configured reports whether s sends subscription messages: credentials and
// at least one template.
func (s *Service) Configured() bool {
	return s != nil && s.Config.AppID != "" && s.Config.Secret != "" && len(s.Config.Templates) > 0
}

// Templates lists the configured templates by kind.
func (s *Service) Templates() []Template {
	if s == nil {
		return nil
	}
	out := make([]Template, 0, len(s.Config.Templates))
	for _, t := range s.Config.Templates {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// template is kind's template, if configured.
func (s *Service) template(kind string) (Template, bool) {
	if !s.Configured() {
		return Template{}, false
	}
	t, ok := s.Config.Templates[kind]
	return t, ok
}

func (s *Service) now(ctx context.Context) time.Time { return s.Clock.Now(ctx) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Error codes of WeChat's answers that the service tells apart.
const (
	errSystemBusy        = -1
	errInvalidCredential = 40001 // access token invalid
	errInvalidOpenID     = 40003
	errInvalidToken      = 40014
	errInvalidCode       = 40029
	errInvalidTemplate   = 40037
	errTokenExpired      = 42001
	errRefused           = 43101 // the user has no permission left (refused, or used)
	errThrottled         = 45009
	errInvalidArgument   = 47003
)

// tokenRefused reports whether code says the access token is no good.
func tokenRefused(code int) bool {
	return code == errInvalidCredential || code == errTokenExpired || code == errInvalidToken
}

// apiError is an answer of WeChat with a non-zero errcode.
type apiError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *apiError) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg) }

// maxBody bounds what is read of an answer.
const maxBody = 64 << 10

var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

// post sends body as JSON to path (with the access token, when given) and
// decodes the answer into out. A transport failure or a status other than
// 200 is an error (retried by callers); WeChat's errcode is out's to read.
// Errors never carry the URL: it holds the token.
func (s *Service) post(ctx context.Context, path, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	base := s.Config.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimRight(base, "/") + path
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("wechat %s: %w", path, withoutURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	hc := s.Config.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("wechat %s: %w", path, withoutURL(err))
	}
	// Closing a response body only frees the connection: nothing to report.
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("wechat %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat %s: HTTP status %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("wechat %s: decode answer: %w", path, err)
	}
	return nil
}

// withoutURL drops the *url.Error wrapper, which quotes the URL and with it
// the access token.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

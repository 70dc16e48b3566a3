package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	dysmsapi "github.com/alibabacloud-go/dysmsapi-20170525/v4/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/tea"
)

// DefaultAliyunEndpoint is Alibaba Cloud SMS's endpoint.
const DefaultAliyunEndpoint = "dysmsapi.aliyuncs.com"

// AliyunConfig configures the Alibaba Cloud SMS channel.
type AliyunConfig struct {
	AccessKeyID, AccessKeySecret string
	// SignName is the approved signature every message carries.
	SignName string
	// Templates maps a delivery's template (its kind, e.g. LOGIN_CODE) to
	// the approved template code (SMS_123456789).
	Templates map[string]string
	// Endpoint is the API's host (DefaultAliyunEndpoint when empty), or a
	// URL: "http://127.0.0.1:8081" talks plain HTTP, for tests.
	Endpoint string
	// Timeout bounds one call (10 s when zero).
	Timeout time.Duration
}

// AliyunSMS sends SMS through Alibaba Cloud's SendSms API with the official
// SDK (dysmsapi 2017-05-25, signature ACS3-HMAC-SHA256). The payload is the
// template's parameters.
type AliyunSMS struct {
	cfg AliyunConfig
	// newClient builds an SDK client. The SDK's client keeps per-call state
	// in its fields (GetRpcHeaders), so it is not safe for concurrent use:
	// every send builds its own (no network; a few allocations).
	newClient func() (*dysmsapi.Client, error)
}

var _ Channel = (*AliyunSMS)(nil)

// NewAliyunSMS checks cfg and builds the channel.
func NewAliyunSMS(cfg AliyunConfig) (*AliyunSMS, error) {
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret == "" || cfg.SignName == "" {
		return nil, errors.New("aliyun sms: the access key id, secret and sign name are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	endpoint, protocol := cfg.Endpoint, "https"
	switch {
	case endpoint == "":
		endpoint = DefaultAliyunEndpoint
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, protocol = strings.TrimPrefix(endpoint, "http://"), "http"
	case strings.HasPrefix(endpoint, "https://"):
		endpoint = strings.TrimPrefix(endpoint, "https://")
	}
	ms := int(cfg.Timeout / time.Millisecond)
	// The SDK's default HTTP client is shared per domain and rewrites its
	// timeout on every call while other calls read it: ours is set once.
	hc := sdkHTTPClient{&http.Client{Timeout: 2 * cfg.Timeout}}
	newClient := func() (*dysmsapi.Client, error) {
		return dysmsapi.NewClient(&openapi.Config{
			HttpClient:      hc,
			AccessKeyId:     tea.String(cfg.AccessKeyID),
			AccessKeySecret: tea.String(cfg.AccessKeySecret),
			Endpoint:        tea.String(strings.TrimSuffix(endpoint, "/")),
			Protocol:        tea.String(protocol),
			ConnectTimeout:  tea.Int(ms),
			ReadTimeout:     tea.Int(ms),
		})
	}
	if _, err := newClient(); err != nil {
		return nil, fmt.Errorf("aliyun sms: %w", err)
	}
	return &AliyunSMS{cfg: cfg, newClient: newClient}, nil
}

// Refusals of SendSms (its body's Code) that no retry changes. Throttling
// (isv.BUSINESS_LIMIT_CONTROL), isv.SYSTEM_ERROR and codes not listed here
// are retried: a code we do not know yet costs a few tries, not a message.
var aliyunPermanent = map[string]bool{
	"isv.MOBILE_NUMBER_ILLEGAL":         true,
	"isv.SMS_TEMPLATE_ILLEGAL":          true,
	"isv.SMS_SIGNATURE_ILLEGAL":         true,
	"isv.TEMPLATE_MISSING_PARAMETERS":   true,
	"isv.TEMPLATE_PARAMS_ILLEGAL":       true,
	"isv.INVALID_PARAMETERS":            true,
	"isv.INVALID_JSON_PARAM":            true,
	"isv.PARAM_LENGTH_LIMIT":            true,
	"isv.MOBILE_COUNT_OVER_LIMIT":       true,
	"isv.DENY_IP_RANGE":                 true,
	"isv.SMS_SIGN_ILLEGAL":              true,
	"isv.EXTEND_CODE_ERROR":             true,
	"isv.DOMESTIC_NUMBER_NOT_SUPPORTED": true,
}

// AliyunPermanent reports whether a SendSms refusal code is for good: one
// of the list above, or a blacklist (the number or a word of the text).
func AliyunPermanent(code string) bool {
	return aliyunPermanent[code] || strings.Contains(strings.ToUpper(code), "BLACK")
}

// Send sends d's payload with its template to d's recipient.
func (a *AliyunSMS) Send(ctx context.Context, d Delivery) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	tpl, ok := a.cfg.Templates[d.Template]
	if !ok || tpl == "" {
		return "", Permanent(fmt.Errorf("aliyun sms: no template code configured for %s", d.Template))
	}
	// Mainland numbers go without +86; others with their country code.
	phone := strings.TrimPrefix(d.Recipient, "+86")
	phone = strings.TrimPrefix(phone, "+")
	req := &dysmsapi.SendSmsRequest{
		PhoneNumbers:  tea.String(phone),
		SignName:      tea.String(a.cfg.SignName),
		TemplateCode:  tea.String(tpl),
		TemplateParam: tea.String(d.Payload),
		OutId:         tea.String(d.ID.String()),
	}
	client, err := a.newClient()
	if err != nil {
		return "", fmt.Errorf("aliyun sms: %w", err)
	}
	// The SDK takes no context: its timeouts bound the call.
	res, err := client.SendSmsWithOptions(req, &util.RuntimeOptions{
		ConnectTimeout: tea.Int(int(a.cfg.Timeout / time.Millisecond)),
		ReadTimeout:    tea.Int(int(a.cfg.Timeout / time.Millisecond)),
	})
	if err != nil {
		return "", aliyunError(err)
	}
	if res == nil || res.Body == nil {
		return "", errors.New("aliyun sms: empty answer")
	}
	code := tea.StringValue(res.Body.Code)
	if code == "OK" {
		return tea.StringValue(res.Body.BizId), nil
	}
	err = fmt.Errorf("aliyun sms: %s: %s (request %s)", code, tea.StringValue(res.Body.Message), tea.StringValue(res.Body.RequestId))
	if AliyunPermanent(code) {
		return "", Permanent(err)
	}
	return "", err
}

// aliyunError maps the SDK's failures: a 4xx (bad credentials, signature,
// parameters) is for good unless it is throttling; a 5xx, a timeout or a
// broken connection is retried.
func aliyunError(err error) error {
	var (
		ce  *openapi.ClientError
		te  *openapi.ThrottlingError
		se  *openapi.ServerError
		sdk *tea.SDKError
	)
	switch {
	case errors.As(err, &sdk) && tea.IntValue(sdk.StatusCode) >= 400 && tea.IntValue(sdk.StatusCode) < 500 &&
		!strings.HasPrefix(tea.StringValue(sdk.Code), "Throttling"):
		return Permanent(fmt.Errorf("aliyun sms: refused: HTTP %d %s", tea.IntValue(sdk.StatusCode), tea.StringValue(sdk.Code)))
	case errors.As(err, &sdk) && tea.IntValue(sdk.StatusCode) != 0:
		return fmt.Errorf("aliyun sms: HTTP %d %s", tea.IntValue(sdk.StatusCode), tea.StringValue(sdk.Code))
	case errors.As(err, &te):
		return fmt.Errorf("aliyun sms: throttled: %s", tea.StringValue(te.Code))
	case errors.As(err, &ce):
		return Permanent(fmt.Errorf("aliyun sms: refused: HTTP %d %s: %s", tea.IntValue(ce.StatusCode), tea.StringValue(ce.Code), tea.StringValue(ce.Message)))
	case errors.As(err, &se):
		return fmt.Errorf("aliyun sms: HTTP %d %s", tea.IntValue(se.StatusCode), tea.StringValue(se.Code))
	}
	return fmt.Errorf("aliyun sms: %w", err)
}

// sdkHTTPClient is the HTTP client the SDK sends through: one
// http.Client, safe for concurrent use, with its own transport.
type sdkHTTPClient struct{ c *http.Client }

func (h sdkHTTPClient) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req)
}

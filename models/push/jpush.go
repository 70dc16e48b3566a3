package push

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// JPushEndpoint is JPush's REST API.
const JPushEndpoint = "https://api.jpush.cn"

// JPushConfig configures the JPush provider.
type JPushConfig struct {
	AppKey, MasterSecret string
	// Endpoint is JPushEndpoint or a test server.
	Endpoint string
	Client   *http.Client
}

// JPush sends to Android devices through JPush's push API v3.
type JPush struct {
	cfg    JPushConfig
	client *http.Client
}

// NewJPush checks cfg and builds the provider.
func NewJPush(cfg JPushConfig) (*JPush, error) {
	if cfg.AppKey == "" || cfg.MasterSecret == "" || cfg.Endpoint == "" {
		return nil, errors.New("push: JPush needs an app key, a master secret and an endpoint")
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: 20 * time.Second}
	}
	return &JPush{cfg: cfg, client: c}, nil
}

// JPush's error codes the provider tells apart
// (docs.jiguang.cn, REST API v3 push, "调用返回码").
const (
	jpushNoTarget  = 1011 // no user for the audience: the registration id is dead
	jpushTooOften  = 2002 // API calls over the app's rate
	jpushInternal  = 1000
	jpushMaxTTL    = 10 * 24 * 60 * 60
	jpushAndroidOn = "android"
)

type jpushRequest struct {
	Platform string `json:"platform"`
	Audience struct {
		RegistrationID []string `json:"registration_id"`
	} `json:"audience"`
	Notification struct {
		Android struct {
			Alert string `json:"alert"`
			Title string `json:"title,omitempty"`
		} `json:"android"`
	} `json:"notification"`
	Options struct {
		SendNo         uint32 `json:"sendno"`
		TimeToLive     int64  `json:"time_to_live"`
		APNsProduction bool   `json:"apns_production"`
	} `json:"options"`
}

// Send posts n to the registration id token.
func (j *JPush) Send(ctx context.Context, token string, n Notification) (string, error) {
	var r jpushRequest
	r.Platform = jpushAndroidOn
	r.Audience.RegistrationID = []string{token}
	r.Notification.Android.Alert, r.Notification.Android.Title = n.Body, n.Title
	// sendno is echoed back; derived from the delivery's id.
	r.Options.SendNo = binary.BigEndian.Uint32(n.ID[12:]) & 0x7fffffff
	ttl := int64(defaultTTL / time.Second)
	if n.Expiration != 0 {
		ttl = max(0, min(n.Expiration-models.Clock(nil).Now(ctx).Unix(), jpushMaxTTL))
	}
	r.Options.TimeToLive = ttl
	body, err := json.Marshal(r)
	if err != nil {
		return "", outbox.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(j.cfg.Endpoint, "/")+"/v3/push", bytes.NewReader(body))
	if err != nil {
		return "", outbox.Permanent(err)
	}
	req.SetBasicAuth(j.cfg.AppKey, j.cfg.MasterSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := j.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("push: JPush: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	var reply struct {
		MsgID json.RawMessage `json:"msg_id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 8192)).Decode(&reply)
	if res.StatusCode == http.StatusOK && reply.Error == nil && len(reply.MsgID) > 0 {
		id := strings.Trim(string(reply.MsgID), `"`)
		return "jpush:" + id, nil
	}
	code, msg := 0, ""
	if reply.Error != nil {
		code, msg = reply.Error.Code, reply.Error.Message
	}
	err = fmt.Errorf("push: JPush answered %d, code %s %s", res.StatusCode, strconv.Itoa(code), msg)
	switch {
	case code == jpushNoTarget:
		return "", outbox.Permanent(fmt.Errorf("%w: %w", ErrDeadToken, err))
	case code == jpushTooOften, code == jpushInternal, res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return "", err
	default:
		return "", outbox.Permanent(err)
	}
}

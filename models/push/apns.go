package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// APNs endpoints.
const (
	APNsProduction = "https://api.push.apple.com"
	APNsSandbox    = "https://api.sandbox.push.apple.com"
	// apnsMaxPayload is APNs' limit on an alert's payload.
	apnsMaxPayload = 4096
	// apnsTokenAge is how long a provider token is reused: Apple refuses
	// one older than an hour and one refreshed more often than every 20
	// minutes.
	apnsTokenAge = 50 * time.Minute
	// defaultTTL is how long a provider keeps trying a notification with
	// no Expiration.
	defaultTTL = 24 * time.Hour
)

// APNsConfig configures the APNs provider (token-based authentication).
type APNsConfig struct {
	// Key is the .p8 signing key (PEM, PKCS #8, P-256).
	Key []byte
	// KeyID and TeamID name the key and its team.
	KeyID, TeamID string
	// Topic is the app's bundle id.
	Topic string
	// Endpoint is APNsProduction, APNsSandbox or a test server.
	Endpoint string
	// Client is the HTTP/2 client; nil means one of its own.
	Client *http.Client
}

// APNs sends to iOS devices through Apple Push Notification service.
type APNs struct {
	cfg    APNsConfig
	key    *ecdsa.PrivateKey
	client *http.Client

	mu       sync.Mutex
	token    string
	signedAt time.Time
}

// NewAPNs checks cfg and builds the provider.
func NewAPNs(cfg APNsConfig) (*APNs, error) {
	key, err := ParseAPNsKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.KeyID == "" || cfg.TeamID == "" || cfg.Topic == "" || cfg.Endpoint == "" {
		return nil, errors.New("push: APNs needs a key id, a team id, a topic and an endpoint")
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 10,
			IdleConnTimeout: 5 * time.Minute, TLSHandshakeTimeout: 10 * time.Second}, Timeout: 20 * time.Second}
	}
	return &APNs{cfg: cfg, key: key, client: c}, nil
}

// ParseAPNsKey reads a .p8 key: PEM, PKCS #8, ECDSA P-256.
func ParseAPNsKey(p8 []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(p8)
	if block == nil {
		return nil, errors.New("push: APNs key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: APNs key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve.Params().Name != "P-256" {
		return nil, errors.New("push: APNs key is not an ECDSA P-256 key")
	}
	return ec, nil
}

// providerToken is the ES256 JWT APNs authenticates with, signed again
// after apnsTokenAge or when APNs said it expired (stale).
func (a *APNs) providerToken(stale string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// The provider's own clock judges iat: the real time, read through the kernel.
	now := models.Clock(nil).Now(context.Background())
	if a.token != "" && a.token != stale && now.Sub(a.signedAt) < apnsTokenAge {
		return a.token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": a.cfg.TeamID, "iat": now.Unix()})
	t.Header["kid"] = a.cfg.KeyID
	s, err := t.SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("push: sign APNs token: %w", err)
	}
	a.token, a.signedAt = s, now
	return s, nil
}

type apnsPayload struct {
	APS struct {
		Alert struct {
			Title string `json:"title,omitempty"`
			Body  string `json:"body"`
		} `json:"alert"`
		Sound string `json:"sound"`
	} `json:"aps"`
}

// Send posts n to the device token.
func (a *APNs) Send(ctx context.Context, token string, n Notification) (string, error) {
	var p apnsPayload
	p.APS.Alert.Title, p.APS.Alert.Body, p.APS.Sound = n.Title, n.Body, "default"
	body, err := json.Marshal(p)
	if err != nil {
		return "", outbox.Permanent(err)
	}
	if len(body) > apnsMaxPayload {
		return "", outbox.Permanent(fmt.Errorf("push: APNs payload of %d bytes is over %d", len(body), apnsMaxPayload))
	}
	jwtToken, err := a.providerToken("")
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimRight(a.cfg.Endpoint, "/")+"/3/device/"+token, bytes.NewReader(body))
	if err != nil {
		return "", outbox.Permanent(err)
	}
	req.Header.Set("authorization", "bearer "+jwtToken)
	req.Header.Set("apns-topic", a.cfg.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-priority", "10")
	req.Header.Set("apns-id", n.ID.String())
	exp := n.Expiration
	if exp == 0 {
		exp = models.Clock(nil).Now(ctx).Add(defaultTTL).Unix()
	}
	req.Header.Set("apns-expiration", strconv.FormatInt(exp, 10))
	if n.CollapseID != "" {
		req.Header.Set("apns-collapse-id", n.CollapseID)
	}
	req.Header.Set("content-type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("push: APNs: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode == http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		if id := res.Header.Get("apns-id"); id != "" {
			return id, nil
		}
		return n.ID.String(), nil
	}
	var reply struct {
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&reply)
	err = fmt.Errorf("push: APNs answered %d %s", res.StatusCode, reply.Reason)
	switch {
	case res.StatusCode == http.StatusGone,
		res.StatusCode == http.StatusBadRequest && (reply.Reason == "BadDeviceToken" || reply.Reason == "DeviceTokenNotForTopic"):
		return "", outbox.Permanent(fmt.Errorf("%w: %w", ErrDeadToken, err))
	case res.StatusCode == http.StatusForbidden && reply.Reason == "ExpiredProviderToken":
		// Sign a new one for the retry.
		_, _ = a.providerToken(jwtToken)
		return "", err
	case res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return "", err
	default:
		return "", outbox.Permanent(err)
	}
}

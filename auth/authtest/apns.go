package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// PushAnswer is what a fake push provider answers a well-formed request.
type PushAnswer int

// Answers of the fake push providers.
const (
	PushOK        PushAnswer = iota // accepted, with a message id
	PushThrottled                   // APNs 429 TooManyRequests; JPush 2002
	PushDeadToken                   // APNs 410 Unregistered; JPush 1011
	PushOutage                      // HTTP 503
)

// APNsMessage is one notification the fake APNs accepted.
type APNsMessage struct {
	Token, ID, CollapseID, Expiration string
	Title, Body                       string
	// JWT is the provider token it came with.
	JWT string
}

// APNs is a fake of Apple Push Notification service (HTTP/2 over TLS,
// token-based authentication). Like the real one it answers 403 to a
// provider token not signed ES256 by its key, with another key id or team,
// or issued more than an hour ago (or in the future); 400 to a request
// without apns-topic (or another topic), apns-push-type alert, a UUID
// apns-id or a hex device token; 413 to a payload over 4 KB. Safe for
// concurrent use.
type APNs struct {
	// URL is the endpoint to configure (PUSH_APNS_ENDPOINT).
	URL string
	// KeyPEM is the .p8 signing key the server accepts.
	KeyPEM        []byte
	KeyID, TeamID string
	Topic         string
	// Client speaks HTTP/2 to the server and trusts its certificate.
	Client *http.Client

	key      *ecdsa.PublicKey
	mu       sync.Mutex
	script   func(call int, m APNsMessage) PushAnswer
	calls    int
	sent     []APNsMessage
	rejected []string
}

var (
	hexToken = regexp.MustCompile(`^[0-9a-f]{64,200}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// NewAPNs starts the fake APNs with a new P-256 key, stopped when the test
// ends; it answers PushOK until Script says otherwise.
func NewAPNs(t testing.TB, topic string) *APNs {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	a := &APNs{KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Topic: topic, key: &k.PublicKey}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	a.URL, a.Client = srv.URL, srv.Client()
	return a
}

// Script sets the answer to each well-formed request (call counts from 1).
func (a *APNs) Script(f func(call int, m APNsMessage) PushAnswer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.script = f
}

// Sent returns the notifications accepted so far.
func (a *APNs) Sent() []APNsMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]APNsMessage(nil), a.sent...)
}

// Calls is how many well-formed requests arrived.
func (a *APNs) Calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// Rejected lists why malformed requests were refused.
func (a *APNs) Rejected() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.rejected...)
}

func (a *APNs) refuse(w http.ResponseWriter, status int, reason string) {
	a.mu.Lock()
	a.rejected = append(a.rejected, reason)
	a.mu.Unlock()
	answer(w, status, map[string]any{"reason": reason})
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (a *APNs) serve(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		a.refuse(w, http.StatusBadRequest, "NotHTTP2")
		return
	}
	if r.Method != http.MethodPost {
		a.refuse(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
	if !ok {
		a.refuse(w, http.StatusForbidden, "MissingProviderToken")
		return
	}
	if reason := a.checkJWT(bearer); reason != "" {
		a.refuse(w, http.StatusForbidden, reason)
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok || !hexToken.MatchString(token) {
		a.refuse(w, http.StatusBadRequest, "BadDeviceToken")
		return
	}
	switch {
	case r.Header.Get("apns-topic") != a.Topic:
		a.refuse(w, http.StatusBadRequest, "BadTopic")
		return
	case r.Header.Get("apns-push-type") != "alert":
		a.refuse(w, http.StatusBadRequest, "InvalidPushType")
		return
	case !uuidRE.MatchString(r.Header.Get("apns-id")):
		a.refuse(w, http.StatusBadRequest, "BadMessageId")
		return
	case !regexp.MustCompile(`^[0-9]+$`).MatchString(r.Header.Get("apns-expiration")):
		a.refuse(w, http.StatusBadRequest, "BadExpirationDate")
		return
	case len(r.Header.Get("apns-collapse-id")) > 64:
		a.refuse(w, http.StatusBadRequest, "BadCollapseId")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		a.refuse(w, http.StatusBadRequest, "BadPayload")
		return
	}
	if len(body) > 4096 {
		a.refuse(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		return
	}
	var p struct {
		APS struct {
			Alert struct{ Title, Body string } `json:"alert"`
		} `json:"aps"`
	}
	if json.Unmarshal(body, &p) != nil || p.APS.Alert.Body == "" {
		a.refuse(w, http.StatusBadRequest, "PayloadEmpty")
		return
	}
	m := APNsMessage{Token: token, ID: r.Header.Get("apns-id"), CollapseID: r.Header.Get("apns-collapse-id"),
		Expiration: r.Header.Get("apns-expiration"), Title: p.APS.Alert.Title, Body: p.APS.Alert.Body, JWT: bearer}
	a.mu.Lock()
	a.calls++
	ans := PushOK
	if a.script != nil {
		ans = a.script(a.calls, m)
	}
	if ans == PushOK {
		a.sent = append(a.sent, m)
	}
	a.mu.Unlock()
	w.Header().Set("apns-id", m.ID)
	switch ans {
	case PushOK:
		w.WriteHeader(http.StatusOK)
	case PushThrottled:
		answer(w, http.StatusTooManyRequests, map[string]any{"reason": "TooManyRequests"})
	case PushDeadToken:
		answer(w, http.StatusGone, map[string]any{"reason": "Unregistered", "timestamp": time.Now().UnixMilli()})
	default:
		answer(w, http.StatusServiceUnavailable, map[string]any{"reason": "ServiceUnavailable"})
	}
}

// checkJWT returns why APNs would refuse the provider token, or "".
func (a *APNs) checkJWT(s string) string {
	var claims jwt.MapClaims
	t, err := jwt.ParseWithClaims(s, &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != a.KeyID {
			return nil, fmt.Errorf("kid %v", t.Header["kid"])
		}
		return a.key, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithoutClaimsValidation())
	if err != nil || !t.Valid || claims["iss"] != a.TeamID {
		return "InvalidProviderToken"
	}
	iat, ok := claims["iat"].(float64)
	if !ok {
		return "InvalidProviderToken"
	}
	age := time.Since(time.Unix(int64(iat), 0))
	if age > time.Hour || age < -time.Minute {
		return "ExpiredProviderToken"
	}
	return ""
}

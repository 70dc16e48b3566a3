package authtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// JPushMessage is one push the fake JPush accepted.
type JPushMessage struct {
	RegistrationID, Title, Alert string
	SendNo, TimeToLive           int64
}

// JPush is a fake of JPush's REST API v3 (POST /v3/push). Like the real one
// it answers 401 (code 1004) to a request without HTTP Basic appKey and
// masterSecret, and 400 (1003) to a body that is not an Android
// notification with an alert to one registration id, options sendno and
// time_to_live and apns_production false. Safe for concurrent use.
type JPush struct {
	// URL is the endpoint to configure (PUSH_JPUSH_ENDPOINT).
	URL                  string
	AppKey, MasterSecret string
	mu                   sync.Mutex
	script               func(call int, m JPushMessage) PushAnswer
	calls                int
	sent                 []JPushMessage
	rejected             []string
}

// NewJPush starts the fake JPush, stopped when the test ends; it answers
// PushOK until Script says otherwise.
func NewJPush(t testing.TB) *JPush {
	t.Helper()
	j := &JPush{AppKey: "0123456789abcdef01234567", MasterSecret: "fedcba9876543210fedcba98"}
	srv := httptest.NewServer(http.HandlerFunc(j.serve))
	t.Cleanup(srv.Close)
	j.URL = srv.URL
	return j
}

// Script sets the answer to each well-formed request (call counts from 1).
func (j *JPush) Script(f func(call int, m JPushMessage) PushAnswer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.script = f
}

// Sent returns the pushes accepted so far.
func (j *JPush) Sent() []JPushMessage {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]JPushMessage(nil), j.sent...)
}

// Calls is how many well-formed requests arrived.
func (j *JPush) Calls() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.calls
}

// Rejected lists why malformed requests were refused.
func (j *JPush) Rejected() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.rejected...)
}

func jpushError(w http.ResponseWriter, status, code int, msg string) {
	answer(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (j *JPush) serve(w http.ResponseWriter, r *http.Request) {
	refuse := func(status, code int, msg string) {
		j.mu.Lock()
		j.rejected = append(j.rejected, msg)
		j.mu.Unlock()
		jpushError(w, status, code, msg)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v3/push" {
		refuse(http.StatusNotFound, 1001, "only POST /v3/push")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != j.AppKey || p != j.MasterSecret {
		refuse(http.StatusUnauthorized, 1004, "authen failed")
		return
	}
	var b struct {
		Platform any `json:"platform"`
		Audience struct {
			RegistrationID []string `json:"registration_id"`
		} `json:"audience"`
		Notification struct {
			Android *struct {
				Alert string `json:"alert"`
				Title string `json:"title"`
			} `json:"android"`
		} `json:"notification"`
		Options *struct {
			SendNo         *int64 `json:"sendno"`
			TimeToLive     *int64 `json:"time_to_live"`
			APNsProduction *bool  `json:"apns_production"`
		} `json:"options"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		refuse(http.StatusBadRequest, 1003, "body is not JSON")
		return
	}
	switch {
	case b.Platform != "android" && fmt.Sprint(b.Platform) != "[android]":
		refuse(http.StatusBadRequest, 1003, "platform")
		return
	case len(b.Audience.RegistrationID) != 1 || b.Audience.RegistrationID[0] == "":
		refuse(http.StatusBadRequest, 1003, "audience")
		return
	case b.Notification.Android == nil || b.Notification.Android.Alert == "":
		refuse(http.StatusBadRequest, 1003, "notification.android.alert")
		return
	case b.Options == nil || b.Options.SendNo == nil || b.Options.TimeToLive == nil ||
		b.Options.APNsProduction == nil || *b.Options.APNsProduction:
		refuse(http.StatusBadRequest, 1003, "options")
		return
	}
	m := JPushMessage{RegistrationID: b.Audience.RegistrationID[0], Title: b.Notification.Android.Title,
		Alert: b.Notification.Android.Alert, SendNo: *b.Options.SendNo, TimeToLive: *b.Options.TimeToLive}
	j.mu.Lock()
	j.calls++
	ans := PushOK
	if j.script != nil {
		ans = j.script(j.calls, m)
	}
	if ans == PushOK {
		j.sent = append(j.sent, m)
	}
	n := j.calls
	j.mu.Unlock()
	switch ans {
	case PushOK:
		answer(w, http.StatusOK, map[string]any{"sendno": fmt.Sprint(m.SendNo), "msg_id": fmt.Sprint(18100000000 + n)})
	case PushThrottled:
		jpushError(w, http.StatusTooManyRequests, 2002, "Request times of the app_key exceed the limit")
	case PushDeadToken:
		jpushError(w, http.StatusBadRequest, 1011, "cannot find user by this audience")
	default:
		jpushError(w, http.StatusServiceUnavailable, 1000, "Server error")
	}
}

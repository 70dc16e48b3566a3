package authtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// AliyunAnswer is what the fake Alibaba Cloud SMS gateway answers a
// correctly signed SendSms.
type AliyunAnswer int

// Answers of the fake gateway.
const (
	AliyunOK            AliyunAnswer = iota // Code OK, with a BizId
	AliyunThrottled                         // isv.BUSINESS_LIMIT_CONTROL
	AliyunInvalidNumber                     // isv.MOBILE_NUMBER_ILLEGAL
	AliyunBadTemplate                       // isv.SMS_TEMPLATE_ILLEGAL
	AliyunBlacklisted                       // isv.BLACK_KEY_CONTROL_LIMIT
	AliyunOutage                            // HTTP 503
)

// AliyunSMSMessage is one SendSms the fake gateway accepted.
type AliyunSMSMessage struct {
	Phone, SignName, TemplateCode, OutID string
	Params                               map[string]string
}

// AliyunSMS is a fake of Alibaba Cloud SMS (dysmsapi, SendSms, version
// 2017-05-25) on a local HTTP server. Like the real one, it accepts only
// requests signed with ACS3-HMAC-SHA256 by the secret of its access key,
// dated within 15 minutes and with a nonce not seen before; it recomputes
// the signature from the request as received. Safe for concurrent use.
type AliyunSMS struct {
	// URL is the endpoint to configure (ALIYUN_SMS_ENDPOINT).
	URL                    string
	AccessKeyID, KeySecret string
	mu                     sync.Mutex
	script                 func(call int, m AliyunSMSMessage) AliyunAnswer
	calls                  int
	sent                   []AliyunSMSMessage
	nonces                 map[string]bool
	rejected               []string
}

// NewAliyunSMS starts the fake gateway, stopped when the test ends; it
// answers OK until Script says otherwise.
func NewAliyunSMS(t testing.TB, accessKeyID, keySecret string) *AliyunSMS {
	t.Helper()
	f := &AliyunSMS{AccessKeyID: accessKeyID, KeySecret: keySecret, nonces: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Script sets the answer to each correctly signed call (numbered from 1,
// over all phones); nil answers OK.
func (f *AliyunSMS) Script(s func(call int, m AliyunSMSMessage) AliyunAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = s
}

// Sent returns the messages accepted for phone (as sent: without +86), in
// order.
func (f *AliyunSMS) Sent(phone string) []AliyunSMSMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AliyunSMSMessage
	for _, m := range f.sent {
		if m.Phone == phone {
			out = append(out, m)
		}
	}
	return out
}

// Accepted is how many messages the gateway accepted, all phones.
func (f *AliyunSMS) Accepted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// Calls is how many correctly signed calls the gateway answered, whatever
// it answered.
func (f *AliyunSMS) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Rejected lists why requests were refused before any answer (signature,
// date, nonce, parameters): a test of a correct client wants none.
func (f *AliyunSMS) Rejected() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rejected)
}

func (f *AliyunSMS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if code, why := f.verify(r, body); code != "" {
		f.reject(w, code, why)
		return
	}
	q := r.URL.Query()
	m := AliyunSMSMessage{Phone: q.Get("PhoneNumbers"), SignName: q.Get("SignName"), TemplateCode: q.Get("TemplateCode"), OutID: q.Get("OutId")}
	if m.Phone == "" || m.SignName == "" || m.TemplateCode == "" {
		f.reject(w, "MissingParameter", "PhoneNumbers, SignName and TemplateCode are required")
		return
	}
	if p := q.Get("TemplateParam"); p != "" {
		if err := json.Unmarshal([]byte(p), &m.Params); err != nil {
			writeJSON(w, http.StatusOK, map[string]string{"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法", "RequestId": "fake"})
			return
		}
	}
	f.mu.Lock()
	f.calls++
	answer := AliyunOK
	if f.script != nil {
		answer = f.script(f.calls, m)
	}
	if answer == AliyunOK {
		f.sent = append(f.sent, m)
	}
	n := f.calls
	f.mu.Unlock()
	res := func(code, msg string) map[string]string {
		return map[string]string{"Code": code, "Message": msg, "RequestId": fmt.Sprintf("fake-%d", n)}
	}
	switch answer {
	case AliyunOK:
		ok := res("OK", "OK")
		ok["BizId"] = fmt.Sprintf("biz-%d", n)
		writeJSON(w, http.StatusOK, ok)
	case AliyunThrottled:
		writeJSON(w, http.StatusOK, res("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"))
	case AliyunInvalidNumber:
		writeJSON(w, http.StatusOK, res("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
	case AliyunBadTemplate:
		writeJSON(w, http.StatusOK, res("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"))
	case AliyunBlacklisted:
		writeJSON(w, http.StatusOK, res("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"))
	case AliyunOutage:
		writeJSON(w, http.StatusServiceUnavailable, res("ServiceUnavailable", "The request has failed due to a temporary failure of the server."))
	}
}

func (f *AliyunSMS) reject(w http.ResponseWriter, code, why string) {
	f.mu.Lock()
	f.rejected = append(f.rejected, code+": "+why)
	f.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]string{"Code": code, "Message": why, "RequestId": "fake"})
}

// verify checks the request the way Alibaba Cloud does for signature V3
// (ACS3-HMAC-SHA256), and returns the error code and why, or "".
func (f *AliyunSMS) verify(r *http.Request, body []byte) (code, why string) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return "InvalidAction", r.Method + " " + r.URL.Path
	}
	if r.Header.Get("x-acs-action") != "SendSms" || r.Header.Get("x-acs-version") != "2017-05-25" {
		return "InvalidAction.NotFound", "action " + r.Header.Get("x-acs-action") + " version " + r.Header.Get("x-acs-version")
	}
	alg, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if alg != "ACS3-HMAC-SHA256" {
		return "IncompleteSignature", "algorithm " + alg
	}
	fields := map[string]string{}
	for kv := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		fields[k] = v
	}
	if fields["Credential"] != f.AccessKeyID {
		return "InvalidAccessKeyId.NotFound", "access key " + fields["Credential"]
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, h := range []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"} {
		if !slices.Contains(signed, h) {
			return "IncompleteSignature", "header " + h + " is not signed"
		}
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("x-acs-content-sha256") != hex.EncodeToString(sum[:]) {
		return "IncompleteSignature", "x-acs-content-sha256 does not match the body"
	}
	date, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil || time.Since(date).Abs() > 15*time.Minute {
		return "InvalidTimeStamp.Expired", "x-acs-date " + r.Header.Get("x-acs-date")
	}
	var headers strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := r.Method + "\n/\n" + canonicalQuery(r.URL.Query()) + "\n" + headers.String() + "\n" +
		fields["SignedHeaders"] + "\n" + hex.EncodeToString(sum[:])
	hashed := sha256.Sum256([]byte(canonical))
	mac := hmac.New(sha256.New, []byte(f.KeySecret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(hashed[:])))
	if !hmac.Equal([]byte(fields["Signature"]), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		return "SignatureDoesNotMatch", "the signature does not match"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	nonce := r.Header.Get("x-acs-signature-nonce")
	if nonce == "" || f.nonces[nonce] {
		return "SignatureNonceUsed", "nonce " + nonce
	}
	f.nonces[nonce] = true
	return "", ""
}

// canonicalQuery sorts the parameters by name and percent-encodes them as
// RFC 3986 does (space as %20, * as %2A, ~ as is).
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	enc := func(s string) string {
		s = url.QueryEscape(s)
		return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, enc(k)+"="+enc(v))
		}
	}
	return strings.Join(parts, "&")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

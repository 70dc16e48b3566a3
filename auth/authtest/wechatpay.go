package authtest

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FakeWeChatPay is a local WeChat Pay API v3 server for one merchant. It
// checks what WeChat Pay checks of a merchant's request (the
// WECHATPAY2-SHA256-RSA2048 signature by the merchant's key and serial, a
// fresh timestamp, the merchant and app ids), signs its answers and its
// notifications with a platform key (public-key mode: Wechatpay-Serial is
// the public key's id), and encrypts notification resources with the
// merchant's API v3 key (AEAD_AES_256_GCM). Tests pay, close and tamper
// with orders and deliver, drop or repeat notifications.
type FakeWeChatPay struct {
	Server *httptest.Server

	MchID, AppID, MerchantSerial, PublicKeyID, APIv3Key string
	// MerchantKeyPEM and PublicKeyPEM are what the server under test is
	// configured with: the merchant's private key, and the platform's
	// public key that verifies answers and notifications.
	MerchantKeyPEM, PublicKeyPEM string

	merchantPub *rsa.PublicKey
	platform    *rsa.PrivateKey

	mu       sync.Mutex
	orders   map[string]*FakePayOrder
	refunds  map[string]*FakeRefund
	requests int
	refused  int
	failNext int
	bill     *fakeBill
}

// FakePayOrder is an order the fake holds.
type FakePayOrder struct {
	AppID, OutTradeNo, Description, NotifyURL, TradeType string
	OpenID                                               string
	Total                                                int64
	// State is WeChat Pay's trade_state: NOTPAY, SUCCESS, CLOSED.
	State         string
	TransactionID string
	PrepayID      string
	SuccessTime   time.Time
}

// NewFakeWeChatPay starts the fake with fresh keys.
func NewFakeWeChatPay() *FakeWeChatPay {
	merchant := mustRSAKey()
	platform := mustRSAKey()
	f := &FakeWeChatPay{
		MchID: "1900000109", AppID: "wxd678efh567hg6787",
		MerchantSerial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", PublicKeyID: "PUB_KEY_ID_0114232204062025060100000000000001",
		APIv3Key:       "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY",
		MerchantKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(merchant)})),
		PublicKeyPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(&platform.PublicKey)})),
		merchantPub:    &merchant.PublicKey, platform: platform,
		orders: map[string]*FakePayOrder{}, refunds: map[string]*FakeRefund{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/pay/transactions/jsapi", f.prepay("JSAPI"))
	mux.HandleFunc("POST /v3/pay/transactions/app", f.prepay("APP"))
	mux.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", f.query)
	mux.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/close", f.close)
	f.billRoutes(mux)
	f.routeRefunds(mux)
	f.Server = httptest.NewServer(mux)
	return f
}

func mustRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustPKCS8(k *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return b
}

func mustPKIX(k *rsa.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return b
}

// URL is the fake's base URL.
func (f *FakeWeChatPay) URL() string { return f.Server.URL }

// Close stops the fake.
func (f *FakeWeChatPay) Close() { f.Server.Close() }

// Requests is how many requests with a valid signature the fake answered;
// Refused how many it refused for their signature.
func (f *FakeWeChatPay) Requests() (ok, refused int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.refused
}

// FailNext makes the next n requests answer 500 SYSTEM_ERROR (an outage).
func (f *FakeWeChatPay) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}

// Order is a copy of the order with that out_trade_no, if the fake has it.
func (f *FakeWeChatPay) Order(outTradeNo string) (FakePayOrder, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[outTradeNo]
	if !ok {
		return FakePayOrder{}, false
	}
	return *o, true
}

// Pay marks the order paid, as when the owner confirms in WeChat, without
// notifying (see Notify).
func (f *FakeWeChatPay) Pay(outTradeNo string) error { return f.payFrom(outTradeNo, "NOTPAY") }

// PayNotification is a signed, encrypted notification for an order as the
// fake would POST it: Body and the Wechatpay-* headers. Tests deliver it
// (Deliver) as many times and in whatever order they like.
type PayNotification struct {
	Body   []byte
	Header http.Header
	URL    string
}

// NotificationFor builds the TRANSACTION.SUCCESS notification of a paid
// order. edit, when not nil, changes the transaction before it is
// encrypted (a different amount, another merchant).
func (f *FakeWeChatPay) NotificationFor(outTradeNo string, edit func(tx map[string]any)) (PayNotification, error) {
	f.mu.Lock()
	o, ok := f.orders[outTradeNo]
	var tx map[string]any
	if ok {
		tx = f.transaction(o)
	}
	f.mu.Unlock()
	if !ok {
		return PayNotification{}, fmt.Errorf("fake wechat pay: no order %s", outTradeNo)
	}
	if edit != nil {
		edit(tx)
	}
	plain, _ := json.Marshal(tx)
	nonce := randomString(12)
	sealed, err := f.seal(plain, nonce, "transaction")
	if err != nil {
		return PayNotification{}, err
	}
	body, _ := json.Marshal(map[string]any{
		"id": "EV-" + randomString(16), "create_time": time.Now().Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]any{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": sealed, "associated_data": "transaction", "nonce": nonce},
	})
	return PayNotification{Body: body, Header: f.signedHeader(body, time.Now()), URL: o.NotifyURL}, nil
}

// Deliver POSTs n to its notify URL and returns the status code.
func (f *FakeWeChatPay) Deliver(n PayNotification) (int, error) {
	req, err := http.NewRequest(http.MethodPost, n.URL, bytes.NewReader(n.Body))
	if err != nil {
		return 0, err
	}
	req.Header = n.Header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Resign signs n's body again as of at (a replay with a stale timestamp).
func (f *FakeWeChatPay) Resign(n PayNotification, at time.Time) PayNotification {
	n.Header = f.signedHeader(n.Body, at)
	return n
}

func (f *FakeWeChatPay) transaction(o *FakePayOrder) map[string]any {
	tx := map[string]any{
		"appid": o.AppID, "mchid": f.MchID, "out_trade_no": o.OutTradeNo, "trade_type": o.TradeType,
		"trade_state": o.State, "trade_state_desc": o.State, "attach": "",
		"amount": map[string]any{"total": o.Total, "currency": "CNY"},
	}
	if o.OpenID != "" {
		tx["payer"] = map[string]any{"openid": o.OpenID}
	}
	if o.State == "SUCCESS" {
		tx["transaction_id"] = o.TransactionID
		tx["bank_type"] = "OTHERS"
		tx["success_time"] = o.SuccessTime.Format(time.RFC3339)
		tx["amount"].(map[string]any)["payer_total"] = o.Total
		tx["amount"].(map[string]any)["payer_currency"] = "CNY"
	}
	return tx
}

func (f *FakeWeChatPay) seal(plain []byte, nonce, ad string) (string, error) {
	block, err := aes.NewCipher([]byte(f.APIv3Key))
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(ad))), nil
}

// signedHeader is the Wechatpay-* headers of an answer or notification
// with body, signed at t with the platform key.
func (f *FakeWeChatPay) signedHeader(body []byte, t time.Time) http.Header {
	ts := strconv.FormatInt(t.Unix(), 10)
	nonce := randomString(32)
	h := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.platform, crypto.SHA256, h[:])
	if err != nil {
		panic(err)
	}
	hd := http.Header{}
	hd.Set("Wechatpay-Timestamp", ts)
	hd.Set("Wechatpay-Nonce", nonce)
	hd.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	hd.Set("Wechatpay-Serial", f.PublicKeyID)
	hd.Set("Request-ID", randomString(20))
	return hd
}

var authParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// verify checks the merchant's signature of r (and reads its body).
func (f *FakeWeChatPay) verify(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	authz := r.Header.Get("Authorization")
	scheme, params, ok := strings.Cut(authz, " ")
	if !ok || scheme != "WECHATPAY2-SHA256-RSA2048" {
		return nil, fmt.Errorf("authorization scheme %q", scheme)
	}
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(params, -1) {
		p[m[1]] = m[2]
	}
	if p["mchid"] != f.MchID || p["serial_no"] != f.MerchantSerial {
		return nil, fmt.Errorf("mchid %q serial %q", p["mchid"], p["serial_no"])
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return nil, fmt.Errorf("timestamp %q", p["timestamp"])
	}
	msg := r.Method + "\n" + r.URL.RequestURI() + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(f.merchantPub, crypto.SHA256, h[:], sig); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	return body, nil
}

// begin verifies r and counts it; it answers the refusal itself and
// returns ok false when r may not go on.
func (f *FakeWeChatPay) begin(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := f.verify(r)
	f.mu.Lock()
	fail := f.failNext > 0
	if err != nil {
		f.refused++
	} else {
		f.requests++
		if fail {
			f.failNext--
		}
	}
	f.mu.Unlock()
	switch {
	case err != nil:
		f.answer(w, http.StatusUnauthorized, map[string]any{"code": "SIGN_ERROR", "message": err.Error()})
		return nil, false
	case fail:
		f.answer(w, http.StatusInternalServerError, map[string]any{"code": "SYSTEM_ERROR", "message": "系统错误"})
		return nil, false
	}
	return body, true
}

func (f *FakeWeChatPay) answer(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		body, _ = json.Marshal(v)
	}
	for k, vs := range f.signedHeader(body, time.Now()) {
		w.Header()[k] = vs
	}
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (f *FakeWeChatPay) prepay(tradeType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.begin(w, r)
		if !ok {
			return
		}
		var in struct {
			AppID       string `json:"appid"`
			MchID       string `json:"mchid"`
			Description string `json:"description"`
			OutTradeNo  string `json:"out_trade_no"`
			NotifyURL   string `json:"notify_url"`
			Amount      struct {
				Total    int64  `json:"total"`
				Currency string `json:"currency"`
			} `json:"amount"`
			Payer *struct {
				OpenID string `json:"openid"`
			} `json:"payer"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": err.Error()})
			return
		}
		switch {
		case in.AppID != f.AppID || in.MchID != f.MchID:
			f.answer(w, http.StatusBadRequest, map[string]any{"code": "APPID_MCHID_NOT_MATCH", "message": "appid和mch_id不匹配"})
			return
		case in.Amount.Total <= 0 || in.OutTradeNo == "" || len(in.OutTradeNo) > 32 || in.Description == "" ||
			!strings.HasPrefix(in.NotifyURL, "http"):
			f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "参数错误"})
			return
		case tradeType == "JSAPI" && (in.Payer == nil || in.Payer.OpenID == ""):
			f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "JSAPI下单需要payer.openid"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if o, ok := f.orders[in.OutTradeNo]; ok {
			// WeChat Pay answers a repeated order with the same
			// parameters with its prepay_id, and refuses a changed one.
			if o.Total != in.Amount.Total || o.TradeType != tradeType {
				f.answer(w, http.StatusBadRequest, map[string]any{"code": "INVALID_REQUEST", "message": "201 商户订单号重复"})
				return
			}
			f.answer(w, http.StatusOK, map[string]any{"prepay_id": o.PrepayID})
			return
		}
		o := &FakePayOrder{AppID: in.AppID, OutTradeNo: in.OutTradeNo, Description: in.Description, NotifyURL: in.NotifyURL,
			TradeType: tradeType, Total: in.Amount.Total, State: "NOTPAY", PrepayID: "wx" + randomString(30)}
		if in.Payer != nil {
			o.OpenID = in.Payer.OpenID
		}
		f.orders[in.OutTradeNo] = o
		f.answer(w, http.StatusOK, map[string]any{"prepay_id": o.PrepayID})
	}
}

func (f *FakeWeChatPay) query(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.begin(w, r); !ok {
		return
	}
	if r.URL.Query().Get("mchid") != f.MchID {
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "mchid"})
		return
	}
	f.mu.Lock()
	o, ok := f.orders[r.PathValue("no")]
	var tx map[string]any
	if ok {
		tx = f.transaction(o)
	}
	f.mu.Unlock()
	if !ok {
		f.answer(w, http.StatusNotFound, map[string]any{"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
		return
	}
	f.answer(w, http.StatusOK, tx)
}

func (f *FakeWeChatPay) close(w http.ResponseWriter, r *http.Request) {
	body, ok := f.begin(w, r)
	if !ok {
		return
	}
	var in struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.MchID != f.MchID {
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "mchid"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[r.PathValue("no")]
	switch {
	case !ok:
		f.answer(w, http.StatusNotFound, map[string]any{"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
	case o.State == "SUCCESS":
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "ORDERPAID", "message": "订单已支付"})
	default:
		o.State = "CLOSED"
		f.answer(w, http.StatusNoContent, nil)
	}
}

func randomString(n int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

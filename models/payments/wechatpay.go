package payments

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/app"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"github.com/ownerhub/ownerhub/models"
)

// WeChatPayConfig is a merchant's WeChat Pay API v3 account, in public-key
// mode (WeChat Pay signs its answers and notifications with a platform
// public key identified by PublicKeyID). Keys come from configuration,
// never from the database, and are never logged.
type WeChatPayConfig struct {
	MchID string
	// AppID is the mini-program's (JSAPI) app id; MobileAppID the owner
	// app's (APP pay), empty when the app does not pay.
	AppID, MobileAppID string
	// MerchantSerial is the merchant certificate's serial number;
	// MerchantKeyPEM its private key (PKCS#8 or PKCS#1 PEM).
	MerchantSerial, MerchantKeyPEM string
	// PublicKeyID and PublicKeyPEM are WeChat Pay's public key.
	PublicKeyID, PublicKeyPEM string
	// APIv3Key decrypts notification resources (32 bytes).
	APIv3Key string
	// NotifyURL is where WeChat Pay posts payment notifications: this
	// server's /api/v1/payments/wechat/notify, reachable from the internet.
	NotifyURL string
	// RefundNotifyURL is where WeChat Pay posts refund notifications:
	// this server's /api/v1/payments/wechat/refund-notify; empty derives
	// it from NotifyURL (its last segment "notify" becomes
	// "refund-notify").
	RefundNotifyURL string
	// BaseURL replaces https://api.mch.weixin.qq.com (tests point it at a
	// local fake); empty for the real one.
	BaseURL string
	// HTTP is the client requests go through; nil for one with a 10 s
	// timeout.
	HTTP *http.Client
}

// WeChatPay is the Provider on WeChat Pay API v3 through the official SDK,
// which signs requests, verifies answers and notifications, and decrypts
// notification resources.
type WeChatPay struct {
	cfg    WeChatPayConfig
	client *core.Client
	notify *notify.Handler
}

var _ Provider = (*WeChatPay)(nil)

// NewWeChatPay checks cfg and builds the provider.
func NewWeChatPay(cfg WeChatPayConfig) (*WeChatPay, error) {
	switch {
	case cfg.MchID == "" || cfg.AppID == "":
		return nil, errors.New("wechat pay: merchant id and app id are required")
	case len(cfg.APIv3Key) != 32:
		return nil, errors.New("wechat pay: the API v3 key must be 32 bytes")
	case cfg.MerchantSerial == "" || cfg.PublicKeyID == "":
		return nil, errors.New("wechat pay: the merchant certificate serial and the platform public key id are required")
	case !strings.HasPrefix(cfg.NotifyURL, "https://") && !strings.HasPrefix(cfg.NotifyURL, "http://"):
		return nil, errors.New("wechat pay: the notify URL must be an http(s) URL")
	}
	if cfg.RefundNotifyURL == "" {
		cfg.RefundNotifyURL = DefaultRefundNotifyURL(cfg.NotifyURL)
	}
	if !strings.HasPrefix(cfg.RefundNotifyURL, "https://") && !strings.HasPrefix(cfg.RefundNotifyURL, "http://") {
		return nil, errors.New("wechat pay: the refund notify URL must be an http(s) URL")
	}
	key, err := parsePrivateKey(cfg.MerchantKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wechat pay: merchant key: %w", err)
	}
	pub, err := parsePublicKey(cfg.PublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wechat pay: platform public key: %w", err)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.BaseURL != "" {
		base, err := url.Parse(cfg.BaseURL)
		if err != nil || base.Host == "" {
			return nil, fmt.Errorf("wechat pay: base URL %q", cfg.BaseURL)
		}
		c := *hc
		c.Transport = rebase{to: base, next: transportOf(hc)}
		hc = &c
	}
	client, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MerchantSerial, key, cfg.PublicKeyID, pub),
		option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	h, err := notify.NewRSANotifyHandler(cfg.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *pub))
	if err != nil {
		return nil, fmt.Errorf("wechat pay: %w", err)
	}
	return &WeChatPay{cfg: cfg, client: client, notify: h}, nil
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// rebase sends the SDK's requests for api.mch.weixin.qq.com to another
// host. The signature covers the path and query only, so it still holds.
type rebase struct {
	to   *url.URL
	next http.RoundTripper
}

func (r rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == strings.TrimPrefix(consts.WechatPayAPIServer, "https://") {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.to.Scheme, r.to.Host, r.to.Host
	}
	return r.next.RoundTrip(req)
}

func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func parsePublicKey(p string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// Prepay places o with WeChat Pay and signs what the client needs to open
// the payment sheet. Placing the same order again (same out_trade_no and
// amount) gives the same prepay id.
func (w *WeChatPay) Prepay(ctx context.Context, o Order) (*Launch, error) {
	// WeChat Pay reads times in China's zone (its examples give +08:00).
	expire := o.ExpiresAt.In(models.ChinaTime)
	switch o.TradeType {
	case TradeJSAPI:
		resp, _, err := (&jsapi.JsapiApiService{Client: w.client}).PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
			Appid: core.String(w.cfg.AppID), Mchid: core.String(w.cfg.MchID), Description: core.String(o.Description),
			OutTradeNo: core.String(o.OutTradeNo), TimeExpire: &expire, NotifyUrl: core.String(w.cfg.NotifyURL),
			Amount: &jsapi.Amount{Total: core.Int64(o.AmountFen), Currency: core.String("CNY")},
			Payer:  &jsapi.Payer{Openid: core.String(o.OpenID)},
		})
		if err != nil {
			return nil, providerError(err)
		}
		return &Launch{PrepayID: *resp.PrepayId, JSAPI: &JSAPIParams{AppID: *resp.Appid, TimeStamp: *resp.TimeStamp,
			NonceStr: *resp.NonceStr, Package: *resp.Package, SignType: *resp.SignType, PaySign: *resp.PaySign}}, nil
	case TradeApp:
		if w.cfg.MobileAppID == "" {
			return nil, errAppPayOff
		}
		resp, _, err := (&app.AppApiService{Client: w.client}).PrepayWithRequestPayment(ctx, app.PrepayRequest{
			Appid: core.String(w.cfg.MobileAppID), Mchid: core.String(w.cfg.MchID), Description: core.String(o.Description),
			OutTradeNo: core.String(o.OutTradeNo), TimeExpire: &expire, NotifyUrl: core.String(w.cfg.NotifyURL),
			Amount: &app.Amount{Total: core.Int64(o.AmountFen), Currency: core.String("CNY")},
		})
		if err != nil {
			return nil, providerError(err)
		}
		return &Launch{PrepayID: *resp.PrepayId, App: &AppParams{AppID: w.cfg.MobileAppID, PartnerID: *resp.PartnerId,
			PrepayID: *resp.PrepayId, Package: *resp.Package, NonceStr: *resp.NonceStr, TimeStamp: *resp.TimeStamp, Sign: *resp.Sign}}, nil
	}
	return nil, fmt.Errorf("wechat pay: trade type %q", o.TradeType)
}

// Query asks WeChat Pay for an order's state.
func (w *WeChatPay) Query(ctx context.Context, outTradeNo string) (*Transaction, error) {
	tx, _, err := (&jsapi.JsapiApiService{Client: w.client}).QueryOrderByOutTradeNo(ctx,
		jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(w.cfg.MchID)})
	if err != nil {
		var api *core.APIError
		if errors.As(err, &api) && api.Code == "ORDER_NOT_EXIST" {
			return nil, ErrNoSuchOrder
		}
		return nil, providerError(err)
	}
	return transactionOf(tx), nil
}

// Close closes an unpaid order so that it can no longer be paid. An order
// paid meanwhile answers ErrAlreadyPaid.
func (w *WeChatPay) Close(ctx context.Context, outTradeNo string) error {
	_, err := (&jsapi.JsapiApiService{Client: w.client}).CloseOrder(ctx,
		jsapi.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(w.cfg.MchID)})
	var api *core.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &api) && api.Code == "ORDERPAID":
		return ErrAlreadyPaid
	case errors.As(err, &api) && api.Code == "ORDER_NOT_EXIST":
		// Never placed (the prepay call failed): nothing to close.
		return nil
	}
	return providerError(err)
}

// ParseNotification verifies a payment notification's signature and
// timestamp (within five minutes) and decrypts its transaction.
func (w *WeChatPay) ParseNotification(ctx context.Context, r *http.Request) (*Transaction, error) {
	var tx payments.Transaction
	if _, err := w.notify.ParseNotifyRequest(ctx, r, &tx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNotification, err)
	}
	return transactionOf(&tx), nil
}

// Supports reports whether tradeType can be paid: JSAPI always, APP with
// the owner app's app id.
func (w *WeChatPay) Supports(tradeType string) bool {
	return tradeType == TradeJSAPI || (tradeType == TradeApp && w.cfg.MobileAppID != "")
}

// Merchant is the merchant id and the app ids its transactions may carry.
func (w *WeChatPay) Merchant() (mchID string, appIDs []string) {
	appIDs = []string{w.cfg.AppID}
	if w.cfg.MobileAppID != "" {
		appIDs = append(appIDs, w.cfg.MobileAppID)
	}
	return w.cfg.MchID, appIDs
}

func transactionOf(tx *payments.Transaction) *Transaction {
	out := &Transaction{OutTradeNo: deref(tx.OutTradeNo), TransactionID: deref(tx.TransactionId),
		State: deref(tx.TradeState), MchID: deref(tx.Mchid), AppID: deref(tx.Appid)}
	if tx.Amount != nil && tx.Amount.Total != nil {
		out.AmountFen = *tx.Amount.Total
	}
	if tx.Payer != nil {
		out.OpenID = deref(tx.Payer.Openid)
	}
	if t, err := time.Parse(time.RFC3339, deref(tx.SuccessTime)); err == nil {
		out.SuccessTime = t
	}
	return out
}

// providerError keeps WeChat Pay's code and message of a refusal and drops
// the rest (the SDK's error carries the request's headers).
func providerError(err error) error {
	var api *core.APIError
	if errors.As(err, &api) {
		return fmt.Errorf("%w: %d %s %s", ErrProvider, api.StatusCode, api.Code, api.Message)
	}
	return fmt.Errorf("%w: %v", ErrProvider, err)
}

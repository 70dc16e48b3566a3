package payments

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// Provider is the online payment provider (WeChat Pay): it places orders,
// answers their state, closes unpaid ones and verifies notifications.
type Provider interface {
	// Prepay places o and returns what the client opens the payment
	// sheet with. Placing the same order again gives the same prepay id.
	Prepay(ctx context.Context, o Order) (*Launch, error)
	// Query is the provider's state of an order; ErrNoSuchOrder when it
	// was never placed.
	Query(ctx context.Context, outTradeNo string) (*Transaction, error)
	// Close closes an unpaid order; ErrAlreadyPaid when it was paid.
	Close(ctx context.Context, outTradeNo string) error
	// ParseNotification verifies and decrypts a notification request;
	// ErrBadNotification when it is not the provider's, or stale.
	ParseNotification(ctx context.Context, r *http.Request) (*Transaction, error)
	// Supports reports whether the provider is set up for a trade type
	// (APP pay needs the owner app's app id).
	Supports(tradeType string) bool
	// Merchant is the merchant id and the app ids its transactions carry:
	// a transaction naming others is not ours.
	Merchant() (mchID string, appIDs []string)
	// TradeBill is the provider's trade bill of a day (China time): every
	// payment that succeeded and every refund accepted that day.
	// ErrBillNotReady when the provider has not made it yet.
	TradeBill(ctx context.Context, date models.Date) (*TradeBill, error)
	// Refund asks the provider to pay money of a paid order back (sending
	// the same out_refund_no again refunds once) and returns its state.
	Refund(ctx context.Context, r RefundOrder) (*RefundResult, error)
	// QueryRefund is the provider's state of a refund; ErrNoSuchRefund
	// when it was never accepted.
	QueryRefund(ctx context.Context, outRefundNo string) (*RefundResult, error)
	// ParseRefundNotification verifies and decrypts a refund
	// notification; ErrBadNotification when it is not the provider's, or
	// stale.
	ParseRefundNotification(ctx context.Context, r *http.Request) (*RefundResult, error)
}

// RefundOrder is a refund as sent to the provider.
type RefundOrder struct {
	// OutTradeNo and TransactionID name the payment (either will do; the
	// provider's transaction id is preferred when known).
	OutTradeNo, TransactionID string
	OutRefundNo               string
	Reason                    string
	AmountFen, TotalFen       int64
}

// RefundResult is the provider's word on a refund (the answer to sending
// or querying it, or a notification).
type RefundResult struct {
	OutRefundNo, RefundID     string
	OutTradeNo, TransactionID string
	// MchID is the merchant a notification names ("" in answers to our
	// own requests, which are ours by their signature).
	MchID string
	// State is PROCESSING, SUCCESS, CLOSED or ABNORMAL (the refund
	// states of the same names).
	State               string
	AmountFen, TotalFen int64
	SuccessTime         time.Time
}

// Order is a payment as placed with the provider.
type Order struct {
	OutTradeNo  string
	Description string
	AmountFen   int64
	TradeType   string
	// OpenID is the payer's openid in the mini-program (JSAPI only).
	OpenID    string
	ExpiresAt time.Time
}

// Launch is what the client needs to open the payment sheet: JSAPI's
// wx.requestPayment parameters, or the app SDK's PayReq.
type Launch struct {
	PrepayID string
	JSAPI    *JSAPIParams
	App      *AppParams
}

// JSAPIParams are wx.requestPayment's parameters, signed.
type JSAPIParams struct {
	AppID, TimeStamp, NonceStr, Package, SignType, PaySign string
}

// AppParams are the WeChat open SDK's PayReq fields, signed.
type AppParams struct {
	AppID, PartnerID, PrepayID, Package, NonceStr, TimeStamp, Sign string
}

// Transaction is the provider's word on an order (a notification or a
// query's answer).
type Transaction struct {
	OutTradeNo, TransactionID string
	// State is WeChat Pay's trade_state: SUCCESS, NOTPAY, CLOSED, REFUND,
	// REVOKED, USERPAYING, PAYERROR.
	State        string
	AmountFen    int64
	MchID, AppID string
	OpenID       string
	SuccessTime  time.Time
}

// Provider trade states.
const (
	TradeSuccess    = "SUCCESS"
	TradeNotPay     = "NOTPAY"
	TradeClosed     = "CLOSED"
	TradeRefund     = "REFUND"
	TradeRevoked    = "REVOKED"
	TradeUserPaying = "USERPAYING"
	TradePayError   = "PAYERROR"
)

// Errors of a provider.
var (
	// ErrProvider wraps a refusal or failure of the provider (an outage, a
	// parameter it refused).
	ErrProvider = errors.New("payment provider")
	// ErrNoSuchOrder: the provider has no order with that out_trade_no.
	ErrNoSuchOrder = errors.New("payment provider: no such order")
	// ErrAlreadyPaid: an order being closed was paid.
	ErrAlreadyPaid = errors.New("payment provider: order already paid")
	// ErrBadNotification: a notification that is not the provider's (bad
	// signature, stale timestamp, undecryptable).
	ErrBadNotification = errors.New("payment notification refused")
	// ErrBillNotReady: the provider has no trade bill for the day yet
	// (WeChat Pay makes it the next morning).
	ErrBillNotReady = errors.New("payment provider: the day's bill is not ready")
	// ErrNoSuchRefund: the provider has no refund with that out_refund_no.
	ErrNoSuchRefund = errors.New("payment provider: no such refund")
)

package payments

import (
	"errors"

	"github.com/ownerhub/ownerhub/models"
)

// CodeWeChatNotBound: paying in the mini-program needs the owner's WeChat
// account (their openid), which only a WeChat sign-in binds.
const CodeWeChatNotBound models.Code = "WECHAT_NOT_BOUND"

var (
	errOwnersOnly  = models.E(models.CodeForbidden, "仅车主本人可在线支付", "only owners pay online")
	errPaymentsOff = models.E(models.CodePaymentMethodUnavailable, "暂未开通在线支付", "online payment is not available").On("tradeType")
	errAppPayOff   = models.E(models.CodePaymentMethodUnavailable, "App 暂不支持微信支付，请在小程序中支付",
		"WeChat Pay in the app is not set up: pay in the mini-program").On("tradeType")
	errNoOpenID = models.E(CodeWeChatNotBound, "请先用微信登录小程序后再支付",
		"sign in with WeChat in the mini-program before paying there").On("tradeType")
	errProviderDown = models.E(models.CodeUnavailable, "微信支付暂时无法下单，请稍后用同一幂等键重试",
		"WeChat Pay did not take the order: retry with the same idempotency key")
	errStoreNotFound = models.E(models.CodeNotFound, "未找到该门店", "store not found").On("storeId")
	errNotFound      = models.E(models.CodeNotFound, "未找到该支付", "payment not found")
)

// Refusals of a provider's word on a payment: it changes nothing.
var (
	// ErrUnknown: no payment of ours has that out_trade_no.
	ErrUnknown = errors.New("payments: no such payment")
	// ErrMismatch: the transaction names another merchant or app, or
	// another amount, than the payment.
	ErrMismatch = errors.New("payments: transaction does not match its payment")
)

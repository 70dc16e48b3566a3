package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ownerhub/ownerhub/models/payments"
)

// loadPayments reads online payment. PAYMENT_PROVIDER is "" (online payment
// refused with PAYMENT_METHOD_UNAVAILABLE) or "wechatpay", which needs
// WECHATPAY_MCH_ID, WECHATPAY_MERCHANT_SERIAL, WECHATPAY_MERCHANT_KEY,
// WECHATPAY_PUBLIC_KEY_ID, WECHATPAY_PUBLIC_KEY, WECHATPAY_API_V3_KEY and
// WECHATPAY_NOTIFY_URL (WECHATPAY_REFUND_NOTIFY_URL defaults to its
// refund-notify sibling); the app ids default to WECHAT_APP_ID (the
// mini-program) and none (the owner app). Keys are PEM text or a file's
// path. PAYMENT_HOLD is how long a started payment may be paid.
func loadPayments(c *Config, env func(key, def string) string) error {
	hold, err := time.ParseDuration(env("PAYMENT_HOLD", payments.DefaultHold.String()))
	if err != nil || hold < time.Minute || hold > 2*time.Hour {
		return fmt.Errorf("PAYMENT_HOLD must be a duration from 1m to 2h, not %q", env("PAYMENT_HOLD", ""))
	}
	c.PaymentHold = hold
	switch p := env("PAYMENT_PROVIDER", ""); p {
	case "":
		return nil
	case "wechatpay":
	default:
		return fmt.Errorf("PAYMENT_PROVIDER must be empty or wechatpay, not %q", p)
	}
	w := payments.WeChatPayConfig{MchID: env("WECHATPAY_MCH_ID", ""), AppID: env("WECHATPAY_APP_ID", c.WeChatAppID),
		MobileAppID: env("WECHATPAY_MOBILE_APP_ID", ""), MerchantSerial: env("WECHATPAY_MERCHANT_SERIAL", ""),
		PublicKeyID: env("WECHATPAY_PUBLIC_KEY_ID", ""), APIv3Key: env("WECHATPAY_API_V3_KEY", ""),
		NotifyURL: env("WECHATPAY_NOTIFY_URL", ""), BaseURL: env("WECHATPAY_API_BASE_URL", "")}
	w.RefundNotifyURL = env("WECHATPAY_REFUND_NOTIFY_URL", payments.DefaultRefundNotifyURL(w.NotifyURL))
	for _, v := range []struct{ name, value string }{
		{"WECHATPAY_MCH_ID", w.MchID}, {"WECHATPAY_APP_ID (or WECHAT_APP_ID)", w.AppID},
		{"WECHATPAY_MERCHANT_SERIAL", w.MerchantSerial}, {"WECHATPAY_PUBLIC_KEY_ID", w.PublicKeyID},
		{"WECHATPAY_API_V3_KEY", w.APIv3Key}, {"WECHATPAY_NOTIFY_URL", w.NotifyURL},
	} {
		if v.value == "" {
			return fmt.Errorf("%s is required when PAYMENT_PROVIDER=wechatpay", v.name)
		}
	}
	if w.MerchantKeyPEM, err = pemOrFile("WECHATPAY_MERCHANT_KEY", env("WECHATPAY_MERCHANT_KEY", "")); err != nil {
		return err
	}
	if w.PublicKeyPEM, err = pemOrFile("WECHATPAY_PUBLIC_KEY", env("WECHATPAY_PUBLIC_KEY", "")); err != nil {
		return err
	}
	if c.Production && !strings.HasPrefix(w.NotifyURL, "https://") {
		return errors.New("WECHATPAY_NOTIFY_URL must be an https URL in production")
	}
	if c.Production && !strings.HasPrefix(w.RefundNotifyURL, "https://") {
		return errors.New("WECHATPAY_REFUND_NOTIFY_URL must be an https URL in production")
	}
	// Building the provider checks the keys; the server builds its own.
	if _, err := payments.NewWeChatPay(w); err != nil {
		return err
	}
	c.WeChatPay = &w
	return nil
}

// pemOrFile is v when it is PEM text, else the content of the file it
// names.
func pemOrFile(name, v string) (string, error) {
	switch {
	case v == "":
		return "", fmt.Errorf("%s is required when PAYMENT_PROVIDER=wechatpay", name)
	case strings.HasPrefix(v, "-----BEGIN"):
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(b), nil
}

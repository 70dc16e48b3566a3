package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// wechatPayNotifyPath is where WeChat Pay posts payment notifications
// (WECHATPAY_NOTIFY_URL points here).
const wechatPayNotifyPath = "/api/v1/payments/wechat/notify"

// newPayments builds online payment: with WeChat Pay when it is configured,
// else a service that refuses to start payments.
func newPayments(cfg Config, d Deps, wl *wallet.Service, dir *directory.Service, ws *workshop.Service, ib *inbox.Service) (*payments.Service, error) {
	s := &payments.Service{DB: d.DB, Wallet: wl, Directory: dir, Inbox: ib, Log: d.Log, Hold: cfg.PaymentHold,
		Purposes: map[string]payments.Purpose{payments.PurposeRepairBill: ws.BillPurpose()}}
	// The counter does not settle a bill the owner is paying online.
	ws.Payments = s
	if cfg.WeChatPay != nil {
		p, err := payments.NewWeChatPay(*cfg.WeChatPay)
		if err != nil {
			return nil, err
		}
		s.Provider = p
	}
	return s, nil
}

// payFor registers the purposes other capabilities own on pay, and gives
// them pay (event fees: seats held for PAYMENT_HOLD while the owner pays;
// packages bought online: refunded to their payment).
func payFor(pay *payments.Service, ev *events.Service, pk *packages.Service, cfg Config) {
	if pay.Purposes == nil {
		pay.Purposes = map[string]payments.Purpose{}
	}
	ev.Payments, ev.PaymentHold = pay, cfg.PaymentHold
	pay.Purposes[payments.PurposeEventFee] = ev.FeePurpose()
	pk.Payments = pay
	pay.Purposes[payments.PurposeServicePackage] = pk.PurchasePurpose()
}

// paymentNotifyHandler takes WeChat Pay's payment notifications: a
// notification whose signature or timestamp does not verify is refused
// (401); one for a payment we do not know, or that does not match it, is
// logged and acknowledged (WeChat Pay would only send it again); a failure
// of ours answers 500 so that WeChat Pay retries. Applying is idempotent:
// the duplicates WeChat Pay sends change nothing.
func paymentNotifyHandler(s *payments.Service, log *slog.Logger) echo.HandlerFunc {
	return providerNotifyHandler(s, log, "notification", "payment", func(ctx context.Context, r *http.Request) ([]any, error) {
		tx, err := s.Provider.ParseNotification(ctx, r)
		if err != nil {
			return nil, err
		}
		_, err = s.Apply(ctx, tx)
		return []any{"out_trade_no", tx.OutTradeNo, "mchid", tx.MchID, "appid", tx.AppID, "amount_fen", tx.AmountFen}, err
	})
}

// providerNotifyHandler answers a WeChat Pay notification (what: its name
// in the logs; ours: what it is about) that handle parses and applies:
// refused (payments.ErrBadNotification) 401; unknown or mismatching,
// logged, 204; a failure of ours 500, so that WeChat Pay sends it again.
func providerNotifyHandler(s *payments.Service, log *slog.Logger, what, ours string,
	handle func(ctx context.Context, r *http.Request) (attrs []any, err error)) echo.HandlerFunc {
	// A problem like every REST refusal; WeChat Pay acts on the status
	// (it sends the notification again after a 4xx or 5xx) and logs a
	// message, which the problem carries too.
	fail := func(c echo.Context, status int, msg string) error {
		return writeProblem(c, status, codeOfStatus(status), msg, map[string]any{"message": msg})
	}
	return func(c echo.Context) error {
		if s.Provider == nil {
			return fail(c, http.StatusNotFound, "online payment is not configured")
		}
		ctx := c.Request().Context()
		attrs, err := handle(ctx, c.Request())
		switch {
		case errors.Is(err, payments.ErrBadNotification):
			log.WarnContext(ctx, "payments: "+what+" refused", "error", err.Error())
			return fail(c, http.StatusUnauthorized, "signature")
		case errors.Is(err, payments.ErrUnknown) || errors.Is(err, payments.ErrMismatch):
			log.WarnContext(ctx, "payments: "+what+" for no "+ours+" of ours", append(attrs, "error", err.Error())...)
			return c.NoContent(http.StatusNoContent)
		case err != nil:
			log.ErrorContext(ctx, "payments: "+what+" not applied", append(attrs, "error", err.Error())...)
			return fail(c, http.StatusInternalServerError, "not applied")
		}
		return c.NoContent(http.StatusNoContent)
	}
}

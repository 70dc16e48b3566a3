package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/models/payments"
)

// wechatPayRefundNotifyPath is where WeChat Pay posts refund notifications
// (WECHATPAY_REFUND_NOTIFY_URL points here).
const wechatPayRefundNotifyPath = "/api/v1/payments/wechat/refund-notify"

// refundNotifyHandler takes WeChat Pay's refund notifications with the
// payment notifications' answers: 401 for a signature or timestamp that
// does not verify, 204 (logged) for a refund we do not know or that does
// not match it, 500 for a failure of ours so that WeChat Pay sends it
// again. Applying is idempotent.
func refundNotifyHandler(s *payments.Service, log *slog.Logger) echo.HandlerFunc {
	fail := func(c echo.Context, status int, msg string) error {
		return c.JSON(status, map[string]string{"code": "FAIL", "message": msg})
	}
	return func(c echo.Context) error {
		if s.Provider == nil {
			return fail(c, http.StatusNotFound, "online payment is not configured")
		}
		ctx := c.Request().Context()
		r, err := s.Provider.ParseRefundNotification(ctx, c.Request())
		if err != nil {
			log.WarnContext(ctx, "payments: refund notification refused", "error", err.Error())
			return fail(c, http.StatusUnauthorized, "signature")
		}
		_, err = s.ApplyRefund(ctx, r)
		switch {
		case errors.Is(err, payments.ErrUnknown) || errors.Is(err, payments.ErrMismatch):
			log.WarnContext(ctx, "payments: refund notification for no refund of ours", "out_refund_no", r.OutRefundNo,
				"out_trade_no", r.OutTradeNo, "mchid", r.MchID, "amount_fen", r.AmountFen, "error", err.Error())
			return c.NoContent(http.StatusNoContent)
		case err != nil:
			log.ErrorContext(ctx, "payments: refund notification not applied", "out_refund_no", r.OutRefundNo, "error", err.Error())
			return fail(c, http.StatusInternalServerError, "not applied")
		}
		return c.NoContent(http.StatusNoContent)
	}
}

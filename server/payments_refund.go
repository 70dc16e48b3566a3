package main

import (
	"context"
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
	return providerNotifyHandler(s, log, "refund notification", "refund", func(ctx context.Context, r *http.Request) ([]any, error) {
		res, err := s.Provider.ParseRefundNotification(ctx, r)
		if err != nil {
			return nil, err
		}
		_, err = s.ApplyRefund(ctx, res)
		return []any{"out_refund_no", res.OutRefundNo, "out_trade_no", res.OutTradeNo, "mchid", res.MchID, "amount_fen", res.AmountFen}, err
	})
}

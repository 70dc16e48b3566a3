package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// DefaultRefundNotifyURL is the refund notify URL beside a payment notify
// URL: its last segment becomes "refund-notify"
// (https://h/api/v1/payments/wechat/notify gives
// https://h/api/v1/payments/wechat/refund-notify).
func DefaultRefundNotifyURL(notifyURL string) string {
	i := strings.LastIndex(notifyURL, "/")
	if i < 0 {
		return notifyURL
	}
	return notifyURL[:i+1] + "refund-notify"
}

// Refund sends a refund to WeChat Pay (POST /v3/refund/domestic/refunds).
// Sending the same out_refund_no again refunds once: WeChat Pay answers
// with the refund it has.
func (w *WeChatPay) Refund(ctx context.Context, r RefundOrder) (*RefundResult, error) {
	req := refunddomestic.CreateRequest{OutRefundNo: core.String(r.OutRefundNo), Reason: core.String(r.Reason),
		NotifyUrl: core.String(w.cfg.RefundNotifyURL),
		Amount:    &refunddomestic.AmountReq{Refund: core.Int64(r.AmountFen), Total: core.Int64(r.TotalFen), Currency: core.String("CNY")}}
	if r.TransactionID != "" {
		req.TransactionId = core.String(r.TransactionID)
	} else {
		req.OutTradeNo = core.String(r.OutTradeNo)
	}
	resp, _, err := (&refunddomestic.RefundsApiService{Client: w.client}).Create(ctx, req)
	if err != nil {
		return nil, providerError(err)
	}
	return refundResultOf(resp), nil
}

// QueryRefund asks WeChat Pay for a refund's state.
func (w *WeChatPay) QueryRefund(ctx context.Context, outRefundNo string) (*RefundResult, error) {
	resp, _, err := (&refunddomestic.RefundsApiService{Client: w.client}).QueryByOutRefundNo(ctx,
		refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		var api *core.APIError
		if errors.As(err, &api) && api.Code == "RESOURCE_NOT_EXISTS" {
			return nil, ErrNoSuchRefund
		}
		return nil, providerError(err)
	}
	return refundResultOf(resp), nil
}

// refundNotice is the decrypted resource of a refund notification.
type refundNotice struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	SuccessTime   string `json:"success_time"`
	Amount        struct {
		Total  int64 `json:"total"`
		Refund int64 `json:"refund"`
	} `json:"amount"`
}

// refundEvents are the refund notifications' event types and the refund
// state each reports.
var refundEvents = map[string]string{"REFUND.SUCCESS": RefundSuccess, "REFUND.ABNORMAL": RefundAbnormal, "REFUND.CLOSED": RefundClosed}

// ParseRefundNotification verifies a refund notification's signature and
// timestamp (within five minutes), as for payments, and decrypts the
// refund.
func (w *WeChatPay) ParseRefundNotification(ctx context.Context, r *http.Request) (*RefundResult, error) {
	var n refundNotice
	req, err := w.notify.ParseNotifyRequest(ctx, r, &n)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNotification, err)
	}
	state, ok := refundEvents[req.EventType]
	if !ok || (n.RefundStatus != "" && n.RefundStatus != state) {
		return nil, fmt.Errorf("%w: event %q with refund_status %q", ErrBadNotification, req.EventType, n.RefundStatus)
	}
	out := &RefundResult{OutRefundNo: n.OutRefundNo, RefundID: n.RefundID, OutTradeNo: n.OutTradeNo,
		TransactionID: n.TransactionID, MchID: n.MchID, State: state, AmountFen: n.Amount.Refund, TotalFen: n.Amount.Total}
	if t, err := time.Parse(time.RFC3339, n.SuccessTime); err == nil {
		out.SuccessTime = t
	}
	return out, nil
}

func refundResultOf(r *refunddomestic.Refund) *RefundResult {
	out := &RefundResult{OutRefundNo: deref(r.OutRefundNo), RefundID: deref(r.RefundId), OutTradeNo: deref(r.OutTradeNo),
		TransactionID: deref(r.TransactionId)}
	if r.Status != nil {
		out.State = string(*r.Status)
	}
	if r.Amount != nil {
		if r.Amount.Refund != nil {
			out.AmountFen = *r.Amount.Refund
		}
		if r.Amount.Total != nil {
			out.TotalFen = *r.Amount.Total
		}
	}
	if r.SuccessTime != nil {
		out.SuccessTime = *r.SuccessTime
	}
	return out
}

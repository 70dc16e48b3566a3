package authtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// FakeRefund is a refund the fake holds (WeChat Pay's refund API,
// /v3/refund/domestic/refunds).
type FakeRefund struct {
	OutRefundNo, RefundID, OutTradeNo, TransactionID string
	Reason, NotifyURL                                string
	Refund, Total                                    int64
	// State is PROCESSING until the test settles it: SUCCESS, CLOSED or
	// ABNORMAL.
	State       string
	CreateTime  time.Time
	SuccessTime time.Time
	// Sent is how many create requests named it (a resend refunds once).
	Sent int
}

func (f *FakeWeChatPay) routeRefunds(mux *http.ServeMux) {
	mux.HandleFunc("POST /v3/refund/domestic/refunds", f.createRefund)
	mux.HandleFunc("GET /v3/refund/domestic/refunds/{no}", f.queryRefund)
}

// Refund is a copy of the refund with that out_refund_no, if the fake has
// it.
func (f *FakeWeChatPay) Refund(outRefundNo string) (FakeRefund, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.refunds[outRefundNo]
	if !ok {
		return FakeRefund{}, false
	}
	return *r, true
}

// Refunds are copies of the refunds of an order (by out_trade_no).
func (f *FakeWeChatPay) Refunds(outTradeNo string) []FakeRefund {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FakeRefund
	for _, r := range f.refunds {
		if r.OutTradeNo == outTradeNo {
			out = append(out, *r)
		}
	}
	return out
}

// SettleRefund ends a PROCESSING refund as WeChat Pay does: SUCCESS (the
// money is back with the payer), CLOSED or ABNORMAL (the payer's account
// cannot take it), without notifying (see RefundNotificationFor).
func (f *FakeWeChatPay) SettleRefund(outRefundNo, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.refunds[outRefundNo]
	switch {
	case !ok:
		return fmt.Errorf("fake wechat pay: no refund %s", outRefundNo)
	case state != "SUCCESS" && state != "CLOSED" && state != "ABNORMAL":
		return fmt.Errorf("fake wechat pay: refund state %s", state)
	case r.State != "PROCESSING" && !(r.State == "ABNORMAL" && state == "SUCCESS"):
		return fmt.Errorf("fake wechat pay: refund %s is %s", outRefundNo, r.State)
	}
	r.State = state
	if state == "SUCCESS" {
		r.SuccessTime = time.Now()
	}
	return nil
}

// RefundNotificationFor builds the notification of a settled refund
// (REFUND.SUCCESS, REFUND.CLOSED or REFUND.ABNORMAL by its state), signed
// and encrypted as WeChat Pay does, to the refund's notify URL. edit, when
// not nil, changes the resource before it is encrypted.
func (f *FakeWeChatPay) RefundNotificationFor(outRefundNo string, edit func(res map[string]any)) (PayNotification, error) {
	f.mu.Lock()
	r, ok := f.refunds[outRefundNo]
	var res map[string]any
	var state, url string
	if ok {
		state, url = r.State, r.NotifyURL
		res = map[string]any{"mchid": f.MchID, "out_trade_no": r.OutTradeNo, "transaction_id": r.TransactionID,
			"out_refund_no": r.OutRefundNo, "refund_id": r.RefundID, "refund_status": r.State,
			"user_received_account": "支付用户零钱",
			"amount":                map[string]any{"total": r.Total, "refund": r.Refund, "payer_total": r.Total, "payer_refund": r.Refund}}
		if r.State == "SUCCESS" {
			res["success_time"] = r.SuccessTime.Format(time.RFC3339)
		}
	}
	f.mu.Unlock()
	if !ok {
		return PayNotification{}, fmt.Errorf("fake wechat pay: no refund %s", outRefundNo)
	}
	if state == "PROCESSING" {
		return PayNotification{}, fmt.Errorf("fake wechat pay: refund %s is not settled", outRefundNo)
	}
	if edit != nil {
		edit(res)
	}
	plain, _ := json.Marshal(res)
	nonce := randomString(12)
	sealed, err := f.seal(plain, nonce, "refund")
	if err != nil {
		return PayNotification{}, err
	}
	summary := map[string]string{"SUCCESS": "退款成功", "CLOSED": "退款关闭", "ABNORMAL": "退款异常"}[state]
	body, _ := json.Marshal(map[string]any{
		"id": "EV-" + randomString(16), "create_time": time.Now().Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": "REFUND." + state, "summary": summary,
		"resource": map[string]any{"original_type": "refund", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": sealed, "associated_data": "refund", "nonce": nonce},
	})
	return PayNotification{Body: body, Header: f.signedHeader(body, time.Now()), URL: url}, nil
}

func (f *FakeWeChatPay) refundJSON(r *FakeRefund) map[string]any {
	out := map[string]any{"refund_id": r.RefundID, "out_refund_no": r.OutRefundNo, "transaction_id": r.TransactionID,
		"out_trade_no": r.OutTradeNo, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
		"create_time": r.CreateTime.Format(time.RFC3339), "status": r.State, "funds_account": "AVAILABLE",
		"amount": map[string]any{"total": r.Total, "refund": r.Refund, "payer_total": r.Total, "payer_refund": r.Refund,
			"settlement_refund": r.Refund, "settlement_total": r.Total, "discount_refund": 0, "currency": "CNY"}}
	if r.State == "SUCCESS" {
		out["success_time"] = r.SuccessTime.Format(time.RFC3339)
	}
	return out
}

func (f *FakeWeChatPay) createRefund(w http.ResponseWriter, r *http.Request) {
	body, ok := f.begin(w, r)
	if !ok {
		return
	}
	var in struct {
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		OutRefundNo   string `json:"out_refund_no"`
		Reason        string `json:"reason"`
		NotifyURL     string `json:"notify_url"`
		Amount        struct {
			Refund   int64  `json:"refund"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.OutRefundNo == "" || len(in.OutRefundNo) > 64 ||
		in.Amount.Currency != "CNY" || in.Amount.Refund <= 0 || (in.TransactionID == "" && in.OutTradeNo == "") {
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "参数错误"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var o *FakePayOrder
	for _, x := range f.orders {
		if (in.OutTradeNo != "" && x.OutTradeNo == in.OutTradeNo) || (in.TransactionID != "" && x.TransactionID == in.TransactionID) {
			o = x
		}
	}
	if o == nil {
		f.answer(w, http.StatusNotFound, map[string]any{"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
		return
	}
	if x, ok := f.refunds[in.OutRefundNo]; ok {
		// The same out_refund_no refunds once: WeChat Pay answers with it.
		if x.OutTradeNo != o.OutTradeNo || x.Refund != in.Amount.Refund {
			f.answer(w, http.StatusBadRequest, map[string]any{"code": "INVALID_REQUEST", "message": "退款单号重复"})
			return
		}
		x.Sent++
		f.answer(w, http.StatusOK, f.refundJSON(x))
		return
	}
	var refunded int64
	for _, x := range f.refunds {
		if x.OutTradeNo == o.OutTradeNo && x.State != "CLOSED" {
			refunded += x.Refund
		}
	}
	switch {
	case o.State != "SUCCESS" && o.State != "REFUND":
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "INVALID_REQUEST", "message": "订单未支付"})
		return
	case in.Amount.Total != o.Total:
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "订单金额不符"})
		return
	case refunded+in.Amount.Refund > o.Total:
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
		return
	}
	x := &FakeRefund{OutRefundNo: in.OutRefundNo, RefundID: "50" + randomString(27), OutTradeNo: o.OutTradeNo,
		TransactionID: o.TransactionID, Reason: in.Reason, NotifyURL: in.NotifyURL, Refund: in.Amount.Refund,
		Total: o.Total, State: "PROCESSING", CreateTime: time.Now(), Sent: 1}
	f.refunds[in.OutRefundNo] = x
	o.State = "REFUND"
	f.answer(w, http.StatusOK, f.refundJSON(x))
}

func (f *FakeWeChatPay) queryRefund(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.begin(w, r); !ok {
		return
	}
	f.mu.Lock()
	x, ok := f.refunds[r.PathValue("no")]
	var out map[string]any
	if ok {
		out = f.refundJSON(x)
	}
	f.mu.Unlock()
	if !ok {
		f.answer(w, http.StatusNotFound, map[string]any{"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"})
		return
	}
	f.answer(w, http.StatusOK, out)
}

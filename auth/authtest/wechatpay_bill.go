package authtest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fake's trade bill (GET /v3/bill/tradebill and the file it points
// to): built from the fake's own paid orders and accepted refunds of the
// day, China time, in WeChat Pay's ALL format. Tests plant what the bill
// should disagree with: a line we never had, another amount, a missing
// line, or no bill at all yet.

// billZone is China time, where WeChat Pay's bill days begin.
var billZone = time.FixedZone("CST", 8*60*60)

// FakeBillLine is one line of a trade bill: a payment, or a refund (Refund
// true) of one.
type FakeBillLine struct {
	At                        time.Time
	OutTradeNo, TransactionID string
	Refund                    bool
	OutRefundNo, RefundID     string
	// AmountFen is the payment's amount, or the refund's.
	AmountFen int64
	// OrderFen is the paid order's amount on a refund's line (0: AmountFen).
	OrderFen int64
	// Name is the product's name (商品名称).
	Name string
}

// billRefund is a refund a test recorded as accepted (RecordRefund), beside
// those the fake's refund API took.
type billRefund struct {
	OutTradeNo, OutRefundNo, RefundID string
	AmountFen                         int64
	At                                time.Time
}

// fakeBill is what the fake's bills are made of beyond its orders.
type fakeBill struct {
	refunds  []billRefund
	notReady map[string]bool
	extra    map[string][]FakeBillLine
	amounts  map[string]int64
	dropped  map[string]bool
	files    map[string][]byte
	corrupt  bool
	asked    int
}

func (f *FakeWeChatPay) billState() *fakeBill {
	if f.bill == nil {
		f.bill = &fakeBill{notReady: map[string]bool{}, extra: map[string][]FakeBillLine{}, amounts: map[string]int64{},
			dropped: map[string]bool{}, files: map[string][]byte{}}
	}
	return f.bill
}

// billRoutes serves the trade bill and its download.
func (f *FakeWeChatPay) billRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v3/bill/tradebill", f.tradeBill)
	mux.HandleFunc("GET /v3/billdownload/file", f.billFile)
}

// PayAt marks the order paid at at (WeChat Pay's success time), as Pay
// does now.
func (f *FakeWeChatPay) PayAt(outTradeNo string, at time.Time) error {
	if err := f.Pay(outTradeNo); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[outTradeNo].SuccessTime = at
	return nil
}

// RecordRefund records a refund of a paid order as accepted at at (without
// the refund API): its day's bill has it.
func (f *FakeWeChatPay) RecordRefund(outTradeNo, outRefundNo string, amountFen int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := billRefund{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, AmountFen: amountFen, At: at,
		RefundID: "5030" + strconv.FormatInt(time.Now().UnixNano(), 10)[:16]}
	b := f.billState()
	b.refunds = append(b.refunds, r)
}

// SetRefundTime moves when the fake's refund API took the refund
// outRefundNo (the day whose bill lists it) to at.
func (f *FakeWeChatPay) SetRefundTime(outRefundNo string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.refunds[outRefundNo]
	if !ok {
		return fmt.Errorf("fake wechat pay: no refund %s", outRefundNo)
	}
	r.CreateTime = at
	return nil
}

// SetBillNotReady makes the bill of date ("2006-01-02") answer
// NO_STATEMENT_EXIST, as before WeChat Pay has made it, or lifts that.
func (f *FakeWeChatPay) SetBillNotReady(date string, notReady bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.billState().notReady[date] = notReady
}

// PlantBillLine adds a line to the bill of its day (a payment or refund
// the merchant never had).
func (f *FakeWeChatPay) PlantBillLine(l FakeBillLine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	day := l.At.In(billZone).Format("2006-01-02")
	f.billState().extra[day] = append(f.billState().extra[day], l)
}

// SetBillAmount makes the bill show amountFen for the payment (by
// out_trade_no) or refund (by out_refund_no) no.
func (f *FakeWeChatPay) SetBillAmount(no string, amountFen int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.billState().amounts[no] = amountFen
}

// DropFromBill leaves the payment or refund no out of its bill.
func (f *FakeWeChatPay) DropFromBill(no string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.billState().dropped[no] = true
}

// CorruptNextBill makes the next bill file differ from the digest
// announced for it (a damaged download).
func (f *FakeWeChatPay) CorruptNextBill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.billState().corrupt = true
}

// BillsAsked is how many trade bills were asked for (answered or not).
func (f *FakeWeChatPay) BillsAsked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.billState().asked
}

// billLines is the bill of day, in time order (f.mu held).
func (f *FakeWeChatPay) billLines(day string) []FakeBillLine {
	b := f.billState()
	var lines []FakeBillLine
	for _, o := range f.orders {
		// A paid order stays on its day's bill when it is refunded later.
		if (o.State == "SUCCESS" || o.State == "REFUND") && o.SuccessTime.In(billZone).Format("2006-01-02") == day {
			lines = append(lines, FakeBillLine{At: o.SuccessTime, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
				AmountFen: o.Total, Name: o.Description})
		}
	}
	refunds := slices.Clone(b.refunds)
	for _, r := range f.refunds {
		// Refunds the API took are on the bill of the day it took them.
		refunds = append(refunds, billRefund{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, RefundID: r.RefundID,
			AmountFen: r.Refund, At: r.CreateTime})
	}
	for _, r := range refunds {
		if r.At.In(billZone).Format("2006-01-02") != day {
			continue
		}
		l := FakeBillLine{At: r.At, OutTradeNo: r.OutTradeNo, Refund: true, OutRefundNo: r.OutRefundNo, RefundID: r.RefundID, AmountFen: r.AmountFen}
		if o, ok := f.orders[r.OutTradeNo]; ok {
			l.TransactionID, l.OrderFen, l.Name = o.TransactionID, o.Total, o.Description
		}
		lines = append(lines, l)
	}
	lines = append(lines, b.extra[day]...)
	lines = slices.DeleteFunc(lines, func(l FakeBillLine) bool { return b.dropped[l.key()] })
	for i := range lines {
		if a, ok := b.amounts[lines[i].key()]; ok {
			lines[i].AmountFen = a
		}
	}
	slices.SortStableFunc(lines, func(a, b FakeBillLine) int { return a.At.Compare(b.At) })
	return lines
}

func (l FakeBillLine) key() string {
	if l.Refund {
		return l.OutRefundNo
	}
	return l.OutTradeNo
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// billFile writes lines in WeChat Pay's ALL trade bill format.
func (f *FakeWeChatPay) billFile(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.begin(w, r); !ok {
		return
	}
	f.mu.Lock()
	data, ok := f.billState().files[r.URL.Query().Get("token")]
	f.mu.Unlock()
	if !ok {
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "INVALID_REQUEST", "message": "下载地址已失效"})
		return
	}
	// WeChat Pay does not sign the file: its digest stands for it.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(data)
}

func (f *FakeWeChatPay) tradeBill(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.begin(w, r); !ok {
		return
	}
	q := r.URL.Query()
	day := q.Get("bill_date")
	if _, err := time.Parse("2006-01-02", day); err != nil || (q.Get("bill_type") != "" && q.Get("bill_type") != "ALL") {
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "PARAM_ERROR", "message": "bill_date"})
		return
	}
	f.mu.Lock()
	b := f.billState()
	b.asked++
	lines := f.billLines(day)
	if b.notReady[day] || len(lines) == 0 {
		f.mu.Unlock()
		f.answer(w, http.StatusBadRequest, map[string]any{"code": "NO_STATEMENT_EXIST", "message": "请求的账单文件不存在"})
		return
	}
	data := f.renderBill(lines)
	sum := sha1.Sum(data)
	if b.corrupt {
		b.corrupt = false
		data = append(data, "`"...)
	}
	token := randomString(32)
	b.files[token] = data
	f.mu.Unlock()
	f.answer(w, http.StatusOK, map[string]any{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]),
		"download_url": f.Server.URL + "/v3/billdownload/file?token=" + token})
}

// renderBill is the file of lines (f.mu held).
func (f *FakeWeChatPay) renderBill(lines []FakeBillLine) []byte {
	var sb strings.Builder
	sb.WriteString("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
		"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率," +
		"订单金额,申请退款金额,费率备注\r\n")
	var settled, refunded, ordered int64
	for _, l := range lines {
		appID, openID, tradeType := f.AppID, "oFAKE"+randomString(10), "JSAPI"
		if o, ok := f.orders[l.OutTradeNo]; ok {
			appID, openID, tradeType = o.AppID, o.OpenID, o.TradeType
		}
		var row []string
		at := l.At.In(billZone).Format("2006-01-02 15:04:05")
		if l.Refund {
			order := l.OrderFen
			if order == 0 {
				order = l.AmountFen
			}
			refunded += l.AmountFen
			row = []string{at, appID, f.MchID, "0", "", l.TransactionID, l.OutTradeNo, openID, tradeType, "REFUND", "OTHERS", "CNY",
				"0.00", "0.00", l.RefundID, l.OutRefundNo, yuan(l.AmountFen), "0.00", "ORIGINAL", "SUCCESS", l.Name, "", "0.00000", "0.60%",
				yuan(order), yuan(l.AmountFen), ""}
		} else {
			settled += l.AmountFen
			ordered += l.AmountFen
			row = []string{at, appID, f.MchID, "0", "", l.TransactionID, l.OutTradeNo, openID, tradeType, "SUCCESS", "OTHERS", "CNY",
				yuan(l.AmountFen), "0.00", "0", "0", "0.00", "0.00", "", "", l.Name, "", "0.00000", "0.60%",
				yuan(l.AmountFen), "0.00", ""}
		}
		sb.WriteString("`" + strings.Join(row, ",`") + "\r\n")
	}
	sb.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	sb.WriteString("`" + strings.Join([]string{strconv.Itoa(len(lines)), yuan(settled), yuan(refunded), "0.00", "0.00000",
		yuan(ordered), yuan(refunded)}, ",`") + "\r\n")
	return []byte(sb.String())
}

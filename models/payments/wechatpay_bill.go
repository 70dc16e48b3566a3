package payments

import (
	"bytes"
	"context"
	"crypto/sha1" // WeChat Pay announces the file's SHA1: it checks the download, it guards no secret
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"

	"github.com/ownerhub/ownerhub/models"
)

// TradeBill is the provider's trade bill of one day: the payments that
// succeeded and the refunds accepted that day, China time.
type TradeBill struct {
	Date     models.Date
	Payments []BillPayment
	Refunds  []BillRefund
}

// BillPayment is a payment line of a trade bill.
type BillPayment struct {
	OutTradeNo, TransactionID string
	// State is the line's 交易状态: SUCCESS, or REVOKED for a payment
	// taken back after it succeeded.
	State        string
	AppID, MchID string
	// AmountFen is the order's amount (订单金额), what the payment asked.
	AmountFen int64
	// At is WeChat Pay's success time.
	At time.Time
}

// BillRefund is a refund line of a trade bill.
type BillRefund struct {
	OutTradeNo, OutRefundNo, RefundID string
	// State is the refund's state when the bill was made (退款状态):
	// SUCCESS or PROCESSING.
	State string
	// AmountFen is the refund asked (申请退款金额).
	AmountFen int64
	// At is when the refund was accepted (not when it succeeded).
	At time.Time
}

// maxBillBytes bounds a downloaded bill (a day of a dealer group's online
// payments is a few hundred kilobytes).
const maxBillBytes = 64 << 20

// TradeBill asks WeChat Pay for the day's trade bill (GET
// /v3/bill/tradebill, bill_type ALL), downloads it from the address it
// answers with a signed request, checks its SHA1 digest and parses it.
// WeChat Pay answers NO_STATEMENT_EXIST before it has made the bill (it
// starts at 09:00 the next day) and for a day without transactions:
// ErrBillNotReady.
func (w *WeChatPay) TradeBill(ctx context.Context, date models.Date) (*TradeBill, error) {
	q := url.Values{"bill_date": {date.String()}, "bill_type": {"ALL"}}
	res, err := w.client.Get(ctx, consts.WechatPayAPIServer+"/v3/bill/tradebill?"+q.Encode())
	if err != nil {
		var api *core.APIError
		if errors.As(err, &api) && (api.Code == "NO_STATEMENT_EXIST" || api.Code == "STATEMENT_CREATING") {
			return nil, ErrBillNotReady
		}
		return nil, providerError(err)
	}
	var ans struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := core.UnMarshalResponse(res.Response, &ans); err != nil {
		return nil, fmt.Errorf("%w: trade bill answer: %v", ErrProvider, err)
	}
	if ans.HashType != "SHA1" || ans.DownloadURL == "" {
		return nil, fmt.Errorf("%w: trade bill answer: hash type %q", ErrProvider, ans.HashType)
	}
	data, err := w.download(ctx, ans.DownloadURL)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(data)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), ans.HashValue) {
		return nil, fmt.Errorf("%w: trade bill of %s: its SHA1 is not the one announced", ErrProvider, date)
	}
	bill, err := ParseTradeBill(data)
	if err != nil {
		return nil, fmt.Errorf("%w: trade bill of %s: %v", ErrProvider, date, err)
	}
	bill.Date = date
	return bill, nil
}

// download fetches a bill file with a signed GET. WeChat Pay does not sign
// the file's answer (its digest, announced in the signed answer before,
// stands for it), so the SDK's client skips the answer's signature here.
func (w *WeChatPay) download(ctx context.Context, u string) ([]byte, error) {
	c := core.NewClientWithValidator(w.client, &validators.NullValidator{})
	res, err := c.Get(ctx, u)
	if err != nil {
		return nil, providerError(err)
	}
	defer func() { _ = res.Response.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(res.Response.Body, maxBillBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: trade bill download: %v", ErrProvider, err)
	}
	if len(data) > maxBillBytes {
		return nil, fmt.Errorf("%w: trade bill larger than %d bytes", ErrProvider, maxBillBytes)
	}
	return data, nil
}

// billColumns are the detail columns of an ALL trade bill the
// reconciliation reads (the file has more; they are found by name).
var billColumns = []string{"交易时间", "公众账号ID", "商户号", "微信订单号", "商户订单号", "交易状态",
	"微信退款单号", "商户退款单号", "退款状态", "订单金额", "申请退款金额"}

// ParseTradeBill reads an ALL trade bill: a header line, one line per
// payment or refund with every field after a backtick, then a summary
// header ("总交易单数,...") and the summary line. Amounts are yuan with two
// decimals, read into fen exactly; times are China time. The summary's
// count must be the number of lines read.
func ParseTradeBill(data []byte) (*TradeBill, error) {
	text := strings.TrimPrefix(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "\ufeff")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "交易时间") {
		return nil, errors.New("no trade bill header")
	}
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], ",") {
		col[strings.TrimSpace(name)] = i
	}
	for _, name := range billColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("no column %s", name)
		}
	}
	bill := &TradeBill{}
	i := 1
	for ; i < len(lines) && !strings.HasPrefix(lines[i], "总交易单数"); i++ {
		if err := bill.addLine(fields(lines[i]), col); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	if i+1 >= len(lines) {
		return nil, errors.New("no summary")
	}
	summary := fields(lines[i+1])
	var count int64
	if _, err := fmt.Sscan(summary[0], &count); err != nil {
		return nil, fmt.Errorf("summary count %q", summary[0])
	}
	if n := int64(len(bill.Payments) + len(bill.Refunds)); n != count {
		return nil, fmt.Errorf("%d lines, the summary says %d", n, count)
	}
	return bill, nil
}

// fields splits a bill line: every field starts with a backtick, so ",`"
// separates them even where a product's name holds a comma.
func fields(line string) []string {
	out := strings.Split(strings.TrimPrefix(strings.TrimSpace(line), "`"), ",`")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

func (b *TradeBill) addLine(f []string, col map[string]int) error {
	get := func(name string) string {
		if i := col[name]; i < len(f) {
			return f[i]
		}
		return ""
	}
	if len(f) < len(col) {
		return fmt.Errorf("%d fields, the header has %d", len(f), len(col))
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05", get("交易时间"), models.ChinaTime)
	if err != nil {
		return fmt.Errorf("交易时间 %q", get("交易时间"))
	}
	if get("交易状态") == "REFUND" {
		amount, err := ParseYuan(get("申请退款金额"))
		if err != nil {
			return fmt.Errorf("申请退款金额: %w", err)
		}
		b.Refunds = append(b.Refunds, BillRefund{OutTradeNo: get("商户订单号"), OutRefundNo: get("商户退款单号"),
			RefundID: get("微信退款单号"), State: get("退款状态"), AmountFen: amount, At: at.UTC()})
		return nil
	}
	amount, err := ParseYuan(get("订单金额"))
	if err != nil {
		return fmt.Errorf("订单金额: %w", err)
	}
	b.Payments = append(b.Payments, BillPayment{OutTradeNo: get("商户订单号"), TransactionID: get("微信订单号"),
		State: get("交易状态"), AppID: get("公众账号ID"), MchID: get("商户号"), AmountFen: amount, At: at.UTC()})
	return nil
}

// ParseYuan reads an amount in yuan with at most two decimals ("12.30",
// "0.01", "5") into fen, exactly (no floating point). Anything else is
// refused.
func ParseYuan(s string) (int64, error) {
	whole, frac, dot := strings.Cut(strings.TrimPrefix(s, "`"), ".")
	if whole == "" || len(whole) > 15 || (dot && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("amount %q", s)
	}
	var fen int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q", s)
		}
		fen = fen*10 + int64(c-'0')
	}
	frac += "00"[len(frac):]
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q", s)
		}
		fen = fen*10 + int64(c-'0')
	}
	return fen, nil
}

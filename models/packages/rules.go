package packages

import (
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Limits of a product (docs/packages.md).
const (
	MaxNameRunes = 40
	MaxUses      = 100
	// MaxPriceFen bounds prices and per-visit caps: ¥100,000.
	MaxPriceFen = 10_000_000
	// MaxValidDays bounds validity from purchase: three years.
	MaxValidDays = 1095
	// MaxReferenceRunes bounds an external payment's reference.
	MaxReferenceRunes = 64
	// DefaultRefundFeePercent is the share of the unused value kept by the
	// store on a refund unless configured (PACKAGE_REFUND_FEE_PERCENT).
	DefaultRefundFeePercent = 10
)

// OrderKinds are the repair order kinds a package may cover: the
// workshop's kinds, named here so that packages need not import the
// workshop (which imports packages).
var OrderKinds = []string{"MAINTENANCE", "REPAIR", "WARRANTY", "ACCIDENT", "BODY_PAINT", "DETAILING"}

// Methods are the ways a sale may be paid.
var Methods = []Method{Wallet, Cash, Card, WeChatPay, Alipay}

// Config is the packages' configuration.
type Config struct {
	// RefundFeePercent (0..100) is the share of a refund's unused value
	// the store keeps (PACKAGE_REFUND_FEE_PERCENT). The zero Config keeps
	// none; the server starts from DefaultConfig.
	RefundFeePercent int
}

// DefaultConfig is the configuration unless set: a 10% refund fee.
func DefaultConfig() Config { return Config{RefundFeePercent: DefaultRefundFeePercent} }

// ProductInput is a new product of a store.
type ProductInput struct {
	StoreID        uuid.UUID
	Name           string
	OrderKind      string
	Uses           int
	PriceFen       int64
	ValidDays      int
	PerVisitCapFen int64
}

// check validates the input and returns it normalized.
//
// Codes: INVALID_ARGUMENT (the field named).
func (in ProductInput) check() (ProductInput, error) {
	name, err := models.Text("name", "名称", in.Name, 1, MaxNameRunes, false)
	if err != nil {
		return in, err
	}
	in.Name = name
	switch {
	case !slices.Contains(OrderKinds, in.OrderKind):
		return in, models.Invalid("orderKind", "工单类型无效", "unknown repair order kind")
	case in.Uses < 1 || in.Uses > MaxUses:
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("次数须在 1 到 %d 之间", MaxUses), "uses must be between 1 and %d", MaxUses).On("uses")
	case in.PriceFen < 1 || in.PriceFen > MaxPriceFen:
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("价格须在 1 到 %d 分之间", MaxPriceFen), "priceFen must be between 1 and %d", MaxPriceFen).On("priceFen")
	case in.ValidDays < 1 || in.ValidDays > MaxValidDays:
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("有效天数须在 1 到 %d 之间", MaxValidDays), "validDays must be between 1 and %d", MaxValidDays).On("validDays")
	case in.PerVisitCapFen < 0 || in.PerVisitCapFen > MaxPriceFen:
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("单次上限须在 0 到 %d 分之间", MaxPriceFen), "perVisitCapFen must be between 0 and %d", MaxPriceFen).On("perVisitCapFen")
	}
	return in, nil
}

// checkPayment validates a sale's method and reference: a reference is
// required for card and online methods, none is kept for the wallet.
//
// Codes: INVALID_ARGUMENT ("method", "reference").
func checkPayment(m Method, reference string) (string, error) {
	if !slices.Contains(Methods, m) {
		return "", models.Invalid("method", "付款方式须为会员储值、现金、银行卡、微信支付或支付宝", "method must be WALLET, CASH, CARD, WECHAT_PAY or ALIPAY")
	}
	ref, err := models.Text("reference", "付款凭证号", reference, 0, MaxReferenceRunes, false)
	if err != nil {
		return "", err
	}
	switch {
	case m == Wallet:
		return "", nil
	case ref == "" && m != Cash:
		return "", models.Invalid("reference", "请填写付款凭证号（刷卡单号或交易单号）", "reference is required for card and online payments")
	}
	return ref, nil
}

// Line is one billed line of a repair order offered to a package: the
// workshop passes the PRE_APPROVED and APPROVED lines not covered by
// warranty (labour and parts alike).
type Line struct {
	Code      string
	AmountFen int64
}

// Covered is what one use of a package pays of an order's bill: the sum of
// its billed lines, at most the per-visit cap (0: no cap). It is 0 when
// nothing is billed.
func Covered(lines []Line, capFen int64) int64 {
	var sum int64
	for _, l := range lines {
		sum += l.AmountFen
	}
	if capFen > 0 && sum > capFen {
		return capFen
	}
	return sum
}

// RefundFen is what a refund of a package gives back: the unused uses'
// share of the price (price × left / total, rounded down to the fen) less
// feePercent % of that share (rounded down: the owner keeps the odd fen).
func RefundFen(priceFen int64, total, left, feePercent int) int64 {
	if total <= 0 || left <= 0 {
		return 0
	}
	share := priceFen * int64(left) / int64(total)
	return share - share*int64(feePercent)/100
}

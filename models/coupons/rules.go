package coupons

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Limits of a template (docs/coupons.md).
const (
	MaxNameRunes     = 40
	MaxItemCodeRunes = 32
	// MaxValueFen bounds amounts, caps and minimum spends: ¥100,000.
	MaxValueFen = 10_000_000
	// MaxValidDays bounds validity from issue: two years.
	MaxValidDays = 730
	// MaxPerOwner bounds the per-owner limit.
	MaxPerOwner = 100
	// RemindBefore is how long before its end an owner is reminded of an
	// unused coupon.
	RemindBefore = 3 * 24 * time.Hour
)

// OrderKinds are the repair order kinds a coupon may pay towards: the
// workshop's kinds, named here so that coupons need not import the
// workshop (which imports coupons).
var OrderKinds = []string{"MAINTENANCE", "REPAIR", "WARRANTY", "ACCIDENT", "BODY_PAINT", "DETAILING"}

// TemplateInput is a new template. Exactly one of ValidUntil (a fixed
// window, ValidFrom optional) and ValidDays (from issue) is given.
type TemplateInput struct {
	StoreID       *uuid.UUID // nil: the group's (GROUP_ADMIN only)
	Name          string
	Kind          Kind
	AmountFen     int64
	Percent       int
	CapFen        int64
	ItemName      string
	ItemCode      string
	MinSpendFen   int64
	OrderKinds    []string
	EventFees     bool
	ValidFrom     *time.Time
	ValidUntil    *time.Time
	ValidDays     int
	PerOwnerLimit int
}

func money(field string, fen int64, positive bool) error {
	if fen < 0 || fen > MaxValueFen || (positive && fen == 0) {
		lo := 0
		if positive {
			lo = 1
		}
		return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("金额须在 %d 到 %d 分之间", lo, MaxValueFen),
			"%s must be between %d and %d fen", field, lo, MaxValueFen).On(field)
	}
	return nil
}

// check validates the input at now and returns it normalized: the fields
// of other kinds cleared, the order kinds sorted without repeats.
//
// Codes: INVALID_ARGUMENT (the field named).
func (in TemplateInput) check(now time.Time) (TemplateInput, error) {
	name, err := models.Text("name", "名称", in.Name, 1, MaxNameRunes, false)
	if err != nil {
		return in, err
	}
	in.Name = name
	switch in.Kind {
	case FixedOff:
		if err := money("amountFen", in.AmountFen, true); err != nil {
			return in, err
		}
		in.Percent, in.CapFen, in.ItemName, in.ItemCode = 0, 0, "", ""
	case PercentOff:
		if in.Percent < 1 || in.Percent > 99 {
			return in, models.Invalid("percent", "折扣比例须在 1 到 99 之间", "percent must be between 1 and 99")
		}
		if err := money("capFen", in.CapFen, true); err != nil {
			return in, err
		}
		in.AmountFen, in.ItemName, in.ItemCode = 0, "", ""
	case FreeItem:
		if err := money("capFen", in.CapFen, true); err != nil {
			return in, err
		}
		if in.ItemName, err = models.Text("itemName", "项目名称", in.ItemName, 1, MaxNameRunes, false); err != nil {
			return in, err
		}
		code, err := models.Text("itemCode", "项目编码", in.ItemCode, 1, MaxItemCodeRunes, false)
		if err != nil {
			return in, err
		}
		in.ItemCode = strings.ToUpper(code)
		in.AmountFen, in.Percent = 0, 0
	default:
		return in, models.Invalid("kind", "优惠券类型无效", "kind must be FIXED_OFF, PERCENT_OFF or FREE_ITEM")
	}
	if err := money("minSpendFen", in.MinSpendFen, false); err != nil {
		return in, err
	}
	kinds := slices.Clone(in.OrderKinds)
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	for _, k := range kinds {
		if !slices.Contains(OrderKinds, k) {
			return in, models.Invalid("orderKinds", "工单类型无效", "unknown repair order kind "+k)
		}
	}
	in.OrderKinds = kinds
	if len(kinds) == 0 && !in.EventFees {
		return in, models.Invalid("orderKinds", "请至少选择一种适用的工单类型或活动费用", "the coupon must pay towards some order kind or event fees")
	}
	if err := in.checkValidity(now); err != nil {
		return in, err
	}
	if in.PerOwnerLimit < 1 || in.PerOwnerLimit > MaxPerOwner {
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("每人限领张数须在 1 到 %d 之间", MaxPerOwner),
			"perOwnerLimit must be between 1 and %d", MaxPerOwner).On("perOwnerLimit")
	}
	return in, nil
}

func (in *TemplateInput) checkValidity(now time.Time) error {
	switch {
	case in.ValidDays != 0 && (in.ValidUntil != nil || in.ValidFrom != nil):
		return models.Invalid("validDays", "有效期须为固定时段或领取后若干天，二者选一", "give either a window (validFrom, validUntil) or validDays, not both")
	case in.ValidDays != 0:
		if in.ValidDays < 1 || in.ValidDays > MaxValidDays {
			return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("有效天数须在 1 到 %d 之间", MaxValidDays),
				"validDays must be between 1 and %d", MaxValidDays).On("validDays")
		}
	case in.ValidUntil == nil:
		return models.Invalid("validUntil", "请设置有效期：截止时间或领取后有效天数", "give validUntil or validDays")
	case !in.ValidUntil.After(now):
		return models.Invalid("validUntil", "截止时间须在将来", "validUntil must be in the future")
	case in.ValidUntil.After(now.AddDate(0, 0, MaxValidDays)):
		return models.Ef(models.CodeInvalidArgument, "截止时间不能超过两年后", "validUntil may be at most %d days ahead", MaxValidDays).On("validUntil")
	case in.ValidFrom != nil && !in.ValidFrom.Before(*in.ValidUntil):
		return models.Invalid("validFrom", "开始时间须早于截止时间", "validFrom must be before validUntil")
	}
	return nil
}

// window is the validity of a coupon of t issued at now.
func (t *Template) window(now time.Time) (from, until time.Time) {
	if t.ValidDays > 0 {
		return now, now.AddDate(0, 0, t.ValidDays)
	}
	from = now
	if t.ValidFrom != nil && t.ValidFrom.After(now) {
		from = *t.ValidFrom
	}
	return from, *t.ValidUntil
}

// Kinds lists the template's order kinds.
func (t *Template) Kinds() []string {
	if t.OrderKinds == "" {
		return []string{}
	}
	return strings.Split(t.OrderKinds, ",")
}

// Line is one billed line of a repair order: its item code and what the
// owner pays for it (warranty-covered lines are not billed).
type Line struct {
	Code      string
	AmountFen int64
}

// Bill is what a coupon is asked to pay towards: a repair order (Kind
// its kind, Lines its billed lines) or an event fee (EventFee), at a
// store, with the amount payable before the coupon.
type Bill struct {
	StoreID    uuid.UUID
	OrderKind  string
	EventFee   bool
	PayableFen int64
	Lines      []Line
}

// Discount is what t takes off b: FIXED_OFF its amount, PERCENT_OFF the
// percentage of the payable amount rounded down to the fen and at most the
// cap, FREE_ITEM the amount of the dearest billed line whose code is the
// item's (compared without case) up to the cap; never more than the
// payable amount. It refuses a bill of another store (a store's coupon),
// of a kind the coupon does not cover, below the minimum spend, and one
// the coupon would take nothing off (nothing payable; no line of the free
// item).
//
// Codes: COUPON_NOT_APPLICABLE, COUPON_MIN_SPEND_NOT_MET.
func (t *Template) Discount(b Bill) (int64, error) {
	switch {
	case t.StoreID != nil && *t.StoreID != b.StoreID:
		return 0, models.E(CodeNotApplicable, "该优惠券只能在发券门店使用", "the coupon is for another store's bills").On("couponId")
	case b.EventFee && !t.EventFees, !b.EventFee && !slices.Contains(t.Kinds(), b.OrderKind):
		return 0, models.E(CodeNotApplicable, "该优惠券不适用于此类消费", "the coupon does not pay for this kind of bill").On("couponId")
	case b.PayableFen < t.MinSpendFen:
		return 0, models.Ef(CodeMinSpendNotMet, fmt.Sprintf("满 %s 可用，本次应付 %s", models.Yuan(t.MinSpendFen), models.Yuan(b.PayableFen)),
			"the coupon needs a bill of at least %d fen; this one is %d fen", t.MinSpendFen, b.PayableFen).On("couponId")
	}
	var off int64
	switch t.Kind {
	case FixedOff:
		off = t.AmountFen
	case PercentOff:
		off = min(b.PayableFen*int64(t.Percent)/100, t.CapFen)
	case FreeItem:
		for _, l := range b.Lines {
			if strings.EqualFold(l.Code, t.ItemCode) {
				off = max(off, min(l.AmountFen, t.CapFen))
			}
		}
	}
	off = min(off, b.PayableFen)
	if off <= 0 {
		return 0, ErrNotApplicable
	}
	return off, nil
}

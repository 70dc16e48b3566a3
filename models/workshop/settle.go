package workshop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// SettleInput records the bill of an order.
type SettleInput struct {
	OrderID  uuid.UUID
	Payments []PaymentInput
	// NextServiceDate and NextServiceKm default to today (in the store's
	// zone) plus the vehicle's interval and mileage in plus its interval.
	NextServiceDate *models.Date
	NextServiceKm   *int
	// CouponID is one of the owner's coupons to take off the bill (nil:
	// none); see Settle and docs/coupons.md.
	CouponID *uuid.UUID
	// PackageID is one of the owner's service packages to cover the bill
	// with one use (nil: none); see Settle and docs/packages.md.
	PackageID *uuid.UUID
	// IdempotencyKey makes a retried settlement harmless; see Settle.
	IdempotencyKey string
}

// PaymentInput is one payment. Points is for POINTS payments only: the
// points redeemed, whose value (wallet.PointsValueFen: 100 points = ¥1) is
// the payment's AmountFen; AmountFen may be given as 0 and is then
// computed, or given and must equal that value.
type PaymentInput struct {
	Method    PaymentMethod
	AmountFen int64
	Reference string
	Points    int64
}

// settleStatuses are where an order may be settled: the work is done.
var settleStatuses = []Status{QualityCheck, Washing, ReadyForPickup}

// Settle fixes the order's bill and records its payments and the next
// service due, in one transaction. The order must be in QUALITY_CHECK,
// WASHING or READY_FOR_PICKUP with no item waiting for the owner, and not
// settled before. The bill is the PRE_APPROVED and APPROVED items;
// warranty-covered ones are free; the payments must add up to what is
// payable exactly (none when nothing is).
//
// External methods (CASH, CARD, WECHAT_PAY, ALIPAY) need an amount and,
// except cash, the slip or transaction reference. With the membership
// wallet connected (Service.Wallet), WALLET pays from the stored value of
// the order's owner and POINTS redeems points (100 = ¥1, at most half of
// the payable amount); the money paid (wallet and external, not points)
// earns the owner 1 point per whole ¥1 and counts toward their tier. The
// wallet's entries are written in the same transaction (wallet.Charge),
// and each WALLET or POINTS payment records its ledger entry. Staff with
// ADVISOR, CASHIER or MANAGER of the order's store.
//
// A coupon (CouponID) of the order's owner is checked and used in the same
// transaction (coupons.Service.Redeem): its discount is recorded as a
// payment of method COUPON, the other payments add up to the payable
// amount less the discount, the points cap is half of that, and only the
// money paid earns points and counts toward the tier. Of concurrent
// settlements naming one coupon, one uses it; the others are refused
// (COUPON_NOT_AVAILABLE) and settle nothing.
//
// A service package (PackageID) of the order's owner, sold by the order's
// store for the order's kind, covers the bill's billed lines up to its
// per-visit cap with one use, taken in the same transaction after the
// order's lock (packages.Service.Consume, under the package's row lock):
// what it covers is recorded as a payment of method PACKAGE and the other
// payments add up to the rest. Of concurrent settlements naming a package
// with one use left, one takes it; the others are refused
// (PACKAGE_USED_UP) and settle nothing. A package and a coupon are not
// combined (PACKAGE_NOT_APPLICABLE).
//
// Retries: with an IdempotencyKey, a retry of the same settlement (same
// order, payments in any order, next service) by the same caller answers
// the order as settled by the first, even while the first is still running
// (it waits); the key reused for another request is IDEMPOTENCY_KEY_REUSED.
// Without a key, a second settlement is ALREADY_SETTLED.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, ALREADY_SETTLED,
// ORDER_CLOSED, WORK_NOT_FINISHED, PACKAGE_EXPIRED, PACKAGE_USED_UP,
// PACKAGE_REFUNDED, PACKAGE_NOT_APPLICABLE ("packageId"), PAYMENT_IN_FLIGHT (the owner is paying
// the bill online: see docs/payments.md), PAYMENTS_DO_NOT_ADD_UP ("payments"),
// PAYMENT_METHOD_UNAVAILABLE ("payments[i].method"), POINTS_OVER_CAP
// ("payments[i].points"), INSUFFICIENT_BALANCE ("payments[i].amountFen"),
// INSUFFICIENT_POINTS ("payments[i].points"), IDEMPOTENCY_KEY_REUSED
// ("idempotencyKey"), INVALID_ARGUMENT ("payments", "payments[i].method|
// amountFen|reference|points", "nextServiceDate", "nextServiceKm",
// "idempotencyKey").
func (s *Service) Settle(ctx context.Context, actor *auth.Principal, in SettleInput) (*RepairOrder, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesSettle...) {
		return nil, models.ErrForbidden
	}
	payments, err := checkPayments(in.Payments, s.Wallet != nil)
	if err != nil {
		return nil, err
	}
	params := settleParams{OrderID: in.OrderID, Payments: slices.Clone(payments), NextServiceDate: in.NextServiceDate, NextServiceKm: in.NextServiceKm,
		CouponID: in.CouponID, PackageID: in.PackageID}
	slices.SortFunc(params.Payments, func(a, b PaymentInput) int {
		return strings.Compare(fmt.Sprintf("%s|%020d|%020d|%s", a.Method, a.AmountFen, a.Points, a.Reference),
			fmt.Sprintf("%s|%020d|%020d|%s", b.Method, b.AmountFen, b.Points, b.Reference))
	})
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "workshop.settle", params, false,
		func(ctx context.Context) (uuid.UUID, error) {
			o, err := s.staffChange(ctx, actor, rolesSettle, errOrderNotFound, nil, func(c *change) error {
				return c.settle(payments, discounts{coupon: in.CouponID, pkg: in.PackageID}, in.NextServiceDate, in.NextServiceKm)
			}, "id = ?", in.OrderID)
			if err != nil {
				return uuid.Nil, err
			}
			return o.ID, nil
		})
	if err != nil {
		return nil, err
	}
	// Read as committed: the first settlement's order, also for a replay.
	return s.OrderFor(ctx, actor, id)
}

// settleParams is what makes two settlements the same request.
type settleParams struct {
	OrderID         uuid.UUID
	Payments        []PaymentInput // sorted
	NextServiceDate *models.Date
	NextServiceKm   *int
	CouponID        *uuid.UUID
	PackageID       *uuid.UUID `json:",omitempty"`
}

// discounts are what a settlement names besides its payments: an owner's
// coupon and an owner's service package (nil: none).
type discounts struct {
	coupon, pkg *uuid.UUID
}

// settle fixes the locked order's bill, charges the owner's wallet and
// records the payments.
func (c *change) settle(payments []PaymentInput, d discounts, nextDate *models.Date, nextKm *int) error {
	if c.o.SettledAt != nil {
		return ErrAlreadySettled
	}
	if err := c.open(); err != nil {
		return err
	}
	if !slices.Contains(settleStatuses, c.o.Status) {
		return ErrWorkNotFinished
	}
	if c.online == nil {
		if err := c.noPaymentInFlight(); err != nil {
			return err
		}
	}
	items, err := c.loadItems()
	if err != nil {
		return err
	}
	// Items are PENDING only while the order awaits approval, which is
	// not a settling status; checked anyway, the bill must be final.
	if slices.ContainsFunc(items, func(it *Item) bool { return it.Approval == Pending }) {
		return ErrWorkNotFinished
	}
	t := Totals(items, nil)
	off, err := c.redeem(d.coupon, items, t.PayableFen)
	if err != nil {
		return err
	}
	covered, err := c.consume(d, items)
	if err != nil {
		return err
	}
	due := t.PayableFen - off - covered // what the payments must pay
	var sum int64
	for _, p := range payments {
		sum += p.AmountFen
	}
	if sum != due {
		return models.Ef(CodePaymentsDoNotAddUp, fmt.Sprintf("付款合计 %s 与应付金额 %s 不符", models.Yuan(sum), models.Yuan(due)),
			"the payments add up to %d fen; payable is %d fen", sum, due).On("payments")
	}
	pay := walletPayments(payments)
	if pay.pointsFen > wallet.MaxPointsFen(due) {
		most := wallet.MaxPointsFen(due)
		return models.Ef(wallet.CodePointsOverCap, fmt.Sprintf("积分最多抵扣应付金额的 50%%，即 %s（%d 积分）", models.Yuan(most), most),
			"points may pay at most half of the payable %d fen: %d fen (%d points)", due, most, most).
			On(fmt.Sprintf("payments[%d].points", pay.pointsAt))
	}
	if err := c.nextService(nextDate, nextKm); err != nil {
		return err
	}
	entries, err := c.charge(pay, due)
	if err != nil {
		return err
	}
	if err := c.qualifyReferral(due - pay.pointsFen); err != nil {
		return err
	}
	by := c.staff()
	rows := make([]*Payment, len(payments), len(payments)+2)
	for i, p := range payments {
		rows[i] = &Payment{
			ID: models.NewID(), OrderID: c.o.ID, Method: p.Method, AmountFen: p.AmountFen,
			Points: p.Points, Reference: p.Reference, CreatedBy: by, OnlinePaymentID: c.online, CreatedAt: c.now,
		}
		switch p.Method {
		case Wallet:
			rows[i].LedgerEntryID = entries[wallet.Spend]
		case Points:
			rows[i].LedgerEntryID = entries[wallet.PointsRedeem]
		}
	}
	if off > 0 {
		rows = append(rows, &Payment{ID: models.NewID(), OrderID: c.o.ID, Method: Coupon, AmountFen: off,
			Reference: d.coupon.String(), CreatedBy: by, CreatedAt: c.now})
	}
	if covered > 0 {
		rows = append(rows, &Payment{ID: models.NewID(), OrderID: c.o.ID, Method: Package, AmountFen: covered,
			Reference: d.pkg.String(), CreatedBy: by, CreatedAt: c.now})
	}
	if len(rows) > 0 {
		if err := c.s.DB.Conn(c.ctx).Create(&rows).Error; err != nil {
			return err
		}
	}
	c.o.TotalFen, c.o.WarrantyFen, c.o.PayableFen = t.TotalFen, t.WarrantyFen, t.PayableFen
	c.o.SettledAt, c.o.SettledBy = &c.now, by
	return nil
}

// redeem uses the coupon named at settlement (none: nil) for the order's
// bill, in the settlement's transaction, and returns its discount. The
// coupon pays towards the billed lines: PRE_APPROVED and APPROVED items not
// covered by warranty.
func (c *change) redeem(couponID *uuid.UUID, items []*Item, payableFen int64) (int64, error) {
	if couponID == nil {
		return 0, nil
	}
	if c.s.Coupons == nil {
		return 0, coupons.ErrNotApplicable
	}
	var lines []coupons.Line
	for _, it := range items {
		if (it.Approval == PreApproved || it.Approval == Approved) && !it.Warranty {
			lines = append(lines, coupons.Line{Code: it.Code, AmountFen: it.AmountFen})
		}
	}
	return c.s.Coupons.Redeem(c.ctx, coupons.Redemption{
		CouponID: *couponID, OwnerID: c.o.OwnerID, RefType: coupons.RefRepairOrder, RefID: c.o.ID,
		Bill: coupons.Bill{StoreID: c.o.StoreID, OrderKind: string(c.o.Kind), PayableFen: payableFen, Lines: lines},
	})
}

// qualifyReferral tells referrals of a settlement that paid moneyFen, in
// its transaction: a paid visit may reward the owner's pending referral.
func (c *change) qualifyReferral(moneyFen int64) error {
	if c.s.Referrals == nil || moneyFen <= 0 {
		return nil
	}
	_, err := c.s.Referrals.Qualify(c.ctx, referrals.Qualifying{
		OwnerID: c.o.OwnerID, Event: referrals.FirstPaidVisit, RefID: c.o.ID, StoreID: c.o.StoreID,
		Car: func(ctx context.Context) (string, []uuid.UUID, error) {
			v, err := c.s.directory().Vehicle(ctx, c.o.VehicleID)
			if err != nil {
				return "", nil, err
			}
			var past []uuid.UUID
			err = c.s.DB.Conn(ctx).Model(&RepairOrder{}).Distinct("owner_id").
				Where("vehicle_id = ? AND owner_id <> ?", c.o.VehicleID, c.o.OwnerID).Pluck("owner_id", &past).Error
			return v.VIN, past, err
		},
	})
	return err
}

// consume takes one use of the service package named at settlement (none:
// 0) for the order's billed lines, in the settlement's transaction, and
// returns what it covers: PRE_APPROVED and APPROVED items not covered by
// warranty, up to the package's per-visit cap (docs/packages.md).
func (c *change) consume(d discounts, items []*Item) (int64, error) {
	switch {
	case d.pkg == nil:
		return 0, nil
	case c.s.Packages == nil || d.coupon != nil:
		return 0, packages.ErrNotApplicable
	}
	var lines []packages.Line
	for _, it := range items {
		if (it.Approval == PreApproved || it.Approval == Approved) && !it.Warranty {
			lines = append(lines, packages.Line{Code: it.Code, AmountFen: it.AmountFen})
		}
	}
	return c.s.Packages.Consume(c.ctx, packages.Consumption{PackageID: *d.pkg, OwnerID: c.o.OwnerID, StoreID: c.o.StoreID,
		OrderID: c.o.ID, OrderKind: string(c.o.Kind), Lines: lines, UsedBy: c.staff()})
}

// staff is the staff member acting, or nil for a bill paid online.
func (c *change) staff() *uuid.UUID {
	if c.online != nil || !c.actor.IsStaff() {
		return nil
	}
	id := c.actor.ID
	return &id
}

// membershipPay is what a settlement takes from the membership, and which
// payments (index, -1 for none) take it.
type membershipPay struct {
	walletFen, points, pointsFen int64
	walletAt, pointsAt           int
}

func walletPayments(payments []PaymentInput) membershipPay {
	m := membershipPay{walletAt: -1, pointsAt: -1}
	for i, p := range payments {
		switch p.Method {
		case Wallet:
			m.walletFen, m.walletAt = p.AmountFen, i
		case Points:
			m.points, m.pointsFen, m.pointsAt = p.Points, p.AmountFen, i
		}
	}
	return m
}

// charge takes the wallet and points payments from the order's owner and
// credits the points the money earns, in the settlement's transaction. It
// returns the ids of the entries by kind. Without a wallet nothing happens
// (checkPayments refused WALLET and POINTS).
func (c *change) charge(pay membershipPay, payableFen int64) (map[wallet.EntryKind]*uuid.UUID, error) {
	out := map[wallet.EntryKind]*uuid.UUID{}
	money := payableFen - pay.pointsFen
	if c.s.Wallet == nil || (money == 0 && pay.points == 0) {
		return out, nil
	}
	store := c.o.StoreID
	entries, err := c.s.Wallet.Charge(c.ctx, wallet.ChargeInput{
		OwnerID: c.o.OwnerID, WalletFen: pay.walletFen, Points: pay.points, MoneyFen: money,
		RefType: wallet.RefRepairOrder, RefID: c.o.ID, StoreID: &store, StaffID: c.staff(),
		Key: "order:" + c.o.ID.String(), Memo: "维修工单 " + c.o.Number,
	})
	switch {
	case errors.Is(err, wallet.ErrInsufficientBalance):
		return nil, onField(err, fmt.Sprintf("payments[%d].amountFen", pay.walletAt))
	case errors.Is(err, wallet.ErrInsufficientPoints):
		return nil, onField(err, fmt.Sprintf("payments[%d].points", pay.pointsAt))
	case err != nil:
		return nil, err
	}
	for _, e := range entries {
		id := e.ID
		out[e.Kind] = &id
	}
	return out, nil
}

// onField names the input field of a domain refusal.
func onField(err error, field string) error {
	if me, ok := models.AsError(err); ok {
		return me.On(field)
	}
	return err
}

// nextService sets when the car is next due: as given, or today in the
// store's zone plus the vehicle's interval, and mileage in plus its interval.
func (c *change) nextService(date *models.Date, km *int) error {
	store, err := c.s.directory().StoreRow(c.ctx, c.o.StoreID)
	if err != nil {
		return err
	}
	v, err := c.s.directory().Vehicle(c.ctx, c.o.VehicleID)
	if err != nil {
		return err
	}
	today := models.DateOf(c.now.In(store.Location()))
	months, intervalKm := v.ServiceInterval()
	if date == nil {
		d := today.AddDate(0, months, 0)
		date = &d
	} else if !today.Before(*date) || today.AddDate(MaxNextServiceYears, 0, 0).Before(*date) {
		return models.Ef(models.CodeInvalidArgument, "下次保养日期须在今天之后的五年内",
			"nextServiceDate must be after today and within %d years", MaxNextServiceYears).On("nextServiceDate")
	}
	if km == nil {
		n := c.o.MileageIn + intervalKm
		km = &n
	} else if *km <= c.o.MileageIn || *km > models.MaxMileageKm {
		return models.Ef(models.CodeInvalidArgument, "下次保养里程须大于进厂里程",
			"nextServiceKm must be above the mileage in (%d km)", c.o.MileageIn).On("nextServiceKm")
	}
	d, n := *date, *km
	c.o.NextServiceDate, c.o.NextServiceKm = &d, &n
	return nil
}

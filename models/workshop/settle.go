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
)

// SettleInput records the bill of an order.
type SettleInput struct {
	OrderID  uuid.UUID
	Payments []PaymentInput
	// NextServiceDate and NextServiceKm default to today (in the store's
	// zone) plus the vehicle's interval and mileage in plus its interval.
	NextServiceDate *models.Date
	NextServiceKm   *int
	// IdempotencyKey makes a retried settlement harmless; see Settle.
	IdempotencyKey string
}

// PaymentInput is one payment. Points is for POINTS payments (the wallet
// issue); it must be 0 for the external methods.
type PaymentInput struct {
	Method    PaymentMethod
	AmountFen int64
	Reference string
	Points    int64
}

// settleStatuses are where an order may be settled: the work is done.
var settleStatuses = []Status{QualityCheck, Washing, ReadyForPickup}

// Settle fixes the order's bill and records its payments and the next
// service due. The order must be in QUALITY_CHECK, WASHING or
// READY_FOR_PICKUP with no item waiting for the owner. The bill is the
// PRE_APPROVED and APPROVED items; warranty-covered ones are free; the
// payments must add up to what is payable exactly (none when nothing is).
// External methods (CASH, CARD, WECHAT_PAY, ALIPAY) need an amount and,
// except cash, the slip or transaction reference; WALLET and POINTS arrive
// with the membership wallet. Staff with ADVISOR, CASHIER or MANAGER.
//
// Retries: a settlement with an IdempotencyKey that finds the order already
// settled with exactly the same payments (method, amount, reference) answers
// the settled order instead of ALREADY_SETTLED, so a cashier's retry after a
// lost response is harmless. Settling writes nothing twice either way; the
// general idempotency mechanism arrives with the wallet.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, ALREADY_SETTLED,
// ORDER_CLOSED, WORK_NOT_FINISHED, PAYMENTS_DO_NOT_ADD_UP
// ("payments"), PAYMENT_METHOD_UNAVAILABLE ("payments[i].method"),
// INVALID_ARGUMENT ("payments", "payments[i].method|amountFen|reference|
// points", "nextServiceDate", "nextServiceKm").
func (s *Service) Settle(ctx context.Context, actor *auth.Principal, in SettleInput) (*RepairOrder, error) {
	payments, err := checkPayments(in.Payments)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(in.IdempotencyKey)
	o, err := s.staffChange(ctx, actor, rolesSettle, errOrderNotFound, nil, func(c *change) error {
		if c.o.SettledAt != nil {
			if key != "" {
				same, err := c.samePayments(payments)
				if err != nil {
					return err
				}
				if same {
					return errAlreadyDone
				}
			}
			return ErrAlreadySettled
		}
		if err := c.open(); err != nil {
			return err
		}
		if !slices.Contains(settleStatuses, c.o.Status) {
			return ErrWorkNotFinished
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
		var sum int64
		for _, p := range payments {
			sum += p.AmountFen
		}
		if sum != t.PayableFen {
			return models.Ef(CodePaymentsDoNotAddUp, fmt.Sprintf("付款合计 %s 与应付金额 %s 不符", yuan(sum), yuan(t.PayableFen)),
				"the payments add up to %d fen; payable is %d fen", sum, t.PayableFen).On("payments")
		}
		if err := c.nextService(in.NextServiceDate, in.NextServiceKm); err != nil {
			return err
		}
		rows := make([]*Payment, len(payments))
		for i, p := range payments {
			rows[i] = &Payment{
				ID: models.NewID(), OrderID: c.o.ID, Method: p.Method, AmountFen: p.AmountFen,
				Points: p.Points, Reference: p.Reference, CreatedBy: c.actor.ID, CreatedAt: c.now,
			}
		}
		if len(rows) > 0 {
			if err := c.s.DB.Conn(c.ctx).Create(&rows).Error; err != nil {
				return err
			}
		}
		c.o.TotalFen, c.o.WarrantyFen, c.o.PayableFen = t.TotalFen, t.WarrantyFen, t.PayableFen
		by := c.actor.ID
		c.o.SettledAt, c.o.SettledBy = &c.now, &by
		return nil
	}, "id = ?", in.OrderID)
	if errors.Is(err, errAlreadyDone) {
		return s.OrderFor(ctx, actor, in.OrderID)
	}
	return o, err
}

// errAlreadyDone rolls back a retried settlement, which Settle then answers
// with the order as it is.
var errAlreadyDone = errors.New("workshop: already settled by this request")

// samePayments reports whether the order's recorded payments are exactly
// the requested ones, in any order.
func (c *change) samePayments(in []PaymentInput) (bool, error) {
	var rows []*Payment
	if err := c.s.DB.Conn(c.ctx).Where("order_id = ?", c.o.ID).Find(&rows).Error; err != nil {
		return false, err
	}
	if len(rows) != len(in) {
		return false, nil
	}
	key := func(m PaymentMethod, amount int64, ref string, points int64) string {
		return fmt.Sprintf("%s|%d|%s|%d", m, amount, ref, points)
	}
	var got, want []string
	for _, p := range rows {
		got = append(got, key(p.Method, p.AmountFen, p.Reference, p.Points))
	}
	for _, p := range in {
		want = append(want, key(p.Method, p.AmountFen, p.Reference, p.Points))
	}
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want), nil
}

// nextService sets when the car is next due: as given, or today in the
// store's zone plus the vehicle's interval, and mileage in plus its interval.
func (c *change) nextService(date *models.Date, km *int) error {
	var store models.Store
	if err := c.s.DB.Conn(c.ctx).Where("id = ?", c.o.StoreID).Take(&store).Error; err != nil {
		return err
	}
	var v models.Vehicle
	if err := c.s.DB.Conn(c.ctx).Where("id = ?", c.o.VehicleID).Take(&v).Error; err != nil {
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

package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
)

// Type names inside global IDs.
const (
	typeStore   = "Store"
	typeOwner   = "Owner"
	typeVehicle = "Vehicle"
	typeStaff   = "Staff"
	// typeStaffSummary names a staff member as a StaffSummary (an order's
	// advisor): another object than the Staff node, so another ID (see
	// docs/transport.md).
	typeStaffSummary = "StaffSummary"

	typeRepairOrder     = "RepairOrder"
	typeRepairOrderItem = "RepairOrderItem"
	typeScreenToken     = "ScreenToken"
	typeNotification    = "Notification"
	typeLedgerEntry     = "LedgerEntry"
	typeAppointment     = "Appointment"
	typeEvent           = "Event"
	typeRegistration    = "Registration"
	typeAssistance      = "AssistanceRequest"
	typePayment         = "OnlinePayment"
	typePaymentRefund   = "PaymentRefund"
	typeCoupon          = "Coupon"
	typeCouponTemplate  = "CouponTemplate"
	typeReferral        = "Referral"
	typeServicePackage  = "ServicePackage"
	typeOwnerPackage    = "OwnerPackage"
)

// page reads a list's first and after arguments; models.NewPage is the one
// place that knows what a cursor holds.
//
// When the connection's totalCount is selected, the page asks for the
// list's count too (one COUNT statement, see models.Fetch); otherwise none
// is run. total reads it.
func page(ctx context.Context, first *int, after *string) (models.Page, error) {
	p, err := models.NewPage(first, after)
	if err != nil || graphql.GetFieldContext(ctx) == nil {
		return p, err
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == "totalCount" {
			p.Total = new(int)
			break
		}
	}
	return p, nil
}

// total is the count a page asked for (0 when totalCount was not selected).
func total(p models.Page) int {
	if p.Total == nil {
		return 0
	}
	return *p.Total
}

// cursor is the cursor of a row in a list ordered by id.
func cursor(id uuid.UUID) string { return models.Cursor{ID: id}.String() }

// pageInfo describes a page of n rows; cursorAt gives the cursor of row i.
func pageInfo(n int, hasNext bool, p models.Page, cursorAt func(int) string) *model.PageInfo {
	pi := &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: !p.After.IsZero()}
	if n > 0 {
		start, end := cursorAt(0), cursorAt(n-1)
		pi.StartCursor, pi.EndCursor = &start, &end
	}
	return pi
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

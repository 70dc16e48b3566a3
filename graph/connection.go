package graph

import (
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
)

// page reads a list's first and after arguments; models.NewPage is the one
// place that knows what a cursor holds.
func page(first *int, after *string) (models.Page, error) { return models.NewPage(first, after) }

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

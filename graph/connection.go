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
)

// pageInfo describes a page of n rows; idAt gives the key of row i.
func pageInfo(n int, hasNext bool, p models.Page, idAt func(int) uuid.UUID) *model.PageInfo {
	pi := &model.PageInfo{HasNextPage: hasNext, HasPreviousPage: p.After != uuid.Nil}
	if n > 0 {
		start, end := cursor(idAt(0)), cursor(idAt(n-1))
		pi.StartCursor, pi.EndCursor = &start, &end
	}
	return pi
}

// pageOf pages a list already in memory, ordered by its UUIDv7 keys the same
// way models.Fetch pages a table.
func pageOf[T any](all []T, p models.Page, key func(T) uuid.UUID) ([]T, bool) {
	start := 0
	if p.After != uuid.Nil {
		start = len(all)
		for i, row := range all {
			if key(row).String() > p.After.String() {
				start = i
				break
			}
		}
	}
	rest := all[start:]
	if len(rest) > p.First {
		return rest[:p.First], true
	}
	return rest, false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package graph

import (
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
)

// paymentReference is the thing a payment pays for: the registration of an
// EVENT_FEE, the repair order of a REPAIR_BILL (the domain checks which one
// a purpose needs), nil for neither.
func paymentReference(input model.StartPaymentInput) (*uuid.UUID, error) {
	switch {
	case input.RegistrationID != nil && input.RepairOrderID != nil:
		return nil, models.Invalid("repairOrderId", "一笔支付只能支付一项", "a payment pays for one registration or one repair order")
	case input.RegistrationID != nil:
		return optionalID(input.RegistrationID, typeRegistration, "registrationId")
	default:
		return optionalID(input.RepairOrderID, typeRepairOrder, "repairOrderId")
	}
}

// paymentConnection is one page of payments as the API lists them.
func paymentConnection(rows []*payments.Payment, hasNext bool, p models.Page) *model.OnlinePaymentConnection {
	conn := &model.OnlinePaymentConnection{TotalCount: total(p), Edges: make([]*model.OnlinePaymentEdge, len(rows))}
	for i, row := range rows {
		conn.Edges[i] = &model.OnlinePaymentEdge{Cursor: cursor(row.ID), Node: row}
	}
	conn.PageInfo = pageInfo(len(rows), hasNext, p, func(i int) string { return cursor(rows[i].ID) })
	return conn
}

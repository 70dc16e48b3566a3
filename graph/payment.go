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
	named := 0
	for _, id := range []*string{input.RegistrationID, input.RepairOrderID, input.ServicePackageID} {
		if id != nil {
			named++
		}
	}
	switch {
	case named > 1:
		field := "repairOrderId"
		if input.ServicePackageID != nil {
			field = "servicePackageId"
		}
		return nil, models.Invalid(field, "一笔支付只能支付一项", "a payment pays for one registration, repair order or package")
	case input.RegistrationID != nil:
		return optionalID(input.RegistrationID, typeRegistration, "registrationId")
	case input.ServicePackageID != nil:
		return optionalID(input.ServicePackageID, typeServicePackage, "servicePackageId")
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

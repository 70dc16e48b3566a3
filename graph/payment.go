package graph

import (
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
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

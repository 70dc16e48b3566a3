package workshop

import (
	"context"

	"github.com/google/uuid"
)

// NextServiceDueByVehicleIDs loads, for each vehicle, the newest DELIVERED
// order that set a next service due, in one statement. It is not simply the
// last service: a warranty job delivered without settlement sets none, and
// must not make the car forget when its maintenance is due.
func (s *Service) NextServiceDueByVehicleIDs(ctx context.Context, vehicleIDs []uuid.UUID) (map[uuid.UUID]*RepairOrder, error) {
	out := make(map[uuid.UUID]*RepairOrder, len(vehicleIDs))
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	rows, err := s.rankedDelivered(ctx,
		"o.vehicle_id IN ? AND (o.next_service_date IS NOT NULL OR o.next_service_km IS NOT NULL)",
		[]any{vehicleIDs}, 1)
	if err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.VehicleID] = o
	}
	return out, nil
}

package workshop

import (
	"context"
	"time"

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

// Visit is what a repair order tells about its car's use: when it came in,
// the odometer then, and whether it was the first free maintenance.
type Visit struct {
	VehicleID            uuid.UUID
	MileageIn            int
	CreatedAt            time.Time
	FirstFreeMaintenance bool
}

// VisitsSince lists the visits of the vehicles since a time (every order not
// cancelled), in one statement, for reminders that project mileage.
func (s *Service) VisitsSince(ctx context.Context, vehicleIDs []uuid.UUID, since time.Time) ([]Visit, error) {
	var out []Visit
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	err := s.DB.Conn(ctx).Model(&RepairOrder{}).
		Select("vehicle_id, mileage_in, created_at, first_free_maintenance").
		Where("vehicle_id IN ? AND status <> ? AND created_at >= ?", vehicleIDs, Cancelled, since.UTC()).
		Scan(&out).Error
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, err
}

package workshop

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// DeliveredOrder is what other capabilities' scheduled work reads of a
// delivered repair order: a row of DeliveredBetween, not an entity (the
// workshop alone loads and writes RepairOrder rows).
type DeliveredOrder struct {
	ID          uuid.UUID
	Number      string
	StoreID     uuid.UUID
	VehicleID   uuid.UUID
	OwnerID     uuid.UUID
	AdvisorID   uuid.UUID
	DeliveredAt *time.Time
}

// DeliveredBetween is the repair orders delivered after from and up to to,
// as a subquery for other capabilities' scheduled work (after-sales calls,
// surveys) to join their own tables against in one statement: workshop
// alone names its table and its statuses in SQL. Its columns are the
// RepairOrder's; select them and read the rows into DeliveredOrders, e.g.,
//
//	conn.Table("(?) AS o", workshop.DeliveredBetween(conn, from, to)).Select("o.*").Find(&delivered)
func DeliveredBetween(conn *gorm.DB, from, to time.Time) *gorm.DB {
	return conn.Session(&gorm.Session{NewDB: true}).Model(&RepairOrder{}).
		Where("status = ? AND delivered_at > ? AND delivered_at <= ?", Delivered, from, to)
}

// OwnerVisit is what other capabilities' scheduled work reads of a delivered
// visit to build a picture of an owner (the aftersales segments).
type OwnerVisit struct {
	OwnerID     uuid.UUID
	StoreID     uuid.UUID
	Kind        Kind
	DeliveredAt time.Time
}

// VisitsOf reads the orders delivered since the given time to any of the
// owners (the owner at check-in), in one statement, oldest first.
func (s *Service) VisitsOf(ctx context.Context, ownerIDs []uuid.UUID, since time.Time) ([]OwnerVisit, error) {
	var out []OwnerVisit
	if len(ownerIDs) == 0 {
		return out, nil
	}
	err := s.DB.Conn(ctx).Model(&RepairOrder{}).Select("owner_id, store_id, kind, delivered_at").
		Where("owner_id IN ? AND status = ? AND delivered_at > ?", ownerIDs, Delivered, since.UTC()).
		Order("delivered_at").Scan(&out).Error
	return out, err
}

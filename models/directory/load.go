package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/models"
)

// Operations for loading a dealer group in bulk (the demo data of
// models/demo) and setting what no staff operation edits yet. They do no
// authorization: they are Go functions for the seed command, not reachable
// through GraphQL or REST.

// Group is a dealer group's directory rows, ready to insert.
type Group struct {
	Stores      []models.Store
	Hours       []models.StoreHours
	Staff       []models.Staff
	Roles       []models.StaffRole
	StaffStores []models.StaffStore
	Owners      []models.Owner
	Vehicles    []models.Vehicle
}

// Load inserts the group's rows in the transaction of ctx, in batches, in
// the order their foreign keys need; the rows get their timestamps. A
// store, staff or owner that exists already fails on its unique key (see
// models.IsUniqueViolation).
func (s *Service) Load(ctx context.Context, g *Group) error {
	const batch = 100
	tx := s.DB.Conn(ctx)
	for _, rows := range []any{&g.Stores, &g.Hours, &g.Staff, &g.Roles, &g.StaffStores, &g.Owners, &g.Vehicles} {
		// Has-many fields (Store.Hours, Staff.Roles, ...) are rows of their own.
		if err := tx.Omit(clause.Associations).CreateInBatches(rows, batch).Error; err != nil {
			return fmt.Errorf("directory: load %T: %w", rows, err)
		}
	}
	return nil
}

// SetStoreLocation sets the store's coordinates (WGS-84 degrees), in one
// statement.
func (s *Service) SetStoreLocation(ctx context.Context, id uuid.UUID, latitude, longitude float64) error {
	return s.DB.Conn(ctx).Model(&models.Store{}).Where("id = ?", id).
		Updates(map[string]any{"latitude": latitude, "longitude": longitude}).Error
}

// SetVehicleMileage sets the vehicle's odometer reading to km, read at
// readAt, in one statement, without the checks of a new reading
// (RecordMileage): loaded history may move it back.
func (s *Service) SetVehicleMileage(ctx context.Context, id uuid.UUID, km int, readAt time.Time) error {
	return s.DB.Conn(ctx).Model(&models.Vehicle{}).Where("id = ?", id).
		Updates(map[string]any{"mileage_km": km, "mileage_read_at": readAt}).Error
}

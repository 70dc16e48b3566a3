package directory

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
)

// Reads for scheduled work (reminders, follow-up calls): every owner or car
// of the group, in batches, without a caller. The SQL naming the
// directory's tables stays here; owners who deleted their account are left
// out of all of them.

// notDeleted keeps the rows whose owner (column ownerCol) has not deleted
// the account.
func notDeleted(ownerCol string) string {
	return "NOT EXISTS (SELECT 1 FROM deleted_owners d WHERE d.owner_id = " + ownerCol + ")"
}

// OwnedCar is a vehicle with what reminders need of its owner.
type OwnedCar struct {
	ID               uuid.UUID
	OwnerID          uuid.UUID
	VIN              string `gorm:"column:vin"`
	Plate            *string
	Brand            string
	Model            string
	PurchaseDate     *models.Date
	SellingStoreID   *uuid.UUID
	InsuranceExpiry  *models.Date
	InspectionDue    *models.Date
	MileageKm        int
	MileageReadAt    *time.Time
	MarketingConsent bool       // the owner's
	HomeStoreID      *uuid.UUID // the owner's
}

// CarsAfter reads up to limit cars with an id after the given one, in id
// order, with their owner's consent and home store, in one statement.
func (s *Service) CarsAfter(ctx context.Context, after uuid.UUID, limit int) ([]*OwnedCar, error) {
	var out []*OwnedCar
	err := s.DB.Conn(ctx).Raw(`SELECT v.id, v.owner_id, v.vin, v.plate, v.brand, v.model, v.purchase_date, v.selling_store_id,
			v.insurance_expiry, v.inspection_due, v.mileage_km, v.mileage_read_at, o.marketing_consent, o.home_store_id
		FROM vehicles v JOIN owners o ON o.id = v.owner_id
		WHERE v.id > ? AND `+notDeleted("v.owner_id")+`
		ORDER BY v.id LIMIT ?`, after, limit).Scan(&out).Error
	return out, err
}

// Birthday is an owner who gave marketing consent and told their birthday.
type Birthday struct {
	ID       uuid.UUID
	Name     string
	Birthday models.Date
}

// BirthdaysAfter reads up to limit owners with an id after the given one,
// in id order, who gave marketing consent and have a birthday, in one
// statement.
func (s *Service) BirthdaysAfter(ctx context.Context, after uuid.UUID, limit int) ([]Birthday, error) {
	var out []Birthday
	err := s.DB.Conn(ctx).Raw(`SELECT o.id, o.name, o.birthday FROM owners o
		WHERE o.id > ? AND o.birthday IS NOT NULL AND o.marketing_consent = ? AND `+notDeleted("o.id")+`
		ORDER BY o.id LIMIT ?`, after, true, limit).Scan(&out).Error
	return out, err
}

// NewCar is a car sold by one of the group's stores, with the selling
// store's time zone (where its delivery day begins).
type NewCar struct {
	ID             uuid.UUID
	OwnerID        uuid.UUID
	SellingStoreID uuid.UUID
	PurchaseDate   models.Date
	Timezone       string
}

// NewCarsQuery is the query of the cars sold by one of the group's stores
// with a purchase date from from to to (calendar days, both included), in
// id order, selecting NewCar's columns. The vehicle is aliased v: a caller
// that keeps its own records about cars may add a condition on v.id before
// it scans into []NewCar, so that the read stays one statement.
func (s *Service) NewCarsQuery(ctx context.Context, from, to models.Date) *gorm.DB {
	return s.DB.Conn(ctx).Table("vehicles v").
		Select("v.id, v.owner_id, v.selling_store_id, v.purchase_date, st.timezone").
		Joins("JOIN stores st ON st.id = v.selling_store_id").
		Where("v.selling_store_id IS NOT NULL AND v.purchase_date >= ? AND v.purchase_date <= ?", from, to).
		Where(notDeleted("v.owner_id")).
		Order("v.id")
}

// OwnerNotDeleted is the condition that keeps the rows whose owner (the
// caller's column ownerCol) has not deleted the account, for a capability's
// statement that must leave such owners out, as the reads here do.
func OwnerNotDeleted(ownerCol string) string { return notDeleted(ownerCol) }

// OwnerRef is what group-wide scheduled work reads of an owner.
type OwnerRef struct {
	ID          uuid.UUID
	HomeStoreID *uuid.UUID
	CreatedAt   time.Time
}

// OwnersAfter reads up to limit owners (not deleted) with an id after the
// given one, in id order, in one statement.
func (s *Service) OwnersAfter(ctx context.Context, after uuid.UUID, limit int) ([]OwnerRef, error) {
	var out []OwnerRef
	err := s.DB.Conn(ctx).Raw(`SELECT o.id, o.home_store_id, o.created_at FROM owners o
		WHERE o.id > ? AND `+notDeleted("o.id")+` ORDER BY o.id LIMIT ?`, after, limit).Scan(&out).Error
	return out, err
}

// VehiclesOfOwners reads the cars of many owners in one statement, keyed by
// owner. No authorization: for scheduled work over the group.
func (s *Service) VehiclesOfOwners(ctx context.Context, ownerIDs []uuid.UUID) (map[uuid.UUID][]*models.Vehicle, error) {
	out := make(map[uuid.UUID][]*models.Vehicle, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	var rows []*models.Vehicle
	if err := s.DB.Conn(ctx).Where("owner_id IN ?", ownerIDs).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, v := range rows {
		out[v.OwnerID] = append(out[v.OwnerID], v)
	}
	return out, nil
}

// CarsOfOwner is the subquery of the cars of the owner whose id is in the
// caller's column ownerCol, the car aliased v, for a capability's
// EXISTS (...) condition that must stay inside its one statement (an
// audience's "owns a Camry"). The caller adds its conditions on v's columns.
func CarsOfOwner(conn *gorm.DB, ownerCol string) *gorm.DB {
	return conn.Session(&gorm.Session{NewDB: true}).Table("vehicles v").Select("1").Where("v.owner_id = " + ownerCol)
}

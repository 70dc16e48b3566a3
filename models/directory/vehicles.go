package directory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Limits of vehicle input.
const (
	MaxBrandRunes  = 40
	MaxModelRunes  = 40
	MaxColourRunes = 20
	// EarliestModelYear is the oldest model year the schema accepts.
	EarliestModelYear = 1980
)

// VehicleRegistration is a car handed over at new-car delivery, with its
// owner's phone. Optional fields are nil or empty.
type VehicleRegistration struct {
	OwnerPhone      string
	OwnerName       string // used when the owner is new (or has no name yet)
	VIN             string
	Plate           *string // nil or empty: not registered yet
	Brand, Model    string
	ModelYear       int
	Colour          string
	PurchaseDate    *models.Date
	SellingStoreID  *uuid.UUID // nil: the caller's only store
	WarrantyEndDate *models.Date
	WarrantyEndKm   *int
	InsuranceExpiry *models.Date
	InspectionDue   *models.Date
	MileageKm       int
	// Then, when set, runs in the registration's transaction once the car
	// is recorded, with its owner and whether the registration created
	// the owner; its error undoes the registration (a referral, see
	// docs/referrals.md).
	Then func(ctx context.Context, o *models.Owner, created bool, v *models.Vehicle) error `json:"-"`
}

// vehicleDates checks the dates every vehicle write shares: none before 1980,
// purchase not in the future, warranty not ending before the purchase, and
// insurance (at most 3 years) and inspection (at most 10 years) not absurdly
// far ahead.
func vehicleDates(today models.Date, purchase, warrantyEnd, insurance, inspection *models.Date) error {
	if err := checkDate("purchaseDate", "购车日期", purchase, earliestDate, today); err != nil {
		return err
	}
	warrantyFrom := earliestDate
	if purchase != nil {
		warrantyFrom = *purchase
	}
	if err := checkDate("warrantyEndDate", "质保截止日期", warrantyEnd, warrantyFrom, today.AddDate(20, 0, 0)); err != nil {
		return err
	}
	if err := checkDate("insuranceExpiry", "保险到期日", insurance, earliestDate, today.AddDate(3, 0, 0)); err != nil {
		return err
	}
	return checkDate("inspectionDue", "年检到期日", inspection, earliestDate, today.AddDate(10, 0, 0))
}

// plateInput normalizes an optional plate: nil or blank means none.
func plateInput(p *string) (*string, error) {
	if p == nil || strings.TrimSpace(*p) == "" {
		return nil, nil
	}
	plate, err := validate.NormalizePlate(*p)
	if err != nil {
		return nil, models.InvalidPlate("plate", err)
	}
	return &plate, nil
}

// check validates the registration and returns it normalized: phone E.164,
// VIN and plate canonical, text trimmed.
func (r VehicleRegistration) check(today models.Date) (VehicleRegistration, error) {
	var err error
	if r.OwnerPhone, err = validate.NormalizePhone(r.OwnerPhone); err != nil {
		return r, models.InvalidPhone("ownerPhone", err)
	}
	if r.OwnerName, err = checkText("ownerName", "车主姓名", r.OwnerName, 0, MaxOwnerNameRunes); err != nil {
		return r, err
	}
	if r.VIN, err = validate.NormalizeVIN(r.VIN); err != nil {
		return r, models.InvalidVIN("vin", err)
	}
	if r.Plate, err = plateInput(r.Plate); err != nil {
		return r, err
	}
	if r.Brand, err = checkText("brand", "品牌", r.Brand, 1, MaxBrandRunes); err != nil {
		return r, err
	}
	if r.Model, err = checkText("model", "车型", r.Model, 1, MaxModelRunes); err != nil {
		return r, err
	}
	if err := checkInt("modelYear", "年款", &r.ModelYear, EarliestModelYear, today.Year+1); err != nil {
		return r, err
	}
	if r.Colour, err = checkText("colour", "颜色", r.Colour, 0, MaxColourRunes); err != nil {
		return r, err
	}
	if err := vehicleDates(today, r.PurchaseDate, r.WarrantyEndDate, r.InsuranceExpiry, r.InspectionDue); err != nil {
		return r, err
	}
	// A car is sold at the earliest in the year before its model year.
	if r.PurchaseDate != nil && r.PurchaseDate.Year < r.ModelYear-1 {
		return r, models.Invalid("purchaseDate", "购车日期早于车型年款", "purchaseDate is before the model year")
	}
	if err := checkInt("warrantyEndKm", "质保里程", r.WarrantyEndKm, 0, models.MaxMileageKm); err != nil {
		return r, err
	}
	return r, checkInt("mileageKm", "里程", &r.MileageKm, 0, models.MaxMileageKm)
}

// sellingStoreOf picks the store a registration is recorded at: the one
// asked for, which must be in the caller's scope, or else the caller's only
// store.
func sellingStoreOf(actor *auth.Principal, asked *uuid.UUID) (uuid.UUID, error) {
	if asked != nil && *asked != uuid.Nil {
		if !actor.CanAccessStore(*asked) {
			return uuid.Nil, models.ErrNotYourStore
		}
		return *asked, nil
	}
	switch len(actor.StoreIDs) {
	case 1:
		return actor.StoreIDs[0], nil
	case 0:
		return uuid.Nil, models.Invalid("sellingStoreId", "请选择销售门店", "sellingStoreId is required: you are not assigned to a store")
	}
	return uuid.Nil, models.Invalid("sellingStoreId", "您属于多家门店，请选择销售门店", "sellingStoreId is required when you work for several stores")
}

// rolesRegisterVehicle may register cars (RegisterVehicle); the GraphQL
// schema's @auth roles are generated from it (docs/architecture.md).
var rolesRegisterVehicle = []auth.Role{auth.RoleAdvisor, auth.RoleManager}

// RegisterVehicle records a car at new-car delivery. Staff with ADVISOR or
// MANAGER register at a store they work for (by default their only one). The
// owner is found by phone, or created with OwnerName and the selling store as
// home store; an existing owner without a name or home store gets them. The
// registration is one transaction: on any refusal nothing is written.
//
// Uniqueness is decided by the database: the owner and vehicle inserts skip
// on a unique-key conflict (waiting for a concurrent transaction that holds
// the key), so concurrent registrations for one new phone create one owner,
// and of concurrent registrations of one VIN exactly one succeeds.
//
// Codes: UNAUTHENTICATED (no actor), FORBIDDEN (wrong role, or a store the
// caller does not work for), INVALID_PHONE ("ownerPhone"), INVALID_VIN
// ("vin"), INVALID_PLATE ("plate"), INVALID_ARGUMENT ("ownerName", "brand",
// "model", "modelYear", "colour", "purchaseDate", "sellingStoreId",
// "warrantyEndDate", "warrantyEndKm", "insuranceExpiry", "inspectionDue",
// "mileageKm"), VIN_ALREADY_REGISTERED ("vin"), PLATE_ALREADY_REGISTERED
// ("plate").
func (s *Service) RegisterVehicle(ctx context.Context, actor *auth.Principal, r VehicleRegistration) (*models.Vehicle, *models.Owner, error) {
	if actor == nil {
		return nil, nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesRegisterVehicle...) {
		return nil, nil, models.ErrForbidden
	}
	storeID, err := sellingStoreOf(actor, r.SellingStoreID)
	if err != nil {
		return nil, nil, err
	}
	r, err = r.check(s.Clock.Today(ctx))
	if err != nil {
		return nil, nil, err
	}
	var v *models.Vehicle
	var o *models.Owner
	err = s.db().WithTx(ctx, func(ctx context.Context) error {
		var n int64
		if err := s.DB.Conn(ctx).Model(&models.Store{}).Where("id = ?", storeID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.Invalid("sellingStoreId", "门店不存在", "no such store")
		}
		var err error
		var created bool
		if o, created, err = s.ownerByPhoneForRegistration(ctx, r.OwnerPhone, r.OwnerName, storeID); err != nil {
			return err
		}
		if v, err = s.insertVehicle(ctx, o.ID, storeID, r); err != nil {
			return err
		}
		if r.Then != nil {
			return r.Then(ctx, o, created, v)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return v, o, nil
}

// ownerByPhoneForRegistration returns the owner with the phone, locked,
// creating them when new. The insert skips on a phone conflict, so of
// concurrent registrations for a new phone one creates the owner and the
// others wait for it and then use it.
func (s *Service) ownerByPhoneForRegistration(ctx context.Context, phone, name string, storeID uuid.UUID) (*models.Owner, bool, error) {
	tx := s.DB.Conn(ctx)
	o := &models.Owner{ID: models.NewID(), Phone: phone, Name: name, HomeStoreID: &storeID}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "phone"}}, DoNothing: true}).Create(o)
	if res.Error != nil {
		return nil, false, res.Error
	}
	if res.RowsAffected == 1 {
		return o, true, nil
	}
	o = &models.Owner{}
	if err := s.DB.ForUpdate(tx.Where("phone = ?", phone)).Take(o).Error; err != nil {
		return nil, false, err
	}
	fill := map[string]any{}
	if o.Name == "" && name != "" {
		o.Name = name
		fill["name"] = name
	}
	if o.HomeStoreID == nil {
		o.HomeStoreID = &storeID
		fill["home_store_id"] = storeID
	}
	if len(fill) > 0 {
		o.UpdatedAt = s.Clock.Now(ctx)
		fill["updated_at"] = o.UpdatedAt
		if err := tx.Model(&models.Owner{}).Where("id = ?", o.ID).Updates(fill).Error; err != nil {
			return nil, false, err
		}
	}
	return o, false, nil
}

// insertVehicle inserts the registered vehicle. The insert skips on any
// unique-key conflict (VIN or plate); the refusal then names whichever key
// is taken, VIN first.
func (s *Service) insertVehicle(ctx context.Context, ownerID, storeID uuid.UUID, r VehicleRegistration) (*models.Vehicle, error) {
	tx := s.DB.Conn(ctx)
	readAt := s.Clock.Now(ctx)
	v := &models.Vehicle{
		ID:              models.NewID(),
		OwnerID:         ownerID,
		VIN:             r.VIN,
		Plate:           r.Plate,
		Brand:           r.Brand,
		Model:           r.Model,
		ModelYear:       r.ModelYear,
		Colour:          r.Colour,
		PurchaseDate:    r.PurchaseDate,
		SellingStoreID:  &storeID,
		WarrantyEndDate: r.WarrantyEndDate,
		WarrantyEndKm:   r.WarrantyEndKm,
		InsuranceExpiry: r.InsuranceExpiry,
		InspectionDue:   r.InspectionDue,
		MileageKm:       r.MileageKm,
		MileageReadAt:   &readAt,
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(v)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 1 {
		return v, nil
	}
	var n int64
	if err := tx.Model(&models.Vehicle{}).Where("vin = ?", r.VIN).Count(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, models.ErrVINAlreadyRegistered.On("vin")
	}
	if r.Plate != nil {
		return nil, models.ErrPlateAlreadyRegistered.On("plate")
	}
	return nil, models.ErrConflict
}

// VehicleChange is what staff may change on a vehicle. Nil fields stay
// unchanged; an empty Plate removes the plate.
type VehicleChange struct {
	VehicleID       uuid.UUID
	Plate           *string
	Colour          *string
	MileageKm       *int
	WarrantyEndDate *models.Date
	WarrantyEndKm   *int
	InsuranceExpiry *models.Date
	InspectionDue   *models.Date
}

// rolesUpdateVehicle may change cars (UpdateVehicle); the GraphQL schema's
// @auth roles are generated from it (docs/architecture.md).
var rolesUpdateVehicle = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleManager}

// UpdateVehicle changes a vehicle's plate, colour, mileage and dates. Staff
// with ADVISOR, FOREMAN or MANAGER may change the vehicles they can see
// (VehicleFor). A mileage reading may not be lower than the last one and
// records when it was read. The row is locked while it is read and written.
//
// Codes: UNAUTHENTICATED (no actor), FORBIDDEN (wrong role), NOT_FOUND
// (absent or not visible), INVALID_PLATE ("plate"), INVALID_ARGUMENT
// ("colour", "mileageKm", "warrantyEndDate", "warrantyEndKm",
// "insuranceExpiry", "inspectionDue"), MILEAGE_DECREASED ("mileageKm"),
// PLATE_ALREADY_REGISTERED ("plate").
func (s *Service) UpdateVehicle(ctx context.Context, actor *auth.Principal, ch VehicleChange) (*models.Vehicle, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesUpdateVehicle...) {
		return nil, models.ErrForbidden
	}
	ch, err := ch.check(s.Clock.Today(ctx))
	if err != nil {
		return nil, err
	}
	var v *models.Vehicle
	err = s.db().WithTx(ctx, func(ctx context.Context) error {
		var err error
		if v, err = s.vehicleFor(ctx, actor, ch.VehicleID, true); err != nil {
			return err
		}
		if err := ch.apply(v, s.Clock.Now(ctx)); err != nil {
			return err
		}
		// The plate's unique key decides; on PostgreSQL the violation ends
		// the transaction, which is what a refusal wants anyway.
		if err := s.DB.Conn(ctx).Save(v).Error; err != nil {
			if models.IsUniqueViolation(err) {
				return models.ErrPlateAlreadyRegistered.On("plate")
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// check validates the change on its own and returns it normalized: plate
// canonical (blank: removed), colour trimmed.
func (ch VehicleChange) check(today models.Date) (VehicleChange, error) {
	if ch.Plate != nil {
		plate, err := plateInput(ch.Plate)
		if err != nil {
			return ch, err
		}
		if plate == nil {
			plate = new(string)
		}
		ch.Plate = plate
	}
	if ch.Colour != nil {
		colour, err := checkText("colour", "颜色", *ch.Colour, 0, MaxColourRunes)
		if err != nil {
			return ch, err
		}
		ch.Colour = &colour
	}
	if err := checkInt("mileageKm", "里程", ch.MileageKm, 0, models.MaxMileageKm); err != nil {
		return ch, err
	}
	if err := checkInt("warrantyEndKm", "质保里程", ch.WarrantyEndKm, 0, models.MaxMileageKm); err != nil {
		return ch, err
	}
	return ch, vehicleDates(today, nil, ch.WarrantyEndDate, ch.InsuranceExpiry, ch.InspectionDue)
}

// apply makes a checked change on v, read at now: the rules that need the
// vehicle (the odometer does not go back, the warranty does not end before
// the purchase) are checked here.
func (ch VehicleChange) apply(v *models.Vehicle, now time.Time) error {
	if ch.MileageKm != nil {
		if err := v.CheckReading("mileageKm", *ch.MileageKm); err != nil {
			return err
		}
		v.MileageKm, v.MileageReadAt = *ch.MileageKm, &now
	}
	if ch.WarrantyEndDate != nil {
		if v.PurchaseDate != nil && ch.WarrantyEndDate.Before(*v.PurchaseDate) {
			return models.Invalid("warrantyEndDate", "质保截止日期早于购车日期", "warrantyEndDate is before the purchase date")
		}
		v.WarrantyEndDate = ch.WarrantyEndDate
	}
	if ch.Plate != nil {
		v.Plate = nil
		if *ch.Plate != "" {
			v.Plate = ch.Plate
		}
	}
	if ch.Colour != nil {
		v.Colour = *ch.Colour
	}
	if ch.WarrantyEndKm != nil {
		v.WarrantyEndKm = ch.WarrantyEndKm
	}
	if ch.InsuranceExpiry != nil {
		v.InsuranceExpiry = ch.InsuranceExpiry
	}
	if ch.InspectionDue != nil {
		v.InspectionDue = ch.InspectionDue
	}
	return nil
}

// RolesRegisterVehicle is the list rolesRegisterVehicle, copied: a caller cannot change the rule.
func RolesRegisterVehicle() []auth.Role { return slices.Clone(rolesRegisterVehicle) }

// RolesUpdateVehicle is the list rolesUpdateVehicle, copied: a caller cannot change the rule.
func RolesUpdateVehicle() []auth.Role { return slices.Clone(rolesUpdateVehicle) }

package directory

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// The reads and writes of stores, owners, vehicles and staff that the
// capabilities above need inside their own operations. Each joins the
// transaction in the context (models.DB.Conn), does no authorization (the
// caller has decided who may act) and returns GORM's record-not-found for
// an absent row, which the caller turns into its own NOT_FOUND. See
// docs/architecture.md: a capability reads another capability's tables only
// through its exported functions.

// Joins for a capability's statement that shows a store's, a car's, an
// owner's or a staff member's columns next to its own rows, so that the
// read stays one statement. alias names the directory's row in the
// statement; on is the caller's column holding its id. For GORM's Joins
// or a raw statement's FROM clause.

// JoinStore joins the store whose id is in column on, as alias.
func JoinStore(alias, on string) string { return join("stores", alias, on) }

// JoinVehicle joins the vehicle whose id is in column on, as alias.
func JoinVehicle(alias, on string) string { return join("vehicles", alias, on) }

// JoinOwner joins the owner whose id is in column on, as alias.
func JoinOwner(alias, on string) string { return join("owners", alias, on) }

// JoinStaff joins the staff member whose id is in column on, as alias.
func JoinStaff(alias, on string) string { return join("staffs", alias, on) }

// LeftJoin makes one of the joins above keep the caller's rows whose
// column is NULL or points at no row.
func LeftJoin(j string) string { return "LEFT " + j }

func join(table, alias, on string) string {
	return "JOIN " + table + " " + alias + " ON " + alias + ".id = " + on
}

// StoreRow reads a store without its opening hours, in one statement.
func (s *Service) StoreRow(ctx context.Context, id uuid.UUID) (*models.Store, error) {
	var st models.Store
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&st).Error; err != nil {
		return nil, err
	}
	return &st, nil
}

// LockStore reads a store without its opening hours and locks it for the
// transaction: for update, or shared (PostgreSQL's FOR SHARE; SQLite
// serialises writers anyway) so that holders of a shared lock wait only
// for an update.
func (s *Service) LockStore(ctx context.Context, id uuid.UUID, shared bool) (*models.Store, error) {
	q := s.DB.Conn(ctx).Where("id = ?", id)
	switch {
	case !shared:
		q = s.DB.ForUpdate(q)
	case s.DB.Dialect == models.Postgres:
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var st models.Store
	if err := q.Take(&st).Error; err != nil {
		return nil, err
	}
	return &st, nil
}

// StoreExists reports whether the store exists, in one statement.
func (s *Service) StoreExists(ctx context.Context, id uuid.UUID) (bool, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&models.Store{}).Where("id = ?", id).Count(&n).Error
	return n > 0, err
}

// StoresWithCoordinates reads the id and coordinates of every store that
// has both, in one statement.
func (s *Service) StoresWithCoordinates(ctx context.Context) ([]models.Store, error) {
	var out []models.Store
	err := s.DB.Conn(ctx).Select("id", "latitude", "longitude").
		Where("latitude IS NOT NULL AND longitude IS NOT NULL").Find(&out).Error
	return out, err
}

// StoreByCode reads a store by its code with its opening hours, Sunday
// first, in two statements.
func (s *Service) StoreByCode(ctx context.Context, code string) (*models.Store, error) {
	var st models.Store
	if err := withHours(s.DB.Conn(ctx)).Where("code = ?", code).Take(&st).Error; err != nil {
		return nil, err
	}
	return &st, nil
}

// Vehicle reads a vehicle, in one statement.
func (s *Service) Vehicle(ctx context.Context, id uuid.UUID) (*models.Vehicle, error) {
	return s.vehicle(s.DB.Conn(ctx).Where("id = ?", id))
}

// OwnerVehicles reads every vehicle of the owner, oldest first, in one
// statement (an owner's data export).
func (s *Service) OwnerVehicles(ctx context.Context, ownerID uuid.UUID) ([]*models.Vehicle, error) {
	rows := []*models.Vehicle{}
	err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&rows).Error
	return rows, err
}

// VehicleOf reads a vehicle if ownerID owns it, in one statement.
func (s *Service) VehicleOf(ctx context.Context, ownerID, id uuid.UUID) (*models.Vehicle, error) {
	return s.vehicle(s.DB.Conn(ctx).Where("id = ? AND owner_id = ?", id, ownerID))
}

func (s *Service) vehicle(q *gorm.DB) (*models.Vehicle, error) {
	var v models.Vehicle
	if err := q.Take(&v).Error; err != nil {
		return nil, err
	}
	return &v, nil
}

// LockVehicle reads the vehicle with the plate (or, when plate is empty,
// the VIN) and locks it for the transaction, in one statement: check-ins
// of one car queue there.
func (s *Service) LockVehicle(ctx context.Context, plate, vin string) (*models.Vehicle, error) {
	q := s.DB.Conn(ctx).Where("vin = ?", vin)
	if plate != "" {
		q = s.DB.Conn(ctx).Where("plate = ?", plate)
	}
	return s.vehicle(s.DB.ForUpdate(q))
}

// RecordMileage records the vehicle's odometer reading of km taken at at,
// in one statement. The caller has checked it (models.Vehicle.CheckReading).
func (s *Service) RecordMileage(ctx context.Context, id uuid.UUID, km int, at time.Time) error {
	return s.DB.Conn(ctx).Model(&models.Vehicle{}).Where("id = ?", id).
		Updates(map[string]any{"mileage_km": km, "mileage_read_at": at, "updated_at": at}).Error
}

// Owner reads an owner, in one statement.
func (s *Service) Owner(ctx context.Context, id uuid.UUID) (*models.Owner, error) {
	var o models.Owner
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, err
	}
	return &o, nil
}

// OwnerPhone reads an owner's phone number, in one statement.
func (s *Service) OwnerPhone(ctx context.Context, id uuid.UUID) (string, error) {
	var o models.Owner
	if err := s.DB.Conn(ctx).Select("id", "phone").Where("id = ?", id).Take(&o).Error; err != nil {
		return "", err
	}
	return o.Phone, nil
}

// LockOwner locks the owner's row for the transaction, in one statement:
// for update, or, with noKey, for no key update (rows referencing the
// owner may still be inserted meanwhile). It reads the whole row when
// whole is set, otherwise only the id.
func (s *Service) LockOwner(ctx context.Context, id uuid.UUID, noKey, whole bool) (*models.Owner, error) {
	q := s.DB.Conn(ctx).Where("id = ?", id)
	if !whole {
		q = q.Select("id")
	}
	if noKey {
		q = s.DB.ForNoKeyUpdate(q)
	} else {
		q = s.DB.ForUpdate(q)
	}
	var o models.Owner
	if err := q.Take(&o).Error; err != nil {
		return nil, err
	}
	return &o, nil
}

// Addressee is an owner a message goes to, with what the message is about:
// the plate and model of a car and the name of a store, each "" when the
// message concerns none (or the row is gone).
type Addressee struct {
	models.Owner
	Plate string
	Model string
	Store string
}

// Addressee reads owner id with the plate and model of vehicle and the name
// of store (both optional), in one statement; with lock, the owner's row is
// locked for no key update (see LockOwner) and the car and store are read
// without a lock.
func (s *Service) Addressee(ctx context.Context, id uuid.UUID, vehicle, store *uuid.UUID, lock bool) (*Addressee, error) {
	as, err := s.Addressees(ctx, []uuid.UUID{id}, vehicle, store, lock)
	if err != nil {
		return nil, err
	}
	if a := as[id]; a != nil {
		return a, nil
	}
	return nil, gorm.ErrRecordNotFound
}

// Addressees is Addressee for many owners about one car and store (a
// campaign's batch), in one statement; with lock, the owners' rows are
// locked in id order (so that two batches over the same owners wait for
// each other instead of deadlocking). Owners that do not exist are not in
// the map.
func (s *Service) Addressees(ctx context.Context, ids []uuid.UUID, vehicle, store *uuid.UUID, lock bool) (map[uuid.UUID]*Addressee, error) {
	var v, st any // NULL when absent: the sub-selects read nothing
	if vehicle != nil {
		v = *vehicle
	}
	if store != nil {
		st = *store
	}
	q := s.DB.Conn(ctx).Table("owners").Select("owners.*, "+
		"COALESCE((SELECT plate FROM vehicles WHERE id = ?), '') AS plate, "+
		"COALESCE((SELECT model FROM vehicles WHERE id = ?), '') AS model, "+
		"COALESCE((SELECT name FROM stores WHERE id = ?), '') AS store", v, v, st).
		Where("owners.id IN ?", ids).Order("owners.id")
	if lock {
		q = s.DB.ForNoKeyUpdate(q)
	}
	var rows []*Addressee
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*Addressee, len(rows))
	for _, a := range rows {
		out[a.ID] = a
	}
	return out, nil
}

// PhoneInUse reports whether an owner has the phone number, in one
// statement.
func (s *Service) PhoneInUse(ctx context.Context, phone string) (bool, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&models.Owner{}).Where("phone = ?", phone).Count(&n).Error
	return n > 0, err
}

// AnonymiseOwner replaces what identifies the owner at an account's
// deletion, in one statement: the phone by the placeholder given (unused,
// so the column's uniqueness holds), the name, birthday, gender, home
// store and WeChat ids cleared, marketing consent withdrawn at now.
func (s *Service) AnonymiseOwner(ctx context.Context, id uuid.UUID, placeholderPhone string, now time.Time) error {
	return s.DB.Conn(ctx).Model(&models.Owner{}).Where("id = ?", id).Updates(map[string]any{
		"phone": placeholderPhone, "name": "", "birthday": nil, "gender": nil, "home_store_id": nil,
		"wechat_openid": nil, "wechat_unionid": nil, "marketing_consent": false, "marketing_consent_at": now, "updated_at": now,
	}).Error
}

// SetMarketingConsent sets the owner's marketing consent to given at now if
// it is not so already and the owner has not deleted the account, in one
// conditional statement, and reports whether it changed: of concurrent
// identical changes one changes the row, the others find nothing to change.
// A change is recorded in the consent history (RecordConsent, the owner's
// own choice), in the transaction of ctx.
func (s *Service) SetMarketingConsent(ctx context.Context, id uuid.UUID, given bool, now time.Time) (bool, error) {
	res := s.DB.Conn(ctx).Model(&models.Owner{}).
		Where("id = ? AND marketing_consent = ? AND "+notDeleted("owners.id"), id, !given).
		Updates(map[string]any{"marketing_consent": given, "marketing_consent_at": now, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	return true, s.RecordConsent(ctx, id, given, models.ConsentByOwner, now)
}

// StoreHours reads a store's opening hours, Sunday (0) first, in one
// statement.
func (s *Service) StoreHours(ctx context.Context, storeID uuid.UUID) ([]models.StoreHours, error) {
	var out []models.StoreHours
	err := s.DB.Conn(ctx).Where("store_id = ?", storeID).Order("weekday ASC").Find(&out).Error
	return out, err
}

// SetStoreWeek sets the store's slot length at now and, when hours is not
// nil, replaces its opening hours with hours (empty: closed every day):
// one statement, and two more when the hours are replaced (three when any
// day is open).
func (s *Service) SetStoreWeek(ctx context.Context, storeID uuid.UUID, slotMinutes int, hours []models.StoreHours, now time.Time) error {
	conn := s.DB.Conn(ctx)
	if err := conn.Model(&models.Store{}).Where("id = ?", storeID).
		Updates(map[string]any{"slot_minutes": slotMinutes, "updated_at": now}).Error; err != nil {
		return err
	}
	if hours == nil {
		return nil
	}
	if err := conn.Where("store_id = ?", storeID).Delete(&models.StoreHours{}).Error; err != nil {
		return err
	}
	if len(hours) == 0 {
		return nil
	}
	return conn.Create(&hours).Error
}

// StaffAtStore reads the name of a staff member who is active, holds one
// of roles (nil: any or none) and works at the store, in one statement, and
// reports whether there is one. With adminQualifies GROUP_ADMIN holds every
// role at every store, as auth.Principal says.
func (s *Service) StaffAtStore(ctx context.Context, staffID, storeID uuid.UUID, roles []auth.Role, adminQualifies bool) (string, bool, error) {
	cond := ""
	var args []any
	args = append(args, staffID, true)
	if roles != nil {
		names := make([]string, 0, len(roles)+1)
		for _, r := range roles {
			names = append(names, string(r))
		}
		if adminQualifies {
			names = append(names, string(auth.RoleGroupAdmin))
		}
		cond = ` AND EXISTS (SELECT 1 FROM staff_roles r WHERE r.staff_id = s.id AND r.role IN ?)`
		args = append(args, names)
	}
	cond += ` AND (EXISTS (SELECT 1 FROM staff_stores ss WHERE ss.staff_id = s.id AND ss.store_id = ?)`
	args = append(args, storeID)
	if adminQualifies {
		cond += ` OR EXISTS (SELECT 1 FROM staff_roles g WHERE g.staff_id = s.id AND g.role = ?)`
		args = append(args, string(auth.RoleGroupAdmin))
	}
	var names []string
	err := s.DB.Conn(ctx).Raw(`SELECT s.name FROM staffs s WHERE s.id = ? AND s.active = ?`+cond+`)`, args...).Scan(&names).Error
	if err != nil || len(names) == 0 {
		return "", false, err
	}
	return names[0], true, nil
}

// StaffNames reads staff members' names by id, in one statement whatever
// the number of ids (none when there are none). Missing ids are omitted.
func (s *Service) StaffNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   uuid.UUID
		Name string
	}
	if err := s.DB.Conn(ctx).Table("staffs").Select("id, name").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

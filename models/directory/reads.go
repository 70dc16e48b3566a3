package directory

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Reads of stores, owners, vehicles and staff: batch loads for dataloaders
// (the caller has already authorized the parent object) and single reads that
// check whether the caller may see the row.
//
// A row the caller may not see is NOT_FOUND, never FORBIDDEN, so that probing
// ids reveals nothing about which exist.

// withHours preloads a store's opening hours, Sunday (0) first. GORM loads
// them for all stores of a query in one extra statement.
func withHours(q *gorm.DB) *gorm.DB {
	return q.Preload("Hours", func(q *gorm.DB) *gorm.DB { return q.Order("weekday ASC") })
}

// vehicleInStores restricts a vehicles query to those sold by one of the
// stores or owned by one of their home-store customers.
const vehicleInStores = `(vehicles.selling_store_id IN ? OR EXISTS (
	SELECT 1 FROM owners vo WHERE vo.id = vehicles.owner_id AND vo.home_store_id IN ?))`

// StoresByIDs loads stores with their opening hours (ordered by weekday) in
// one statement whatever the number of ids: the stores joined to their
// hours. No authorization: stores are public. Missing ids are omitted;
// order is unspecified.
func (s *Service) StoresByIDs(ctx context.Context, ids []uuid.UUID) ([]*models.Store, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []struct {
		models.Store `gorm:"embedded"`
		HWeekday     *int
		HOpens       *string
		HCloses      *string
	}
	err := models.Scan(s.DB.Conn(ctx).Model(&models.Store{}).
		Select("stores.*, h.weekday AS h_weekday, h.opens AS h_opens, h.closes AS h_closes").
		Joins("LEFT JOIN store_hours h ON h.store_id = stores.id").
		Where("stores.id IN ?", ids).Order("stores.id, h.weekday"), &rows)
	if err != nil {
		return nil, err
	}
	var out []*models.Store
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].ID != r.ID {
			st := r.Store
			st.Hours = []models.StoreHours{}
			out = append(out, &st)
		}
		if r.HWeekday != nil {
			st := out[len(out)-1]
			st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: *r.HWeekday, Opens: *r.HOpens, Closes: *r.HCloses})
		}
	}
	return out, nil
}

// VehiclesByIDs loads vehicles for a dataloader. No authorization: the caller
// already authorized the objects that point at them. Missing ids are omitted.
func (s *Service) VehiclesByIDs(ctx context.Context, ids []uuid.UUID) ([]*models.Vehicle, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []*models.Vehicle
	err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&out).Error
	return out, err
}

// VehiclePages reads a page of each owner's vehicles (List: the owner), by
// id (creation order), with each owner's count, in one statement (a
// dataloader's batch; see FetchEach). No authorization: the caller already
// authorized the owners.
//
// Codes, in a page's Err: INVALID_ARGUMENT ("first", "after").
func (s *Service) VehiclePages(ctx context.Context, keys []models.ListPage) (map[models.ListPage]models.Paged[*models.Vehicle], error) {
	return models.FetchEach[models.Vehicle](s.DB.Conn(ctx), models.Lists{Table: "vehicles", Part: "owner_id", Order: models.ByID("id")}, keys)
}

// StaffStoreIDs loads the stores each staff member is assigned to, in one
// statement. Staff without stores have no entry. No authorization.
func (s *Service) StaffStoreIDs(ctx context.Context, staffIDs []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	out := make(map[uuid.UUID][]uuid.UUID, len(staffIDs))
	if len(staffIDs) == 0 {
		return out, nil
	}
	var rows []models.StaffStore
	if err := s.DB.Conn(ctx).Where("staff_id IN ?", staffIDs).Order("store_id ASC").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.StaffID] = append(out[r.StaffID], r.StoreID)
	}
	return out, nil
}

// OwnerFor reads an owner the actor may see (the customer rule, see
// customers.go): an owner only themselves; staff in a customer role the
// customers of their stores (home store in scope, or owner of a vehicle
// sold by a store in scope); GROUP_ADMIN everyone; nobody else anyone.
//
// Codes: UNAUTHENTICATED (no actor), NOT_FOUND (absent or not visible).
func (s *Service) OwnerFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*models.Owner, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	v, ok := customersOf(actor)
	if !ok {
		return nil, errOwnerNotFound
	}
	var o models.Owner
	if err := v.scope(s.DB.Conn(ctx).Where("owners.id = ?", id)).Take(&o).Error; err != nil {
		return nil, models.NotFoundAs(err, errOwnerNotFound)
	}
	return &o, nil
}

// VehicleFor reads a vehicle the actor may see: an owner their own; staff one
// sold by a store in scope or owned by a customer whose home store is in
// scope; GROUP_ADMIN every vehicle.
//
// Codes: UNAUTHENTICATED (no actor), NOT_FOUND (absent or not visible).
func (s *Service) VehicleFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*models.Vehicle, error) {
	return s.vehicleFor(ctx, actor, id, false)
}

// vehicleFor is VehicleFor, optionally locking the row for the transaction.
func (s *Service) vehicleFor(ctx context.Context, actor *auth.Principal, id uuid.UUID, lock bool) (*models.Vehicle, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.DB.Conn(ctx).Where("vehicles.id = ?", id)
	switch {
	case actor.IsOwner():
		q = q.Where("vehicles.owner_id = ?", actor.ID)
	case actor.IsGroupAdmin():
	case actor.IsStaff() && len(actor.StoreIDs) > 0:
		q = q.Where(vehicleInStores, actor.StoreIDs, actor.StoreIDs)
	default:
		return nil, errVehicleNotFound
	}
	if lock {
		q = s.DB.ForUpdate(q)
	}
	var v models.Vehicle
	if err := q.Take(&v).Error; err != nil {
		return nil, models.NotFoundAs(err, errVehicleNotFound)
	}
	return &v, nil
}

// StaffFor reads a staff member with their roles and stores. Visible to the
// staff member themselves, to a MANAGER who shares a store with them, and to
// GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED (no actor), NOT_FOUND (absent or not visible).
func (s *Service) StaffFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*models.Staff, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() {
		return nil, errStaffNotFound
	}
	var row models.Staff
	err := s.DB.Conn(ctx).
		Preload("Roles", func(q *gorm.DB) *gorm.DB { return q.Order("role ASC") }).
		Preload("Stores", func(q *gorm.DB) *gorm.DB { return q.Order("store_id ASC") }).
		Where("id = ?", id).Take(&row).Error
	if err != nil {
		return nil, models.NotFoundAs(err, errStaffNotFound)
	}
	if row.ID == actor.ID || actor.IsGroupAdmin() {
		return &row, nil
	}
	if actor.HasAnyRole(auth.RoleManager) {
		for _, st := range row.Stores {
			if slices.Contains(actor.StoreIDs, st.StoreID) {
				return &row, nil
			}
		}
	}
	return nil, errStaffNotFound
}

// Store reads a store with its opening hours. Public.
//
// Codes: NOT_FOUND.
func (s *Service) Store(ctx context.Context, id uuid.UUID) (*models.Store, error) {
	var row models.Store
	if err := withHours(s.DB.Conn(ctx)).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, models.NotFoundAs(err, errStoreNotFound)
	}
	return &row, nil
}

// ListStores reads one page of stores (by id, i.e. creation order) with their
// opening hours, and reports whether more follow. Public. Returns no domain
// error codes.
func (s *Service) ListStores(ctx context.Context, p models.Page) ([]*models.Store, bool, error) {
	return models.Fetch[*models.Store](withHours(s.DB.Conn(ctx).Model(&models.Store{})), models.ByID("id"), p)
}

// CountStores counts the dealer group's stores. Public.
func (s *Service) CountStores(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&models.Store{}).Count(&n).Error
	return n, err
}

// VisibleOwnerIDs returns which of ids the actor may see (the OwnerFor rules)
// in one statement, for fields that must not show more of an owner than the
// caller could read directly, whatever path led to the owner.
func (s *Service) VisibleOwnerIDs(ctx context.Context, actor *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := make(map[uuid.UUID]bool, len(ids))
	v, ok := customersOf(actor)
	if !ok || len(ids) == 0 {
		return out, nil
	}
	if actor.IsOwner() {
		// An owner sees themselves only: no statement needed.
		for _, id := range ids {
			out[id] = id == v.self
		}
		return out, nil
	}
	var visible []uuid.UUID
	if err := v.scope(s.DB.Conn(ctx).Model(&models.Owner{}).Where("owners.id IN ?", ids)).Pluck("owners.id", &visible).Error; err != nil {
		return nil, err
	}
	for _, id := range visible {
		out[id] = true
	}
	return out, nil
}

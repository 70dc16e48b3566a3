package models

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
)

// Reads of stores, owners, vehicles and staff: batch loads for dataloaders
// (the caller has already authorized the parent object) and single reads that
// check whether the caller may see the row.
//
// A row the caller may not see is NOT_FOUND, never FORBIDDEN, so that probing
// ids reveals nothing about which exist.

var (
	errOwnerNotFound   = E(CodeNotFound, "未找到该车主", "owner not found")
	errVehicleNotFound = E(CodeNotFound, "未找到该车辆", "vehicle not found")
	errStaffNotFound   = E(CodeNotFound, "未找到该员工", "staff member not found")
	errStoreNotFound   = E(CodeNotFound, "未找到该门店", "store not found")
)

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
// two statements whatever the number of ids. No authorization: stores are
// public. Missing ids are omitted; order is unspecified.
func (db *DB) StoresByIDs(ctx context.Context, ids []uuid.UUID) ([]*Store, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []*Store
	err := withHours(db.Conn(ctx)).Where("id IN ?", ids).Find(&out).Error
	return out, err
}

// OwnersByIDs loads owners for a dataloader. No authorization: the caller
// already authorized the objects that point at them. Missing ids are omitted.
func (db *DB) OwnersByIDs(ctx context.Context, ids []uuid.UUID) ([]*Owner, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []*Owner
	err := db.Conn(ctx).Where("id IN ?", ids).Find(&out).Error
	return out, err
}

// VehiclesByIDs loads vehicles for a dataloader. No authorization: the caller
// already authorized the objects that point at them. Missing ids are omitted.
func (db *DB) VehiclesByIDs(ctx context.Context, ids []uuid.UUID) ([]*Vehicle, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []*Vehicle
	err := db.Conn(ctx).Where("id IN ?", ids).Find(&out).Error
	return out, err
}

// VehiclesByOwnerIDs loads every vehicle of the owners in one statement, each
// owner's ordered by id (creation order). Owners without vehicles have no
// entry. No authorization: the caller already authorized the owners.
func (db *DB) VehiclesByOwnerIDs(ctx context.Context, ownerIDs []uuid.UUID) (map[uuid.UUID][]*Vehicle, error) {
	out := make(map[uuid.UUID][]*Vehicle, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	var rows []*Vehicle
	if err := db.Conn(ctx).Where("owner_id IN ?", ownerIDs).Order("id ASC").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, v := range rows {
		out[v.OwnerID] = append(out[v.OwnerID], v)
	}
	return out, nil
}

// VehiclePages reads a page of each owner's vehicles (List: the owner), by
// id (creation order), with each owner's count, in one statement (a
// dataloader's batch; see FetchEach). No authorization: the caller already
// authorized the owners.
//
// Codes, in a page's Err: INVALID_ARGUMENT ("first", "after").
func (db *DB) VehiclePages(ctx context.Context, keys []ListPage) (map[ListPage]Paged[*Vehicle], error) {
	return FetchEach[Vehicle](db.Conn(ctx), Lists{Table: "vehicles", Part: "owner_id", Order: ByID("id")}, keys)
}

// StaffStoreIDs loads the stores each staff member is assigned to, in one
// statement. Staff without stores have no entry. No authorization.
func (db *DB) StaffStoreIDs(ctx context.Context, staffIDs []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	out := make(map[uuid.UUID][]uuid.UUID, len(staffIDs))
	if len(staffIDs) == 0 {
		return out, nil
	}
	var rows []StaffStore
	if err := db.Conn(ctx).Where("staff_id IN ?", staffIDs).Order("store_id ASC").Find(&rows).Error; err != nil {
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
func (db *DB) OwnerFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Owner, error) {
	if actor == nil {
		return nil, ErrUnauthenticated
	}
	v, ok := customersOf(actor)
	if !ok {
		return nil, errOwnerNotFound
	}
	var o Owner
	if err := v.scope(db.Conn(ctx).Where("owners.id = ?", id)).Take(&o).Error; err != nil {
		return nil, NotFoundAs(err, errOwnerNotFound)
	}
	return &o, nil
}

// VehicleFor reads a vehicle the actor may see: an owner their own; staff one
// sold by a store in scope or owned by a customer whose home store is in
// scope; GROUP_ADMIN every vehicle.
//
// Codes: UNAUTHENTICATED (no actor), NOT_FOUND (absent or not visible).
func (db *DB) VehicleFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Vehicle, error) {
	return db.vehicleFor(ctx, actor, id, false)
}

// vehicleFor is VehicleFor, optionally locking the row for the transaction.
func (db *DB) vehicleFor(ctx context.Context, actor *auth.Principal, id uuid.UUID, lock bool) (*Vehicle, error) {
	if actor == nil {
		return nil, ErrUnauthenticated
	}
	q := db.Conn(ctx).Where("vehicles.id = ?", id)
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
		q = db.ForUpdate(q)
	}
	var v Vehicle
	if err := q.Take(&v).Error; err != nil {
		return nil, NotFoundAs(err, errVehicleNotFound)
	}
	return &v, nil
}

// StaffFor reads a staff member with their roles and stores. Visible to the
// staff member themselves, to a MANAGER who shares a store with them, and to
// GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED (no actor), NOT_FOUND (absent or not visible).
func (db *DB) StaffFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Staff, error) {
	if actor == nil {
		return nil, ErrUnauthenticated
	}
	if !actor.IsStaff() {
		return nil, errStaffNotFound
	}
	var s Staff
	err := db.Conn(ctx).
		Preload("Roles", func(q *gorm.DB) *gorm.DB { return q.Order("role ASC") }).
		Preload("Stores", func(q *gorm.DB) *gorm.DB { return q.Order("store_id ASC") }).
		Where("id = ?", id).Take(&s).Error
	if err != nil {
		return nil, NotFoundAs(err, errStaffNotFound)
	}
	if s.ID == actor.ID || actor.IsGroupAdmin() {
		return &s, nil
	}
	if actor.HasAnyRole(auth.RoleManager) {
		for _, st := range s.Stores {
			if slices.Contains(actor.StoreIDs, st.StoreID) {
				return &s, nil
			}
		}
	}
	return nil, errStaffNotFound
}

// Store reads a store with its opening hours. Public.
//
// Codes: NOT_FOUND.
func (db *DB) Store(ctx context.Context, id uuid.UUID) (*Store, error) {
	var s Store
	if err := withHours(db.Conn(ctx)).Where("id = ?", id).Take(&s).Error; err != nil {
		return nil, NotFoundAs(err, errStoreNotFound)
	}
	return &s, nil
}

// ListStores reads one page of stores (by id, i.e. creation order) with their
// opening hours, and reports whether more follow. Public. Returns no domain
// error codes.
func (db *DB) ListStores(ctx context.Context, p Page) ([]*Store, bool, error) {
	return Fetch[*Store](withHours(db.Conn(ctx).Model(&Store{})), ByID("id"), p)
}

// CountStores counts the dealer group's stores. Public.
func (db *DB) CountStores(ctx context.Context) (int64, error) {
	var n int64
	err := db.Conn(ctx).Model(&Store{}).Count(&n).Error
	return n, err
}

// notFoundAs maps GORM's record-not-found to the given domain error.
// NotFoundAs turns GORM's "record not found" into nf (the capability's own
// NOT_FOUND, naming what is missing); other errors pass through.
func NotFoundAs(err error, nf *Error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nf
	}
	return err
}

// VisibleOwnerIDs returns which of ids the actor may see (the OwnerFor rules)
// in one statement, for fields that must not show more of an owner than the
// caller could read directly, whatever path led to the owner.
func (db *DB) VisibleOwnerIDs(ctx context.Context, actor *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := make(map[uuid.UUID]bool, len(ids))
	v, ok := customersOf(actor)
	if !ok || len(ids) == 0 {
		return out, nil
	}
	var visible []uuid.UUID
	if err := v.scope(db.Conn(ctx).Model(&Owner{}).Where("owners.id IN ?", ids)).Pluck("owners.id", &visible).Error; err != nil {
		return nil, err
	}
	for _, id := range visible {
		out[id] = true
	}
	return out, nil
}

package models

import (
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
)

// Who may see a capability's row, for tables that name the row's owner
// (owner_id) and store (store_id): the one rule every capability's reads and
// locks apply (docs/authorization.md).

// Scope restricts q to the rows the actor may see: an owner their own; staff
// holding one of roles (any role when roles is empty) the rows of their
// stores; GROUP_ADMIN every row; anyone else none. table qualifies the
// columns when q joins other tables ("" when it does not).
func Scope(q *gorm.DB, actor *auth.Principal, roles []auth.Role, table string) *gorm.DB {
	col := func(c string) string {
		if table == "" {
			return c
		}
		return table + "." + c
	}
	switch {
	case actor == nil:
	case actor.IsOwner():
		return q.Where(col("owner_id")+" = ?", actor.ID)
	case actor.IsGroupAdmin():
		return q
	case actor.IsStaff() && len(actor.StoreIDs) > 0 && (len(roles) == 0 || actor.HasAnyRole(roles...)):
		return q.Where(col("store_id")+" IN ?", actor.StoreIDs)
	}
	return q.Where("1 = 0")
}

// StoreScope restricts a staff list to the actor's stores (GROUP_ADMIN: all)
// on column, or to the one store asked for.
//
// Codes: FORBIDDEN (ErrNotYourStore: a store not theirs).
func StoreScope(q *gorm.DB, actor *auth.Principal, storeID *uuid.UUID, column string) (*gorm.DB, error) {
	if storeID != nil {
		if !actor.CanAccessStore(*storeID) {
			return nil, ErrNotYourStore
		}
		return q.Where(column+" = ?", *storeID), nil
	}
	if actor.IsGroupAdmin() {
		return q, nil
	}
	return q.Where(column+" IN ?", actor.StoreIDs), nil
}

// ErrNotYourStore refuses staff acting at a store they are not assigned to.
var ErrNotYourStore = E(CodeForbidden, "您不属于该门店", "you do not work for this store")

// StaffAt checks the actor is staff holding one of roles (GROUP_ADMIN holds
// every role) at the store: the one store-and-role rule of every capability.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (no such role, or not the actor's store).
func StaffAt(actor *auth.Principal, storeID uuid.UUID, roles ...auth.Role) error {
	switch {
	case actor == nil:
		return ErrUnauthenticated
	case !actor.HasAnyRole(roles...):
		return ErrForbidden
	case !actor.CanAccessStore(storeID):
		return ErrNotYourStore
	}
	return nil
}

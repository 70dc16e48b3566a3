package directory

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Who sees a customer: one rule for every path that leads to an owner's
// profile (node(id:), owners(search:), Vehicle.owner, the owner of an
// appointment, a complaint, a roadside request or a follow-up call, the
// owner's membership, the owner's name on an order's timeline). See
// docs/authorization.md.

// customerRoles are the staff roles whose work is with customers:
// reception, dispatch, care, events, the counter and the store's
// management. GROUP_ADMIN holds every role. TECHNICIAN is not one of them:
// technicians work on cars and see the car and its order, never whose
// they are.
var customerRoles = []auth.Role{auth.RoleAdvisor, auth.RoleForeman, auth.RoleCRM, auth.RoleEvents, auth.RoleCashier, auth.RoleManager}

// rolesSearchOwners may look customers up (SearchOwners, FindsCustomers):
// the customer roles. The GraphQL schema's @auth roles are generated from
// the capabilities' lists (docs/architecture.md).
var rolesSearchOwners = customerRoles

// customerView is how far a caller sees customers.
type customerView struct {
	self   uuid.UUID   // an owner: themselves only
	all    bool        // GROUP_ADMIN: every owner
	stores []uuid.UUID // staff in a customer role: the customers of these stores
}

// customersOf is the rule. An owner sees themselves; GROUP_ADMIN sees every
// owner; staff holding a customer role see the customers of their stores;
// nobody else (technicians, screens, anonymous callers, staff without a
// store) sees any customer.
func customersOf(p *auth.Principal) (customerView, bool) {
	switch {
	case p.IsOwner():
		return customerView{self: p.ID}, true
	case p.IsGroupAdmin():
		return customerView{all: true}, true
	case p.HasAnyRole(customerRoles...) && len(p.StoreIDs) > 0:
		return customerView{stores: p.StoreIDs}, true
	}
	return customerView{}, false
}

// SeesCustomer reports whether p may see the profile of owner ownerID,
// reached through a record p may see (a vehicle, an order's timeline, an
// appointment, a complaint, a roadside request, a follow-up call): the
// owner themselves, and staff in a customer role (ADVISOR, FOREMAN, CRM,
// EVENTS, CASHIER, MANAGER; GROUP_ADMIN). The record's own rule has
// already kept staff to their stores' records. Technicians, screens and
// anonymous callers see no customer.
func SeesCustomer(p *auth.Principal, ownerID uuid.UUID) bool {
	v, ok := customersOf(p)
	return ok && (v.all || len(v.stores) > 0 || v.self == ownerID)
}

// FindsCustomers reports whether p may look customers up (owners(search:)):
// staff in a customer role.
func FindsCustomers(p *auth.Principal) bool {
	return p.HasAnyRole(rolesSearchOwners...)
}

// scope restricts an owners query to the customers the view sees directly,
// by id: the owner, everyone, or the customers of the stores (home store
// among them, or owner of a vehicle one of them sold).
func (v customerView) scope(q *gorm.DB) *gorm.DB {
	switch {
	case v.all:
		return q
	case len(v.stores) > 0:
		return q.Where(customerOfStores, v.stores, v.stores)
	}
	return q.Where("owners.id = ?", v.self)
}

// customerOfStores restricts an owners query to customers of the stores:
// home store among them, or owner of a vehicle one of them sold.
const customerOfStores = `(owners.home_store_id IN ? OR EXISTS (
	SELECT 1 FROM vehicles cv WHERE cv.owner_id = owners.id AND cv.selling_store_id IN ?))`

// CustomersFor loads, in one statement, the owners of records the actor may
// see (a vehicle, an appointment, a complaint, a roadside request, an
// order's timeline), keeping those the actor may see as customers
// (SeesCustomer): an owner themselves, staff in a customer role everyone
// asked for (the record's own rule has kept them to their stores' records),
// nobody else anyone. An id the actor may not see, or of no owner, has no
// entry; the caller answers it as its field's refusal.
func (s *Service) CustomersFor(ctx context.Context, actor *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]*models.Owner, error) {
	out := make(map[uuid.UUID]*models.Owner, len(ids))
	var seen []uuid.UUID
	for _, id := range ids {
		if SeesCustomer(actor, id) {
			seen = append(seen, id)
		}
	}
	if len(seen) == 0 {
		return out, nil
	}
	var rows []*models.Owner
	if err := s.DB.Conn(ctx).Where("id IN ?", seen).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.ID] = o
	}
	return out, nil
}

// ReadableOwners is the set of owners among ids whose lists (coupons,
// packages) the actor may read on an owner record it was given: an owner
// only themselves (no statement), staff CustomersFor's owners.
func (s *Service) ReadableOwners(ctx context.Context, actor *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	seen := map[uuid.UUID]bool{}
	if actor.IsOwner() {
		seen[actor.ID] = true
		return seen, nil
	}
	vis, err := s.CustomersFor(ctx, actor, ids)
	if err != nil {
		return nil, err
	}
	for id := range vis {
		seen[id] = true
	}
	return seen, nil
}

// RolesSearchOwners is the list rolesSearchOwners, copied: a caller cannot change the rule.
func RolesSearchOwners() []auth.Role { return slices.Clone(rolesSearchOwners) }

// Package auth identifies callers of the OwnerHub API: who they are
// (Principal), how that identity travels between requests (access tokens),
// and the external login factors (WeChat mini-program codes, SMS codes).
package auth

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Kind is the category of an authenticated caller. Each kind reaches the API
// through a different login flow and is authorised differently.
type Kind string

const (
	// KindOwner is a vehicle owner using the mini-program.
	KindOwner Kind = "OWNER"
	// KindStaff is a dealer employee; what they may do depends on Roles and StoreIDs.
	KindStaff Kind = "STAFF"
	// KindScreen is an unattended in-store display bound to exactly one store.
	KindScreen Kind = "SCREEN"
)

// Valid reports whether k is one of the known kinds, so that tokens carrying
// an unknown kind can be refused rather than treated as some default.
func (k Kind) Valid() bool {
	switch k {
	case KindOwner, KindStaff, KindScreen:
		return true
	}
	return false
}

// Role is a staff permission. Roles only mean something for KindStaff.
type Role string

const (
	// RoleAdvisor is a service advisor who books and manages repair orders.
	RoleAdvisor Role = "ADVISOR"
	// RoleForeman dispatches workshop jobs to technicians.
	RoleForeman Role = "FOREMAN"
	// RoleTechnician works on vehicles and reports job progress.
	RoleTechnician Role = "TECHNICIAN"
	// RoleCRM follows up with owners (reminders, surveys, complaints).
	RoleCRM Role = "CRM"
	// RoleEvents runs owner events and their sign-ups.
	RoleEvents Role = "EVENTS"
	// RoleCashier settles invoices and payments.
	RoleCashier Role = "CASHIER"
	// RoleManager runs a store and sees its reports.
	RoleManager Role = "MANAGER"
	// RoleGroupAdmin administers the whole dealer group: every role, every store.
	RoleGroupAdmin Role = "GROUP_ADMIN"
)

// AllRoles lists every role in a stable order, for schema enums and admin UIs.
var AllRoles = []Role{
	RoleAdvisor,
	RoleForeman,
	RoleTechnician,
	RoleCRM,
	RoleEvents,
	RoleCashier,
	RoleManager,
	RoleGroupAdmin,
}

// Valid reports whether r is one of AllRoles.
func (r Role) Valid() bool {
	return slices.Contains(AllRoles, r)
}

// Principal is the authenticated caller.
type Principal struct {
	// Kind selects the login flow and authorisation model.
	Kind Kind
	// ID is the owner, staff member or screen id, depending on Kind.
	ID uuid.UUID
	// Roles are the staff roles held; empty for owners and screens.
	Roles []Role
	// StoreIDs are the stores a staff member is assigned to, or the single
	// store a screen belongs to; empty for owners.
	StoreIDs []uuid.UUID
	// ExpiresAt is when the token the principal came from expires (zero
	// when not from a token). Long-lived connections end then.
	ExpiresAt time.Time
}

// IsOwner reports whether p is a vehicle owner. Nil-safe so that resolvers can
// call it on the result of PrincipalFrom without a separate check.
func (p *Principal) IsOwner() bool {
	return p != nil && p.Kind == KindOwner
}

// IsStaff reports whether p is a dealer employee. Nil-safe.
func (p *Principal) IsStaff() bool {
	return p != nil && p.Kind == KindStaff
}

// IsGroupAdmin reports whether p is staff holding RoleGroupAdmin. Nil-safe.
func (p *Principal) IsGroupAdmin() bool {
	return p.IsStaff() && slices.Contains(p.Roles, RoleGroupAdmin)
}

// HasAnyRole reports whether p is staff and holds any of roles; GROUP_ADMIN
// holds every role. Owners and screens never hold roles, whatever their Roles
// field says, so a malformed principal cannot gain staff powers. Asking for no
// roles at all is false: "any of nothing" grants nothing.
func (p *Principal) HasAnyRole(roles ...Role) bool {
	if !p.IsStaff() || len(roles) == 0 {
		return false
	}
	if p.IsGroupAdmin() {
		return true
	}
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// CanAccessStore reports whether p may act on storeID: staff assigned to the
// store, or GROUP_ADMIN (every store). Screens may access only their own
// store, which must be their single StoreIDs entry. Owners are never granted
// store access here; their access follows the vehicles they own.
func (p *Principal) CanAccessStore(storeID uuid.UUID) bool {
	if p == nil || storeID == uuid.Nil {
		return false
	}
	switch p.Kind {
	case KindStaff:
		return p.IsGroupAdmin() || slices.Contains(p.StoreIDs, storeID)
	case KindScreen:
		// A screen with zero or several stores is malformed; fail closed.
		return len(p.StoreIDs) == 1 && p.StoreIDs[0] == storeID
	}
	return false
}

// principalKey is unexported so that only this package can set or read the
// principal in a context.
type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p as the authenticated caller.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller stored by WithPrincipal, or
// nil, false when the request is anonymous.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok || p == nil {
		return nil, false
	}
	return p, true
}

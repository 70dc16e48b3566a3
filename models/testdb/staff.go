package testdb

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

var staffSerial atomic.Int64

// AddStaff creates an active staff member holding roles at stores, named
// name plus a serial so that it is unique in a shared database, and returns
// the principal a signed-in session of theirs would carry.
func AddStaff(t testing.TB, db *models.DB, name string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	t.Helper()
	s := &models.Staff{ID: models.NewID(), Username: fmt.Sprintf("%s.t%d", name, staffSerial.Add(1)), Name: "员工" + name,
		PasswordHash: "x", Active: true}
	for _, r := range roles {
		s.Roles = append(s.Roles, models.StaffRole{StaffID: s.ID, Role: string(r)})
	}
	for _, id := range stores {
		s.Stores = append(s.Stores, models.StaffStore{StaffID: s.ID, StoreID: id})
	}
	if err := db.Conn(context.Background()).Create(s).Error; err != nil {
		t.Fatal(err)
	}
	return &auth.Principal{Kind: auth.KindStaff, ID: s.ID, Roles: roles, StoreIDs: stores}
}

// StaffPrincipals is the principal of every staff member in the database by
// username (the demo's "advisor.sz01", "admin", ...).
func StaffPrincipals(t testing.TB, db *models.DB) map[string]*auth.Principal {
	t.Helper()
	var staff []models.Staff
	if err := db.Conn(context.Background()).Preload("Roles").Preload("Stores").Find(&staff).Error; err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*auth.Principal, len(staff))
	for _, s := range staff {
		p := &auth.Principal{Kind: auth.KindStaff, ID: s.ID}
		for _, r := range s.Roles {
			p.Roles = append(p.Roles, auth.Role(r.Role))
		}
		for _, st := range s.Stores {
			p.StoreIDs = append(p.StoreIDs, st.StoreID)
		}
		out[s.Username] = p
	}
	return out
}

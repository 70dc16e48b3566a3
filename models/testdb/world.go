package testdb

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/validate"
)

// World is a small dealer group on a fresh database, for the tests of the
// kernel and of the directory and the inbox: stores SZ (Shenzhen) and GZ
// (Guangzhou), and principals for the usual callers, with staff rows behind
// them.
type World struct {
	T      testing.TB
	DB     *models.DB
	Ctx    context.Context
	SZ, GZ *models.Store

	SZAdvisor, SZForeman, SZTech, SZCRM, SZManager *auth.Principal
	GZAdvisor, GZForeman, GZManager                *auth.Principal
	Admin                                          *auth.Principal
}

// NewWorld opens a database (Open) and puts the group in it.
func NewWorld(t testing.TB) *World {
	t.Helper()
	w := &World{T: t, DB: Open(t), Ctx: context.Background()}
	w.SZ = w.Store("SZ", "深圳福田店")
	w.GZ = w.Store("GZ", "广州天河店")
	w.SZAdvisor = w.Staff("advisor.sz", []uuid.UUID{w.SZ.ID}, auth.RoleAdvisor)
	w.SZForeman = w.Staff("foreman.sz", []uuid.UUID{w.SZ.ID}, auth.RoleForeman)
	w.SZTech = w.Staff("tech.sz", []uuid.UUID{w.SZ.ID}, auth.RoleTechnician)
	w.SZCRM = w.Staff("crm.sz", []uuid.UUID{w.SZ.ID}, auth.RoleCRM)
	w.SZManager = w.Staff("manager.sz", []uuid.UUID{w.SZ.ID}, auth.RoleManager)
	w.GZAdvisor = w.Staff("advisor.gz", []uuid.UUID{w.GZ.ID}, auth.RoleAdvisor)
	w.GZForeman = w.Staff("foreman.gz", []uuid.UUID{w.GZ.ID}, auth.RoleForeman)
	w.GZManager = w.Staff("manager.gz", []uuid.UUID{w.GZ.ID}, auth.RoleManager)
	w.Admin = w.Staff("admin", []uuid.UUID{w.SZ.ID, w.GZ.ID}, auth.RoleGroupAdmin)
	return w
}

// Store inserts a store open 08:30 to 18:00 every day.
func (w *World) Store(code, name string) *models.Store {
	w.T.Helper()
	s := &models.Store{ID: models.NewID(), Code: code, Name: name, City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	Must(w.T, w.DB.Conn(w.Ctx).Omit("Hours").Create(s).Error)
	// Inserted Saturday first, so reads must order them.
	for wd := 6; wd >= 0; wd-- {
		Must(w.T, w.DB.Conn(w.Ctx).Create(&models.StoreHours{StoreID: s.ID, Weekday: wd, Opens: "08:30", Closes: "18:00"}).Error)
	}
	return s
}

// Staff inserts a staff member and returns the principal their token carries.
func (w *World) Staff(username string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	w.T.Helper()
	s := &models.Staff{ID: models.NewID(), Username: username, Name: username, PasswordHash: "x", Active: true}
	for _, r := range roles {
		s.Roles = append(s.Roles, models.StaffRole{StaffID: s.ID, Role: string(r)})
	}
	for _, id := range stores {
		s.Stores = append(s.Stores, models.StaffStore{StaffID: s.ID, StoreID: id})
	}
	Must(w.T, w.DB.Conn(w.Ctx).Create(s).Error)
	return &auth.Principal{Kind: auth.KindStaff, ID: s.ID, Roles: roles, StoreIDs: stores}
}

// Owner inserts owner n (phone Phone(n)) directly, as sign-in would.
func (w *World) Owner(n int, name string, home *models.Store) *models.Owner {
	w.T.Helper()
	o := &models.Owner{ID: models.NewID(), Phone: Phone(n), Name: name}
	if home != nil {
		o.HomeStoreID = &home.ID
	}
	Must(w.T, w.DB.Conn(w.Ctx).Create(o).Error)
	return o
}

// Car inserts vehicle n (VIN(n), Plate(n)) of o directly.
func (w *World) Car(o *models.Owner, n int, sold *models.Store) *models.Vehicle {
	w.T.Helper()
	p := Plate(n)
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: VIN(n), Plate: &p, Brand: "Toyota", Model: "Camry", ModelYear: 2024, MileageKm: 1000}
	if sold != nil {
		v.SellingStoreID = &sold.ID
	}
	Must(w.T, w.DB.Conn(w.Ctx).Create(v).Error)
	return v
}

// Count counts the rows of model's table.
func (w *World) Count(model any) int64 {
	w.T.Helper()
	var n int64
	Must(w.T, w.DB.Conn(w.Ctx).Model(model).Count(&n).Error)
	return n
}

// OwnerPrincipal is the principal of o's token.
func OwnerPrincipal(o *models.Owner) *auth.Principal {
	return &auth.Principal{Kind: auth.KindOwner, ID: o.ID}
}

// Phone is the mobile number of test owner n.
func Phone(n int) string { return fmt.Sprintf("+86139%08d", n) }

// Plate is the plate of test car n.
func Plate(n int) string { return fmt.Sprintf("粤B%05d", n) }

// VIN is the VIN of test car n, with its check digit.
func VIN(n int) string {
	v, err := validate.WithVINCheckDigit(fmt.Sprintf("LVGBE4AK0RG%06d", n))
	if err != nil {
		panic(err)
	}
	return v
}

// Must fails the test on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Day parses a date ("2026-03-01") for a test; it panics on a bad one.
func Day(s string) *models.Date {
	d, err := models.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &d
}

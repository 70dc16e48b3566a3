package models_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// world is a small dealer group: store SZ (Shenzhen) and GZ (Guangzhou), and
// principals for the usual callers.
type world struct {
	t      *testing.T
	db     *models.DB
	ctx    context.Context
	sz, gz *models.Store
	// Staff principals (with staff rows behind them).
	szAdvisor, szForeman, szTech, szCRM, szManager *auth.Principal
	gzAdvisor, gzForeman, gzManager                *auth.Principal
	admin                                          *auth.Principal
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, db: testdb.Open(t), ctx: context.Background()}
	w.sz = w.store("SZ", "深圳福田店")
	w.gz = w.store("GZ", "广州天河店")
	w.szAdvisor = w.staff("advisor.sz", []uuid.UUID{w.sz.ID}, auth.RoleAdvisor)
	w.szForeman = w.staff("foreman.sz", []uuid.UUID{w.sz.ID}, auth.RoleForeman)
	w.szTech = w.staff("tech.sz", []uuid.UUID{w.sz.ID}, auth.RoleTechnician)
	w.szCRM = w.staff("crm.sz", []uuid.UUID{w.sz.ID}, auth.RoleCRM)
	w.szManager = w.staff("manager.sz", []uuid.UUID{w.sz.ID}, auth.RoleManager)
	w.gzAdvisor = w.staff("advisor.gz", []uuid.UUID{w.gz.ID}, auth.RoleAdvisor)
	w.gzForeman = w.staff("foreman.gz", []uuid.UUID{w.gz.ID}, auth.RoleForeman)
	w.gzManager = w.staff("manager.gz", []uuid.UUID{w.gz.ID}, auth.RoleManager)
	w.admin = w.staff("admin", []uuid.UUID{w.sz.ID, w.gz.ID}, auth.RoleGroupAdmin)
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) store(code, name string) *models.Store {
	w.t.Helper()
	s := &models.Store{ID: models.NewID(), Code: code, Name: name, City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	must(w.t, w.db.Conn(w.ctx).Omit("Hours").Create(s).Error)
	// Inserted Saturday first, so reads must order them.
	for wd := 6; wd >= 0; wd-- {
		must(w.t, w.db.Conn(w.ctx).Create(&models.StoreHours{StoreID: s.ID, Weekday: wd, Opens: "08:30", Closes: "18:00"}).Error)
	}
	return s
}

// staff inserts a staff member and returns the principal their token carries.
func (w *world) staff(username string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	w.t.Helper()
	s := &models.Staff{ID: models.NewID(), Username: username, Name: username, PasswordHash: "x", Active: true}
	for _, r := range roles {
		s.Roles = append(s.Roles, models.StaffRole{StaffID: s.ID, Role: string(r)})
	}
	for _, id := range stores {
		s.Stores = append(s.Stores, models.StaffStore{StaffID: s.ID, StoreID: id})
	}
	must(w.t, w.db.Conn(w.ctx).Create(s).Error)
	return &auth.Principal{Kind: auth.KindStaff, ID: s.ID, Roles: roles, StoreIDs: stores}
}

// owner inserts an owner directly (as sign-in would).
func (w *world) owner(n int, name string, home *models.Store) *models.Owner {
	w.t.Helper()
	o := &models.Owner{ID: models.NewID(), Phone: phone(n), Name: name}
	if home != nil {
		o.HomeStoreID = &home.ID
	}
	must(w.t, w.db.Conn(w.ctx).Create(o).Error)
	return o
}

func (w *world) count(model any) int64 {
	w.t.Helper()
	var n int64
	must(w.t, w.db.Conn(w.ctx).Model(model).Count(&n).Error)
	return n
}

func ownerPrincipal(o *models.Owner) *auth.Principal {
	return &auth.Principal{Kind: auth.KindOwner, ID: o.ID}
}

func phone(n int) string { return fmt.Sprintf("+86139%08d", n) }

func ptr[T any](v T) *T { return &v }

func date(s string) *models.Date {
	d, err := models.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &d
}

var wantCode = testdb.WantCode

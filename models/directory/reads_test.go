package directory_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// noZeroField fails when a field of the struct v is its type's zero value:
// a fixture that sets them all shows, compared with another read, every
// column a hand-written scan leaves out.
func noZeroField(t *testing.T, v any) {
	t.Helper()
	r := reflect.ValueOf(v)
	for i := range r.NumField() {
		if r.Field(i).IsZero() {
			t.Fatalf("%T.%s is not set: set it in the fixture", v, r.Type().Field(i).Name)
		}
	}
}

func checkHours(t *testing.T, s *models.Store) {
	t.Helper()
	if len(s.Hours) != 7 {
		t.Fatalf("store %s has %d hours; want 7", s.Code, len(s.Hours))
	}
	for i, h := range s.Hours {
		if h.Weekday != i || h.StoreID != s.ID {
			t.Fatalf("store %s hours[%d] = %+v; want weekday %d", s.Code, i, h, i)
		}
	}
}

func TestStoresByIDs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var got []*models.Store
	var err error
	n := w.statements(func() {
		got, err = w.dir.StoresByIDs(w.Ctx, []uuid.UUID{w.SZ.ID, uuid.New(), w.GZ.ID})
	})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("got %d stores; want 2 (missing ids omitted)", len(got))
	}
	for _, s := range got {
		checkHours(t, s)
	}
	if n != 1 {
		t.Errorf("StoresByIDs ran %d statements; want 1 (stores joined to their hours)", n)
	}
	if got, err := w.dir.StoresByIDs(w.Ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("StoresByIDs(nil) = %v, %v", got, err)
	}
}

func TestStoreAndListStores(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s, err := w.dir.Store(w.Ctx, w.GZ.ID)
	must(t, err)
	if s.Code != "GZ" {
		t.Errorf("Store = %s", s.Code)
	}
	checkHours(t, s)
	_, err = w.dir.Store(w.Ctx, uuid.New())
	wantCode(t, err, models.CodeNotFound, "")

	third := w.Store("FS", "佛山店")
	if n, err := w.dir.CountStores(w.Ctx); err != nil || n != 3 {
		t.Fatalf("CountStores = %d, %v; want 3", n, err)
	}
	page1, more, err := w.dir.ListStores(w.Ctx, models.Page{First: 2})
	must(t, err)
	if len(page1) != 2 || !more || page1[0].ID != w.SZ.ID || page1[1].ID != w.GZ.ID {
		t.Fatalf("first page = %d stores, more %v", len(page1), more)
	}
	for _, s := range page1 {
		checkHours(t, s)
	}
	page2, more, err := w.dir.ListStores(w.Ctx, models.Page{First: 2, After: models.Cursor{ID: page1[1].ID}})
	must(t, err)
	if len(page2) != 1 || more || page2[0].ID != third.ID {
		t.Fatalf("second page = %d stores, more %v", len(page2), more)
	}
	checkHours(t, page2[0])
	desc, more, err := w.dir.ListStores(w.Ctx, models.Page{First: 5, Desc: true})
	must(t, err)
	if len(desc) != 3 || more || desc[0].ID != third.ID {
		t.Fatalf("newest-first page = %d stores, more %v", len(desc), more)
	}
}

func TestBatchLoads(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.Owner(1, "甲", w.SZ)
	b := w.Owner(2, "乙", w.GZ)
	c := w.Owner(3, "丙", nil)
	a1, a2 := w.Car(a, 1, w.SZ), w.Car(a, 2, w.GZ)
	b1 := w.Car(b, 3, nil)

	// The owners of records: all of them for customer roles, none for a
	// technician, only themselves for an owner; unknown ids have no entry.
	asked := []uuid.UUID{a.ID, b.ID, uuid.New()}
	var owners map[uuid.UUID]*models.Owner
	var err error
	n := w.statements(func() { owners, err = w.dir.CustomersFor(w.Ctx, w.SZAdvisor, asked) })
	must(t, err)
	if len(owners) != 2 || owners[a.ID].Name != "甲" || owners[b.ID].Name != "乙" || n != 1 {
		t.Fatalf("CustomersFor(advisor) = %v in %d statements; want a and b in 1", owners, n)
	}
	owners, err = w.dir.CustomersFor(w.Ctx, w.SZTech, asked)
	must(t, err)
	if len(owners) != 0 {
		t.Fatalf("CustomersFor(technician) = %v; want none", owners)
	}
	owners, err = w.dir.CustomersFor(w.Ctx, ownerPrincipal(a), asked)
	must(t, err)
	if len(owners) != 1 || owners[a.ID] == nil {
		t.Fatalf("CustomersFor(owner a) = %v; want a only", owners)
	}

	pa, pb, pc := models.ListPage{List: a.ID, First: 10}, models.ListPage{List: b.ID, First: 10}, models.ListPage{List: c.ID, First: 10}
	var byOwner map[models.ListPage]models.Paged[*models.Vehicle]
	n = w.statements(func() {
		byOwner, err = w.dir.VehiclePages(w.Ctx, []models.ListPage{pa, pb, pc})
	})
	must(t, err)
	if n != 1 {
		t.Errorf("VehiclePages ran %d statements; want 1", n)
	}
	if got := byOwner[pa]; len(got.Rows) != 2 || got.Rows[0].ID != a1.ID || got.Rows[1].ID != a2.ID || got.Total != 2 {
		t.Errorf("vehicles of a = %+v; want a1, a2 in creation order", got)
	}
	if got := byOwner[pb]; len(got.Rows) != 1 || got.Rows[0].ID != b1.ID {
		t.Errorf("vehicles of b = %+v", got)
	}
	if got := byOwner[pc]; len(got.Rows) != 0 || got.Total != 0 {
		t.Errorf("owner without vehicles = %+v", got)
	}

	ids, err := w.dir.StaffStoreIDs(w.Ctx, []uuid.UUID{w.Admin.ID, w.SZAdvisor.ID, uuid.New()})
	must(t, err)
	adminStores := ids[w.Admin.ID]
	slices.SortFunc(adminStores, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	if len(adminStores) != 2 || len(ids[w.SZAdvisor.ID]) != 1 || ids[w.SZAdvisor.ID][0] != w.SZ.ID || len(ids) != 2 {
		t.Errorf("StaffStoreIDs = %v", ids)
	}
}

func TestOwnerForAndVehicleFor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	szOnly := w.Owner(1, "深圳客户", w.SZ)
	gzOnly := w.Owner(2, "广州客户", w.GZ)
	boughtInSZ := w.Owner(3, "广州人深圳买车", w.GZ)
	noStore := w.Owner(4, "无门店", nil)
	szHomeGZCar := w.Owner(5, "深圳人广州买车", w.SZ)
	vSZ := w.Car(szOnly, 1, w.SZ)
	vGZ := w.Car(gzOnly, 2, w.GZ)
	vCross := w.Car(boughtInSZ, 3, w.SZ)
	vHomeSZ := w.Car(szHomeGZCar, 4, w.GZ) // sold by GZ, owner's home store SZ
	vNone := w.Car(noStore, 5, nil)

	screen := &auth.Principal{Kind: auth.KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{w.SZ.ID}}
	storeless := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleAdvisor}}
	ownerCases := []struct {
		name  string
		actor *auth.Principal
		owner *models.Owner
		ok    bool
	}{
		{"owner self", ownerPrincipal(szOnly), szOnly, true},
		{"owner reads another owner", ownerPrincipal(szOnly), gzOnly, false},
		{"staff: home store in scope", w.SZCRM, szOnly, true},
		{"staff: bought at a store in scope", w.SZCRM, boughtInSZ, true},
		{"staff: customer of another store only", w.SZCRM, gzOnly, false},
		{"staff: owner without store", w.SZAdvisor, noStore, false},
		{"other store's staff", w.GZAdvisor, szOnly, false},
		{"other store's staff, home store", w.GZAdvisor, boughtInSZ, true},
		{"other store's staff, bought there", w.GZAdvisor, szHomeGZCar, true},
		{"group admin", w.Admin, noStore, true},
		{"staff without stores", storeless, szOnly, false},
		{"screen", screen, szOnly, false},
	}
	for _, c := range ownerCases {
		t.Run("owner/"+c.name, func(t *testing.T) {
			got, err := w.dir.OwnerFor(w.Ctx, c.actor, c.owner.ID)
			if c.ok {
				if err != nil || got.ID != c.owner.ID {
					t.Fatalf("OwnerFor = %v, %v", got, err)
				}
				return
			}
			wantCode(t, err, models.CodeNotFound, "")
		})
	}
	_, err := w.dir.OwnerFor(w.Ctx, w.Admin, uuid.New())
	wantCode(t, err, models.CodeNotFound, "")
	_, err = w.dir.OwnerFor(w.Ctx, nil, szOnly.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")

	vehicleCases := []struct {
		name    string
		actor   *auth.Principal
		vehicle *models.Vehicle
		ok      bool
	}{
		{"owner's own", ownerPrincipal(szOnly), vSZ, true},
		{"another owner's", ownerPrincipal(szOnly), vGZ, false},
		{"B cannot read A's", ownerPrincipal(gzOnly), vSZ, false},
		{"staff: sold in scope", w.SZForeman, vCross, true},
		{"staff: owner's home store in scope", w.SZForeman, vHomeSZ, true},
		{"staff: other store's car", w.SZForeman, vGZ, false},
		{"staff: no store at all", w.SZForeman, vNone, false},
		{"gz staff: sold by gz", w.GZForeman, vHomeSZ, true},
		{"gz staff: owner's home gz", w.GZForeman, vCross, true},
		{"gz staff: sz customer's sz car", w.GZForeman, vSZ, false},
		{"group admin", w.Admin, vNone, true},
		{"screen", screen, vSZ, false},
		{"staff without stores", storeless, vSZ, false},
	}
	for _, c := range vehicleCases {
		t.Run("vehicle/"+c.name, func(t *testing.T) {
			got, err := w.dir.VehicleFor(w.Ctx, c.actor, c.vehicle.ID)
			if c.ok {
				if err != nil || got.ID != c.vehicle.ID || got.VIN != c.vehicle.VIN {
					t.Fatalf("VehicleFor = %v, %v", got, err)
				}
				return
			}
			wantCode(t, err, models.CodeNotFound, "")
		})
	}
	_, err = w.dir.VehicleFor(w.Ctx, nil, vSZ.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")
}

func TestStaffFor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := []struct {
		name   string
		actor  *auth.Principal
		target *auth.Principal
		ok     bool
	}{
		{"self", w.SZTech, w.SZTech, true},
		{"colleague without MANAGER", w.SZAdvisor, w.SZForeman, false},
		{"manager, same store", w.SZManager, w.SZTech, true},
		{"manager, other store", w.SZManager, w.GZForeman, false},
		{"manager sees admin assigned to the store", w.GZManager, w.Admin, true},
		{"group admin", w.Admin, w.GZForeman, true},
		{"owner", &auth.Principal{Kind: auth.KindOwner, ID: w.SZTech.ID}, w.SZTech, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.dir.StaffFor(w.Ctx, c.actor, c.target.ID)
			if !c.ok {
				wantCode(t, err, models.CodeNotFound, "")
				return
			}
			must(t, err)
			if got.ID != c.target.ID || len(got.Roles) != len(c.target.Roles) || len(got.Stores) != len(c.target.StoreIDs) {
				t.Fatalf("StaffFor = %+v; want roles %v stores %v loaded", got, c.target.Roles, c.target.StoreIDs)
			}
			if got.Roles[0].Role != string(c.target.Roles[0]) {
				t.Errorf("role = %s", got.Roles[0].Role)
			}
		})
	}
	_, err := w.dir.StaffFor(w.Ctx, w.Admin, uuid.New())
	wantCode(t, err, models.CodeNotFound, "")
	_, err = w.dir.StaffFor(w.Ctx, nil, w.Admin.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")
}

// One rule decides who sees a customer, whatever the path: a direct read
// (OwnerFor), a batch check (VisibleOwnerIDs), an owner reached through a
// record (SeesCustomer) and the search agree for every kind of caller.
func TestCustomerRule(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.Owner(1, "扫查甲", w.SZ)
	w.Car(a, 1, w.SZ)
	b := w.Owner(2, "扫查乙", w.SZ)
	techAdvisor := w.Staff("tech-advisor.sz", []uuid.UUID{w.SZ.ID}, auth.RoleTechnician, auth.RoleAdvisor)
	gzCRM := w.Staff("crm.gz", []uuid.UUID{w.GZ.ID}, auth.RoleCRM)
	screen := &auth.Principal{Kind: auth.KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{w.SZ.ID}}
	storeless := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleAdvisor}}
	cases := []struct {
		name  string
		actor *auth.Principal
		// direct: OwnerFor and VisibleOwnerIDs; record: SeesCustomer;
		// byName: found by name; search: may search at all.
		direct, record, byName, search bool
	}{
		{"the owner", ownerPrincipal(a), true, true, false, false},
		{"another owner", ownerPrincipal(b), false, false, false, false},
		{"advisor of the store", w.SZAdvisor, true, true, true, true},
		{"CRM of the store", w.SZCRM, true, true, true, true},
		{"foreman of the store", w.SZForeman, true, true, true, true},
		{"manager of the store", w.SZManager, true, true, true, true},
		{"technician of the store", w.SZTech, false, false, false, false},
		{"technician and advisor", techAdvisor, true, true, true, true},
		{"advisor of another store", w.GZAdvisor, false, true, false, true},
		{"CRM of another store", gzCRM, false, true, false, true},
		{"group admin", w.Admin, true, true, true, true},
		{"screen of the store", screen, false, false, false, false},
		{"staff without a store", storeless, false, false, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.dir.OwnerFor(w.Ctx, c.actor, a.ID)
			if c.direct {
				if err != nil || got.ID != a.ID {
					t.Fatalf("OwnerFor = %v, %v", got, err)
				}
			} else {
				wantCode(t, err, models.CodeNotFound, "")
			}
			visible, err := w.dir.VisibleOwnerIDs(w.Ctx, c.actor, []uuid.UUID{a.ID, b.ID})
			must(t, err)
			if visible[a.ID] != c.direct {
				t.Errorf("VisibleOwnerIDs = %v, want %v", visible[a.ID], c.direct)
			}
			if got := directory.SeesCustomer(c.actor, a.ID); got != c.record {
				t.Errorf("SeesCustomer = %v, want %v", got, c.record)
			}
			if got := directory.FindsCustomers(c.actor); got != c.search {
				t.Errorf("FindsCustomers = %v, want %v", got, c.search)
			}
			found, _, err := w.dir.SearchOwners(w.Ctx, c.actor, "扫查甲", models.Page{First: 10})
			if !c.search {
				wantCode(t, err, models.CodeForbidden, "")
				return
			}
			must(t, err)
			if byName := len(found) == 1 && found[0].ID == a.ID; byName != c.byName {
				t.Errorf("search by name found A = %v, want %v", byName, c.byName)
			}
			// An exact phone finds a walk-in anywhere, for whoever may search.
			found, _, err = w.dir.SearchOwners(w.Ctx, c.actor, a.Phone, models.Page{First: 10})
			must(t, err)
			if len(found) != 1 || found[0].ID != a.ID {
				t.Errorf("search by phone = %v", found)
			}
		})
	}
	if directory.SeesCustomer(nil, a.ID) || directory.FindsCustomers(nil) {
		t.Error("an anonymous caller sees or finds customers")
	}
	_, err := w.dir.OwnerFor(w.Ctx, nil, a.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")
}

// A page of each owner's cars comes in one statement with each owner's
// count, also for a page past the end; a key no page can answer is refused
// alone, the others of its batch are read.
func TestVehiclePages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.Owner(11, "甲", w.SZ)
	b := w.Owner(12, "乙", w.GZ)
	c := w.Owner(13, "丙", nil)
	a1, a2, a3 := w.Car(a, 11, w.SZ), w.Car(a, 12, w.GZ), w.Car(a, 13, nil)
	b1 := w.Car(b, 14, nil)

	ka := models.ListPage{List: a.ID, First: 2}
	kb := models.ListPage{List: b.ID, First: 2}
	kc := models.ListPage{List: c.ID, First: 2}
	kend := models.ListPage{List: b.ID, First: 2, After: models.Cursor{ID: b1.ID}}
	kbad := models.ListPage{List: a.ID, First: 2, After: models.Cursor{At: time.Now(), ID: a1.ID}}
	kbig := models.ListPage{List: c.ID, First: 101}
	var got map[models.ListPage]models.Paged[*models.Vehicle]
	var err error
	n := w.statements(func() { got, err = w.dir.VehiclePages(w.Ctx, []models.ListPage{ka, kb, kc, kbad, kbig}) })
	must(t, err)
	if n != 1 {
		t.Errorf("VehiclePages ran %d statements; want 1", n)
	}
	if p := got[ka]; len(p.Rows) != 2 || p.Rows[0].ID != a1.ID || p.Rows[1].ID != a2.ID || !p.HasNext || p.Total != 3 || p.Err != nil {
		t.Errorf("a's first page %+v", p)
	}
	if p := got[kb]; len(p.Rows) != 1 || p.Rows[0].ID != b1.ID || p.HasNext || p.Total != 1 {
		t.Errorf("b's page %+v", p)
	}
	if p := got[kc]; len(p.Rows) != 0 || p.Rows == nil || p.HasNext || p.Total != 0 {
		t.Errorf("c's page %+v", p)
	}
	for _, k := range []models.ListPage{kbad, kbig} {
		if e, ok := models.AsError(got[k].Err); !ok || e.Code != models.CodeInvalidArgument {
			t.Errorf("%+v: %+v", k, got[k])
		}
	}

	ka2 := models.ListPage{List: a.ID, First: 2, After: models.Cursor{ID: a2.ID}}
	got, err = w.dir.VehiclePages(w.Ctx, []models.ListPage{ka2, kend})
	must(t, err)
	if p := got[ka2]; len(p.Rows) != 1 || p.Rows[0].ID != a3.ID || p.HasNext || p.Total != 3 {
		t.Errorf("a's second page %+v", p)
	}
	if p := got[kend]; len(p.Rows) != 0 || p.HasNext || p.Total != 1 {
		t.Errorf("b's page past the end %+v", p)
	}
}

// The signed-in read: the owner, the deletion mark and the home store with
// its week, in one statement; an owner without a home store has none.
func TestSignedInOwner(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Every column set, so that comparing with GORM's reads below shows
	// one SignedInOwner does not scan.
	birthday, gender, openID, unionID, consentAt := models.DateOf(time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)), "FEMALE", "o-9901", "u-9901", time.Now().Add(-time.Hour)
	o := &models.Owner{ID: models.NewID(), Phone: "+8613900009901", Name: "home", HomeStoreID: &w.SZ.ID, Birthday: &birthday, Gender: &gender,
		WeChatOpenID: &openID, WeChatUnionID: &unionID, MarketingConsent: true, MarketingConsentAt: &consentAt,
		CreatedAt: time.Now().Add(-3 * time.Hour), UpdatedAt: time.Now().Add(-2 * time.Hour)} // apart, so that swapping them shows
	bare := &models.Owner{ID: models.NewID(), Phone: "+8613900009902", Name: "bare"}
	must(t, w.DB.Conn(w.Ctx).Create(o).Error)
	must(t, w.DB.Conn(w.Ctx).Create(bare).Error)
	lat, lng := 22.54, 114.06
	must(t, w.DB.Conn(w.Ctx).Model(&models.Store{}).Where("id = ?", w.SZ.ID).Updates(map[string]any{"latitude": lat, "longitude": lng, "address": "深南大道 1 号", "phone": "+86755000001"}).Error)
	var in directory.SignedIn
	var err error
	n := w.statements(func() { in, err = w.dir.SignedInOwner(w.Ctx, o.ID) })
	must(t, err)
	if n != 1 || in.Owner == nil || in.Owner.ID != o.ID || in.Deleted || in.HomeStore == nil || in.HomeStore.ID != w.SZ.ID {
		t.Fatalf("%d statements, %+v", n, in)
	}
	checkHours(t, in.HomeStore)
	// The hours come aggregated in the owner's row: the same week as the
	// store's own read gives, day by day.
	stores, err := w.dir.StoresByIDs(w.Ctx, []uuid.UUID{w.SZ.ID})
	must(t, err)
	if len(stores) != 1 || !reflect.DeepEqual(stores[0], in.HomeStore) {
		t.Fatalf("home store %+v, the store's own read %+v", in.HomeStore, stores)
	}
	var read models.Owner
	must(t, w.DB.Conn(w.Ctx).First(&read, "id = ?", o.ID).Error)
	noZeroField(t, read)
	if read.CreatedAt.Equal(read.UpdatedAt) {
		t.Fatal("the fixture's owner was created and updated at the same time")
	}
	noZeroField(t, *stores[0])
	if !reflect.DeepEqual(&read, in.Owner) {
		t.Fatalf("owner %+v, GORM's read %+v", in.Owner, read)
	}
	in, err = w.dir.SignedInOwner(w.Ctx, bare.ID)
	must(t, err)
	if in.Owner == nil || in.HomeStore != nil || in.Deleted {
		t.Fatalf("owner without home store: %+v", in)
	}
	must(t, w.dir.MarkOwnerDeleted(w.Ctx, bare.ID, time.Now()))
	if in, err = w.dir.SignedInOwner(w.Ctx, bare.ID); err != nil || !in.Deleted {
		t.Fatalf("deleted owner: %+v %v", in, err)
	}
	if in, err = w.dir.SignedInOwner(w.Ctx, models.NewID()); err != nil || in.Owner != nil {
		t.Fatalf("unknown owner: %+v %v", in, err)
	}
}

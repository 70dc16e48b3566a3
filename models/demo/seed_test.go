package demo_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The counts the README documents.
const (
	wantStores   = 2
	wantStaff    = 17 // 8 per store + admin
	wantOwners   = 26
	wantVehicles = 35
)

func count(t *testing.T, db *models.DB, model any) int {
	t.Helper()
	var n int64
	if err := db.Conn(context.Background()).Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	sum, err := demo.Seed(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stores != wantStores || sum.Staff != wantStaff || sum.Owners != wantOwners || sum.Vehicles != wantVehicles ||
		sum.DemoOwnerPhone != demo.DemoOwnerPhone || len(sum.StaffUsernames) != wantStaff {
		t.Fatalf("summary = %+v", sum)
	}
	for _, u := range []string{"advisor.sz01", "foreman.gz01", "technician1.sz01", "technician2.gz01", "crm.sz01", "events.gz01", "cashier.sz01", "manager.gz01", "admin"} {
		if !slices.Contains(sum.StaffUsernames, u) {
			t.Errorf("no staff %s in %v", u, sum.StaffUsernames)
		}
	}
	if got := []int{count(t, db, &models.Store{}), count(t, db, &models.Staff{}), count(t, db, &models.Owner{}), count(t, db, &models.Vehicle{}), count(t, db, &models.StoreHours{})}; !slices.Equal(got, []int{wantStores, wantStaff, wantOwners, wantVehicles, 7 * wantStores}) {
		t.Fatalf("rows = %v", got)
	}

	t.Run("stores", func(t *testing.T) {
		stores, _, err := (&directory.Service{DB: db}).ListStores(ctx, models.Page{First: 10})
		if err != nil {
			t.Fatal(err)
		}
		cities := map[string]bool{}
		for _, s := range stores {
			cities[s.City] = true
			if len(s.Hours) != 7 || s.Hours[0].Opens != "09:00" || s.Hours[1].Opens != "08:30" || s.SlotMinutes != 60 || s.Address == "" || s.Phone == "" {
				t.Errorf("store %s = %+v", s.Code, s)
			}
		}
		if len(cities) != 2 || stores[0].Code != "SZ01" || stores[1].Code != "GZ01" {
			t.Errorf("stores = %v, %v in cities %v", stores[0].Code, stores[1].Code, cities)
		}
	})

	t.Run("staff", func(t *testing.T) {
		var staff []models.Staff
		if err := db.Conn(ctx).Preload("Roles").Preload("Stores").Find(&staff).Error; err != nil {
			t.Fatal(err)
		}
		roles := map[string]int{}
		for _, s := range staff {
			if !s.Active || len(s.Roles) != 1 || s.Name == "" {
				t.Errorf("staff %s = %+v", s.Username, s)
				continue
			}
			role := s.Roles[0].Role
			roles[role]++
			if role == string(auth.RoleGroupAdmin) {
				if s.Username != "admin" || len(s.Stores) != 2 {
					t.Errorf("admin = %+v", s)
				}
			} else if len(s.Stores) != 1 || !strings.HasPrefix(s.Username, strings.ToLower(role)) {
				t.Errorf("staff %s (%s) in %d stores", s.Username, role, len(s.Stores))
			}
		}
		for _, r := range auth.AllRoles {
			want := 2
			switch r {
			case auth.RoleTechnician:
				want = 4
			case auth.RoleGroupAdmin:
				want = 1
			}
			if roles[string(r)] != want {
				t.Errorf("%d staff with role %s; want %d", roles[string(r)], r, want)
			}
		}
		// One password check is enough to show the hashes use the password.
		if !auth.CheckPassword(staff[0].PasswordHash, demo.DefaultPassword) {
			t.Errorf("staff %s does not accept the default password", staff[0].Username)
		}
	})

	t.Run("owners and vehicles", func(t *testing.T) {
		var owners []*models.Owner
		if err := db.Conn(ctx).Order("phone").Find(&owners).Error; err != nil {
			t.Fatal(err)
		}
		ids := make([]uuid.UUID, len(owners))
		for i, o := range owners {
			ids[i] = o.ID
		}
		byOwner := vehiclesOf(t, db, ids...)
		homes := map[uuid.UUID]int{}
		var soon int
		today := testdb.Today()
		for i, o := range owners {
			if p, err := validate.NormalizePhone(o.Phone); err != nil || p != o.Phone {
				t.Errorf("owner %s phone %s: %v", o.Name, o.Phone, err)
			}
			if want := "+86138000000"; !strings.HasPrefix(o.Phone, want) || o.Phone[len(o.Phone)-2:] != twoDigits(i+1) {
				t.Errorf("owner %d phone %s", i+1, o.Phone)
			}
			if o.Name == "" || o.Birthday == nil || o.Gender == nil || o.HomeStoreID == nil {
				t.Errorf("owner %s incomplete: %+v", o.Phone, o)
				continue
			}
			homes[*o.HomeStoreID]++
			vs := byOwner[o.ID]
			if len(vs) < 1 || len(vs) > 3 {
				t.Errorf("owner %s has %d vehicles", o.Name, len(vs))
			}
			for _, v := range vs {
				if got, err := validate.NormalizeVIN(v.VIN); err != nil || got != v.VIN {
					t.Errorf("vehicle VIN %s: %v", v.VIN, err)
				}
				if v.Plate == nil {
					t.Errorf("vehicle %s has no plate", v.VIN)
					continue
				}
				if got, err := validate.NormalizePlate(*v.Plate); err != nil || got != *v.Plate {
					t.Errorf("vehicle plate %s: %v", *v.Plate, err)
				}
				if v.PurchaseDate == nil || v.WarrantyEndDate == nil || *v.WarrantyEndDate != v.PurchaseDate.AddDate(3, 0, 0) ||
					v.WarrantyEndKm == nil || *v.WarrantyEndKm != 100000 || v.InsuranceExpiry == nil || v.InspectionDue == nil ||
					v.MileageReadAt == nil || v.SellingStoreID == nil || v.MileageKm <= 0 {
					t.Errorf("vehicle %s incomplete: %+v", v.VIN, v)
					continue
				}
				if v.PurchaseDate.Year != v.ModelYear {
					t.Errorf("vehicle %s: model year %d bought %s", v.VIN, v.ModelYear, v.PurchaseDate)
				}
				if !v.InsuranceExpiry.Before(today) && v.InsuranceExpiry.Before(today.AddDate(0, 0, 61)) {
					soon++
				}
			}
		}
		if len(homes) != 2 {
			t.Errorf("home stores %v; want both stores", homes)
		}
		for _, n := range homes {
			if n < 10 {
				t.Errorf("home stores %v; want them split", homes)
			}
		}
		if soon < 3 {
			t.Errorf("%d vehicles' insurance expires within 60 days; want several", soon)
		}
		demoOwner := owners[0]
		if demoOwner.Phone != demo.DemoOwnerPhone || demoOwner.Name != "张伟" || len(byOwner[demoOwner.ID]) != 2 {
			t.Errorf("demo owner = %+v with %d vehicles", demoOwner, len(byOwner[demoOwner.ID]))
		}
	})

	t.Run("plates match the selling store's city", func(t *testing.T) {
		var rows []struct {
			Plate string
			Code  string
		}
		err := db.Conn(ctx).Table("vehicles").Select("vehicles.plate, stores.code").
			Joins("JOIN stores ON stores.id = vehicles.selling_store_id").Scan(&rows).Error
		if err != nil {
			t.Fatal(err)
		}
		nev := 0
		for _, r := range rows {
			want := map[string]string{"SZ01": "粤B", "GZ01": "粤A"}[r.Code]
			if !strings.HasPrefix(r.Plate, want) {
				t.Errorf("plate %s sold by %s", r.Plate, r.Code)
			}
			if len([]rune(r.Plate)) == 8 {
				nev++
			}
		}
		if len(rows) != wantVehicles || nev < 3 {
			t.Errorf("%d vehicles, %d new-energy plates", len(rows), nev)
		}
	})

	t.Run("second seed changes nothing", func(t *testing.T) {
		_, err := demo.Seed(ctx, db, "other")
		if !errors.Is(err, demo.ErrNotEmpty) {
			t.Fatalf("second Seed = %v; want ErrNotEmpty", err)
		}
		if got := []int{count(t, db, &models.Store{}), count(t, db, &models.Staff{}), count(t, db, &models.Owner{}), count(t, db, &models.Vehicle{})}; !slices.Equal(got, []int{wantStores, wantStaff, wantOwners, wantVehicles}) {
			t.Fatalf("rows after second Seed = %v", got)
		}
	})
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func TestSeedRefusesAnyStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	s := &models.Store{ID: models.NewID(), Code: "X1", Name: "别家", City: "佛山", Timezone: "Asia/Shanghai", ServiceBays: 1, SlotMinutes: 60}
	if err := db.Conn(ctx).Omit("Hours").Create(s).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, db, ""); !errors.Is(err, demo.ErrNotEmpty) {
		t.Fatalf("Seed = %v; want ErrNotEmpty", err)
	}
	if n := count(t, db, &models.Owner{}); n != 0 {
		t.Fatalf("%d owners written", n)
	}
}

// The demo credentials the README names work with the domain operations.
func TestSeedDemoOwnerCanBeFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	if _, err := demo.Seed(ctx, db, "pw"); err != nil {
		t.Fatal(err)
	}
	var admin models.Staff
	if err := db.Conn(ctx).Where("username = ?", "admin").Take(&admin).Error; err != nil {
		t.Fatal(err)
	}
	p := &auth.Principal{Kind: auth.KindStaff, ID: admin.ID, Roles: []auth.Role{auth.RoleGroupAdmin}}
	got, _, err := (&directory.Service{DB: db}).SearchOwners(ctx, p, "138 0000 0001", models.Page{First: 5})
	if err != nil || len(got) != 1 || got[0].Name != "张伟" {
		t.Fatalf("SearchOwners(demo phone) = %v, %v", got, err)
	}
	if !auth.CheckPassword(admin.PasswordHash, "pw") {
		t.Fatal("admin does not accept the seed password")
	}
	got, _, err = (&directory.Service{DB: db}).SearchOwners(ctx, p, "张", models.Page{First: 5})
	if err != nil || len(got) != 2 {
		t.Fatalf("SearchOwners(张) = %d owners, %v; want 张伟 and 张磊", len(got), err)
	}
}

// The demo workshop: today both stores have an order in every status, and
// every car has a delivered, settled service history.
func TestSeedWorkshop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	start := time.Now()
	sum, err := demo.Seed(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Seed took %v on %s (%d repair orders, %d statements)", time.Since(start), db.Dialect, sum.RepairOrders, db.Statements())
	if n := count(t, db, &workshop.RepairOrder{}); n != sum.RepairOrders || n < wantVehicles+20 {
		t.Fatalf("%d repair orders, summary says %d", n, sum.RepairOrders)
	}

	var stores []*models.Store
	if err := db.Conn(ctx).Order("code").Find(&stores).Error; err != nil {
		t.Fatal(err)
	}
	var admin models.Staff
	if err := db.Conn(ctx).Where("username = ?", demo.AdminUsername).Take(&admin).Error; err != nil {
		t.Fatal(err)
	}
	adminP := &auth.Principal{Kind: auth.KindStaff, ID: admin.ID, Roles: []auth.Role{auth.RoleGroupAdmin}}
	svc := &workshop.Service{DB: db}
	t.Run("every status at both stores", func(t *testing.T) {
		for _, s := range stores {
			var statuses []workshop.Status
			if err := db.Conn(ctx).Model(&workshop.RepairOrder{}).Distinct("status").
				Where("store_id = ? AND (status NOT IN ? OR created_at >= ?)", s.ID, []workshop.Status{workshop.Delivered, workshop.Cancelled}, time.Now().Add(-24*time.Hour)).
				Pluck("status", &statuses).Error; err != nil {
				t.Fatal(err)
			}
			for _, st := range workshop.Statuses {
				if !slices.Contains(statuses, st) {
					t.Errorf("store %s has no order in %s today (has %v)", s.Code, st, statuses)
				}
			}
			b, err := svc.Board(ctx, adminP, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range b.Columns {
				if len(col.Cards) == 0 {
					t.Errorf("store %s board column %s is empty", s.Code, col.Status)
				}
				for _, c := range col.Cards {
					if !strings.Contains(c.MaskedPlate, "*") || len([]rune(c.OwnerSurname)) != 1 || c.AdvisorName == "" {
						t.Errorf("card %+v", c)
					}
				}
			}
			if b.Version < 10 {
				t.Errorf("store %s board version %d", s.Code, b.Version)
			}
		}
	})

	t.Run("demo owner's first car awaits approval", func(t *testing.T) {
		var owner models.Owner
		if err := db.Conn(ctx).Where("phone = ?", demo.DemoOwnerPhone).Take(&owner).Error; err != nil {
			t.Fatal(err)
		}
		vs := vehiclesOf(t, db, owner.ID)
		first := vs[owner.ID][0]
		active, err := svc.ActiveOrdersByVehicleIDs(ctx, []uuid.UUID{first.ID})
		if err != nil {
			t.Fatal(err)
		}
		o := active[first.ID]
		if o == nil || o.Status != workshop.AwaitingApproval || o.OwnerID != owner.ID {
			t.Fatalf("active order of %s = %+v", *first.Plate, o)
		}
		items, err := svc.ItemsByOrderIDs(ctx, []uuid.UUID{o.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(items[o.ID], func(it *workshop.Item) bool { return it.Approval == workshop.Pending && it.SeenAt == nil }) {
			t.Errorf("no unseen PENDING item on %s", o.Number)
		}
		n, err := (&inbox.Service{DB: db}).UnreadNotificationCount(ctx, &auth.Principal{Kind: auth.KindOwner, ID: owner.ID}, owner.ID)
		if err != nil || n != 1 {
			t.Errorf("demo owner has %d unread notifications (%v); want the approval request", n, err)
		}
	})

	t.Run("every car has a settled history", func(t *testing.T) {
		var vehicles []*models.Vehicle
		if err := db.Conn(ctx).Find(&vehicles).Error; err != nil {
			t.Fatal(err)
		}
		ids := make([]uuid.UUID, len(vehicles))
		keys := make([]workshop.HistoryKey, len(vehicles))
		for i, v := range vehicles {
			ids[i] = v.ID
			keys[i] = workshop.HistoryKey{VehicleID: v.ID, First: 10}
		}
		hist, err := svc.ServiceHistory(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := svc.RecommendationsByVehicleIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		withRecs := 0
		local := start.In(models.ChinaTime)
		midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
		for i, v := range vehicles {
			page := hist[keys[i]]
			past := 0
			for j, o := range page.Orders {
				if o.SettledAt == nil || o.DeliveredAt == nil || o.NextServiceDate == nil || o.NextServiceKm == nil || o.TotalFen <= 0 {
					t.Errorf("%s history order %s = %+v", *v.Plate, o.Number, o)
				}
				if j > 0 && o.MileageIn >= page.Orders[j-1].MileageIn {
					t.Errorf("%s: mileage does not increase over visits", *v.Plate)
				}
				if o.MileageIn > v.MileageKm {
					t.Errorf("%s: visit at %d km above the car's reading %d", *v.Plate, o.MileageIn, v.MileageKm)
				}
				if o.CreatedAt.Before(midnight) {
					past++
				}
			}
			if past < 1 || past > 3 || page.Total != len(page.Orders) {
				t.Errorf("%s has %d past services (page %d of %d)", *v.Plate, past, len(page.Orders), page.Total)
			}
			if len(recs[v.ID]) > 0 {
				withRecs++
			}
		}
		if withRecs < 5 {
			t.Errorf("%d cars have recommendations; want several", withRecs)
		}
	})
}

// vehiclesOf reads the owners' vehicles through the directory's paged read,
// each owner's in creation order.
func vehiclesOf(t *testing.T, db *models.DB, owners ...uuid.UUID) map[uuid.UUID][]*models.Vehicle {
	t.Helper()
	keys := make([]models.ListPage, len(owners))
	for i, id := range owners {
		keys[i] = models.ListPage{List: id, First: models.MaxPageSize}
	}
	pages, err := (&directory.Service{DB: db}).VehiclePages(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[uuid.UUID][]*models.Vehicle, len(owners))
	for _, k := range keys {
		if err := pages[k].Err; err != nil {
			t.Fatal(err)
		}
		out[k.List] = pages[k].Rows
	}
	return out
}

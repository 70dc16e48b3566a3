package directory_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

func TestRegisterVehicle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := registration(1)
	r.OwnerPhone = "139 0000 0001"
	r.Plate = ptr("粤b·00001")
	r.VIN = strings.ToLower(r.VIN)
	r.OwnerName = "  张伟 "
	v, o, err := w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, r)
	must(t, err)
	if o.Phone != "+8613900000001" || o.Name != "张伟" || o.HomeStoreID == nil || *o.HomeStoreID != w.SZ.ID {
		t.Fatalf("owner = %+v; want new owner, E.164 phone, home store SZ", o)
	}
	if v.OwnerID != o.ID || v.VIN != vin(1) || *v.Plate != "粤B00001" || *v.SellingStoreID != w.SZ.ID ||
		v.MileageKm != 12 || v.MileageReadAt == nil || v.WarrantyEndKm == nil || *v.WarrantyEndKm != 100000 {
		t.Fatalf("vehicle = %+v", v)
	}
	stored, err := w.dir.VehicleFor(w.Ctx, ownerPrincipal(o), v.ID)
	must(t, err)
	if stored.PurchaseDate.String() != today().String() || stored.InspectionDue.String() != today().AddDate(6, 0, 0).String() {
		t.Fatalf("stored vehicle dates = %v %v", stored.PurchaseDate, stored.InspectionDue)
	}

	// The same phone again: the existing owner, a second car.
	r2 := registration(2)
	r2.OwnerPhone = "+86 139 0000 0001"
	r2.OwnerName = "别的名字"
	r2.Plate = nil
	v2, o2, err := w.dir.RegisterVehicle(w.Ctx, w.SZManager, r2)
	must(t, err)
	if o2.ID != o.ID || o2.Name != "张伟" || v2.Plate != nil {
		t.Fatalf("second registration: owner %+v vehicle plate %v", o2, v2.Plate)
	}
	if n := w.Count(&models.Owner{}); n != 1 {
		t.Fatalf("%d owners; want 1", n)
	}

	// An owner who signed in by SMS (no name, no home store) gets both.
	signedIn := w.Owner(3, "", nil)
	r3 := registration(3)
	r3.SellingStoreID = &w.GZ.ID
	_, o3, err := w.dir.RegisterVehicle(w.Ctx, w.Admin, r3)
	must(t, err)
	if o3.ID != signedIn.ID || o3.Name != "车主3" || *o3.HomeStoreID != w.GZ.ID {
		t.Fatalf("existing owner = %+v", o3)
	}
	// A staff member of several stores picks one explicitly.
	multi := w.Staff("advisor.both", []uuid.UUID{w.SZ.ID, w.GZ.ID}, auth.RoleAdvisor)
	r4 := registration(4)
	r4.SellingStoreID = &w.GZ.ID
	v4, _, err := w.dir.RegisterVehicle(w.Ctx, multi, r4)
	must(t, err)
	if *v4.SellingStoreID != w.GZ.ID {
		t.Fatalf("selling store = %v", v4.SellingStoreID)
	}
}

func TestRegisterVehicleRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, _, err := w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, registration(1))
	must(t, err)
	owners, vehicles := w.Count(&models.Owner{}), w.Count(&models.Vehicle{})

	badVIN := []rune(vin(5))
	badVIN[8] = map[bool]rune{true: '1', false: '2'}[badVIN[8] != '1']
	nextYear := today().Year + 1
	cases := []struct {
		name  string
		edit  func(r *directory.VehicleRegistration)
		code  models.Code
		field string
	}{
		{"landline", func(r *directory.VehicleRegistration) { r.OwnerPhone = "0755-88886666" }, models.CodeInvalidPhone, "ownerPhone"},
		{"short phone", func(r *directory.VehicleRegistration) { r.OwnerPhone = "1390000" }, models.CodeInvalidPhone, "ownerPhone"},
		{"VIN check digit", func(r *directory.VehicleRegistration) { r.VIN = string(badVIN) }, models.CodeInvalidVIN, "vin"},
		{"VIN with O", func(r *directory.VehicleRegistration) { r.VIN = "LVGBE4AK0RGO00005" }, models.CodeInvalidVIN, "vin"},
		{"VIN 16 chars", func(r *directory.VehicleRegistration) { r.VIN = vin(5)[:16] }, models.CodeInvalidVIN, "vin"},
		{"plate 6 chars", func(r *directory.VehicleRegistration) { r.Plate = ptr("粤B1234") }, models.CodeInvalidPlate, "plate"},
		{"plate province", func(r *directory.VehicleRegistration) { r.Plate = ptr("港B12345") }, models.CodeInvalidPlate, "plate"},
		{"NEV plate serial", func(r *directory.VehicleRegistration) { r.Plate = ptr("粤BL12345") }, models.CodeInvalidPlate, "plate"},
		{"owner name too long", func(r *directory.VehicleRegistration) { r.OwnerName = strings.Repeat("名", 41) }, models.CodeInvalidArgument, "ownerName"},
		{"brand empty", func(r *directory.VehicleRegistration) { r.Brand = " " }, models.CodeInvalidArgument, "brand"},
		{"model empty", func(r *directory.VehicleRegistration) { r.Model = "" }, models.CodeInvalidArgument, "model"},
		{"model year 1979", func(r *directory.VehicleRegistration) { r.ModelYear = 1979; r.PurchaseDate = nil }, models.CodeInvalidArgument, "modelYear"},
		{"model year after next", func(r *directory.VehicleRegistration) { r.ModelYear = nextYear + 1 }, models.CodeInvalidArgument, "modelYear"},
		{"colour too long", func(r *directory.VehicleRegistration) { r.Colour = strings.Repeat("白", 21) }, models.CodeInvalidArgument, "colour"},
		{"purchase tomorrow", func(r *directory.VehicleRegistration) { r.PurchaseDate = ptr(today().AddDate(0, 0, 1)) }, models.CodeInvalidArgument, "purchaseDate"},
		{"purchase before model year", func(r *directory.VehicleRegistration) { r.PurchaseDate = ptr(today().AddDate(-3, 0, 0)) }, models.CodeInvalidArgument, "purchaseDate"},
		{"warranty ends before purchase", func(r *directory.VehicleRegistration) { r.WarrantyEndDate = ptr(today().AddDate(0, 0, -1)) }, models.CodeInvalidArgument, "warrantyEndDate"},
		{"warranty km negative", func(r *directory.VehicleRegistration) { r.WarrantyEndKm = ptr(-1) }, models.CodeInvalidArgument, "warrantyEndKm"},
		{"insurance in 10 years", func(r *directory.VehicleRegistration) { r.InsuranceExpiry = ptr(today().AddDate(10, 0, 0)) }, models.CodeInvalidArgument, "insuranceExpiry"},
		{"inspection in 1970", func(r *directory.VehicleRegistration) { r.InspectionDue = date("1970-01-01") }, models.CodeInvalidArgument, "inspectionDue"},
		{"mileage negative", func(r *directory.VehicleRegistration) { r.MileageKm = -1 }, models.CodeInvalidArgument, "mileageKm"},
		{"mileage absurd", func(r *directory.VehicleRegistration) { r.MileageKm = 9_000_000 }, models.CodeInvalidArgument, "mileageKm"},
		{"VIN taken", func(r *directory.VehicleRegistration) { r.VIN = vin(1) }, models.CodeVINAlreadyRegistered, "vin"},
		{"VIN taken, typed differently", func(r *directory.VehicleRegistration) { r.VIN = " " + strings.ToLower(vin(1)) }, models.CodeVINAlreadyRegistered, "vin"},
		{"plate taken", func(r *directory.VehicleRegistration) { r.Plate = ptr("粤B·00001") }, models.CodePlateAlreadyRegistered, "plate"},
		{"VIN and plate taken", func(r *directory.VehicleRegistration) { r.VIN = vin(1); r.Plate = ptr(plate(1)) }, models.CodeVINAlreadyRegistered, "vin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := registration(5) // a new phone: a refusal must not create its owner
			c.edit(&r)
			v, o, err := w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, r)
			if v != nil || o != nil {
				t.Errorf("refusal returned vehicle %v owner %v", v, o)
			}
			wantCode(t, err, c.code, c.field)
			var e *models.Error
			if errors.As(err, &e) && !e.Refusal() {
				t.Errorf("%s is not a refusal (userError)", e.Code)
			}
		})
	}
	if o, v := w.Count(&models.Owner{}), w.Count(&models.Vehicle{}); o != owners || v != vehicles {
		t.Fatalf("refusals wrote rows: %d owners, %d vehicles; want %d, %d", o, v, owners, vehicles)
	}

	// Model year next year is fine, with a purchase this year.
	r := registration(6)
	r.ModelYear = nextYear
	_, _, err = w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, r)
	must(t, err)
}

func TestRegisterVehicleAuthorization(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	owner := w.Owner(50, "车主", w.SZ)
	multi := w.Staff("advisor.both", []uuid.UUID{w.SZ.ID, w.GZ.ID}, auth.RoleAdvisor)
	storeless := w.Staff("advisor.none", nil, auth.RoleAdvisor)
	cases := []struct {
		name  string
		actor *auth.Principal
		store *uuid.UUID
		code  models.Code
		field string
	}{
		{"technician", w.SZTech, nil, models.CodeForbidden, ""},
		{"foreman", w.SZForeman, nil, models.CodeForbidden, ""},
		{"CRM", w.SZCRM, nil, models.CodeForbidden, ""},
		{"owner", ownerPrincipal(owner), nil, models.CodeForbidden, ""},
		{"nobody", nil, nil, models.CodeUnauthenticated, ""},
		{"advisor at another store", w.SZAdvisor, &w.GZ.ID, models.CodeForbidden, ""},
		{"manager at another store", w.GZManager, &w.SZ.ID, models.CodeForbidden, ""},
		{"advisor of several stores, none chosen", multi, nil, models.CodeInvalidArgument, "sellingStoreId"},
		{"advisor of no store", storeless, nil, models.CodeInvalidArgument, "sellingStoreId"},
		{"admin, no such store", w.Admin, ptr(uuid.New()), models.CodeInvalidArgument, "sellingStoreId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := registration(1)
			r.SellingStoreID = c.store
			_, _, err := w.dir.RegisterVehicle(w.Ctx, c.actor, r)
			wantCode(t, err, c.code, c.field)
		})
	}
	if n := w.Count(&models.Vehicle{}); n != 0 {
		t.Fatalf("%d vehicles written", n)
	}
}

// Twenty registrations for one new phone at once create one owner.
func TestRegisterVehicleConcurrentNewOwner(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{}) // released together, to collide
	owners := make([]uuid.UUID, n)
	for i := range n {
		wg.Go(func() {
			<-start
			r := registration(100 + i)
			r.OwnerPhone = phone(7)
			_, o, err := w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, r)
			errs[i] = err
			if o != nil {
				owners[i] = o.ID
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
		if owners[i] != owners[0] {
			t.Fatalf("registration %d got owner %v; want %v", i, owners[i], owners[0])
		}
	}
	if o, v := w.Count(&models.Owner{}), w.Count(&models.Vehicle{}); o != 1 || v != n {
		t.Fatalf("%d owners, %d vehicles; want 1, %d", o, v, n)
	}
}

// Ten registrations of one VIN at once: exactly one wins, the others are
// told the VIN is taken, and the losers' new owners are not written.
func TestRegisterVehicleConcurrentSameVIN(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{}) // released together, to collide
	for i := range n {
		wg.Go(func() {
			<-start
			r := registration(200 + i)
			r.VIN = vin(999)
			_, _, errs[i] = w.dir.RegisterVehicle(w.Ctx, w.SZAdvisor, r)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantCode(t, err, models.CodeVINAlreadyRegistered, "vin")
	}
	if wins != 1 {
		t.Fatalf("%d registrations succeeded; want exactly 1", wins)
	}
	if o, v := w.Count(&models.Owner{}), w.Count(&models.Vehicle{}); o != 1 || v != 1 {
		t.Fatalf("%d owners, %d vehicles; want 1, 1", o, v)
	}
}

func TestUpdateVehicle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.Owner(1, "张伟", w.SZ)
	v := w.Car(o, 1, w.SZ)
	other := w.Car(o, 2, w.SZ)
	purchase := date("2024-03-01")
	must(t, w.DB.Conn(w.Ctx).Model(v).Update("purchase_date", purchase).Error)

	got, err := w.dir.UpdateVehicle(w.Ctx, w.SZAdvisor, directory.VehicleChange{
		VehicleID: v.ID, Plate: ptr("粤b·a1234"), Colour: ptr(" 曜石黑 "), MileageKm: ptr(1500),
		WarrantyEndDate: date("2027-03-01"), WarrantyEndKm: ptr(100000),
		InsuranceExpiry: ptr(today().AddDate(0, 0, 30)), InspectionDue: ptr(today().AddDate(1, 0, 0)),
	})
	must(t, err)
	if *got.Plate != "粤BA1234" || got.Colour != "曜石黑" || got.MileageKm != 1500 || got.MileageReadAt == nil ||
		got.WarrantyEndDate.String() != "2027-03-01" || *got.WarrantyEndKm != 100000 {
		t.Fatalf("UpdateVehicle = %+v", got)
	}
	readAt := *got.MileageReadAt
	stored, err := w.dir.VehicleFor(w.Ctx, w.Admin, v.ID)
	must(t, err)
	if *stored.Plate != "粤BA1234" || stored.MileageKm != 1500 || !stored.MileageReadAt.Equal(readAt) ||
		stored.InsuranceExpiry.String() != today().AddDate(0, 0, 30).String() {
		t.Fatalf("stored = %+v", stored)
	}

	// The same reading again is a reading: it stamps the time.
	got, err = w.dir.UpdateVehicle(w.Ctx, w.SZForeman, directory.VehicleChange{VehicleID: v.ID, MileageKm: ptr(1500)})
	must(t, err)
	if got.MileageReadAt.Before(readAt) || *got.Plate != "粤BA1234" {
		t.Fatalf("same reading = %+v", got)
	}
	// A blank plate removes it.
	got, err = w.dir.UpdateVehicle(w.Ctx, w.SZManager, directory.VehicleChange{VehicleID: other.ID, Plate: ptr(" ")})
	must(t, err)
	if got.Plate != nil {
		t.Fatalf("plate = %v; want removed", *got.Plate)
	}

	refusals := []struct {
		name  string
		ch    directory.VehicleChange
		code  models.Code
		field string
	}{
		{"mileage decreased", directory.VehicleChange{MileageKm: ptr(1499)}, models.CodeMileageDecreased, "mileageKm"},
		{"mileage negative", directory.VehicleChange{MileageKm: ptr(-5)}, models.CodeInvalidArgument, "mileageKm"},
		{"bad plate", directory.VehicleChange{Plate: ptr("粤B12")}, models.CodeInvalidPlate, "plate"},
		{"plate taken", directory.VehicleChange{Plate: ptr(plate(99)), Colour: ptr("红")}, models.CodePlateAlreadyRegistered, "plate"},
		{"warranty before purchase", directory.VehicleChange{WarrantyEndDate: date("2024-02-28")}, models.CodeInvalidArgument, "warrantyEndDate"},
		{"warranty km negative", directory.VehicleChange{WarrantyEndKm: ptr(-1)}, models.CodeInvalidArgument, "warrantyEndKm"},
		{"colour too long", directory.VehicleChange{Colour: ptr(strings.Repeat("红", 21))}, models.CodeInvalidArgument, "colour"},
		{"insurance in 1979", directory.VehicleChange{InsuranceExpiry: date("1979-12-31")}, models.CodeInvalidArgument, "insuranceExpiry"},
		{"inspection in 50 years", directory.VehicleChange{InspectionDue: ptr(today().AddDate(50, 0, 0))}, models.CodeInvalidArgument, "inspectionDue"},
	}
	w.Car(w.Owner(99, "别人", w.SZ), 99, w.SZ) // holds plate(99)
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			r.ch.VehicleID = v.ID
			_, err := w.dir.UpdateVehicle(w.Ctx, w.SZAdvisor, r.ch)
			wantCode(t, err, r.code, r.field)
		})
	}
	stored, err = w.dir.VehicleFor(w.Ctx, w.Admin, v.ID)
	must(t, err)
	if *stored.Plate != "粤BA1234" || stored.MileageKm != 1500 || stored.Colour != "曜石黑" {
		t.Fatalf("refusals changed the vehicle: %+v", stored)
	}

	gzOnly := w.Car(w.Owner(3, "广州客户", w.GZ), 3, w.GZ)
	auths := []struct {
		name  string
		actor *auth.Principal
		id    uuid.UUID
		code  models.Code
	}{
		{"technician", w.SZTech, v.ID, models.CodeForbidden},
		{"CRM", w.SZCRM, v.ID, models.CodeForbidden},
		{"owner of the car", ownerPrincipal(o), v.ID, models.CodeForbidden},
		{"nobody", nil, v.ID, models.CodeUnauthenticated},
		{"foreman of another store", w.GZForeman, v.ID, models.CodeNotFound},
		{"advisor, car of another store", w.SZAdvisor, gzOnly.ID, models.CodeNotFound},
		{"no such vehicle", w.Admin, uuid.New(), models.CodeNotFound},
	}
	for _, a := range auths {
		t.Run(a.name, func(t *testing.T) {
			_, err := w.dir.UpdateVehicle(w.Ctx, a.actor, directory.VehicleChange{VehicleID: a.id, MileageKm: ptr(9999)})
			wantCode(t, err, a.code, "")
		})
	}
	if got, err := w.dir.UpdateVehicle(w.Ctx, w.GZManager, directory.VehicleChange{VehicleID: gzOnly.ID, MileageKm: ptr(2000)}); err != nil || got.MileageKm != 2000 {
		t.Fatalf("GZ manager on GZ car = %v, %v", got, err)
	}
}

// Concurrent readings never move the odometer backwards: each is checked
// against the last one under the row lock, so the highest reading remains.
func TestUpdateVehicleConcurrentMileage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	v := w.Car(w.Owner(1, "张伟", w.SZ), 1, w.SZ)
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{}) // released together, to collide
	for i := range n {
		wg.Go(func() {
			<-start
			km := 2000 + ((i*7)%n)*100 // a shuffled order of distinct readings
			_, errs[i] = w.dir.UpdateVehicle(w.Ctx, w.SZAdvisor, directory.VehicleChange{VehicleID: v.ID, MileageKm: ptr(km)})
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, models.ErrMileageDecreased) {
			t.Fatalf("unexpected error %v", err)
		}
	}
	got, err := w.dir.VehicleFor(w.Ctx, w.Admin, v.ID)
	must(t, err)
	if want := 2000 + (n-1)*100; got.MileageKm != want {
		t.Fatalf("mileage = %d; want the highest reading %d", got.MileageKm, want)
	}
}

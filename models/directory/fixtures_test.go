package directory_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// world is testdb's small dealer group, with the directory on its database.
type world struct {
	*testdb.World
	dir     *directory.Service
	queries atomic.Int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: testdb.NewWorld(t)}
	w.dir = &directory.Service{DB: w.DB}
	// Count statements, to check that batch loads do not grow with rows.
	cb := func(*gorm.DB) { w.queries.Add(1) }
	conn := w.DB.Conn(w.Ctx)
	must(t, conn.Callback().Query().After("gorm:query").Register("test:count_query", cb))
	must(t, conn.Callback().Row().After("gorm:row").Register("test:count_row", cb))
	return w
}

// statements runs fn and returns how many SELECT statements it ran.
func (w *world) statements(fn func()) int64 {
	before := w.queries.Load()
	fn()
	return w.queries.Load() - before
}

var (
	must           = testdb.Must
	date           = testdb.Day
	ownerPrincipal = testdb.OwnerPrincipal
	phone          = testdb.Phone
	plate          = testdb.Plate
	vin            = testdb.VIN
	wantCode       = testdb.WantCode
)

func ptr[T any](v T) *T { return &v }

func today() models.Date { return testdb.Today() }

// registration is a valid registration of car n for phone n.
func registration(n int) directory.VehicleRegistration {
	return directory.VehicleRegistration{
		OwnerPhone: phone(n), OwnerName: "车主" + fmt.Sprint(n), VIN: vin(n), Plate: ptr(plate(n)),
		Brand: "Toyota", Model: "Camry", ModelYear: today().Year, Colour: "珍珠白",
		PurchaseDate: ptr(today()), WarrantyEndDate: ptr(today().AddDate(3, 0, 0)), WarrantyEndKm: ptr(100000),
		InsuranceExpiry: ptr(today().AddDate(1, 0, 0)), InspectionDue: ptr(today().AddDate(6, 0, 0)), MileageKm: 12,
	}
}

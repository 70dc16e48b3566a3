package workshop_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// env is a seeded demo group (two stores, their staff, owners, cars and
// workshop orders) on a database of the dialect under test, with a workshop
// service on a clock the test moves. Tests work on customers of their own
// (env.customer), so most share one database; those that count statements,
// read a store's board version or number a day's orders get one of their
// own (isolatedEnv).
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *models.DB
	svc    *workshop.Service
	wallet *wallet.Service
	clock  *clock
	sz, gz *models.Store
	staff  map[string]*auth.Principal // by username: "advisor.sz01", "admin"
}

// customers numbers the customers tests add, unique across databases.
var customers atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

// newEnv is an env on the database the package's tests share.
func newEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.Shared(t, seedDemo)
	return envOn(t, db)
}

// isolatedEnv is an env on a database of its own.
func isolatedEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.Open(t)
	if _, err := demo.Seed(context.Background(), db, "pw"); err != nil {
		t.Fatal(err)
	}
	return envOn(t, db)
}

type clock = testdb.Clock

func envOn(t *testing.T, db *models.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: db, clock: testdb.NewClock(testdb.Now()), staff: map[string]*auth.Principal{}}
	e.wallet = &wallet.Service{DB: db, Clock: e.clock.Now}
	e.svc = &workshop.Service{DB: db, Clock: e.clock.Now, Wallet: e.wallet}
	// Whatever a test did, every membership account still adds up.
	t.Cleanup(func() { checkLedger(t, db) })
	var stores []*models.Store
	must(t, db.Conn(ctx).Find(&stores).Error)
	for _, s := range stores {
		switch s.Code {
		case "SZ01":
			e.sz = s
		case "GZ01":
			e.gz = s
		}
	}
	for name, p := range testdb.StaffPrincipals(t, db) {
		e.staff[name] = p
	}
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// who returns a staff principal by username.
func (e *env) who(username string) *auth.Principal {
	e.t.Helper()
	p := e.staff[username]
	if p == nil {
		e.t.Fatalf("no staff %s", username)
	}
	return p
}

// person adds a staff member with roles at stores; the username is made
// unique in the (shared) database, the env knows them by the one given.
func (e *env) person(username string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	e.t.Helper()
	p := testdb.AddStaff(e.t, e.db, username, stores, roles...)
	e.staff[username] = p
	return p
}

// customer adds an owner with one car that has never been to the workshop.
func (e *env) customer(name string) (*models.Owner, *models.Vehicle) {
	e.t.Helper()
	n := int(customers.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86139%08d", n), Name: name}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LFMAE4AK0RT%06d", n))
	must(e.t, err)
	plate := fmt.Sprintf("粤E%05d", n)
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: vin, Plate: &plate, Brand: "Toyota", Model: "Camry", ModelYear: 2024, MileageKm: 10000, SellingStoreID: &e.sz.ID}
	must(e.t, e.db.Conn(e.ctx).Create(v).Error)
	return o, v
}

func ownerOf(o *models.Owner) *auth.Principal {
	return &auth.Principal{Kind: auth.KindOwner, ID: o.ID}
}

var (
	oil   = workshop.ItemInput{Kind: workshop.Part, Code: "OIL-0W20", Description: "原厂全合成机油 0W-20", QuantityMilli: 4200, UnitPriceFen: 9800}
	labor = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-MNT", Description: "保养工时", QuantityMilli: 1000, UnitPriceFen: 18000}
	pads  = workshop.ItemInput{Kind: workshop.Part, Code: "BRK-PAD-F", Description: "前刹车片", QuantityMilli: 1000, UnitPriceFen: 68000}
	wiper = workshop.ItemInput{Kind: workshop.Part, Code: "WIPER", Description: "雨刮片", QuantityMilli: 2000, UnitPriceFen: 9800}
)

// open checks a car in at SZ01 with oil and labour agreed.
func (e *env) open(v *models.Vehicle, mod ...func(*workshop.OpenInput)) *workshop.RepairOrder {
	e.t.Helper()
	in := workshop.OpenInput{StoreID: e.sz.ID, Vehicle: *v.Plate, MileageIn: v.MileageKm + 100, Kind: workshop.Maintenance,
		Concern: "常规保养", Items: []workshop.ItemInput{oil, labor}}
	for _, m := range mod {
		m(&in)
	}
	o, err := e.svc.Open(e.ctx, e.who("advisor.sz01"), in)
	must(e.t, err)
	return o
}

// move moves an order as the SZ01 foreman, failing the test on error.
func (e *env) move(o *workshop.RepairOrder, to workshop.Status, note string) *workshop.RepairOrder {
	e.t.Helper()
	got, err := e.svc.Move(e.ctx, e.who("foreman.sz01"), o.ID, to, note, nil, "")
	must(e.t, err)
	return got
}

func (e *env) items(o *workshop.RepairOrder) []*workshop.Item {
	e.t.Helper()
	m, err := e.svc.ItemsByOrderIDs(e.ctx, []uuid.UUID{o.ID})
	must(e.t, err)
	return m[o.ID]
}

func (e *env) events(o *workshop.RepairOrder) []*workshop.Event {
	e.t.Helper()
	m, err := e.svc.EventsByOrderIDs(e.ctx, []uuid.UUID{o.ID})
	must(e.t, err)
	return m[o.ID]
}

// reload reads an order as the admin.
func (e *env) reload(o *workshop.RepairOrder) *workshop.RepairOrder {
	e.t.Helper()
	got, err := e.svc.OrderFor(e.ctx, e.who("admin"), o.ID)
	must(e.t, err)
	return got
}

// statements counts the SQL statements fn runs. Not for parallel use.
func (e *env) statements(fn func()) int64 {
	before := e.db.Statements()
	fn()
	return e.db.Statements() - before
}

var wantCode = testdb.WantCode

func ptr[T any](v T) *T { return &v }

// countRows counts rows of a model matching a condition.
func (e *env) countRows(model any, where string, args ...any) int64 {
	e.t.Helper()
	var n int64
	q := e.db.Conn(e.ctx).Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	must(e.t, q.Count(&n).Error)
	return n
}

// checkLedger fails the test unless every account's balance and points
// equal the sums of its ledger entries (and its points those of its lots).
func checkLedger(t testing.TB, db *models.DB) {
	t.Helper()
	bad, err := wallet.Audit(context.Background(), db)
	if err != nil {
		t.Errorf("audit: %v", err)
		return
	}
	for _, d := range bad {
		t.Errorf("ledger invariant broken: %+v", d)
	}
}

// seedDemo prepares the shared database with the demo data.
func seedDemo(db *models.DB) error {
	_, err := demo.Seed(context.Background(), db, "pw")
	return err
}

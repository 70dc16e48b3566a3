package roadside_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
)

// env is two stores of the test's own (A and B) with their staff, on the
// database the package's tests share, and a service on a clock the test
// moves. The stores have no coordinates (so that the nearest-store tests,
// on databases of their own, are not disturbed); requests name their
// store.
type env struct {
	t     testing.TB
	ctx   context.Context
	db    *models.DB
	svc   *roadside.Service
	clock *clock
	a, b  uuid.UUID
	staff map[string]*auth.Principal // "advisor", "crm", "manager", "technician", "foreman" at A; "advisor.b" at B; "admin"
}

var serial atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

// base is when every env's clock starts.
var base = time.Date(2031, 3, 3, 2, 0, 0, 0, time.UTC)

func newEnv(t testing.TB) *env {
	t.Helper()
	return envOn(t, testdb.Shared(t, nil))
}

func envOn(t testing.TB, db *models.DB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: db, clock: testdb.NewClock(base), staff: map[string]*auth.Principal{}}
	e.svc = &roadside.Service{DB: db, Clock: e.clock.Now}
	e.a = e.store(nil, nil)
	e.b = e.store(nil, nil)
	for _, r := range []auth.Role{auth.RoleAdvisor, auth.RoleCRM, auth.RoleManager, auth.RoleTechnician, auth.RoleForeman} {
		e.staff[string(toLower(r))] = e.person(string(toLower(r)), []uuid.UUID{e.a}, r)
	}
	e.staff["advisor.b"] = e.person("advisor.b", []uuid.UUID{e.b}, auth.RoleAdvisor)
	e.staff["admin"] = e.person("admin", nil, auth.RoleGroupAdmin)
	return e
}

func toLower(r auth.Role) string {
	b := []byte(r)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// store adds a store, with coordinates when given.
func (e *env) store(lat, lng *float64) uuid.UUID {
	e.t.Helper()
	n := serial.Add(1)
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("R%05d", n), Name: fmt.Sprintf("救援门店%d", n), City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60, Latitude: lat, Longitude: lng}
	must(e.t, e.db.Conn(e.ctx).Create(st).Error)
	return st.ID
}

// person adds a staff member with roles at stores.
func (e *env) person(name string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	e.t.Helper()
	return testdb.AddStaff(e.t, e.db, name, stores, roles...)
}

func (e *env) who(name string) *auth.Principal {
	e.t.Helper()
	p := e.staff[name]
	if p == nil {
		e.t.Fatalf("no staff %s", name)
	}
	return p
}

// customer is an owner with one car.
type customer struct {
	owner *models.Owner
	car   *models.Vehicle
	p     *auth.Principal
}

func (e *env) customer() *customer {
	e.t.Helper()
	n := int(serial.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", n), Name: fmt.Sprintf("车主%d", n)}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LFMAE4AK0RS%06d", n))
	must(e.t, err)
	plate := fmt.Sprintf("粤F%05d", n%100000)
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: vin, Plate: &plate, Brand: "Toyota", Model: "Camry", ModelYear: 2024, MileageKm: 10000}
	must(e.t, e.db.Conn(e.ctx).Create(v).Error)
	return &customer{owner: o, car: v, p: &auth.Principal{Kind: auth.KindOwner, ID: o.ID}}
}

// input is a request for the customer's car at store A, in Futian.
func (e *env) input(c *customer, mod ...func(*roadside.RequestInput)) roadside.RequestInput {
	in := roadside.RequestInput{
		VehicleID: c.car.ID, StoreID: &e.a, Latitude: 22.5431, Longitude: 114.0579,
		Address: "深圳市福田区深南大道与彩田路交叉口", Problem: roadside.Battery, Description: "早上打不着火",
	}
	for _, m := range mod {
		m(&in)
	}
	return in
}

// request asks for help for the customer's car at store A.
func (e *env) request(c *customer, mod ...func(*roadside.RequestInput)) *roadside.Request {
	e.t.Helper()
	r, err := e.svc.RequestAssistance(e.ctx, c.p, e.input(c, mod...))
	must(e.t, err)
	return r
}

// dispatchIn sends a partner's driver, due in 30 minutes.
func dispatchIn(id uuid.UUID) roadside.DispatchInput {
	return roadside.DispatchInput{RequestID: id, Name: "刘师傅", Phone: "139 0000 1111", ETAMinutes: 30}
}

// events reads a request's timeline.
func (e *env) events(id uuid.UUID) []*roadside.Event {
	e.t.Helper()
	m, err := e.svc.EventsByRequestIDs(e.ctx, []uuid.UUID{id})
	must(e.t, err)
	return m[id]
}

// inbox reads an owner's notifications about requests, oldest first.
func (e *env) inbox(ownerID uuid.UUID) []inbox.Notification {
	e.t.Helper()
	var ns []inbox.Notification
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ? AND kind LIKE ?", ownerID, "ASSISTANCE_%").Order("id").Find(&ns).Error)
	return ns
}

type clock = testdb.Clock

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var wantCode = testdb.WantCode

// page20 is the default first page, as models.NewPage makes it.
var page20 = models.Page{First: models.DefaultPageSize}

func ptr[T any](v T) *T { return &v }

package care_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// env is a store of the test's own, with its staff, on the seeded demo
// group the package's tests share, and a care service on a clock the test
// moves. Each env lives in an era of its own (90 days apart, from 2031), so
// the scheduled jobs, which look 30 days back from the time they are given,
// see only the env's orders and cars, and their counts are exact while
// other tests run.
type env struct {
	t     testing.TB
	ctx   context.Context
	db    *models.DB
	svc   *care.Service
	clock *clock
	base  time.Time
	store *models.Store
	// Staff of the store: "manager", "advisor", "crm", "technician", and a
	// CRM of another store "crm.other"; the demo group's "admin".
	staff map[string]*auth.Principal
}

var serial, eras atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := testdb.Shared(t, func(db *models.DB) error {
		_, err := demo.Seed(context.Background(), db, "pw")
		return err
	})
	return envOn(t, db)
}

// isolatedEnv is an env on an empty database of its own (no demo data: its
// complaints would have deadlines too), for tests of MarkMissedDeadlines,
// which marks every complaint's passed deadlines whatever its era.
func isolatedEnv(t testing.TB) *env {
	t.Helper()
	return envOn(t, testdb.Open(t))
}

func envOn(t testing.TB, db *models.DB) *env {
	t.Helper()
	base := time.Date(2031, 1, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, 90*int(eras.Add(1)))
	e := &env{t: t, ctx: context.Background(), db: db, clock: testdb.NewClock(base), base: base, staff: map[string]*auth.Principal{}}
	e.svc = &care.Service{DB: db, Clock: e.clock.Now}
	e.store = e.newStore()
	other := e.newStore()
	for _, role := range []auth.Role{auth.RoleManager, auth.RoleAdvisor, auth.RoleCRM, auth.RoleTechnician} {
		name := strings.ToLower(string(role))
		e.staff[name] = e.person(name, []uuid.UUID{e.store.ID}, role)
	}
	e.staff["crm.other"] = e.person("crmother", []uuid.UUID{other.ID}, auth.RoleCRM)
	e.staff["manager.other"] = e.person("mgrother", []uuid.UUID{other.ID}, auth.RoleManager)
	e.staff["admin"] = e.person("admin", nil, auth.RoleGroupAdmin)
	return e
}

func (e *env) newStore() *models.Store {
	n := serial.Add(1)
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("C%04d", n), Name: fmt.Sprintf("关怀门店%d", n), City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	must(e.t, e.db.Conn(e.ctx).Create(st).Error)
	return st
}

type clock = testdb.Clock

// advance moves the env's clock by d.
func (e *env) advance(d time.Duration) time.Time {
	e.clock.Set(e.clock.Now().Add(d))
	return e.clock.Now()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) who(name string) *auth.Principal {
	e.t.Helper()
	p := e.staff[name]
	if p == nil {
		e.t.Fatalf("no staff %s", name)
	}
	return p
}

func (e *env) person(name string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	e.t.Helper()
	return testdb.AddStaff(e.t, e.db, name, stores, roles...)
}

// customer is an owner with one car.
type customer struct {
	owner *models.Owner
	car   *models.Vehicle
	p     *auth.Principal
}

func (e *env) customer(mod ...func(*models.Owner, *models.Vehicle)) *customer {
	e.t.Helper()
	n := int(serial.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", n), Name: fmt.Sprintf("车主%d", n)}
	vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LFMAE4AK0RT%06d", n))
	must(e.t, err)
	plate := fmt.Sprintf("粤F%05d", n)
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: vin, Plate: &plate, Brand: "Toyota", Model: "Camry", ModelYear: 2024, MileageKm: 1000}
	for _, m := range mod {
		m(o, v)
	}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	must(e.t, e.db.Conn(e.ctx).Create(v).Error)
	return &customer{owner: o, car: v, p: &auth.Principal{Kind: auth.KindOwner, ID: o.ID}}
}

// delivered adds a repair order of c's car at the env's store, delivered at.
func (e *env) delivered(c *customer, at time.Time) *workshop.RepairOrder {
	e.t.Helper()
	n := serial.Add(1)
	at = at.UTC()
	o := &workshop.RepairOrder{ID: models.NewID(), Number: fmt.Sprintf("%s-%s-%04d", e.store.Code, at.Format("20060102"), n),
		StoreID: e.store.ID, VehicleID: c.car.ID, OwnerID: c.owner.ID, AdvisorID: e.who("advisor").ID, Kind: workshop.Maintenance,
		MileageIn: 1000, Status: workshop.Delivered, StatusChangedAt: at, Version: 1, DeliveredAt: &at,
		CreatedAt: at.Add(-3 * time.Hour), UpdatedAt: at}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	return o
}

// surveyOf reads the survey of an order as its owner sees it.
func (e *env) surveyOf(order *workshop.RepairOrder) *care.Survey {
	e.t.Helper()
	m, err := e.svc.SurveysByOrderIDs(e.ctx, []uuid.UUID{order.ID})
	must(e.t, err)
	if m[order.ID] == nil {
		e.t.Fatalf("order %s has no survey", order.Number)
	}
	return m[order.ID]
}

// tasks reads every task of the env's store, by due time.
func (e *env) tasks() []*care.FollowUpTask {
	e.t.Helper()
	rows, _, err := e.svc.FollowUps(e.ctx, e.who("manager"), care.TaskFilter{StoreID: &e.store.ID}, models.Page{First: 100})
	must(e.t, err)
	return rows
}

func (e *env) file(c *customer, mod ...func(*care.ComplaintInput)) *care.Complaint {
	e.t.Helper()
	in := care.ComplaintInput{Category: care.AfterSales, Description: "保养后异响", StoreID: &e.store.ID}
	for _, m := range mod {
		m(&in)
	}
	cp, err := e.svc.FileComplaint(e.ctx, c.p, in)
	must(e.t, err)
	return cp
}

var wantCode = testdb.WantCode

type uuidT = uuid.UUID

func ptr[T any](v T) *T { return &v }

var good = care.Scores{Overall: 5, Advisor: 5, Quality: 4, Timeliness: 5, Cleanliness: 5}

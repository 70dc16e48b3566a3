package booking_test

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
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// env is a store of the test's own, with its staff, on a seeded demo group
// of the dialect under test, and a booking service on a clock the test
// moves. Most tests share one database (each works in its own store, with
// customers of its own); those that count statements or every reminder of
// a day get a database of their own (isolatedEnv).
//
// The clock starts on Monday 2031-03-03 at 08:00 in the store's zone
// (Asia/Shanghai: 00:00 UTC). The store opens Monday to Saturday
// 09:00-18:00 (Sunday closed) with 60-minute slots and 4 bays: 2 seats per
// slot for MAINTENANCE, 1 for every other kind.
type env struct {
	t     testing.TB
	ctx   context.Context
	db    *models.DB
	svc   *booking.Service
	ws    *workshop.Service
	clock *clock
	store *models.Store
	loc   *time.Location
	// Staff of the store: "manager", "advisor", "crm", "technician"; and
	// of the demo group: "admin", "advisor.sz01", "manager.sz01", ...
	staff map[string]*auth.Principal
}

// serial numbers the stores, staff and customers tests add, unique across
// databases.
var serial atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

// base is when every env's clock starts: Monday 2031-03-03 08:00 in
// Shanghai.
var base = time.Date(2031, 3, 3, 0, 0, 0, 0, time.UTC)

// newEnv is an env on the database the package's tests share.
func newEnv(t testing.TB, opts ...storeOption) *env {
	t.Helper()
	db := testdb.Shared(t, seedDemo)
	return envOn(t, db, opts...)
}

// isolatedEnv is an env on a seeded database of its own.
func isolatedEnv(t testing.TB, opts ...storeOption) *env {
	t.Helper()
	db := testdb.Open(t)
	if _, err := demo.Seed(context.Background(), db, "pw"); err != nil {
		t.Fatal(err)
	}
	return envOn(t, db, opts...)
}

// storeOption changes the test store before it is created.
type storeOption func(*models.Store)

func withZone(tz string) storeOption { return func(s *models.Store) { s.Timezone = tz } }

func withHours(opens, closes string) storeOption {
	return func(s *models.Store) {
		for i := range s.Hours {
			s.Hours[i].Opens, s.Hours[i].Closes = opens, closes
		}
	}
}

func withBays(n int) storeOption { return func(s *models.Store) { s.ServiceBays = n } }

func envOn(t testing.TB, db *models.DB, opts ...storeOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: db, clock: testdb.NewClock(base), staff: map[string]*auth.Principal{}}
	e.ws = &workshop.Service{DB: db, Clock: e.clock.Now}
	e.svc = &booking.Service{DB: db, Workshop: e.ws, Clock: e.clock.Now}
	// Whatever a test did, every slot's counter equals its BOOKED
	// appointments.
	t.Cleanup(func() { checkSeats(t, db) })

	n := serial.Add(1)
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("T%04d", n), Name: fmt.Sprintf("测试门店%d", n), City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	for wd := 1; wd <= 6; wd++ {
		st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: wd, Opens: "09:00", Closes: "18:00"})
	}
	for _, o := range opts {
		o(st)
	}
	must(t, db.Conn(ctx).Create(st).Error)
	e.store, e.loc = st, st.Location()
	for _, role := range []auth.Role{auth.RoleManager, auth.RoleAdvisor, auth.RoleCRM, auth.RoleTechnician} {
		name := strings.ToLower(string(role))
		e.staff[name] = e.person(name, []uuid.UUID{st.ID}, role)
	}
	for name, p := range testdb.StaffPrincipals(t, db) {
		if _, mine := e.staff[name]; !mine {
			e.staff[name] = p
		}
	}
	return e
}

type clock = testdb.Clock

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// who returns a staff principal by name.
func (e *env) who(name string) *auth.Principal {
	e.t.Helper()
	p := e.staff[name]
	if p == nil {
		e.t.Fatalf("no staff %s", name)
	}
	return p
}

// person adds a staff member with roles at stores.
func (e *env) person(name string, stores []uuid.UUID, roles ...auth.Role) *auth.Principal {
	e.t.Helper()
	return testdb.AddStaff(e.t, e.db, name, stores, roles...)
}

// customer is an owner with cars.
type customer struct {
	owner *models.Owner
	cars  []*models.Vehicle
	p     *auth.Principal
}

// car is the customer's first car.
func (c *customer) car() *models.Vehicle { return c.cars[0] }

// customer adds an owner with cars cars (at least one).
func (e *env) customer(cars ...int) *customer {
	e.t.Helper()
	return newCustomer(e.t, e.db, cars...)
}

func newCustomer(t testing.TB, db *models.DB, cars ...int) *customer {
	t.Helper()
	ctx := context.Background()
	n := int(serial.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86137%08d", n), Name: fmt.Sprintf("车主%d", n)}
	must(t, db.Conn(ctx).Create(o).Error)
	c := &customer{owner: o, p: &auth.Principal{Kind: auth.KindOwner, ID: o.ID}}
	count := 1
	if len(cars) > 0 {
		count = cars[0]
	}
	for range count {
		m := int(serial.Add(1))
		vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LFMAE4AK0RT%06d", m))
		must(t, err)
		plate := fmt.Sprintf("粤E%05d", m)
		v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: vin, Plate: &plate, Brand: "Toyota", Model: "Camry", ModelYear: 2024, MileageKm: 10000}
		must(t, db.Conn(ctx).Create(v).Error)
		c.cars = append(c.cars, v)
	}
	return c
}

// day is the store-local date offset days from the clock's start.
func (e *env) day(offset int) models.Date {
	return models.DateOf(base.In(e.loc)).AddDate(0, 0, offset)
}

// at is hh:mm local on the day offset days from the clock's start, in UTC.
func (e *env) at(offset int, hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	must(e.t, err)
	d := e.day(offset)
	return time.Date(d.Year, d.Month, d.Day, t.Hour(), t.Minute(), 0, 0, e.loc).UTC()
}

// in is the booking input for the customer's first car at start.
func (e *env) in(c *customer, start time.Time, mod ...func(*booking.BookInput)) booking.BookInput {
	in := booking.BookInput{StoreID: e.store.ID, VehicleID: c.car().ID, Kind: "MAINTENANCE", SlotStart: start}
	for _, m := range mod {
		m(&in)
	}
	return in
}

// book books start for the customer's first car, failing the test on error.
func (e *env) book(c *customer, start time.Time, mod ...func(*booking.BookInput)) *booking.Appointment {
	e.t.Helper()
	a, err := e.svc.Book(e.ctx, c.p, e.in(c, start, mod...))
	must(e.t, err)
	return a
}

func kind(k string) func(*booking.BookInput) { return func(in *booking.BookInput) { in.Kind = k } }

func vehicle(v *models.Vehicle) func(*booking.BookInput) {
	return func(in *booking.BookInput) { in.VehicleID = v.ID }
}

// taken is the seats the counter says are taken in the test store's slot.
func (e *env) taken(kind string, start time.Time) int {
	e.t.Helper()
	var rows []booking.SlotBooking
	must(e.t, e.db.Conn(e.ctx).Where("store_id = ? AND kind = ? AND slot_start = ?", e.store.ID, kind, start.UTC()).Find(&rows).Error)
	if len(rows) == 0 {
		return 0
	}
	return rows[0].Booked
}

// reload reads an appointment as the group admin.
func (e *env) reload(a *booking.Appointment) *booking.Appointment {
	e.t.Helper()
	got, err := e.svc.AppointmentFor(e.ctx, e.who("admin"), a.ID)
	must(e.t, err)
	return got
}

// statements counts the SQL statements fn runs. Only on a database no
// other test uses at the same time.
func (e *env) statements(fn func()) int64 {
	before := e.db.Statements()
	fn()
	return e.db.Statements() - before
}

var wantCode = testdb.WantCode

func ptr[T any](v T) *T { return &v }

// checkSeats fails the test unless, for every slot of every store, the
// counter of seats taken equals the number of BOOKED appointments in it.
// One statement, so one snapshot even while other tests write.
func checkSeats(t testing.TB, db *models.DB) {
	t.Helper()
	var bad []struct {
		StoreID   uuid.UUID
		Kind      string
		SlotStart time.Time
		Booked    int
		N         int
	}
	err := db.Conn(context.Background()).Raw(`
		SELECT sb.store_id, sb.kind, sb.slot_start, sb.booked,
			(SELECT COUNT(*) FROM appointments a WHERE a.store_id = sb.store_id AND a.kind = sb.kind
				AND a.slot_start = sb.slot_start AND a.status = 'BOOKED') AS n
		FROM slot_bookings sb
		UNION ALL
		SELECT a.store_id, a.kind, a.slot_start, 0, COUNT(*)
		FROM appointments a
		WHERE a.status = 'BOOKED' AND NOT EXISTS (SELECT 1 FROM slot_bookings sb
			WHERE sb.store_id = a.store_id AND sb.kind = a.kind AND sb.slot_start = a.slot_start)
		GROUP BY a.store_id, a.kind, a.slot_start`).Scan(&bad).Error
	if err != nil {
		t.Errorf("check seats: %v", err)
		return
	}
	for _, r := range bad {
		if r.Booked != r.N {
			t.Errorf("store %s %s slot %s: counter %d, %d BOOKED appointments", r.StoreID, r.Kind, r.SlotStart.UTC(), r.Booked, r.N)
		}
	}
}

// seedDemo prepares the shared database with the demo data.
func seedDemo(db *models.DB) error {
	_, err := demo.Seed(context.Background(), db, "pw")
	return err
}

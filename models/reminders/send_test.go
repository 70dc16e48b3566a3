package reminders_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// now is noon of Monday 2031-03-03 in Shanghai.
var now = time.Date(2031, 3, 3, 4, 0, 0, 0, time.UTC)

var today = models.DateOf(now.In(models.ChinaTime))

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// world is a database of the test's own with owners whose cars have every
// kind of reminder due, or just not.
type world struct {
	db         *models.DB
	svc        *reminders.Service
	store      uuid.UUID
	advisor    uuid.UUID
	a, b, c, e uuid.UUID // owners: A consents, B does not, C deleted the account, E has nothing due
	a1, a2, b1 uuid.UUID
	order      map[uuid.UUID]uuid.UUID // vehicle -> order that set its next service
	serial     int
}

func newWorld(t testing.TB) *world {
	t.Helper()
	db := testdb.Open(t)
	w := &world{db: db, svc: newReminders(db), order: map[uuid.UUID]uuid.UUID{}}
	ctx := context.Background()
	conn := db.Conn(ctx)
	w.store = models.NewID()
	must(t, conn.Create(&models.Store{ID: w.store, Code: "R001", Name: "提醒测试店", City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}).Error)
	w.advisor = models.NewID()
	must(t, conn.Create(&models.Staff{ID: w.advisor, Username: "advisor.r001", Name: "顾问", PasswordHash: "x", Active: true}).Error)

	w.a = w.owner(t, "甲", true, "1985-03-03")
	w.b = w.owner(t, "乙", false, "1990-03-03")
	w.c = w.owner(t, "丙", true, "1991-03-03")
	w.e = w.owner(t, "戊", true, "1992-07-07")

	// A1: insurance in 30 days, inspection in 20, bought three years (and
	// two days) ago, maintenance due by date in 10 days.
	w.a1 = w.vehicle(t, w.a, func(v *models.Vehicle) {
		v.PurchaseDate = ptr(d("2028-03-01"))
		v.InsuranceExpiry = ptr(today.AddDate(0, 0, 30))
		v.InspectionDue = ptr(today.AddDate(0, 0, 20))
	})
	w.delivered(t, w.a1, w.a, now.AddDate(0, 0, -60), 10000, ptr(today.AddDate(0, 0, 10)), nil, false)
	// A2: bought four months ago, no first free maintenance yet.
	w.a2 = w.vehicle(t, w.a, func(v *models.Vehicle) { v.PurchaseDate = ptr(today.AddDate(0, -4, 0)) })
	// B1: anniversary today (B did not consent), maintenance due by km:
	// 10000 km 60 days ago, 14800 yesterday (81 km a day), due at 15000.
	w.b1 = w.vehicle(t, w.b, func(v *models.Vehicle) {
		v.PurchaseDate = ptr(d("2029-03-03"))
		v.InsuranceExpiry = ptr(today.AddDate(0, 0, 61))
		v.InspectionDue = ptr(today.AddDate(0, 0, 31))
		v.MileageKm, v.MileageReadAt = 14800, ptr(now.AddDate(0, 0, -1))
	})
	w.delivered(t, w.b1, w.b, now.AddDate(0, 0, -60), 10000, ptr(today.AddDate(0, 0, 120)), ptr(15000), false)
	// C deleted the account: nothing, though everything is due.
	c1 := w.vehicle(t, w.c, func(v *models.Vehicle) {
		v.PurchaseDate = ptr(d("2029-03-03"))
		v.InsuranceExpiry = ptr(today.AddDate(0, 0, 5))
	})
	w.delivered(t, c1, w.c, now.AddDate(0, 0, -60), 10000, ptr(today.AddDate(0, 0, 3)), nil, false)
	must(t, conn.Exec(`INSERT INTO deleted_owners (owner_id, deleted_at) VALUES (?, ?)`, w.c, now.AddDate(0, 0, -1)).Error)
	// E: a new car that had its first free maintenance; another whose
	// maintenance is due but already booked; a third with a slow driver
	// (km due in months) and insurance expired yesterday.
	e1 := w.vehicle(t, w.e, func(v *models.Vehicle) { v.PurchaseDate = ptr(today.AddDate(0, -4, 0)) })
	w.delivered(t, e1, w.e, now.AddDate(0, 0, -20), 3000, nil, nil, true)
	e2 := w.vehicle(t, w.e, nil)
	w.delivered(t, e2, w.e, now.AddDate(0, 0, -170), 20000, ptr(today.AddDate(0, 0, 10)), nil, false)
	must(t, conn.Create(&booking.Appointment{ID: models.NewID(), StoreID: w.store, VehicleID: e2, OwnerID: w.e, Kind: "MAINTENANCE",
		SlotStart: now.Add(48 * time.Hour), SlotEnd: now.Add(49 * time.Hour), Status: booking.Booked, Source: booking.App,
		CreatedAt: now, UpdatedAt: now}).Error)
	e3 := w.vehicle(t, w.e, func(v *models.Vehicle) {
		v.InsuranceExpiry = ptr(today.AddDate(0, 0, -1))
		v.MileageKm, v.MileageReadAt = 11000, ptr(now.AddDate(0, 0, -1))
	})
	w.delivered(t, e3, w.e, now.AddDate(0, 0, -60), 10000, ptr(today.AddDate(0, 0, 120)), ptr(15000), false)
	return w
}

func ptr[T any](v T) *T { return &v }

func (w *world) owner(t testing.TB, name string, consent bool, birthday string) uuid.UUID {
	t.Helper()
	w.serial++
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86139000%05d", w.serial), Name: name, Birthday: ptr(d(birthday)),
		HomeStoreID: &w.store, MarketingConsent: consent, CreatedAt: now, UpdatedAt: now}
	must(t, w.db.Conn(context.Background()).Create(o).Error)
	return o.ID
}

func (w *world) vehicle(t testing.TB, owner uuid.UUID, f func(*models.Vehicle)) uuid.UUID {
	t.Helper()
	w.serial++
	v := &models.Vehicle{ID: models.NewID(), OwnerID: owner, VIN: fmt.Sprintf("TESTVIN%010d", w.serial), Brand: "别克", Model: "君威",
		ModelYear: 2028, SellingStoreID: &w.store, CreatedAt: now, UpdatedAt: now}
	if f != nil {
		f(v)
	}
	must(t, w.db.Conn(context.Background()).Create(v).Error)
	return v.ID
}

func (w *world) delivered(t testing.TB, vehicle, owner uuid.UUID, at time.Time, km int, nextDate *models.Date, nextKm *int, firstFree bool) {
	t.Helper()
	w.serial++
	o := &workshop.RepairOrder{ID: models.NewID(), Number: fmt.Sprintf("R001-%d", w.serial), StoreID: w.store, VehicleID: vehicle,
		OwnerID: owner, AdvisorID: w.advisor, Kind: workshop.Maintenance, MileageIn: km, Status: workshop.Delivered,
		StatusChangedAt: at, Version: 1, FirstFreeMaintenance: firstFree, NextServiceDate: nextDate, NextServiceKm: nextKm,
		DeliveredAt: &at, CreatedAt: at, UpdatedAt: at}
	must(t, w.db.Conn(context.Background()).Create(o).Error)
	if nextDate != nil || nextKm != nil {
		w.order[vehicle] = o.ID
	}
}

// inbox lists an owner's notifications as "KIND key link".
func (w *world) inbox(t testing.TB, owner uuid.UUID) []string {
	t.Helper()
	var ns []inbox.Notification
	must(t, w.db.Conn(context.Background()).Where("owner_id = ?", owner).Find(&ns).Error)
	var out []string
	for _, n := range ns {
		if n.Title == "" || n.Body == "" {
			t.Errorf("notification %s lacks a text", n.Kind)
		}
		out = append(out, n.Kind+" "+*n.DedupeKey+" "+string(n.Link))
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func (w *world) wantInbox(t testing.TB, owner uuid.UUID, want []string) {
	t.Helper()
	got := w.inbox(t, owner)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("inbox:\n got %q\nwant %q", got, want)
	}
}

func (w *world) wantA(t testing.TB) {
	t.Helper()
	a1, a2 := w.a1.String(), w.a2.String()
	w.wantInbox(t, w.a, sorted(
		"MAINTENANCE_DUE maintenance:"+a1+":"+w.order[w.a1].String()+" "+string(reminders.BookLink(w.store, w.a1, "MAINTENANCE")),
		"INSURANCE_EXPIRING insurance:"+a1+":"+today.AddDate(0, 0, 30).String()+" "+string(reminders.VehicleLink(w.a1)),
		"INSPECTION_DUE inspection:"+a1+":"+today.AddDate(0, 0, 20).String()+" "+string(reminders.VehicleLink(w.a1)),
		"PURCHASE_ANNIVERSARY purchase-anniversary:"+a1+":2031 "+string(reminders.VehicleLink(w.a1)),
		"FIRST_FREE_MAINTENANCE first-free-maintenance:"+a2+" "+string(reminders.BookLink(w.store, w.a2, "MAINTENANCE")),
		"BIRTHDAY birthday:"+w.a.String()+":2031 "+string(reminders.MembershipLink),
	))
}

func (w *world) wantB(t testing.TB) {
	t.Helper()
	w.wantInbox(t, w.b, []string{
		"MAINTENANCE_DUE maintenance:" + w.b1.String() + ":" + w.order[w.b1].String() + " " + string(reminders.BookLink(w.store, w.b1, "MAINTENANCE")),
	})
}

// TestEachKindOnce: every kind reaches the right owner once, with its link;
// marketing kinds only with consent; nothing for a deleted account; a second
// run, and a late run the next day, add nothing.
func TestEachKindOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	n, err := w.svc.SendReminders(ctx, now)
	if err != nil || n != 7 {
		t.Fatalf("created %d, %v; want 7", n, err)
	}
	w.wantA(t)
	w.wantB(t)
	w.wantInbox(t, w.c, nil)
	w.wantInbox(t, w.e, nil)
	for _, at := range []time.Time{now, now.Add(time.Hour)} {
		if n, err := w.svc.SendReminders(ctx, at); err != nil || n != 0 {
			t.Fatalf("run at %v created %d, %v", at, n, err)
		}
	}
	w.wantA(t)
	w.wantB(t)

	// The next day B1's insurance (61 days) and inspection (31) come into
	// their windows; nothing else is new, and nothing is sent twice.
	next := now.Add(24 * time.Hour)
	for i, want := range []int64{2, 0} {
		if n, err := w.svc.SendReminders(ctx, next); err != nil || n != want {
			t.Fatalf("next day, run %d: created %d, %v; want %d", i, n, err, want)
		}
	}
	w.wantA(t)
	b1 := w.b1.String()
	bWant := []string{
		"MAINTENANCE_DUE maintenance:" + b1 + ":" + w.order[w.b1].String() + " " + string(reminders.BookLink(w.store, w.b1, "MAINTENANCE")),
		"INSURANCE_EXPIRING insurance:" + b1 + ":" + today.AddDate(0, 0, 61).String() + " " + string(reminders.VehicleLink(w.b1)),
		"INSPECTION_DUE inspection:" + b1 + ":" + today.AddDate(0, 0, 31).String() + " " + string(reminders.VehicleLink(w.b1)),
	}
	w.wantInbox(t, w.b, sorted(bWant...))

	// B consents: the birthday and anniversary are still within the
	// catch-up days, so they are sent, once.
	must(t, w.db.Conn(ctx).Model(&models.Owner{}).Where("id = ?", w.b).Update("marketing_consent", true).Error)
	for i, want := range []int64{2, 0} {
		if n, err := w.svc.SendReminders(ctx, next); err != nil || n != want {
			t.Fatalf("after consent, run %d: created %d, %v; want %d", i, n, err, want)
		}
	}
	bWant = append(bWant, "BIRTHDAY birthday:"+w.b.String()+":2031 "+string(reminders.MembershipLink),
		"PURCHASE_ANNIVERSARY purchase-anniversary:"+b1+":2031 "+string(reminders.VehicleLink(w.b1)))
	w.wantInbox(t, w.b, sorted(bWant...))
	w.wantInbox(t, w.c, nil)
	w.wantInbox(t, w.e, nil)
}

// TestMissedAppointmentDoesNotSilence: only an appointment still to come
// (or under way) stands for a booking. One whose slot has ended, still
// BOOKED because the owner did not come (booking marks it NO_SHOW only when
// the owner books again), does not stop the maintenance reminder.
func TestMissedAppointmentDoesNotSilence(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	o := w.owner(t, "己", false, "1980-01-01")
	car := func(slotStart time.Time) uuid.UUID {
		v := w.vehicle(t, o, nil)
		w.delivered(t, v, o, now.AddDate(0, 0, -170), 20000, ptr(today.AddDate(0, 0, 5)), nil, false)
		at := slotStart.Add(-72 * time.Hour)
		must(t, w.db.Conn(ctx).Create(&booking.Appointment{ID: models.NewID(), StoreID: w.store, VehicleID: v, OwnerID: o,
			Kind: "MAINTENANCE", SlotStart: slotStart, SlotEnd: slotStart.Add(time.Hour), Status: booking.Booked,
			Source: booking.App, CreatedAt: at, UpdatedAt: at}).Error)
		return v
	}
	missed := car(now.AddDate(0, 0, -30)) // a month ago
	justEnded := car(now.Add(-time.Hour)) // its slot ended right now
	car(now.Add(-30 * time.Minute))       // under way: the car is at the store
	_, err := w.svc.SendReminders(ctx, now)
	must(t, err)
	link := func(v uuid.UUID) string {
		return "MAINTENANCE_DUE maintenance:" + v.String() + ":" + w.order[v].String() + " " + string(reminders.BookLink(w.store, v, "MAINTENANCE"))
	}
	w.wantInbox(t, o, sorted(link(missed), link(justEnded)))
}

// TestSmallBatches: the same reminders however the vehicles are batched.
func TestSmallBatches(t *testing.T) {
	w := newWorld(t)
	w.svc.Batch = 1
	if n, err := w.svc.SendReminders(context.Background(), now); err != nil || n != 7 {
		t.Fatalf("created %d, %v; want 7", n, err)
	}
	w.wantA(t)
	w.wantB(t)
}

// TestSeveralInstancesAtOnce: many runs at the same time (as on several
// instances) create each reminder exactly once between them.
func TestSeveralInstancesAtOnce(t *testing.T) {
	w := newWorld(t)
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := newReminders(w.db)
			n, err := svc.SendReminders(context.Background(), now)
			if err != nil {
				t.Error(err)
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	if total.Load() != 7 {
		t.Fatalf("created %d in all; want 7", total.Load())
	}
	var n int64
	must(t, w.db.Conn(context.Background()).Model(&inbox.Notification{}).Count(&n).Error)
	if n != 7 {
		t.Fatalf("%d notifications; want 7", n)
	}
	w.wantA(t)
	w.wantB(t)
}

// TestStatementsDoNotGrowWithVehicles: a run reads in batches; more cars
// (within a batch) cost no more statements.
func TestStatementsDoNotGrowWithVehicles(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.svc.SendReminders(ctx, now); err != nil {
		t.Fatal(err)
	}
	before := w.db.Statements()
	if _, err := w.svc.SendReminders(ctx, now); err != nil {
		t.Fatal(err)
	}
	few := w.db.Statements() - before
	for i := 0; i < 20; i++ {
		v := w.vehicle(t, w.e, func(v *models.Vehicle) { v.MileageKm, v.MileageReadAt = 1000, ptr(now) })
		w.delivered(t, v, w.e, now.AddDate(0, 0, -30), 500, ptr(today.AddDate(0, 3, 0)), ptr(9000), false)
	}
	before = w.db.Statements()
	if _, err := w.svc.SendReminders(ctx, now); err != nil {
		t.Fatal(err)
	}
	if many := w.db.Statements() - before; many != few {
		t.Fatalf("%d statements with 20 more cars; %d before", many, few)
	}
}

// newReminders is the reminders service with the capabilities it asks.
func newReminders(db *models.DB) *reminders.Service {
	ws := &workshop.Service{DB: db}
	return &reminders.Service{DB: db, Workshop: ws, Booking: &booking.Service{DB: db, Workshop: ws}}
}

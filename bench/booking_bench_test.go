package bench_test

// Benchmarks of maintenance booking:
//
//	contended           every goroutine books the same slot and cancels
//	                    the booking again (booking.Service.Book, then
//	                    Cancel), so that all of them take and give back
//	                    seats on one slot counter; the slot has 100 seats,
//	                    never full.
//	spread              the same, each goroutine in a slot of its own (one
//	                    counter each, while the day has enough slots): what
//	                    the contention costs.
//	availableSlots-1d   booking.Service.AvailableSlots for one day of SZ01
//	                    (three days ahead);
//	availableSlots-30d  and for 30 days from today, the owner app's
//	                    calendar screen.
//
// The booking benchmarks run b.RunParallel with GOMAXPROCS×bookParallelism
// goroutines, each booking for an owner of its own (one car each, as an
// owner in the app), and report bookings/s (booked and cancelled again per
// second of wall time: b.N / elapsed) and stmts/op. They book at a store
// of their own, BK01 (open every day 08:00-20:00, 100 DETAILING seats per
// slot), three days ahead, so that SZ01's slots and board stay as seeded.
// After each run the slots' counters are checked against the appointments:
// every one cancelled, no seat held.
//
// The availableSlots benchmarks read SZ01's DETAILING slots on the demo
// data (its calendar, date overrides and bookings) and report stmts/op and
// slots.
//
//	go test -run x -bench Booking -benchtime 3s ./bench/
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test -run x -bench Booking -benchtime 3s ./bench/

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/testdb"
)

const (
	// bookParallelism: RunParallel runs GOMAXPROCS times this many
	// goroutines (8 on the 2-core reference machine).
	bookParallelism = 4
	// bookKind is the kind of service the benchmarks book.
	bookKind = "DETAILING"
	// bookSeats per slot at BK01: ample, the slot never fills.
	bookSeats = 100
	// bookDaysAhead is the day the benchmarks book on (store-local).
	bookDaysAhead = 3
)

// bookFixture is the benchmark store BK01 on the shared seeded database.
type bookFixture struct {
	db      *models.DB
	svc     *booking.Service
	storeID uuid.UUID // BK01
	szID    uuid.UUID // SZ01, for availableSlots
	loc     *time.Location
	seq     atomic.Int64
}

var (
	bfOnce sync.Once
	bf     *bookFixture
	bfErr  error
)

func bookSetup(b *testing.B) *bookFixture {
	b.Helper()
	f := setup(b)
	bfOnce.Do(func() { bf, bfErr = newBookFixture(context.Background(), f) })
	if bfErr != nil {
		b.Fatal(bfErr)
	}
	return bf
}

func newBookFixture(ctx context.Context, f *fixture) (*bookFixture, error) {
	now := testdb.Now()
	store := &models.Store{ID: models.NewID(), Code: "BK01", Name: "预约压测店", City: "深圳", Timezone: "Asia/Shanghai",
		ServiceBays: 8, SlotMinutes: 60, CreatedAt: now, UpdatedAt: now}
	for wd := range 7 {
		store.Hours = append(store.Hours, models.StoreHours{StoreID: store.ID, Weekday: wd, Opens: "08:00", Closes: "20:00"})
	}
	if err := f.db.Conn(ctx).Create(store).Error; err != nil {
		return nil, fmt.Errorf("benchmark store: %w", err)
	}
	svc := &booking.Service{DB: f.db}
	manager := &auth.Principal{Kind: auth.KindStaff, ID: f.manager.ID, Roles: []auth.Role{auth.RoleManager}, StoreIDs: []uuid.UUID{store.ID}}
	if _, err := svc.SetCalendar(ctx, manager, booking.CalendarInput{StoreID: store.ID,
		Seats: []booking.SeatsInput{{Kind: bookKind, Seats: bookSeats}}}); err != nil {
		return nil, fmt.Errorf("benchmark calendar: %w", err)
	}
	return &bookFixture{db: f.db, svc: svc, storeID: store.ID, szID: f.storeID, loc: store.Location()}, nil
}

// owners adds n owners of BK01 with one car each and returns them as the
// app's principals with their cars.
func (f *bookFixture) owners(ctx context.Context, n int) ([]*auth.Principal, []uuid.UUID, error) {
	now := testdb.Now()
	owners := make([]*models.Owner, n)
	cars := make([]*models.Vehicle, n)
	principals := make([]*auth.Principal, n)
	carIDs := make([]uuid.UUID, n)
	for i := range owners {
		seq := f.seq.Add(1)
		owners[i] = &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86135%08d", seq), Name: "预约压测",
			HomeStoreID: &f.storeID, CreatedAt: now, UpdatedAt: now}
		cars[i] = &models.Vehicle{ID: models.NewID(), OwnerID: owners[i].ID, VIN: fmt.Sprintf("BKBN%013d", seq), Brand: "BYD",
			Model: "Han", ModelYear: 2024, SellingStoreID: &f.storeID, MileageKm: 1000, CreatedAt: now, UpdatedAt: now}
		principals[i] = &auth.Principal{Kind: auth.KindOwner, ID: owners[i].ID}
		carIDs[i] = cars[i].ID
	}
	conn := f.db.Conn(ctx)
	if err := conn.CreateInBatches(owners, 200).Error; err != nil {
		return nil, nil, fmt.Errorf("benchmark owners: %w", err)
	}
	if err := conn.CreateInBatches(cars, 200).Error; err != nil {
		return nil, nil, fmt.Errorf("benchmark cars: %w", err)
	}
	return principals, carIDs, nil
}

// slots are BK01's bookable DETAILING slots of the benchmark day.
func (f *bookFixture) slots(ctx context.Context) ([]booking.Slot, error) {
	day := models.DateOf(time.Now().In(f.loc)).AddDate(0, 0, bookDaysAhead)
	return f.svc.AvailableSlots(ctx, f.storeID, bookKind, day, day)
}

// check verifies the slots after a run: no seat held, no appointment left
// BOOKED, and every booking of the run recorded (and cancelled).
func (f *bookFixture) check(ctx context.Context, starts []time.Time, owners []*auth.Principal, booked int64) error {
	for _, start := range starts {
		var r struct{ Counter, Booked int64 }
		err := f.db.Conn(ctx).Raw(`SELECT
			(SELECT COALESCE(SUM(booked), 0) FROM slot_bookings WHERE store_id = ? AND kind = ? AND slot_start = ?) AS counter,
			(SELECT COUNT(*) FROM appointments WHERE store_id = ? AND kind = ? AND slot_start = ? AND status = 'BOOKED') AS booked`,
			f.storeID, bookKind, start.UTC(), f.storeID, bookKind, start.UTC()).Scan(&r).Error
		if err != nil {
			return err
		}
		if r.Counter != 0 || r.Booked != 0 {
			return fmt.Errorf("slot %v after the run: counter %d, BOOKED %d", start, r.Counter, r.Booked)
		}
	}
	ids := make([]uuid.UUID, len(owners))
	for i, o := range owners {
		ids[i] = o.ID
	}
	var n int64
	if err := f.db.Conn(ctx).Raw(`SELECT COUNT(*) FROM appointments WHERE owner_id IN ? AND status = 'CANCELLED'`, ids).Scan(&n).Error; err != nil {
		return err
	}
	if n != booked {
		return fmt.Errorf("%d cancelled appointments after %d bookings", n, booked)
	}
	return nil
}

func BenchmarkBooking(b *testing.B) {
	f := bookSetup(b)
	b.Run("contended", func(b *testing.B) { benchBook(b, f, false) })
	b.Run("spread", func(b *testing.B) { benchBook(b, f, true) })
	b.Run("availableSlots-1d", func(b *testing.B) { benchSlots(b, f, 1) })
	b.Run("availableSlots-30d", func(b *testing.B) { benchSlots(b, f, 30) })
}

// benchBook books and cancels b.N times in parallel: all goroutines in one
// slot, or (spread) each in its own.
func benchBook(b *testing.B, f *bookFixture, spread bool) {
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0) * bookParallelism
	slots, err := f.slots(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(slots) == 0 {
		b.Fatal("BK01 has no slots on the benchmark day")
	}
	owners, cars, err := f.owners(ctx, workers)
	if err != nil {
		b.Fatal(err)
	}
	starts := []time.Time{slots[0].Start}
	if spread {
		starts = starts[:0]
		for _, s := range slots[:min(workers, len(slots))] {
			starts = append(starts, s.Start)
		}
	}
	var goroutines, booked atomic.Int64
	start := f.db.Statements()
	b.SetParallelism(bookParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := int(goroutines.Add(1) - 1)
		slot := starts[mine%len(starts)]
		for pb.Next() {
			a, err := f.svc.Book(ctx, owners[mine], booking.BookInput{StoreID: f.storeID, VehicleID: cars[mine], Kind: bookKind, SlotStart: slot})
			if err != nil {
				b.Errorf("book: %v", err)
				return
			}
			booked.Add(1)
			if _, err := f.svc.Cancel(ctx, owners[mine], a.ID, ""); err != nil {
				b.Errorf("cancel: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
	b.ReportMetric(float64(f.db.Statements()-start)/float64(b.N), "stmts/op")
	if err := f.check(ctx, starts, owners, booked.Load()); err != nil {
		b.Fatal(err)
	}
}

// benchSlots reads SZ01's DETAILING slots of one day (three days ahead) or
// of 30 days from today.
func benchSlots(b *testing.B, f *bookFixture, days int) {
	ctx := context.Background()
	// One day: a whole day ahead (today may have no slot left); 30 days:
	// from today, as the app asks.
	from := models.DateOf(time.Now().In(f.loc))
	if days == 1 {
		from = from.AddDate(0, 0, bookDaysAhead)
	}
	to := from.AddDate(0, 0, days-1)
	n := 0
	start := f.db.Statements()
	b.ReportAllocs()
	for b.Loop() {
		slots, err := f.svc.AvailableSlots(ctx, f.szID, bookKind, from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(slots)
	}
	b.ReportMetric(float64(f.db.Statements()-start)/float64(b.N), "stmts/op")
	b.ReportMetric(float64(n), "slots")
}

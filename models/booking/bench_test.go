package booking_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/booking"
)

// BenchmarkBookContended measures bookings under contention: parallel
// owners book four slots of 100 MAINTENANCE seats each, so every booking
// competes for the same few counter rows. It reports bookings made and
// refused (SLOT_FULL once the 400 seats are gone) besides ns/op.
//
//	go test -run '^$' -bench BookContended -benchtime 400x ./models/booking
//	TEST_DATABASE_URL=... go test -run '^$' -bench BookContended -benchtime 400x -cpu 8 ./models/booking
func BenchmarkBookContended(b *testing.B) {
	e := newEnv(b)
	_, err := e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 100}}})
	must(b, err)
	slots := []time.Time{e.at(1, "10:00"), e.at(1, "11:00"), e.at(2, "10:00"), e.at(2, "11:00")}
	customers := make([]*customer, b.N)
	for i := range customers {
		customers[i] = e.customer()
	}
	var next, ok, full atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1) - 1)
			c := customers[i]
			_, err := e.svc.Book(e.ctx, c.p, e.in(c, slots[i%len(slots)]))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, booking.ErrSlotFull):
				full.Add(1)
			default:
				b.Error(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(ok.Load()), "booked")
	b.ReportMetric(float64(full.Load()), "full")
	b.ReportMetric(float64(ok.Load()+full.Load())/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkAvailableSlots30Days measures the free slots of 31 days for
// one kind at a store with bookings, and reports its statements per call.
func BenchmarkAvailableSlots30Days(b *testing.B) {
	e := newEnv(b)
	for i := range 40 {
		week, day := i/10, 1+i%5 // Tuesday to Saturday of four weeks
		e.book(e.customer(), e.at(7*week+day, []string{"10:00", "14:00"}[i%10/5]))
	}
	before := e.db.Statements()
	b.ResetTimer()
	for range b.N {
		slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(0), e.day(30))
		if err != nil || len(slots) < 200 {
			b.Fatalf("%d slots, %v", len(slots), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(e.db.Statements()-before)/float64(b.N), "statements/op")
}

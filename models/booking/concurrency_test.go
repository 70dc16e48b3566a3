package booking_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// race has every customer book start at once, customer i through
// services[i % len(services)], and counts the bookings and SLOT_FULLs;
// any other outcome fails the test.
func race(t *testing.T, e *env, services []*booking.Service, customers []*customer, start time.Time) (ok, full int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	gate := make(chan struct{})
	for i, c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, err := services[i%len(services)].Book(e.ctx, c.p, e.in(c, start))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, booking.ErrSlotFull):
				full++
			default:
				t.Errorf("customer %d: %v", i, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	return ok, full
}

// booked counts the BOOKED appointments of the test store in a slot.
func (e *env) booked(kind string, start time.Time) int {
	e.t.Helper()
	var n int64
	must(e.t, e.db.Conn(e.ctx).Model(&booking.Appointment{}).
		Where("store_id = ? AND kind = ? AND slot_start = ? AND status = ?", e.store.ID, kind, start.UTC(), booking.Booked).Count(&n).Error)
	return int(n)
}

// lastThreeSeats is a slot with 5 MAINTENANCE seats, 2 of them booked.
func lastThreeSeats(t *testing.T, e *env) time.Time {
	t.Helper()
	_, err := e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 5}}})
	must(t, err)
	start := e.at(1, "10:00")
	e.book(e.customer(), start)
	e.book(e.customer(), start)
	return start
}

// 50 owners race for a slot with 3 seats left: exactly 3 get one.
func TestRaceForLastSeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := lastThreeSeats(t, e)
	customers := make([]*customer, 50)
	for i := range customers {
		customers[i] = e.customer()
	}
	ok, full := race(t, e, []*booking.Service{e.svc}, customers, start)
	if ok != 3 || full != 47 {
		t.Fatalf("%d booked, %d SLOT_FULL; want 3 and 47", ok, full)
	}
	if n, b := e.taken("MAINTENANCE", start), e.booked("MAINTENANCE", start); n != 5 || b != 5 {
		t.Fatalf("counter %d, %d BOOKED; want 5", n, b)
	}
}

// The same race split across two server instances (two connection pools)
// on one PostgreSQL database.
func TestRaceForLastSeatsTwoInstances(t *testing.T) {
	t.Parallel()
	dbs := testdb.Instances(t, 2, seedDemo)
	if dbs == nil {
		t.Skip("two instances share one database only on PostgreSQL: set TEST_DATABASE_URL to run this test")
	}
	e := envOn(t, dbs[0])
	start := lastThreeSeats(t, e)
	other := &booking.Service{DB: dbs[1], Workshop: e.ws, Clock: e.clock.Now}
	customers := make([]*customer, 50)
	for i := range customers {
		customers[i] = e.customer()
	}
	ok, full := race(t, e, []*booking.Service{e.svc, other}, customers, start)
	if ok != 3 || full != 47 {
		t.Fatalf("%d booked, %d SLOT_FULL; want 3 and 47", ok, full)
	}
	if n, b := e.taken("MAINTENANCE", start), e.booked("MAINTENANCE", start); n != 5 || b != 5 {
		t.Fatalf("counter %d, %d BOOKED; want 5", n, b)
	}
}

// Retries of one booking with one key, all at once, book once.
func TestConcurrentIdempotentBook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	in := e.in(c, e.at(1, "10:00"), func(in *booking.BookInput) { in.IdempotencyKey = "tap-tap-tap" })
	var wg sync.WaitGroup
	ids := make([]string, 20)
	gate := make(chan struct{})
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			a, err := e.svc.Book(e.ctx, c.p, in)
			if err != nil {
				t.Errorf("retry %d: %v", i, err)
				return
			}
			ids[i] = a.ID.String()
		}()
	}
	close(gate)
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("retries got %v", ids)
		}
	}
	var n int64
	must(t, e.db.Conn(e.ctx).Model(&booking.Appointment{}).Where("vehicle_id = ?", c.car().ID).Count(&n).Error)
	if n != 1 || e.taken("MAINTENANCE", in.SlotStart) != 1 {
		t.Fatalf("%d appointments, counter %d", n, e.taken("MAINTENANCE", in.SlotStart))
	}
}

// Owners move and cancel at once, in every direction between four slots
// of 3 seats: no slot ever holds more than its seats, every counter stays
// equal to its BOOKED appointments (checked at the end of every test), and
// no appointment is lost or doubled.
func TestConcurrentReschedulesAndCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 3}}})
	must(t, err)
	slots := []time.Time{e.at(1, "10:00"), e.at(1, "11:00"), e.at(2, "10:00"), e.at(2, "11:00")}
	var appts []*booking.Appointment
	for i := range 10 { // 3, 3, 3, 1
		appts = append(appts, e.book(e.customer(), slots[i/3]))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	cancelled := map[int]bool{}
	gate := make(chan struct{})
	for i, a := range appts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for step := range 8 {
				if i%5 == 4 && step == 5 {
					_, err := e.svc.Cancel(e.ctx, ownerOf(a), a.ID, "")
					if err != nil {
						t.Errorf("cancel %d: %v", i, err)
					}
					mu.Lock()
					cancelled[i] = true
					mu.Unlock()
					return
				}
				_, err := e.svc.Reschedule(e.ctx, ownerOf(a), a.ID, slots[r.IntN(len(slots))], "")
				if err != nil && !errors.Is(err, booking.ErrSlotFull) {
					t.Errorf("reschedule %d: %v", i, err)
				}
			}
		}()
	}
	close(gate)
	wg.Wait()
	total := 0
	for _, s := range slots {
		n, b := e.taken("MAINTENANCE", s), e.booked("MAINTENANCE", s)
		if n > 3 || n != b {
			t.Errorf("slot %v: counter %d, %d BOOKED, 3 seats", s, n, b)
		}
		total += b
	}
	if total != len(appts)-len(cancelled) {
		t.Fatalf("%d BOOKED after %d cancels of %d", total, len(cancelled), len(appts))
	}
	for i, a := range appts {
		got := e.reload(a)
		if want := map[bool]booking.Status{true: booking.Cancelled, false: booking.Booked}[cancelled[i]]; got.Status != want {
			t.Errorf("appointment %d is %s; want %s", i, got.Status, want)
		}
	}
}

// A manager lowering seats while owners book: either the change sees the
// bookings and is refused, or the bookings see the change; the slot never
// ends up with more bookings than seats.
func TestCalendarChangeRacesBookings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 10}}})
	must(t, err)
	start := e.at(1, "10:00")
	customers := make([]*customer, 10)
	for i := range customers {
		customers[i] = e.customer()
	}
	var wg sync.WaitGroup
	var changeErr error
	gate := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-gate
		time.Sleep(time.Millisecond)
		_, changeErr = e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 5}}})
	}()
	for _, c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, err := e.svc.Book(e.ctx, c.p, e.in(c, start))
			if err != nil && !errors.Is(err, booking.ErrSlotFull) {
				t.Error(err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	cal, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	seats := cal.Seats[0].Seats
	n := e.taken("MAINTENANCE", start)
	t.Logf("change: %v; %d seats, %d booked", changeErr, seats, n)
	if changeErr != nil && !errors.Is(changeErr, booking.CapacityBelowBookings(0)) {
		t.Fatal(changeErr)
	}
	if n > seats || (changeErr == nil && seats != 5) || (changeErr != nil && seats != 10) {
		t.Fatalf("%d booked with %d seats (change: %v)", n, seats, changeErr)
	}
}

// The share lock on the store row, step by step: a booking in flight holds
// off a calendar change until it commits, and the change then counts it;
// a change in flight holds off bookings, which then see the new seats.
func TestCalendarChangeWaitsForBookings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.who("manager")
	start := e.at(1, "10:00") // 2 MAINTENANCE seats
	e.book(e.customer(), start)
	lower := booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 1}}}

	// A booking takes the second seat and holds its transaction open.
	c := e.customer()
	booked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
			if _, err := e.svc.Book(ctx, c.p, e.in(c, start)); err != nil {
				return err
			}
			close(booked)
			<-release
			return nil
		})
	}()
	<-booked
	changed := make(chan error, 1)
	go func() {
		_, err := e.svc.SetCalendar(e.ctx, m, lower)
		changed <- err
	}()
	select {
	case err := <-changed:
		t.Fatalf("the change did not wait for the booking in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	must(t, <-done)
	wantCode(t, <-changed, booking.CodeCapacityBelowBookings, "")

	// A change lowers the seats of an empty slot and holds its transaction
	// open; a booking waits for it and finds the slot full.
	empty := e.at(1, "11:00")
	d := e.customer() // before: on SQLite the change in flight holds off every writer
	applied, release2 := make(chan struct{}), make(chan struct{})
	go func() {
		done <- e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
			if _, err := e.svc.SetOverride(ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(1), Kind: ptr("MAINTENANCE"), Seats: ptr(0), Force: true}); err != nil {
				return err
			}
			close(applied)
			<-release2
			return nil
		})
	}()
	<-applied
	bookErr := make(chan error, 1)
	go func() {
		_, err := e.svc.Book(e.ctx, d.p, e.in(d, empty))
		bookErr <- err
	}()
	select {
	case err := <-bookErr:
		t.Fatalf("the booking did not wait for the change in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release2)
	must(t, <-done)
	wantCode(t, <-bookErr, booking.CodeSlotFull, "slotStart")
}

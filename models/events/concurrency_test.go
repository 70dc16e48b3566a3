package events_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// checkSeats asserts the seat invariant of an event: seats_taken equals the
// party sizes of its CONFIRMED registrations and stays within capacity, and
// every confirmed paid registration was charged exactly once and never
// refunded.
func (e *env) checkSeats(eventID uuid.UUID) (confirmedSeats int) {
	e.t.Helper()
	ev := e.event(eventID)
	var regs []*events.Registration
	must(e.t, e.db.Conn(e.ctx).Where("event_id = ?", eventID).Find(&regs).Error)
	perOwner := map[uuid.UUID]int{}
	for _, r := range regs {
		if r.Status == events.Confirmed {
			confirmedSeats += r.PartySize
			if r.RefundedFen != 0 {
				e.t.Errorf("registration %s confirmed and refunded", r.ID)
			}
			if ev.FeeFen > 0 && r.PaidFen != ev.FeeFen*int64(r.PartySize) {
				e.t.Errorf("registration %s paid %d for %d seats", r.ID, r.PaidFen, r.PartySize)
			}
		}
		if r.Status != events.Withdrawn {
			perOwner[r.OwnerID]++
		}
	}
	for o, n := range perOwner {
		if n > 1 {
			e.t.Errorf("owner %s holds %d active registrations", o, n)
		}
	}
	if ev.SeatsTaken != confirmedSeats || confirmedSeats > ev.Capacity {
		e.t.Fatalf("seats_taken %d, confirmed seats %d, capacity %d", ev.SeatsTaken, confirmedSeats, ev.Capacity)
	}
	// Every charge of the event is one SPEND per registration that was
	// ever confirmed.
	var spends []struct {
		RefID uuid.UUID
		N     int
	}
	must(e.t, e.db.Conn(e.ctx).Model(&wallet.Entry{}).Select("ref_id, COUNT(*) AS n").
		Where("kind = ? AND ref_type = ? AND ref_id IN (?)", wallet.Spend, wallet.RefRegistration,
			e.db.Conn(e.ctx).Model(&events.Registration{}).Select("id").Where("event_id = ?", eventID)).
		Group("ref_id").Scan(&spends).Error)
	for _, s := range spends {
		if s.N != 1 {
			e.t.Errorf("registration %s charged %d times", s.RefID, s.N)
		}
	}
	return confirmedSeats
}

// race runs 100 owners with parties of 1 to 3 for 10 seats of a paid trip,
// then cancellations racing new registrations and the promotions they
// cause. svcs are the instances (one per database handle) requests spread
// over.
func race(t *testing.T, e *env, svcs []*events.Service) {
	s := e.spec(events.Trip, 10)
	s.FeeFen, s.MaxPartySize = 1000, 3
	ev := e.published(s)
	type racer struct {
		who   *auth.Principal
		party int
	}
	racers := make([]racer, 100)
	for i := range racers {
		_, who := e.customer(10_000)
		racers[i] = racer{who, 1 + i%3}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var regs []*events.Registration
	for i, r := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := svcs[i%len(svcs)].Register(e.ctx, r.who, events.RegisterInput{EventID: ev.ID, PartySize: r.party})
			if err != nil {
				t.Errorf("register: %v", err)
				return
			}
			mu.Lock()
			regs = append(regs, got)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if seats := e.checkSeats(ev.ID); seats < 8 {
		// Parties of at most 3: a full-as-possible event leaves at most 2 free.
		t.Fatalf("only %d of 10 seats confirmed", seats)
	}

	// Cancellations (confirmed and waitlisted) race late registrations.
	late := make([]*auth.Principal, 20)
	for i := range late {
		_, late[i] = e.customer(10_000)
	}
	rand.Shuffle(len(regs), func(i, j int) { regs[i], regs[j] = regs[j], regs[i] })
	for i, r := range regs[:40] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := &auth.Principal{Kind: auth.KindOwner, ID: r.OwnerID}
			if _, err := svcs[i%len(svcs)].CancelRegistration(e.ctx, who, r.ID, ""); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}()
	}
	for i, who := range late {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svcs[i%len(svcs)].Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, PartySize: 1 + i%3}); err != nil {
				t.Errorf("late register: %v", err)
			}
		}()
	}
	wg.Wait()
	seats := e.checkSeats(ev.ID)
	// Nothing that fits waits while seats are free (everyone can pay).
	var waiting []*events.Registration
	must(t, e.db.Conn(e.ctx).Where("event_id = ? AND status = ? AND party_size <= ?", ev.ID, events.Waitlisted, 10-seats).
		Find(&waiting).Error)
	if len(waiting) > 0 {
		t.Fatalf("%d seats free but %d fitting registrations still wait", 10-seats, len(waiting))
	}
}

func TestConcurrentRegistrationsNeverOversell(t *testing.T) {
	e := newEnv(t)
	race(t, e, []*events.Service{e.svc})
}

// The same race split over two instances (two connection pools) on one
// PostgreSQL database.
func TestConcurrentRegistrationsTwoInstances(t *testing.T) {
	dbs := testdb.Instances(t, 2, func(db *models.DB) error {
		_, err := demo.Seed(context.Background(), db, "pw")
		return err
	})
	if dbs == nil {
		t.Skip("two instances share one database only on PostgreSQL: set TEST_DATABASE_URL to run this test")
	}
	e := envOn(t, dbs[0])
	other := &events.Service{DB: dbs[1], Wallet: &wallet.Service{DB: dbs[1], Clock: e.clock.Now}, Clock: e.clock.Now}
	race(t, e, []*events.Service{e.svc, other})
}

// 30 owners race for 3 seats on a clock that moves on every reading, as a
// real one does. Each is told their waitlist position as soon as they are
// registered; nobody cancels, so that position must never change: a
// registration that took the event's lock later queues behind.
func TestConcurrentWaitlistPositionsFollowLockOrder(t *testing.T) {
	e := newEnv(t)
	var ticks atomic.Int64
	base := e.clock.Now()
	ticking := &events.Service{DB: e.db, Wallet: e.wallet, Clock: func() time.Time {
		return base.Add(time.Duration(ticks.Add(1)) * time.Millisecond)
	}}
	ev := e.published(e.spec(events.Class, 3))
	told := map[uuid.UUID]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 30 {
		_, who := e.customer(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := ticking.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
			if err != nil {
				t.Errorf("register: %v", err)
				return
			}
			if r.Status != events.Waitlisted {
				return
			}
			pos, err := ticking.WaitlistPositions(e.ctx, []uuid.UUID{r.ID})
			if err != nil {
				t.Errorf("position: %v", err)
				return
			}
			mu.Lock()
			told[r.ID] = pos[r.ID]
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(told) != 27 {
		t.Fatalf("%d waitlisted, want 27", len(told))
	}
	ids := make([]uuid.UUID, 0, len(told))
	for id := range told {
		ids = append(ids, id)
	}
	now, err := ticking.WaitlistPositions(e.ctx, ids)
	must(t, err)
	seen := map[int]bool{}
	for id, was := range told {
		if now[id] != was {
			t.Errorf("registration told #%d now reads #%d", was, now[id])
		}
		seen[now[id]] = true
	}
	for p := 1; p <= 27; p++ {
		if !seen[p] {
			t.Errorf("no registration at position %d", p)
		}
	}
}

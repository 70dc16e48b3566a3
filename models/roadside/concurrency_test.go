package roadside_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// Ten requests for one car at once: exactly one is stored, the others are
// refused with ASSISTANCE_ALREADY_OPEN.
func TestConcurrentRequestsOneOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = e.svc.RequestAssistance(e.ctx, c.p, e.input(c))
		}()
	}
	close(start)
	wg.Wait()
	ok, open := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, roadside.ErrAlreadyOpen):
			open++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	var stored int64
	must(t, e.db.Conn(e.ctx).Model(&roadside.Request{}).Where("vehicle_id = ?", c.car.ID).Count(&stored).Error)
	var events int64
	must(t, e.db.Conn(e.ctx).Model(&roadside.Event{}).
		Where("request_id IN (SELECT id FROM assistance_requests WHERE vehicle_id = ?)", c.car.ID).Count(&events).Error)
	if ok != 1 || open != n-1 || stored != 1 || events != 1 {
		t.Fatalf("%d stored, %d refused; rows %d, events %d; want 1, %d, 1, 1", ok, open, stored, events, n-1)
	}
}

// Staff accepting one request at once: one wins, the others are told
// ALREADY_ACCEPTED; the timeline and the inbox have the one acceptance.
func TestConcurrentAccepts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staff := []*auth.Principal{e.who("advisor"), e.who("crm"), e.who("manager"), e.who("admin"),
		e.person("advisor2", []uuid.UUID{e.a}, auth.RoleAdvisor), e.person("crm2", []uuid.UUID{e.a}, auth.RoleCRM)}
	for round := range 5 {
		c := e.customer()
		r := e.request(c)
		var wg sync.WaitGroup
		results := make([]*roadside.Request, len(staff))
		errs := make([]error, len(staff))
		start := make(chan struct{})
		for i, who := range staff {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = e.svc.Accept(e.ctx, who, r.ID)
			}()
		}
		close(start)
		wg.Wait()
		var winner *auth.Principal
		lost := 0
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != nil {
					t.Fatalf("round %d: two accepts won", round)
				}
				winner = staff[i]
			case errors.Is(err, roadside.ErrAlreadyAccepted):
				lost++
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if winner == nil || lost != len(staff)-1 {
			t.Fatalf("round %d: winner %v, %d lost", round, winner, lost)
		}
		got, err := e.svc.RequestFor(e.ctx, winner, r.ID)
		must(t, err)
		ev := e.events(r.ID)
		if got.Version != 2 || *got.AcceptedBy != winner.ID || len(ev) != 2 || ev[1].ActorID != winner.ID || len(e.inbox(c.owner.ID)) != 1 {
			t.Fatalf("round %d: request %+v, %d events, inbox %d", round, got, len(ev), len(e.inbox(c.owner.ID)))
		}
	}
}

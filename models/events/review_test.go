package events_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// deleter is the account deletion as server/app.go wires it for events.
func (e *env) deleter() *privacy.Service {
	return &privacy.Service{DB: e.db, Clock: e.clock.Now, Erasers: []privacy.Eraser{e.svc.EraseOwner},
		Lockers: []privacy.Eraser{e.svc.LockOwner}}
}

// A fee still refundable (here: promoted after the deadline) must reach
// the owner before the account goes.
func TestDeleteAccountRefusedWhilePromotedFeeRefundable(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 1)
	s.FeeFen = 5000
	ev := e.published(s)
	_, first := e.customer(5000)
	x, xp := e.customer(5000)
	r1, err := e.svc.Register(e.ctx, first, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	rx, err := e.svc.Register(e.ctx, xp, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	e.clock.Set(ev.CancellationDeadline.Add(time.Hour))
	_, err = e.svc.CancelRegistration(e.ctx, first, r1.ID, "")
	must(t, err)
	if e.reg(rx.ID).Status != events.Confirmed {
		t.Fatal("not promoted")
	}
	err = e.deleter().DeleteAccount(e.ctx, xp, true)
	wantCode(t, err, events.CodeRefundPending, "")
	if fen, _ := e.balance(x); fen != 0 || e.reg(rx.ID).Status != events.Confirmed {
		t.Fatalf("a refused deletion changed the registration or wallet (%d)", fen)
	}
	// Cancelled (refunded) and the wallet refunded, the account goes.
	_, err = e.svc.CancelRegistration(e.ctx, xp, rx.ID, "")
	must(t, err)
	_, err = e.wallet.Refund(e.ctx, e.who("manager.sz01"), wallet.RefundInput{OwnerID: x.ID, StoreID: e.sz.ID,
		AmountFen: 5000, Method: "CASH", Reason: "注销前退款", IdempotencyKey: "refund-" + x.ID.String()})
	must(t, err)
	must(t, e.deleter().DeleteAccount(e.ctx, xp, true))
}

// One skipped for want of money who has topped up goes ahead of a newcomer.
func TestWaitlistedOwnerWhoCanPayNowGoesBeforeNewcomer(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 1)
	s.FeeFen = 5000
	ev := e.published(s)
	_, first := e.customer(5000)
	poor, poorP := e.customer(0)
	_, late := e.customer(5000)
	r1, err := e.svc.Register(e.ctx, first, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	rp, err := e.svc.Register(e.ctx, poorP, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	_, err = e.svc.CancelRegistration(e.ctx, first, r1.ID, "")
	must(t, err)
	if e.reg(rp.ID).Status != events.Waitlisted {
		t.Fatal("promoted without money")
	}
	_, err = e.wallet.TopUp(e.ctx, e.who("cashier.sz01"), wallet.TopUpInput{OwnerID: poor.ID, StoreID: e.sz.ID,
		AmountFen: 5000, Method: "CASH", IdempotencyKey: "topup-" + poor.ID.String()})
	must(t, err)
	rl, err := e.svc.Register(e.ctx, late, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	if rl.Status != events.Waitlisted || e.reg(rp.ID).Status != events.Confirmed {
		t.Fatalf("newcomer %s, the queue's head %s", rl.Status, e.reg(rp.ID).Status)
	}
}

func TestDeadlineCannotMoveEarlierOnceRegistered(t *testing.T) {
	e := newEnv(t)
	ev := e.published(e.spec(events.Class, 3))
	staff := e.who("events.sz01")
	earlier := ev.CancellationDeadline.Add(-time.Hour)
	// Before anyone registers it may move either way.
	_, err := e.svc.UpdateEvent(e.ctx, staff, ev.ID, nil, events.Patch{CancellationDeadline: &earlier})
	must(t, err)
	_, who := e.customer(0)
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	sooner := earlier.Add(-time.Hour)
	_, err = e.svc.UpdateEvent(e.ctx, staff, ev.ID, nil, events.Patch{CancellationDeadline: &sooner})
	wantCode(t, err, events.CodeEventLocked, "")
	later := earlier.Add(time.Hour)
	_, err = e.svc.UpdateEvent(e.ctx, staff, ev.ID, nil, events.Patch{CancellationDeadline: &later})
	must(t, err)
}

// Two events cancelled at once, their owners registered in opposite
// orders, and deletions racing cancellations that would promote the
// deleting owner: every operation succeeds and the ledger adds up.
func TestCancellationsAndDeletionsRace(t *testing.T) {
	e := newEnv(t)
	retries := e.db.TxRetries()
	for round := range 5 {
		s := e.spec(events.Class, 30)
		s.FeeFen = 100
		s.StartsAt = s.StartsAt.Add(time.Duration(round) * time.Hour)
		s.EndsAt = s.EndsAt.Add(time.Duration(round) * time.Hour)
		e1, e2 := e.published(s), e.published(s)
		var owners []*auth.Principal
		for range 10 {
			_, who := e.customer(200)
			owners = append(owners, who)
		}
		for i := range owners {
			_, err := e.svc.Register(e.ctx, owners[i], events.RegisterInput{EventID: e1.ID})
			must(t, err)
			_, err = e.svc.Register(e.ctx, owners[len(owners)-1-i], events.RegisterInput{EventID: e2.ID})
			must(t, err)
		}
		// One seat, Y holds it, X waits holding points; Y cancels while X
		// deletes the account.
		one := e.spec(events.Class, 1)
		one.FeePoints = 100
		one.StartsAt, one.EndsAt = s.StartsAt, s.EndsAt
		ev := e.published(one)
		y, yp := e.customer(0)
		x, xp := e.customer(0)
		for _, o := range []uuid.UUID{y.ID, x.ID} {
			must(t, e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
				_, err := e.wallet.Award(ctx, wallet.AwardInput{OwnerID: o, Points: 100, Key: "race-" + o.String()})
				return err
			}))
		}
		ry, err := e.svc.Register(e.ctx, yp, events.RegisterInput{EventID: ev.ID})
		must(t, err)
		_, err = e.svc.Register(e.ctx, xp, events.RegisterInput{EventID: ev.ID})
		must(t, err)

		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for _, id := range []uuid.UUID{e1.ID, e2.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.CancelEvent(e.ctx, e.who("events.sz01"), id, nil, "暴雨")
				errs <- err
			}()
		}
		wg.Add(2)
		go func() { defer wg.Done(); _, err := e.svc.CancelRegistration(e.ctx, yp, ry.ID, ""); errs <- err }()
		go func() { defer wg.Done(); errs <- e.deleter().DeleteAccount(e.ctx, xp, true) }()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if deleted, _ := (&directory.Service{DB: e.db}).OwnerDeleted(e.ctx, x.ID); !deleted {
			t.Fatalf("round %d: X not deleted", round)
		}
		e.checkSeats(ev.ID)
	}
	// They take their locks in one order: none waited for a deadlock.
	if n := e.db.TxRetries() - retries; n != 0 {
		t.Fatalf("%d transactions ran again after deadlocks", n)
	}
}

var _ = models.ChinaTime

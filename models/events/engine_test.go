package events_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestSchemaMatchesEntities(t *testing.T) {
	e := newEnv(t)
	testdb.CheckSchema(t, e.db, &events.Event{}, &events.Registration{})
}

func TestRegisterConfirmsAndCharges(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 2)
	s.FeeFen = 5000
	ev := e.published(s)
	o, who := e.customer(20000)
	r, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	if r.Status != events.Confirmed || r.PaidFen != 5000 || r.PayWith == nil || *r.PayWith != events.PayWallet {
		t.Fatalf("registration = %+v", r)
	}
	if fen, _ := e.balance(o); fen != 15000 {
		t.Fatalf("balance = %d, want 15000", fen)
	}
	if got := e.event(ev.ID).SeatsTaken; got != 1 {
		t.Fatalf("seats taken = %d", got)
	}
	// No points for an event fee: a refund reverses the charge exactly.
	if _, pts := e.balance(o); pts != 0 {
		t.Fatalf("points = %d, want 0", pts)
	}
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	wantCode(t, err, events.CodeAlreadyRegistered, "eventId")
}

func TestRegisterRefusals(t *testing.T) {
	e := newEnv(t)
	trip := e.spec(events.Trip, 6)
	trip.VehicleRequired, trip.FeePoints = true, 800
	ev := e.published(trip)
	o, who := e.customer(0)
	car := e.vehicle(o)
	stranger, _ := e.customer(0)
	strangersCar := e.vehicle(stranger)

	_, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, PartySize: 2})
	wantCode(t, err, events.CodeVehicleRequired, "vehicleId")
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, PartySize: 5, VehicleID: &car.ID})
	wantCode(t, err, events.CodePartyTooLarge, "partySize")
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, VehicleID: &strangersCar.ID})
	wantCode(t, err, models.CodeNotFound, "vehicleId")
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, VehicleID: &car.ID, PayWith: ptr(events.PayWallet)})
	wantCode(t, err, models.CodePaymentMethodUnavailable, "payWith")
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID, VehicleID: &car.ID})
	wantCode(t, err, wallet.CodeInsufficientPoints, "")
	_, err = e.svc.Register(e.ctx, e.who("events.sz01"), events.RegisterInput{EventID: ev.ID})
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Register(e.ctx, nil, events.RegisterInput{EventID: ev.ID})
	wantCode(t, err, models.CodeUnauthenticated, "")

	var n int64
	must(t, e.db.Conn(e.ctx).Model(&events.Registration{}).Where("event_id = ?", ev.ID).Count(&n).Error)
	if n != 0 {
		t.Fatalf("refusals left %d registrations", n)
	}

	gold := e.spec(events.Class, 5)
	gold.MinTier = wallet.Gold
	ev2 := e.published(gold)
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev2.ID})
	wantCode(t, err, events.CodeTierTooLow, "eventId")
	must(t, e.db.Conn(e.ctx).Model(&wallet.Account{}).Where("owner_id = ?", o.ID).Update("tier", wallet.Platinum).Error)
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev2.ID})
	must(t, err)

	draft, err := e.svc.CreateEvent(e.ctx, e.who("events.sz01"), e.spec(events.Class, 5))
	must(t, err)
	_, err = e.svc.Register(e.ctx, who, events.RegisterInput{EventID: draft.ID})
	wantCode(t, err, models.CodeNotFound, "eventId")
}

func TestRegistrationWindowEdges(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 5)
	s.RegistrationOpensAt = e.clock.Now().Add(time.Hour)
	ev := e.published(s)
	_, who := e.customer(0)
	e.clock.Set(ev.RegistrationOpensAt.Add(-time.Microsecond))
	_, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	wantCode(t, err, events.CodeRegistrationClosed, "eventId")
	e.clock.Set(ev.RegistrationOpensAt)
	r, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	_, who2 := e.customer(0)
	e.clock.Set(ev.RegistrationClosesAt)
	_, err = e.svc.Register(e.ctx, who2, events.RegisterInput{EventID: ev.ID})
	wantCode(t, err, events.CodeRegistrationClosed, "eventId")
	// Cancelling is still possible after registration closed, until the start.
	_, err = e.svc.CancelRegistration(e.ctx, who, r.ID, "")
	must(t, err)
}

func TestCancelRefundsBeforeDeadlineOnly(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Trip, 10)
	s.FeeFen, s.FeePoints = 10000, 3000
	ev := e.published(s)
	a, whoA := e.customer(50000)
	b, whoB := e.customer(50000)
	ra, err := e.svc.Register(e.ctx, whoA, events.RegisterInput{EventID: ev.ID, PartySize: 2, PayWith: ptr(events.PayWallet)})
	must(t, err)
	rb, err := e.svc.Register(e.ctx, whoB, events.RegisterInput{EventID: ev.ID, PartySize: 3, PayWith: ptr(events.PayWallet)})
	must(t, err)
	if ra.PaidFen != 20000 || rb.PaidFen != 30000 {
		t.Fatalf("paid %d and %d", ra.PaidFen, rb.PaidFen)
	}
	e.clock.Set(ev.CancellationDeadline.Add(-time.Microsecond))
	got, err := e.svc.CancelRegistration(e.ctx, whoA, ra.ID, "")
	must(t, err)
	if got.RefundedFen != 20000 {
		t.Fatalf("refunded %d before the deadline", got.RefundedFen)
	}
	if fen, _ := e.balance(a); fen != 50000 {
		t.Fatalf("A's balance %d, want 50000", fen)
	}
	e.clock.Set(ev.CancellationDeadline)
	got, err = e.svc.CancelRegistration(e.ctx, whoB, rb.ID, "")
	must(t, err)
	if got.RefundedFen != 0 {
		t.Fatalf("refunded %d at the deadline", got.RefundedFen)
	}
	if fen, _ := e.balance(b); fen != 20000 {
		t.Fatalf("B's balance %d, want 20000", fen)
	}
	_, err = e.svc.CancelRegistration(e.ctx, whoB, rb.ID, "")
	wantCode(t, err, events.CodeNotActive, "")
	if left := e.event(ev.ID).SeatsTaken; left != 0 {
		t.Fatalf("seats taken %d after both cancelled", left)
	}
}

func TestPromotionOrderSkipsWhatDoesNotFitOrPay(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Trip, 4)
	s.FeeFen = 1000
	ev := e.published(s)
	_, holder := e.customer(10000)
	held, err := e.svc.Register(e.ctx, holder, events.RegisterInput{EventID: ev.ID, PartySize: 4})
	must(t, err)
	// The queue: a party of 3, a party of 1 who cannot pay, a party of 1, a party of 2.
	big, whoBig := e.customer(10000)
	poor, whoPoor := e.customer(0)
	small, whoSmall := e.customer(10000)
	pair, whoPair := e.customer(10000)
	queue := map[string]*events.Registration{}
	rBig, err := e.svc.Register(e.ctx, whoBig, events.RegisterInput{EventID: ev.ID, PartySize: 3})
	must(t, err)
	e.clock.Set(e.clock.Now().Add(time.Second))
	rPoor, err := e.svc.Register(e.ctx, whoPoor, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	e.clock.Set(e.clock.Now().Add(time.Second))
	rSmall, err := e.svc.Register(e.ctx, whoSmall, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	e.clock.Set(e.clock.Now().Add(time.Second))
	rPair, err := e.svc.Register(e.ctx, whoPair, events.RegisterInput{EventID: ev.ID, PartySize: 2})
	must(t, err)
	queue["big"], queue["poor"], queue["small"], queue["pair"] = rBig, rPoor, rSmall, rPair
	for name, r := range queue {
		if r.Status != events.Waitlisted {
			t.Fatalf("%s: %s, want WAITLISTED", name, r.Status)
		}
	}
	pos, err := e.svc.WaitlistPositions(e.ctx, []uuid.UUID{rBig.ID, rPoor.ID, rSmall.ID, rPair.ID})
	must(t, err)
	if pos[rBig.ID] != 1 || pos[rPoor.ID] != 2 || pos[rSmall.ID] != 3 || pos[rPair.ID] != 4 {
		t.Fatalf("positions %v", pos)
	}

	// Two seats free up: the 3 does not fit, the poor 1 cannot pay, the 1
	// gets a seat, the 2 no longer fits.
	_, err = e.svc.UpdateEvent(e.ctx, e.who("events.sz01"), ev.ID, nil, events.Patch{Capacity: ptr(6)})
	must(t, err)
	if st := e.reg(rSmall.ID).Status; st != events.Confirmed {
		t.Fatalf("the 1 that fits and pays: %s", st)
	}
	for name, id := range map[string]uuid.UUID{"big": rBig.ID, "poor": rPoor.ID, "pair": rPair.ID} {
		if st := e.reg(id).Status; st != events.Waitlisted {
			t.Fatalf("%s: %s, want WAITLISTED", name, st)
		}
	}
	if e.inbox(poor, events.NotifyPromotionFailed) != 1 || e.inbox(small, events.NotifyPromoted) != 1 {
		t.Fatalf("inbox: poor told %d, small told %d", e.inbox(poor, events.NotifyPromotionFailed), e.inbox(small, events.NotifyPromoted))
	}
	if fen, _ := e.balance(poor); fen != 0 {
		t.Fatalf("the poor owner was charged: %d", fen)
	}
	// The holder leaves before the deadline: 4+1 free seats... the big 3
	// goes first, then the pair (the poor one still cannot pay).
	_, err = e.svc.CancelRegistration(e.ctx, holder, held.ID, "")
	must(t, err)
	if e.reg(rBig.ID).Status != events.Confirmed || e.reg(rPair.ID).Status != events.Confirmed || e.reg(rPoor.ID).Status != events.Waitlisted {
		t.Fatalf("after the holder left: big %s, pair %s, poor %s", e.reg(rBig.ID).Status, e.reg(rPair.ID).Status, e.reg(rPoor.ID).Status)
	}
	if got := e.event(ev.ID).SeatsTaken; got != 6 {
		t.Fatalf("seats taken %d, want 6", got)
	}
	for _, o := range []*models.Owner{big, small, pair} {
		if fen, _ := e.balance(o); fen == 10000 {
			t.Fatalf("%s promoted but not charged", o.Name)
		}
	}
	// Capacity cannot go below the confirmed seats.
	_, err = e.svc.UpdateEvent(e.ctx, e.who("events.sz01"), ev.ID, nil, events.Patch{Capacity: ptr(5)})
	wantCode(t, err, events.CodeCapacityBelowConfirmed, "capacity")
	_, err = e.svc.UpdateEvent(e.ctx, e.who("events.sz01"), ev.ID, nil, events.Patch{FeeFen: ptr(int64(2000))})
	wantCode(t, err, events.CodeEventLocked, "")
}

func TestCancelEventRefundsEveryone(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 1)
	s.FeeFen = 3000
	ev := e.published(s)
	a, whoA := e.customer(3000)
	b, whoB := e.customer(3000)
	ra, err := e.svc.Register(e.ctx, whoA, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	rb, err := e.svc.Register(e.ctx, whoB, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	// After the deadline the store's cancellation still refunds in full.
	e.clock.Set(ev.CancellationDeadline.Add(time.Minute))
	_, err = e.svc.CancelEvent(e.ctx, e.who("events.sz01"), ev.ID, nil, " ")
	wantCode(t, err, models.CodeInvalidArgument, "reason")
	_, err = e.svc.CancelEvent(e.ctx, e.who("events.gz01"), ev.ID, nil, "暴雨")
	wantCode(t, err, models.CodeForbidden, "")
	got, err := e.svc.CancelEvent(e.ctx, e.who("manager.sz01"), ev.ID, nil, "暴雨")
	must(t, err)
	if got.Status != events.Cancelled || e.event(ev.ID).SeatsTaken != 0 {
		t.Fatalf("event %s seats %d", got.Status, e.event(ev.ID).SeatsTaken)
	}
	if fa, _ := e.balance(a); fa != 3000 {
		t.Fatalf("A's balance %d", fa)
	}
	if fb, _ := e.balance(b); fb != 3000 {
		t.Fatalf("B (waitlisted, never charged) balance %d", fb)
	}
	if e.reg(ra.ID).Status != events.Withdrawn || e.reg(rb.ID).Status != events.Withdrawn {
		t.Fatal("registrations not cancelled")
	}
	if e.inbox(a, events.NotifyEventCancelled) != 1 || e.inbox(b, events.NotifyEventCancelled) != 1 {
		t.Fatal("owners not told")
	}
	_, err = e.svc.CancelEvent(e.ctx, e.who("manager.sz01"), ev.ID, nil, "again")
	wantCode(t, err, events.CodeEventCancelled, "")
}

func TestCheckInOnceWithAttendancePoints(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 3)
	s.AttendancePoints = 200
	ev := e.published(s)
	o, who := e.customer(0)
	r, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	_, err = e.svc.CheckIn(e.ctx, e.who("events.sz01"), r.CheckInCode)
	wantCode(t, err, events.CodeCheckInNotOpen, "code")
	e.clock.Set(ev.StartsAt.Add(-events.CheckInOpensBefore))
	_, err = e.svc.CheckIn(e.ctx, e.who("events.gz01"), r.CheckInCode)
	wantCode(t, err, models.CodeNotFound, "code")
	_, err = e.svc.CheckIn(e.ctx, e.who("advisor.sz01"), r.CheckInCode)
	wantCode(t, err, models.CodeForbidden, "")
	got, err := e.svc.CheckIn(e.ctx, e.who("events.sz01"), r.CheckInCode)
	must(t, err)
	if got.CheckedInAt == nil {
		t.Fatal("not checked in")
	}
	_, err = e.svc.CheckIn(e.ctx, e.who("manager.sz01"), r.CheckInCode)
	wantCode(t, err, events.CodeAlreadyCheckedIn, "code")
	if _, pts := e.balance(o); pts != 200 {
		t.Fatalf("points %d, want 200 once", pts)
	}
	_, err = e.svc.CheckIn(e.ctx, e.who("events.sz01"), "NOSUCHCODE")
	wantCode(t, err, models.CodeNotFound, "code")
	_, err = e.svc.CancelRegistration(e.ctx, who, r.ID, "")
	wantCode(t, err, events.CodeAlreadyCheckedIn, "")
}

func ptr[T any](v T) *T { return &v }

// A store may cancel an event in its last hours, after people checked in:
// everyone is refunded; attendance points already credited stay.
func TestCancelEventAfterCheckIn(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 2)
	s.FeeFen, s.AttendancePoints = 5000, 300
	ev := e.published(s)
	o, who := e.customer(5000)
	r, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	e.clock.Set(ev.StartsAt.Add(-time.Hour))
	_, err = e.svc.CheckIn(e.ctx, e.who("events.sz01"), r.CheckInCode)
	must(t, err)
	_, err = e.svc.CancelEvent(e.ctx, e.who("events.sz01"), ev.ID, nil, "场地停电")
	must(t, err)
	got := e.reg(r.ID)
	if got.Status != events.Withdrawn || got.RefundedFen != 5000 || got.CheckedInAt == nil {
		t.Fatalf("registration after the event was cancelled: %+v", got)
	}
	if fen, pts := e.balance(o); fen != 5000 || pts != 300 {
		t.Fatalf("balance %d, points %d; want the fee back and the attendance points kept", fen, pts)
	}
}

// A registration promoted after the cancellation deadline was charged
// without a free way out: it stays refundable until the start. One made
// after the deadline with seats free is not.
func TestLatePromotionStaysRefundable(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 1)
	s.FeeFen = 2000
	s.RegistrationClosesAt = s.StartsAt.Add(-time.Hour)
	ev := e.published(s)
	holder, whoHolder := e.customer(2000)
	waiting, whoWaiting := e.customer(2000)
	held, err := e.svc.Register(e.ctx, whoHolder, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	queued, err := e.svc.Register(e.ctx, whoWaiting, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	e.clock.Set(ev.CancellationDeadline.Add(time.Hour))
	if _, err := e.svc.CancelRegistration(e.ctx, whoHolder, held.ID, ""); err != nil {
		t.Fatal(err)
	}
	if fen, _ := e.balance(holder); fen != 0 {
		t.Fatalf("refunded %d after the deadline", fen)
	}
	promoted := e.reg(queued.ID)
	if promoted.Status != events.Confirmed || promoted.WaitlistedAt == nil {
		t.Fatalf("promoted %+v", promoted)
	}
	got, err := e.svc.CancelRegistration(e.ctx, whoWaiting, queued.ID, "")
	must(t, err)
	if got.RefundedFen != 2000 {
		t.Fatalf("late promotion refunded %d, want 2000", got.RefundedFen)
	}
	if fen, _ := e.balance(waiting); fen != 2000 {
		t.Fatalf("balance %d", fen)
	}
	// Registered (with a free seat) after the deadline: no refund.
	late, whoLate := e.customer(2000)
	r, err := e.svc.Register(e.ctx, whoLate, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	if r.Status != events.Confirmed || r.WaitlistedAt != nil {
		t.Fatalf("direct registration %+v", r)
	}
	got, err = e.svc.CancelRegistration(e.ctx, whoLate, r.ID, "")
	must(t, err)
	if fen, _ := e.balance(late); got.RefundedFen != 0 || fen != 0 {
		t.Fatalf("refunded %d after the deadline", got.RefundedFen)
	}
}

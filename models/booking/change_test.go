package booking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
)

func TestReschedule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	old := e.at(1, "15:00")
	a := e.book(c, old, func(in *booking.BookInput) { in.Note = "保养" })

	// Later, then earlier: the counters follow, the appointment keeps its id.
	for _, to := range []time.Time{e.at(2, "16:00"), e.at(1, "09:00")} {
		got, err := e.svc.Reschedule(e.ctx, c.p, a.ID, to, "")
		must(t, err)
		if got.ID != a.ID || !got.SlotStart.Equal(to) || !got.SlotEnd.Equal(to.Add(time.Hour)) || got.Status != booking.Booked || got.Note != "保养" {
			t.Fatalf("rescheduled %+v", got)
		}
		if e.taken("MAINTENANCE", old) != 0 || e.taken("MAINTENANCE", to) != 1 {
			t.Fatalf("counters old %d new %d", e.taken("MAINTENANCE", old), e.taken("MAINTENANCE", to))
		}
		old = to
	}
	// The same slot changes nothing.
	got, err := e.svc.Reschedule(e.ctx, c.p, a.ID, old, "")
	if err != nil || !got.SlotStart.Equal(old) || e.taken("MAINTENANCE", old) != 1 {
		t.Fatalf("same slot: %+v, %v", got, err)
	}

	// A full slot keeps the old one untouched.
	full := e.at(3, "10:00")
	e.book(e.customer(), full)
	e.book(e.customer(), full)
	_, err = e.svc.Reschedule(e.ctx, c.p, a.ID, full, "")
	wantCode(t, err, booking.CodeSlotFull, "slotStart")
	if got := e.reload(a); !got.SlotStart.Equal(old) || got.Status != booking.Booked || e.taken("MAINTENANCE", old) != 1 || e.taken("MAINTENANCE", full) != 2 {
		t.Fatalf("after SLOT_FULL: %+v, counters %d/%d", got, e.taken("MAINTENANCE", old), e.taken("MAINTENANCE", full))
	}

	// The new slot follows Book's rules.
	for _, tc := range []struct {
		to   time.Time
		code models.Code
	}{
		{e.at(0, "09:00"), booking.CodeTooLate},
		{e.at(31, "10:00"), booking.CodeTooFarAhead},
		{e.at(6, "10:00"), booking.CodeStoreClosed},
		{e.at(2, "10:15"), booking.CodeInvalidSlot},
	} {
		_, err := e.svc.Reschedule(e.ctx, c.p, a.ID, tc.to, "")
		wantCode(t, err, tc.code, "slotStart")
	}
	_, err = e.svc.Reschedule(e.ctx, c.p, a.ID, time.Time{}, "")
	wantCode(t, err, models.CodeInvalidArgument, "slotStart")

	// Staff of the store move it too; others do not find it.
	if _, err := e.svc.Reschedule(e.ctx, e.who("crm"), a.ID, e.at(2, "09:00"), ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*auth.Principal{e.customer().p, e.who("advisor.sz01"), e.who("manager.gz01")} {
		_, err := e.svc.Reschedule(e.ctx, p, a.ID, e.at(2, "11:00"), "")
		wantCode(t, err, models.CodeNotFound, "")
	}
	_, err = e.svc.Reschedule(e.ctx, e.who("technician"), a.ID, e.at(2, "11:00"), "")
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Reschedule(e.ctx, c.p, models.NewID(), e.at(2, "11:00"), "")
	wantCode(t, err, models.CodeNotFound, "")
	if _, err := e.svc.Reschedule(e.ctx, nil, a.ID, e.at(2, "11:00"), ""); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
}

// Owners move and cancel until two hours before the slot; staff until it
// starts.
func TestChangeDeadlines(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, d := e.customer(), e.customer()
	a := e.book(c, e.at(1, "10:00"))
	b := e.book(d, e.at(1, "10:00"))
	e.clock.Set(e.at(1, "08:00").Add(time.Second))
	_, err := e.svc.Reschedule(e.ctx, c.p, a.ID, e.at(1, "15:00"), "")
	wantCode(t, err, booking.CodeTooLate, "")
	_, err = e.svc.Cancel(e.ctx, c.p, a.ID, "")
	wantCode(t, err, booking.CodeTooLate, "")
	if got := e.reload(a); got.Status != booking.Booked || !got.SlotStart.Equal(e.at(1, "10:00")) {
		t.Fatalf("refused change changed %+v", got)
	}
	// Staff: a reschedule at 09:59, a cancel at 09:59, not at 10:00.
	e.clock.Set(e.at(1, "09:59"))
	if _, err := e.svc.Reschedule(e.ctx, e.who("advisor"), a.ID, e.at(1, "14:00"), ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.at(1, "10:00"))
	_, err = e.svc.Cancel(e.ctx, e.who("advisor"), b.ID, "")
	wantCode(t, err, booking.CodeTooLate, "")
	e.clock.Set(e.at(1, "09:59"))
	if _, err := e.svc.Cancel(e.ctx, e.who("advisor"), b.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Exactly two hours before is already too late for the owner.
	e.clock.Set(e.at(1, "12:00"))
	_, err = e.svc.Cancel(e.ctx, c.p, a.ID, "")
	wantCode(t, err, booking.CodeTooLate, "")
	e.clock.Set(e.at(1, "11:59"))
	if _, err := e.svc.Cancel(e.ctx, c.p, a.ID, ""); err != nil {
		t.Fatal(err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(1, "10:00")
	a := e.book(c, start)
	for _, p := range []*auth.Principal{e.customer().p, e.who("advisor.sz01"), e.who("manager.gz01")} {
		_, err := e.svc.Cancel(e.ctx, p, a.ID, "")
		wantCode(t, err, models.CodeNotFound, "")
	}
	for _, p := range []*auth.Principal{e.who("technician"), {Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.store.ID}}} {
		_, err := e.svc.Cancel(e.ctx, p, a.ID, "")
		wantCode(t, err, models.CodeForbidden, "")
	}
	if _, err := e.svc.Cancel(e.ctx, nil, a.ID, ""); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	got, err := e.svc.Cancel(e.ctx, c.p, a.ID, "")
	must(t, err)
	if got.Status != booking.Cancelled || got.CancelledAt == nil || !got.CancelledAt.Equal(base) || e.taken("MAINTENANCE", start) != 0 {
		t.Fatalf("cancelled %+v, counter %d", got, e.taken("MAINTENANCE", start))
	}
	if r := e.reload(a); r.Status != booking.Cancelled || r.CancelledAt == nil {
		t.Fatalf("stored %+v", r)
	}
	_, err = e.svc.Cancel(e.ctx, c.p, a.ID, "")
	wantCode(t, err, booking.CodeNotBooked, "")
	_, err = e.svc.Reschedule(e.ctx, c.p, a.ID, e.at(2, "10:00"), "")
	wantCode(t, err, booking.CodeNotBooked, "")
}

func TestRescheduleIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	a := e.book(c, e.at(1, "10:00"))
	to := e.at(2, "10:00")
	for range 2 {
		got, err := e.svc.Reschedule(e.ctx, c.p, a.ID, to, "move-1")
		if err != nil || !got.SlotStart.Equal(to) {
			t.Fatalf("reschedule = %+v, %v", got, err)
		}
	}
	if e.taken("MAINTENANCE", to) != 1 || e.taken("MAINTENANCE", e.at(1, "10:00")) != 0 {
		t.Fatal("retry moved seats again")
	}
	_, err := e.svc.Reschedule(e.ctx, c.p, a.ID, e.at(3, "10:00"), "move-1")
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
}

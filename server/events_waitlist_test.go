package main

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The waitlist served in order as seats free, and cancelled events: every
// registration refunded, also after people were admitted.

// Freed seats go to the earliest waitlisted registrations that fit: a
// party of 3 waitlisted before a party of 1 is passed over when one seat
// frees; an owner who cannot pay is skipped, stays waitlisted and is told
// (EVENT_PAYMENT_FAILED) while the next is promoted, charged and told
// (EVENT_PROMOTED). Raising the capacity promotes at once; lowering it
// below the confirmed seats is refused.
func TestEventWaitlistPromotion(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayPromotion)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 3, "maxPartySize": 3, "feeFen": 2_000}))
	f.at(start.AddDate(0, 0, -5))
	x, y := f.owner(t, 10_000, 0), f.owner(t, 10_000, 0)
	big, broke, small, late := f.owner(t, 10_000, 0), f.owner(t, 0, 0), f.owner(t, 10_000, 0), f.owner(t, 10_000, 0)
	rx := f.register(t, x, ev["id"], nil)
	f.register(t, y, ev["id"], map[string]any{"partySize": 2})
	rBig := f.register(t, big, ev["id"], map[string]any{"partySize": 3})
	rBroke := f.register(t, broke, ev["id"], nil) // waitlisted: no charge yet, so no refusal
	rSmall := f.register(t, small, ev["id"], nil)
	rLate := f.register(t, late, ev["id"], nil)
	for i, r := range []map[string]any{rBig, rBroke, rSmall, rLate} {
		if r["status"] != "WAITLISTED" || wkNum(r["waitlistPosition"]) != i+1 || wkFen(r, "paid") != 0 {
			t.Fatalf("waitlisted %d: %v", i+1, r)
		}
	}
	if n, _, _ := f.entries(t, broke.Owner.ID, wallet.Spend); n != 0 {
		t.Fatal("a waitlisted registration was charged")
	}

	// One seat frees: the party of 3 does not fit, the broke owner cannot
	// pay, the next one is promoted.
	f.ok(t, x.OwnerToken, "cancelRegistration", evCancelIn(rx))
	want := map[any]string{rBig["id"]: "WAITLISTED", rBroke["id"]: "WAITLISTED", rSmall["id"]: "CONFIRMED", rLate["id"]: "WAITLISTED"}
	for id, st := range want {
		if r := f.reg(t, id); string(r.Status) != st {
			t.Fatalf("after one seat freed, %v is %s, want %s", id, r.Status, st)
		}
	}
	if r := f.reg(t, rSmall["id"]); r.PaidFen != 2_000 || r.ConfirmedAt == nil {
		t.Fatalf("promoted: %+v", r)
	}
	if bal, _ := f.balance(t, small.Owner.ID); bal != 8_000 {
		t.Fatalf("the promoted owner's balance: %d", bal)
	}
	if k := f.inboxKinds(t, small.OwnerToken); evCount(k, events.NotifyPromoted) != 1 {
		t.Fatalf("the promoted owner's inbox: %v", k)
	}
	if k := f.inboxKinds(t, broke.OwnerToken); evCount(k, events.NotifyPromotionFailed) != 1 || evCount(k, events.NotifyPromoted) != 0 {
		t.Fatalf("the broke owner's inbox: %v", k)
	}
	if k := f.inboxKinds(t, big.OwnerToken); len(k) != 0 {
		t.Fatalf("the passed-over party's inbox: %v", k)
	}
	// The queue closes up: big 1, broke 2, late 3.
	mine := func(c wkCar) map[string]any {
		t.Helper()
		return dig(f.gql(t, c.OwnerToken, evMineDoc, map[string]any{"n": 5, "st": "WAITLISTED"}), "me", "registrations", "edges", 0, "node").(map[string]any)
	}
	for i, c := range []wkCar{big, broke, late} {
		if p := wkNum(mine(c)["waitlistPosition"]); p != i+1 {
			t.Fatalf("waitlist position %d, want %d", p, i+1)
		}
	}

	// Lowering the capacity below the confirmed seats is refused; raising
	// it promotes at once: 3 more seats take the party of 3 (first in
	// line, now that it fits); the others wait.
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 2}, "CAPACITY_BELOW_CONFIRMED", "capacity")
	up := f.ok(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 6})
	if wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("after raising the capacity: %v", up)
	}
	for id, st := range map[any]string{rBig["id"]: "CONFIRMED", rBroke["id"]: "WAITLISTED", rLate["id"]: "WAITLISTED"} {
		if r := f.reg(t, id); string(r.Status) != st {
			t.Fatalf("after raising the capacity, %v is %s, want %s", id, r.Status, st)
		}
	}
	if bal, _ := f.balance(t, big.Owner.ID); bal != 4_000 {
		t.Fatalf("the party of 3 paid: balance %d", bal)
	}
	// One more seat: the broke owner, now with money, is promoted before late.
	f.fund(t, broke.Owner.ID, 2_000, 0)
	up = f.ok(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 7})
	if r := f.reg(t, rBroke["id"]); r.Status != events.Confirmed || r.PaidFen != 2_000 {
		t.Fatalf("the owner who topped up: %+v", r)
	}
	if r := f.reg(t, rLate["id"]); r.Status != events.Waitlisted {
		t.Fatalf("late: %+v", r)
	}
	if e := f.event(t, ev["id"]); e.SeatsTaken != 7 || wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("seats: %+v", e)
	}
	f.audit(t)
}

// cancelEvent cancels every registration, refunds every confirmed one in
// full (also after the deadline: the store cancelled) through REFUND
// entries, and tells every owner.
func TestEventCancelRefundsEveryone(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayCancelEvent)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 4, "maxPartySize": 2,
		"feeFen": 5_000, "feePoints": 300}))
	f.at(start.AddDate(0, 0, -5))
	owners := []wkCar{f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000), f.owner(t, 20_000, 1_000)}
	regs := []map[string]any{
		f.register(t, owners[0], ev["id"], map[string]any{"partySize": 2, "payWith": "WALLET"}),
		f.register(t, owners[1], ev["id"], map[string]any{"partySize": 1, "payWith": "POINTS"}),
		f.register(t, owners[2], ev["id"], map[string]any{"partySize": 1, "payWith": "WALLET"}),
		f.register(t, owners[3], ev["id"], map[string]any{"partySize": 2, "payWith": "WALLET"}), // waitlisted
	}
	if regs[3]["status"] != "WAITLISTED" {
		t.Fatalf("fourth: %v", regs[3])
	}
	f.at(start.Add(-2 * time.Hour)) // past the deadline
	c := f.ok(t, staff, "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "台风预警"})
	if c["status"] != "CANCELLED" || c["cancelReason"] != "台风预警" {
		t.Fatalf("cancelled: %v", c)
	}
	if e := f.event(t, ev["id"]); e.SeatsTaken != 0 || e.Status != events.Cancelled {
		t.Fatalf("cancelled event: %+v", e)
	}
	for i, o := range owners {
		r := f.reg(t, regs[i]["id"])
		bal, pts := f.balance(t, o.Owner.ID)
		n, _, _ := f.entries(t, o.Owner.ID, wallet.Refund)
		wantN := int64(1)
		if i == 3 {
			wantN = 0
		}
		if r.Status != events.Withdrawn || r.RefundedFen != r.PaidFen || r.RefundedPoints != r.PaidPoints ||
			bal != 20_000 || pts != 1_000 || n != wantN {
			t.Fatalf("owner %d after the event was cancelled: %+v; balance %d, points %d, %d REFUND entries", i, r, bal, pts, n)
		}
		if k := f.inboxKinds(t, o.OwnerToken); evCount(k, events.NotifyEventCancelled) != 1 {
			t.Fatalf("owner %d's inbox: %v", i, k)
		}
	}
	m := f.wlMe(t, owners[0].OwnerToken, 5, "", "REFUND")
	if e := wlNodes(m); len(e) != 1 || wkFen(e[0], "amount") != 10_000 {
		t.Fatalf("the owner's REFUND entries: %v", e)
	}
	// The owners see the cancellation.
	e := f.gql(t, owners[0].OwnerToken, evEventDoc, map[string]any{"id": ev["id"]})["event"]
	if dig(e, "status") != "CANCELLED" || dig(e, "myRegistration") != nil {
		t.Fatalf("a cancelled event as its owner: %v", e)
	}
	f.audit(t)
}

// TestEventCancelAfterCheckIn: a store may cancel in the event's last hours,
// after people were admitted; the fee comes back, the attendance points stay.
func TestEventCancelAfterCheckIn(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, 146)
	ev := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 5_000, "attendancePoints": 500}))
	f.at(start.AddDate(0, 0, -5))
	a := f.owner(t, 10_000, 0)
	r := f.register(t, a, ev["id"], nil)
	f.at(start.Add(-time.Hour))
	f.ok(t, staff, "checkInRegistration", map[string]any{"code": r["checkInCode"]})
	f.ok(t, staff, "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "场地停电"})
	if fen, points := f.balance(t, a.Owner.ID); fen != 10_000 || points != 500 {
		t.Fatalf("balance %d, points %d after the cancellation; want 10000 and 500", fen, points)
	}
	f.audit(t)
}

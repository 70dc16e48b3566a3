package main

import (
	"fmt"
	"testing"

	"github.com/ownerhub/ownerhub/models/workshop"
)

// A client that lost the response to a change sends it again. With the
// same idempotency key the retry answers the first result (the order it
// opened, the move it made, the cancellation) instead of refusing its own
// success, and nothing happens twice, even when the retries race.

func TestRetriedOpenRepairOrder(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.quickCar(t, "SZ01")
	in := wkOpenInput(f.sz, car.Plate, 2000, "MAINTENANCE", map[string]any{"idempotencyKey": wlKey("open")})
	first := f.ok(t, advisor, "openRepairOrder", in)
	again := f.ok(t, advisor, "openRepairOrder", in)
	if again["id"] != first["id"] || again["number"] != first["number"] {
		t.Fatalf("retry opened %v, first %v", again["number"], first["number"])
	}
	// Racing retries of a new key: one order, every answer the same.
	other := f.quickCar(t, "SZ01")
	in = wkOpenInput(f.sz, other.Plate, 2000, "MAINTENANCE", map[string]any{"idempotencyKey": wlKey("open")})
	res := e2eConcurrently(8, func(int) *gqlResponse { return f.call(t, advisor, "openRepairOrder", in) })
	ids := map[any]bool{}
	for _, r := range res {
		p := e2ePayload(t, r, "openRepairOrder")
		if len(userErrorCodes(p)) != 0 {
			t.Fatalf("racing retry refused: %s", r.Raw)
		}
		ids[dig(p, "repairOrder", "id")] = true
	}
	if len(ids) != 1 {
		t.Fatalf("racing retries answered %d orders", len(ids))
	}
	if n := e2eCount(t, f.testServer, &workshop.RepairOrder{}, "owner_id = ?", other.Owner.ID); n != 1 {
		t.Fatalf("%d orders for one car", n)
	}
	// Without a key a second check-in is still refused.
	f.refused(t, advisor, "openRepairOrder", wkOpenInput(f.sz, other.Plate, 2000, "MAINTENANCE", nil), "VEHICLE_IN_WORKSHOP")
}

func TestRetriedMoveRepairOrder(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.quickCar(t, "SZ01")
	o := f.open(t, advisor, f.sz, car.Plate, 2000, "MAINTENANCE", nil)
	in := wkMove(wkStr(o["id"]), "IN_PROGRESS", "")
	in["expectedVersion"] = o["version"]
	in["idempotencyKey"] = wlKey("move")
	first := f.ok(t, advisor, "moveRepairOrder", in)
	again := f.ok(t, advisor, "moveRepairOrder", in)
	if first["status"] != "IN_PROGRESS" || again["status"] != "IN_PROGRESS" || again["version"] != first["version"] {
		t.Fatalf("move %v, retry %v", first, again)
	}
	if moves := wkMoves(again); len(moves) != 2 {
		t.Fatalf("timeline after a retried move: %v", moves)
	}
	// The same key for another move is a different request.
	in["to"] = "QUALITY_CHECK"
	f.refused(t, advisor, "moveRepairOrder", in, "IDEMPOTENCY_KEY_REUSED")
	// Without a key the retry is the stale version it always was.
	stale := wkMove(wkStr(o["id"]), "IN_PROGRESS", "")
	stale["expectedVersion"] = o["version"]
	f.refused(t, advisor, "moveRepairOrder", stale, "CONFLICT")
}

func TestRetriedCancelAppointment(t *testing.T) {
	f := newBooking(t)
	_, ds := f.dayWithSeats(t, bkKind, 3)
	car := f.newCar(t, "")
	a := f.book(t, car, bkKind, ds[0].Start)
	in := bkID(a)
	in["idempotencyKey"] = fmt.Sprintf("cancel-%v", a["id"])
	res := e2eConcurrently(4, func(int) *gqlResponse { return f.call(t, car.OwnerToken, "cancelAppointment", in) })
	for _, r := range res {
		if p := e2ePayload(t, r, "cancelAppointment"); len(userErrorCodes(p)) != 0 || dig(p, "appointment", "status") != "CANCELLED" {
			t.Fatalf("retried cancellation: %s", r.Raw)
		}
	}
	if got := f.seatsLeft(t, bkKind, ds[0].Start); got != 3 {
		t.Fatalf("%d seats left after one cancellation, want 3", got)
	}
	f.refused(t, car.OwnerToken, "cancelAppointment", bkID(a), "NOT_BOOKED")
}

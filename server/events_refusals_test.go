package main

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Every refusal an owner or the staff can meet with events, and the
// registration window and cancellation deadline at their edges.

// Every refusal an owner or the staff can meet over the API, each with its
// code and a message, and nothing written.
func TestEventRefusals(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayRefusals)
	ctx := context.Background()

	// Bad events: INVALID_ARGUMENT on the field.
	bad := []struct {
		extra map[string]any
		field string
	}{
		{map[string]any{"title": "  "}, "title"},
		{map[string]any{"endsAt": evTS(start)}, "endsAt"},
		{map[string]any{"startsAt": evTS(time.Now().Add(-time.Hour))}, "startsAt"},
		{map[string]any{"registrationClosesAt": evTS(start.Add(time.Minute))}, "registrationClosesAt"},
		{map[string]any{"registrationOpensAt": evTS(start.Add(-time.Hour))}, "registrationClosesAt"},
		{map[string]any{"cancellationDeadline": evTS(start.Add(time.Minute))}, "cancellationDeadline"},
		{map[string]any{"capacity": 0}, "capacity"},
		{map[string]any{"feeFen": -1}, "feeFen"},
		{map[string]any{"maxPartySize": 2}, "maxPartySize"}, // a class
		{map[string]any{"vehicleRequired": true}, "vehicleRequired"},
	}
	var before int64
	f.DB.Conn(ctx).Model(&events.Event{}).Count(&before)
	for _, c := range bad {
		f.refused(t, staff, "createEvent", evEventIn(f.sz, "CLASS", start, c.extra), "INVALID_ARGUMENT", c.field)
	}
	var after int64
	f.DB.Conn(ctx).Model(&events.Event{}).Count(&after)
	if after != before {
		t.Fatalf("refused events were written: %d -> %d", before, after)
	}

	f.at(start.AddDate(0, 0, -5))
	paid := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 2, "feeFen": 3_000}))
	points := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 2, "feePoints": 500}))
	trip := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 4, "vehicleRequired": true, "maxPartySize": 3}))
	gold := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"minTier": "GOLD"}))

	poor := f.owner(t, 2_999, 499)
	nothingWritten := func(c wkCar) {
		t.Helper()
		if n := e2eCount(t, f.testServer, &events.Registration{}, "owner_id = ?", c.Owner.ID); n != 0 {
			t.Fatalf("a refused registration was written: %d", n)
		}
	}
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], nil), "INSUFFICIENT_BALANCE")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(points["id"], nil), "INSUFFICIENT_POINTS")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(points["id"], map[string]any{"payWith": "WALLET"}),
		"PAYMENT_METHOD_UNAVAILABLE", "payWith")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], nil), "VEHICLE_REQUIRED", "vehicleId")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": poor.ID, "partySize": 4}),
		"PARTY_TOO_LARGE", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], map[string]any{"partySize": 2}), "PARTY_TOO_LARGE", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": poor.ID, "partySize": -1}),
		"INVALID_ARGUMENT", "partySize")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(paid["id"], map[string]any{"vehicleId": poor.ID}),
		"INVALID_ARGUMENT", "vehicleId") // a class takes no car
	other := f.quickCar(t, "SZ01")
	f.denied(t, poor.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": other.ID}), "NOT_FOUND")
	f.refused(t, poor.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "TIER_TOO_LOW")
	nothingWritten(poor)
	if bal, pts := f.balance(t, poor.Owner.ID); bal != 2_999 || pts != 499 {
		t.Fatalf("refusals moved money: %d, %d", bal, pts)
	}

	// Tiers: spend of ¥10,000 in the last 12 months makes GOLD.
	rich := f.owner(t, 10_000, 1_000)
	if _, err := f.App.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: rich.Owner.ID, MoneyFen: 1_000_000, Key: wlKey("ev-gold"),
		Memo: "购车精品"}); err != nil {
		t.Fatal(err)
	}
	if m := f.wlMe(t, rich.OwnerToken, 1, ""); m["tier"] != "GOLD" {
		t.Fatalf("tier after ¥10,000: %v", m["tier"])
	}
	f.register(t, rich, gold["id"], nil)
	silver := f.owner(t, 0, 0)
	if _, err := f.App.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: silver.Owner.ID, MoneyFen: 999_999, Key: wlKey("ev-silver"),
		Memo: "购车精品"}); err != nil {
		t.Fatal(err)
	}
	f.refused(t, silver.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "TIER_TOO_LOW")

	// Once per owner; a retry with the key answers the first result, the
	// key with other input is refused.
	key := wlKey("ev-reg")
	r := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 2, "idempotencyKey": key})
	again := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 2, "idempotencyKey": key})
	if again["id"] != r["id"] {
		t.Fatalf("retry answered another registration: %v", again)
	}
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 3,
		"idempotencyKey": key}), "IDEMPOTENCY_KEY_REUSED")
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(trip["id"], map[string]any{"vehicleId": rich.ID}), "ALREADY_REGISTERED", "eventId")
	if n := e2eCount(t, f.testServer, &events.Registration{}, "owner_id = ? AND event_id = ?", rich.Owner.ID,
		wlUUID(t, wkStr(trip["id"]), "Event")); n != 1 {
		t.Fatalf("%d registrations after the retries", n)
	}

	// Cancelled once; a second cancel is REGISTRATION_NOT_ACTIVE. After
	// cancelling, registering again is allowed.
	f.ok(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r))
	f.refused(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r), "REGISTRATION_NOT_ACTIVE")
	r2 := f.register(t, rich, trip["id"], map[string]any{"vehicleId": rich.ID, "partySize": 3})
	if r2["status"] != "CONFIRMED" || r2["id"] == r["id"] {
		t.Fatalf("registering again: %v", r2)
	}

	// Staff changes: capacity below the confirmed seats, fees once
	// registrations exist, a stale version.
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "capacity": 2}, "CAPACITY_BELOW_CONFIRMED", "capacity")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "feeFen": 100}, "EVENT_LOCKED")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "maxPartySize": 2}, "EVENT_LOCKED")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "title": "新标题", "expectedVersion": 1}, "CONFLICT")
	f.refused(t, staff, "cancelEvent", map[string]any{"eventId": trip["id"], "reason": " "}, "INVALID_ARGUMENT", "reason")
	if e := f.event(t, trip["id"]); e.Capacity != 4 || e.FeeFen != 0 || e.MaxPartySize != 3 || e.SeatsTaken != 3 || e.Status != events.Published {
		t.Fatalf("refused changes were written: %+v", e)
	}
	// Changes that do not touch what registrations rely on go through.
	up := f.ok(t, staff, "updateEvent", map[string]any{"eventId": trip["id"], "title": "新标题", "capacity": 3,
		"expectedVersion": f.event(t, trip["id"]).Version})
	if up["title"] != "新标题" || wkNum(up["capacity"]) != 3 || wkNum(up["seatsLeft"]) != 0 {
		t.Fatalf("updated: %v", up)
	}

	// A cancelled event: closed to owners, frozen for staff.
	f.ok(t, staff, "cancelEvent", map[string]any{"eventId": gold["id"], "reason": "讲师临时有事"})
	f.refused(t, rich.OwnerToken, "registerForEvent", evRegIn(gold["id"], nil), "REGISTRATION_CLOSED", "eventId")
	f.refused(t, staff, "updateEvent", map[string]any{"eventId": gold["id"], "title": "x"}, "EVENT_CANCELLED")
	f.refused(t, staff, "cancelEvent", map[string]any{"eventId": gold["id"], "reason": "again"}, "EVENT_CANCELLED")
	f.refused(t, staff, "publishEvent", map[string]any{"eventId": gold["id"]}, "EVENT_CANCELLED")

	// Check-in refusals: a waitlisted code holds no seat.
	full := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 1}))
	f.register(t, f.owner(t, 0, 0), full["id"], nil)
	w := f.owner(t, 0, 0)
	wr := f.register(t, w, full["id"], nil)
	if wr["status"] != "WAITLISTED" || wkNum(wr["waitlistPosition"]) != 1 || wr["checkInCode"] != nil {
		t.Fatalf("waitlisted: %v", wr)
	}
	f.at(start.Add(-time.Hour))
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": f.reg(t, wr["id"]).CheckInCode}, "NOT_CONFIRMED", "code")
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": "  "}, "INVALID_ARGUMENT", "code")
	f.at(start.Add(2*time.Hour + time.Microsecond))
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": r2["checkInCode"]}, "CHECK_IN_NOT_OPEN", "code")
	f.refused(t, rich.OwnerToken, "cancelRegistration", evCancelIn(r2), "EVENT_STARTED")
	f.audit(t)
}

// The registration window is [opens, closes): exactly at the opening is
// open, exactly at the close is closed. The cancellation deadline: a
// microsecond before it is refunded in full, at it and after it nothing.
func TestEventWindowAndDeadline(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayEdges)
	in := evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 1_000, "feePoints": 100, "capacity": 10})
	ev := f.publish(t, staff, in)
	opens, closes := e2eTime(t, ev["registrationOpensAt"]), e2eTime(t, ev["registrationClosesAt"])
	deadline := e2eTime(t, ev["cancellationDeadline"])
	if !opens.Equal(start.AddDate(0, 0, -10)) || !closes.Equal(start.Add(-time.Hour)) || !deadline.Equal(start.Add(-24*time.Hour)) {
		t.Fatalf("window %v..%v, deadline %v", opens, closes, deadline)
	}
	owners := make([]wkCar, 6)
	for i := range owners {
		owners[i] = f.owner(t, 10_000, 1_000)
	}

	// registrationOpen says the same as registering does.
	isOpen := func() any {
		return dig(f.gql(t, owners[0].OwnerToken, evEventDoc, map[string]any{"id": ev["id"]}), "event", "registrationOpen")
	}
	f.at(opens.Add(-time.Microsecond))
	if isOpen() != false {
		t.Fatal("registrationOpen a microsecond before the opening")
	}
	f.refused(t, owners[0].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"payWith": "WALLET"}), "REGISTRATION_CLOSED", "eventId")
	f.at(opens)
	if isOpen() != true {
		t.Fatal("registrationOpen is false at the opening")
	}
	regs := []map[string]any{f.register(t, owners[0], ev["id"], map[string]any{"payWith": "WALLET"})}
	f.at(closes.Add(-time.Microsecond))
	for _, o := range owners[1:5] {
		pay := "WALLET"
		if len(regs)%2 == 0 {
			pay = "POINTS"
		}
		regs = append(regs, f.register(t, o, ev["id"], map[string]any{"payWith": pay}))
	}
	if isOpen() != true {
		t.Fatal("registrationOpen is false a microsecond before the close")
	}
	f.at(closes)
	if isOpen() != false {
		t.Fatal("registrationOpen at the close")
	}
	f.refused(t, owners[5].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"payWith": "WALLET"}), "REGISTRATION_CLOSED", "eventId")
	for _, r := range regs {
		if r["status"] != "CONFIRMED" {
			t.Fatalf("registration in the window: %v", r)
		}
	}

	// regs: 0 WALLET, 1 WALLET, 2 POINTS, 3 WALLET, 4 POINTS.
	cancel := func(i int, at time.Time, refunded bool) {
		t.Helper()
		f.at(at)
		c := f.ok(t, owners[i].OwnerToken, "cancelRegistration", evCancelIn(regs[i]))
		bal, pts := f.balance(t, owners[i].Owner.ID)
		paidFen, paidPts := wkFen(regs[i], "paid"), wkNum(regs[i]["paidPoints"])
		if c["status"] != "CANCELLED" || c["cancelledAt"] == nil || c["checkInCode"] != nil {
			t.Fatalf("cancelled: %v", c)
		}
		n, fen, points := f.entries(t, owners[i].Owner.ID, wallet.Refund)
		if refunded {
			if wkFen(c, "refunded") != paidFen || wkNum(c["refundedPoints"]) != paidPts || bal != 10_000 || pts != 1_000 ||
				n != 1 || int(fen) != paidFen || int(points) != paidPts {
				t.Fatalf("cancelled before the deadline: %v; balance %d, points %d; %d REFUND of %d, %d", c, bal, pts, n, fen, points)
			}
			return
		}
		if wkFen(c, "refunded") != 0 || wkNum(c["refundedPoints"]) != 0 || n != 0 ||
			bal != int64(10_000-paidFen) || pts != int64(1_000-paidPts) {
			t.Fatalf("cancelled after the deadline: %v; balance %d, points %d; %d REFUND", c, bal, pts, n)
		}
	}
	cancel(0, deadline.Add(-time.Microsecond), true)
	cancel(2, deadline.Add(-time.Microsecond), true) // points back as well
	cancel(1, deadline, false)
	cancel(4, deadline, false)
	cancel(3, start.Add(-time.Microsecond), false)
	if e := f.event(t, ev["id"]); e.SeatsTaken != 0 {
		t.Fatalf("seats after every cancellation: %d", e.SeatsTaken)
	}
	f.audit(t)
}

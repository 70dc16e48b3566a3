package main

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The seat invariant of events under concurrency, over HTTP: 100 owners
// with parties of 1 to 3 race for the 10 seats of a paid trip; then
// cancellations (each sent twice at once) race new registrations and the
// cancellations of waitlisted owners, so promotions run inside racing
// cancellations. Every tenth owner has no money: refused when a seat is
// there, skipped when promoted. After each round: the confirmed parties
// add up to the event's seats_taken, within the capacity; every
// registration was charged exactly once if it holds a seat and refunded
// exactly once if it gave a paid seat back; no owner's balance moved by
// anything else; the ledger adds up; and nothing waitlisted that fits the
// free seats and can pay is left waiting.

const (
	evRaceOwners   = 100
	evRaceLate     = 30 // owners who register in the second round
	evRaceCapacity = 10
	evRaceFee      = 3_000
	evRaceFunds    = 20_000
)

func evRaceFunded(i int) bool { return i%10 != 9 }
func evRaceParty(i int) int   { return i%3 + 1 }

// evRace runs the race on the servers (the requests spread over them in
// turn), which share one database.
func evRace(t *testing.T, day int, servers ...*evFixture) {
	f := servers[0]
	start := evStart(t, day)
	ev := f.publish(t, f.staff(t, "events.sz01"), evEventIn(f.sz, "TRIP", start, map[string]any{"title": "热门自驾",
		"capacity": evRaceCapacity, "maxPartySize": 3, "feeFen": evRaceFee, "vehicleRequired": true}))
	eventID := wlUUID(t, wkStr(ev["id"]), "Event")
	for _, s := range servers {
		s.at(start.AddDate(0, 0, -5)) // before the cancellation deadline: cancellations are refunded
	}
	cars := make([]wkCar, evRaceOwners+evRaceLate)
	ownerIdx := map[uuid.UUID]int{}
	for i := range cars {
		fen := int64(0)
		if evRaceFunded(i) {
			fen = evRaceFunds
		}
		cars[i] = f.owner(t, fen, 0)
		ownerIdx[cars[i].Owner.ID] = i
	}
	register := func(i int) *gqlResponse {
		s := servers[i%len(servers)]
		return s.call(t, cars[i].OwnerToken, "registerForEvent",
			evRegIn(ev["id"], map[string]any{"partySize": evRaceParty(i), "vehicleId": cars[i].ID}))
	}
	// checkRegistered reads the answer of owner i's registration.
	checkRegistered := func(i int, r *gqlResponse) {
		t.Helper()
		p := e2ePayload(t, r, "registerForEvent")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0:
			if st := dig(p, "registration", "status"); st != "CONFIRMED" && st != "WAITLISTED" {
				t.Fatalf("owner %d registered %v", i, p)
			}
		case len(codes) == 1 && codes[0] == "INSUFFICIENT_BALANCE" && !evRaceFunded(i) && p["registration"] == nil:
		default:
			t.Fatalf("owner %d: %v", i, p)
		}
	}

	// Round 1: 100 owners at once.
	rs := e2eConcurrently(evRaceOwners, register)
	for i, r := range rs {
		checkRegistered(i, r)
	}
	regs := evRaceCheck(t, f, eventID, cars, ownerIdx)
	var confirmed, waitlisted []*events.Registration
	for _, r := range regs {
		switch r.Status {
		case events.Confirmed:
			confirmed = append(confirmed, r)
		case events.Waitlisted:
			waitlisted = append(waitlisted, r)
		}
	}
	// Funded parties of one wait: the seats are all sold, none twice.
	if e := f.event(t, ev["id"]); e.SeatsTaken != evRaceCapacity {
		t.Fatalf("after round 1: %d seats sold of %d", e.SeatsTaken, evRaceCapacity)
	}
	if len(confirmed) == 0 || len(waitlisted) < 50 {
		t.Fatalf("after round 1: %d confirmed, %d waitlisted", len(confirmed), len(waitlisted))
	}
	t.Logf("round 1: %d confirmed, %d waitlisted", len(confirmed), len(waitlisted))

	// Round 2: at once, 4 confirmed registrations cancelled twice each by
	// their owners, 6 waitlisted ones cancelled, 30 new owners registering.
	rng := rand.New(rand.NewPCG(uint64(day), 6))
	rng.Shuffle(len(confirmed), func(i, j int) { confirmed[i], confirmed[j] = confirmed[j], confirmed[i] })
	rng.Shuffle(len(waitlisted), func(i, j int) { waitlisted[i], waitlisted[j] = waitlisted[j], waitlisted[i] })
	type op struct {
		cancel *events.Registration
		owner  int
	}
	var ops []op
	for _, r := range confirmed[:min(4, len(confirmed))] {
		ops = append(ops, op{cancel: r}, op{cancel: r})
	}
	for _, r := range waitlisted[:6] {
		ops = append(ops, op{cancel: r})
	}
	for i := evRaceOwners; i < evRaceOwners+evRaceLate; i++ {
		ops = append(ops, op{owner: i})
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	rs = e2eConcurrently(len(ops), func(k int) *gqlResponse {
		o := ops[k]
		if o.cancel == nil {
			return register(o.owner)
		}
		i := ownerIdx[o.cancel.OwnerID]
		return servers[k%len(servers)].call(t, cars[i].OwnerToken, "cancelRegistration",
			map[string]any{"registrationId": e2eGlobalID("Registration", o.cancel.ID)})
	})
	cancelled := map[uuid.UUID]int{}
	for k, r := range rs {
		o := ops[k]
		if o.cancel == nil {
			checkRegistered(o.owner, r)
			continue
		}
		p := e2ePayload(t, r, "cancelRegistration")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && dig(p, "registration", "status") == "CANCELLED":
			cancelled[o.cancel.ID]++
		case len(codes) == 1 && codes[0] == "REGISTRATION_NOT_ACTIVE":
		default:
			t.Fatalf("cancel %s: %v", o.cancel.ID, p)
		}
	}
	for _, o := range ops {
		if o.cancel != nil && cancelled[o.cancel.ID] != 1 {
			t.Fatalf("registration %s cancelled %d times", o.cancel.ID, cancelled[o.cancel.ID])
		}
	}
	regs = evRaceCheck(t, f, eventID, cars, ownerIdx)
	wasWaiting := map[uuid.UUID]bool{}
	for _, r := range waitlisted {
		wasWaiting[r.ID] = true
	}
	promoted := 0
	for _, r := range regs {
		if r.Status == events.Confirmed && wasWaiting[r.ID] {
			promoted++
		}
	}
	t.Logf("round 2: %d registrations, %d confirmed from the waitlist", len(regs), promoted)
	if promoted == 0 {
		t.Fatal("no waitlisted registration was promoted")
	}
}

// evRaceCheck checks the invariants on the event's registrations and
// returns them.
func evRaceCheck(t *testing.T, f *evFixture, eventID uuid.UUID, cars []wkCar, ownerIdx map[uuid.UUID]int) []*events.Registration {
	t.Helper()
	ctx := context.Background()
	conn := f.DB.Conn(ctx)
	var e events.Event
	if err := conn.Where("id = ?", eventID).Take(&e).Error; err != nil {
		t.Fatal(err)
	}
	var regs []*events.Registration
	if err := conn.Where("event_id = ?", eventID).Order("created_at, id").Find(&regs).Error; err != nil {
		t.Fatal(err)
	}
	var ledger []struct {
		RefID     uuid.UUID
		Kind      wallet.EntryKind
		N         int64
		AmountFen int64
	}
	if err := conn.Raw(`SELECT e.ref_id AS ref_id, e.kind AS kind, COUNT(*) AS n, CAST(SUM(e.amount_fen) AS BIGINT) AS amount_fen
		FROM ledger_entries e JOIN registrations r ON r.id = e.ref_id
		WHERE e.ref_type = ? AND r.event_id = ? GROUP BY e.ref_id, e.kind`, wallet.RefRegistration, eventID).Scan(&ledger).Error; err != nil {
		t.Fatal(err)
	}
	type money struct{ spends, refunds, spent, refunded int64 }
	byReg := map[uuid.UUID]*money{}
	for _, l := range ledger {
		m := byReg[l.RefID]
		if m == nil {
			m = &money{}
			byReg[l.RefID] = m
		}
		switch l.Kind {
		case wallet.Spend:
			m.spends, m.spent = l.N, -l.AmountFen
		case wallet.Refund:
			m.refunds, m.refunded = l.N, l.AmountFen
		default:
			t.Fatalf("registration %s has %s entries", l.RefID, l.Kind)
		}
	}
	seats, active := 0, map[uuid.UUID]int{}
	net := map[uuid.UUID]int64{} // paid less refunded, by owner
	for _, r := range regs {
		m := byReg[r.ID]
		if m == nil {
			m = &money{}
		}
		price := int64(r.PartySize * evRaceFee)
		switch r.Status {
		case events.Confirmed:
			seats += r.PartySize
			if m.spends != 1 || m.spent != price || m.refunds != 0 || r.PaidFen != price || r.RefundedFen != 0 {
				t.Fatalf("confirmed %+v: ledger %+v", r, m)
			}
		case events.Waitlisted:
			if m.spends != 0 || m.refunds != 0 || r.PaidFen != 0 {
				t.Fatalf("waitlisted %+v: ledger %+v", r, m)
			}
		case events.Withdrawn:
			// Cancelled before the deadline: what was paid came back once.
			if m.spends != min(1, r.PaidFen) || m.spent != r.PaidFen || m.refunds != m.spends || m.refunded != r.PaidFen ||
				r.RefundedFen != r.PaidFen {
				t.Fatalf("cancelled %+v: ledger %+v", r, m)
			}
		default:
			t.Fatalf("registration %+v", r)
		}
		if r.Status != events.Withdrawn {
			active[r.OwnerID]++
			if active[r.OwnerID] > 1 {
				t.Fatalf("owner %s holds two registrations", r.OwnerID)
			}
		}
		net[r.OwnerID] += m.spent - m.refunded
	}
	if seats != e.SeatsTaken || e.SeatsTaken > e.Capacity {
		t.Fatalf("confirmed parties hold %d seats; seats_taken %d of %d", seats, e.SeatsTaken, e.Capacity)
	}
	// Balances moved by the registrations' entries only.
	balance := map[uuid.UUID]int64{}
	for i, c := range cars {
		l := wlInvariant(t, f.testServer, c.Owner.ID)
		want := int64(0)
		if evRaceFunded(i) {
			want = evRaceFunds
		}
		if l.Balance != want-net[c.Owner.ID] {
			t.Fatalf("owner %d: balance %d, want %d less %d", i, l.Balance, want, net[c.Owner.ID])
		}
		balance[c.Owner.ID] = l.Balance
	}
	// Nothing that fits the free seats and can pay waits.
	free := e.Capacity - e.SeatsTaken
	for _, r := range regs {
		if r.Status == events.Waitlisted && r.PartySize <= free && balance[r.OwnerID] >= int64(r.PartySize*evRaceFee) {
			t.Fatalf("%d seats free, but owner %d's party of %d waits with %d fen", free, ownerIdx[r.OwnerID], r.PartySize, balance[r.OwnerID])
		}
	}
	f.audit(t)
	return regs
}

// 100 owners racing for 10 seats, then cancellations racing promotions
// and new registrations, on one server.
func TestEventConcurrentRegistrations(t *testing.T) {
	evRace(t, evDayRace, newEvents(t))
}

// The same race split across two server instances. On PostgreSQL they
// have a database of their own and a connection pool each, as two
// processes would: the database's row locks, not one process, keep the
// seats. On SQLite (one process only) they share the package's database.
func TestEventConcurrentRegistrationsTwoInstances(t *testing.T) {
	if !onPostgres() {
		evRace(t, evDayRaceTwo, newEvents(t), newEvents(t))
		return
	}
	dbA, dbB := demoInstances(t)
	a := newEvents(t, func(_ *Config, d *Deps) { d.DB = dbA })
	b := newEvents(t, func(_ *Config, d *Deps) { d.DB = dbB })
	before := dbB.Statements()
	evRace(t, evDayRaceTwo, a, b)
	if dbB.Statements()-before < 100 {
		t.Fatal("the second instance served no registrations")
	}
}

// Capacity changes race registrations: 60 owners with parties of 1 to 3
// register for a free trip of 10 seats while the staff set the capacity
// 20 times between 5 and 19. Each change is accepted or refused
// CAPACITY_BELOW_CONFIRMED; raises promote at once; at the end the seats
// are within the capacity, equal to the confirmed parties, and no waiting
// party fits the free seats.
func TestEventConcurrentCapacityChanges(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, evDayCapacityRace)
	ev := f.publish(t, staff, evEventIn(f.sz, "TRIP", start, map[string]any{"capacity": 10, "maxPartySize": 3}))
	f.at(start.AddDate(0, 0, -5))
	const owners, changes = 60, 20
	cars := make([]wkCar, owners)
	for i := range cars {
		cars[i] = f.owner(t, 0, 0)
	}
	rs := e2eConcurrently(owners+changes, func(i int) *gqlResponse {
		if i < owners {
			return f.call(t, cars[i].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"partySize": evRaceParty(i)}))
		}
		return f.call(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "capacity": 5 + (i*7)%15})
	})
	accepted := 0
	for i, r := range rs {
		field := "registerForEvent"
		if i >= owners {
			field = "updateEvent"
		}
		p := e2ePayload(t, r, field)
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && field == "updateEvent":
			accepted++
		case len(codes) == 0:
		case field == "updateEvent" && len(codes) == 1 && codes[0] == "CAPACITY_BELOW_CONFIRMED":
		default:
			t.Fatalf("%s %d: %v", field, i, p)
		}
	}
	e := f.event(t, ev["id"])
	var regs []*events.Registration
	if err := f.DB.Conn(context.Background()).Where("event_id = ?", e.ID).Find(&regs).Error; err != nil {
		t.Fatal(err)
	}
	seats := 0
	for _, r := range regs {
		if r.Status == events.Confirmed {
			seats += r.PartySize
		}
	}
	if len(regs) != owners || seats != e.SeatsTaken || e.SeatsTaken > e.Capacity || accepted == 0 {
		t.Fatalf("%d registrations, confirmed parties %d, seats_taken %d of %d, %d changes accepted",
			len(regs), seats, e.SeatsTaken, e.Capacity, accepted)
	}
	for _, r := range regs {
		if r.Status == events.Waitlisted && r.PartySize <= e.Capacity-e.SeatsTaken {
			t.Fatalf("a party of %d waits with %d seats free", r.PartySize, e.Capacity-e.SeatsTaken)
		}
	}
	t.Logf("capacity %d, %d seats taken, %d of %d changes accepted", e.Capacity, e.SeatsTaken, accepted, changes)
}

package main

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/events"
)

// Who may see and do what with events and registrations, the statements
// the list screens take, and paging through them.

func TestEventAuthorization(t *testing.T) {
	f := newEvents(t)
	start := evStart(t, evDayAuthz)
	sz, gz, advisor, admin := f.staff(t, "events.sz01"), f.staff(t, "events.gz01"), f.staff(t, "advisor.sz01"), f.staff(t, "admin")
	in := evEventIn(f.sz, "CLASS", start, map[string]any{"capacity": 5})

	// Only EVENTS and MANAGER (and GROUP_ADMIN) create events, only at their
	// stores.
	f.denied(t, "", "createEvent", in, "UNAUTHENTICATED")
	f.denied(t, advisor, "createEvent", in, "FORBIDDEN")
	f.denied(t, f.staff(t, "cashier.sz01"), "createEvent", in, "FORBIDDEN")
	f.denied(t, gz, "createEvent", in, "FORBIDDEN")
	a, b := f.owner(t, 0, 0), f.owner(t, 0, 0)
	f.denied(t, a.OwnerToken, "createEvent", in, "FORBIDDEN")
	ev := f.publish(t, sz, in)
	gzEv := f.publish(t, admin, evEventIn(f.gz, "CLASS", start, nil)) // the admin runs every store
	id := ev["id"]

	// Another store's event staff may not touch SZ01's event.
	f.denied(t, gz, "updateEvent", map[string]any{"eventId": id, "title": "x"}, "FORBIDDEN")
	f.denied(t, gz, "cancelEvent", map[string]any{"eventId": id, "reason": "x"}, "FORBIDDEN")
	f.denied(t, sz, "publishEvent", map[string]any{"eventId": gzEv["id"]}, "FORBIDDEN")
	r := f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}, Token: gz})
	e2eWantGQLError(t, r, "FORBIDDEN")
	for _, tok := range []string{advisor, a.OwnerToken} {
		e2eWantGQLError(t, f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}, Token: tok}), "FORBIDDEN")
	}
	e2eWantGQLError(t, f.do(t, req{Query: evRosterDoc, Vars: map[string]any{"e": id}}), "UNAUTHENTICATED")
	e2eWantGQLError(t, f.do(t, req{Query: evListDoc, Vars: map[string]any{"f": map[string]any{"storeId": f.sz,
		"includeUnpublished": true}}, Token: gz}), "FORBIDDEN")

	// Owners register; staff do not, and nobody without a token.
	f.at(start.AddDate(0, 0, -5))
	f.denied(t, sz, "registerForEvent", evRegIn(id, nil), "FORBIDDEN")
	f.denied(t, "", "registerForEvent", evRegIn(id, nil), "UNAUTHENTICATED")
	ra := f.register(t, a, id, nil)
	code := wkStr(ra["checkInCode"])

	// Another owner: cannot see, cancel or find the registration.
	f.denied(t, b.OwnerToken, "cancelRegistration", evCancelIn(ra), "NOT_FOUND")
	f.denied(t, "", "cancelRegistration", evCancelIn(ra), "UNAUTHENTICATED")
	if n := f.gql(t, b.OwnerToken, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; n != nil {
		t.Fatalf("another owner reads the registration: %v", n)
	}
	if my := dig(f.gql(t, b.OwnerToken, evEventDoc, map[string]any{"id": id}), "event", "myRegistration"); my != nil {
		t.Fatalf("another owner's myRegistration: %v", my)
	}
	if n := f.gql(t, a.OwnerToken, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; dig(n, "checkInCode") != code {
		t.Fatalf("the owner's node: %v", n)
	}
	// The host store's staff read it without its code; another store's
	// staff do not read it.
	if n := f.gql(t, sz, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; dig(n, "status") != "CONFIRMED" || dig(n, "checkInCode") != nil {
		t.Fatalf("the host staff's node: %v", n)
	}
	if n := f.gql(t, gz, evNodeDoc, map[string]any{"id": ra["id"]})["node"]; n != nil {
		t.Fatalf("another store's staff read the registration: %v", n)
	}
	// Another store's staff cannot check in or cancel SZ01's registrations
	// (a code of another store's event is unknown to them).
	f.at(start.Add(-time.Hour))
	f.denied(t, gz, "checkInRegistration", map[string]any{"code": code}, "NOT_FOUND")
	f.denied(t, advisor, "checkInRegistration", map[string]any{"code": code}, "FORBIDDEN")
	f.denied(t, a.OwnerToken, "checkInRegistration", map[string]any{"code": code}, "FORBIDDEN")
	f.at(start.AddDate(0, 0, -5))
	f.denied(t, gz, "cancelRegistration", evCancelIn(ra), "NOT_FOUND")
	f.denied(t, advisor, "cancelRegistration", evCancelIn(ra), "FORBIDDEN")
	if r := f.reg(t, ra["id"]); r.Status != events.Confirmed || r.CheckedInAt != nil {
		t.Fatalf("denied requests changed the registration: %+v", r)
	}
	// The host store's event staff cancel for the owner.
	if c := f.ok(t, sz, "cancelRegistration", evCancelIn(ra)); c["status"] != "CANCELLED" {
		t.Fatalf("cancelled by staff: %v", c)
	}
	// Drafts: the other store's staff do not see them.
	d := f.ok(t, sz, "createEvent", in)
	if e := f.gql(t, gz, evEventDoc, map[string]any{"id": d["id"]})["event"]; e != nil {
		t.Fatalf("another store's staff read a draft: %v", e)
	}
	if e := f.gql(t, admin, evEventDoc, map[string]any{"id": d["id"]})["event"]; dig(e, "status") != "DRAFT" {
		t.Fatalf("the admin reads a draft: %v", e)
	}
	e2eWantGQLError(t, f.do(t, req{Query: evEventDoc, Vars: map[string]any{"id": id}}), "UNAUTHENTICATED")
}

// ---------------------------------------------------------------------------
// Statements

// The events list with each event's store and the caller's registration
// (and its waitlist position), and me.registrations with each one's event,
// store and position, cost as many statements for 20 rows as for 2.
func TestEventNoNPlusOne(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	first := evStart(t, evDayStatements)
	ids := make([]any, 20)
	for i := range ids {
		ids[i] = f.publish(t, staff, evEventIn(f.sz, "CLASS", first.Add(time.Duration(i)*time.Minute), map[string]any{"capacity": 1}))["id"]
	}
	f.at(first.AddDate(0, 0, -5))
	filler, me := f.owner(t, 0, 0), f.owner(t, 0, 0)
	for i, id := range ids {
		if i%2 == 0 {
			f.register(t, filler, id, nil) // me waits on every other one
		}
		f.register(t, me, id, nil)
	}
	vars := func(n int) map[string]any {
		return map[string]any{"n": n, "f": map[string]any{"storeId": f.sz, "from": evTS(first),
			"to": evTS(first.Add(19 * time.Minute))}}
	}
	n2, d2 := minStatements(t, f.testServer, me.OwnerToken, evListDoc, vars(2))
	n20, d20 := minStatements(t, f.testServer, me.OwnerToken, evListDoc, vars(20))
	edges, _ := dig(d20, "events", "edges").([]any)
	if len(dig(d2, "events", "edges").([]any)) != 2 || len(edges) != 20 {
		t.Fatalf("events: %d and %d", len(dig(d2, "events", "edges").([]any)), len(edges))
	}
	for i, e := range edges {
		wantStatus, wantPos := "CONFIRMED", any(nil)
		if i%2 == 0 {
			wantStatus, wantPos = "WAITLISTED", float64(1)
		}
		if dig(e, "node", "id") != ids[i] || dig(e, "node", "store", "code") != "SZ01" ||
			dig(e, "node", "myRegistration", "status") != wantStatus || dig(e, "node", "myRegistration", "waitlistPosition") != wantPos {
			t.Fatalf("event %d: %v", i, e)
		}
	}
	if n2 != n20 {
		t.Fatalf("events with store and myRegistration: %d statements for 2, %d for 20", n2, n20)
	}

	m2, _ := minStatements(t, f.testServer, me.OwnerToken, evMineDoc, map[string]any{"n": 2})
	m20, d := minStatements(t, f.testServer, me.OwnerToken, evMineDoc, map[string]any{"n": 20})
	regs, _ := dig(d, "me", "registrations", "edges").([]any)
	waiting := 0
	for _, r := range regs {
		if dig(r, "node", "event", "store", "code") != "SZ01" || wkStr(dig(r, "node", "event", "title")) == "" {
			t.Fatalf("registration: %v", r)
		}
		if dig(r, "node", "waitlistPosition") == float64(1) {
			waiting++
		}
	}
	if len(regs) != 20 || waiting != 10 {
		t.Fatalf("me.registrations: %d, %d waiting", len(regs), waiting)
	}
	if m2 != m20 {
		t.Fatalf("me.registrations with event, store and position: %d statements for 2, %d for 20", m2, m20)
	}
	t.Logf("events: %d statements; me.registrations: %d", n20, m20)
}

// Both connections page without gaps or repeats, also through events that
// start at the same moment (the cursor is the start and the id).
func TestEventPaging(t *testing.T) {
	f := newEvents(t)
	staff := f.staff(t, "events.sz01")
	first := evStart(t, evDayPaging)
	const n = 7
	want := make([]any, n)
	for i := range want {
		// Three events at each hour: ties on startsAt.
		want[i] = f.publish(t, staff, evEventIn(f.sz, "CLASS", first.Add(time.Duration(i/3)*time.Hour), nil))["id"]
	}
	f.at(first.AddDate(0, 0, -5))
	me := f.owner(t, 0, 0)
	for _, id := range want {
		f.register(t, me, id, nil)
	}
	const listDoc = `query($f: EventFilter, $n: Int, $a: String) { events(filter: $f, first: $n, after: $a) {
		edges { cursor node { id startsAt } } pageInfo { hasNextPage endCursor } } }`
	const mineDoc = `query($n: Int, $a: String) { me { registrations(first: $n, after: $a) {
		edges { cursor node { id event { id } } } pageInfo { hasNextPage endCursor } } } }`
	walk := func(doc string, vars map[string]any, path ...any) []any {
		t.Helper()
		var out []any
		var after any
		for range n + 1 {
			vars["n"], vars["a"] = 2, after
			conn := dig(f.gql(t, me.OwnerToken, doc, vars), path...)
			for _, e := range dig(conn, "edges").([]any) {
				out = append(out, dig(e, "node"))
			}
			if dig(conn, "pageInfo", "hasNextPage") != true {
				return out
			}
			after = dig(conn, "pageInfo", "endCursor")
		}
		t.Fatalf("%v does not end", path)
		return nil
	}
	evs := walk(listDoc, map[string]any{"f": map[string]any{"storeId": f.sz, "from": evTS(first),
		"to": evTS(first.Add(2 * time.Hour))}}, "events")
	seen := map[any]bool{}
	var last time.Time
	for _, e := range evs {
		at := e2eTime(t, dig(e, "startsAt"))
		if seen[dig(e, "id")] || at.Before(last) {
			t.Fatalf("events out of order or repeated: %v", evs)
		}
		seen[dig(e, "id")], last = true, at
	}
	if len(evs) != n {
		t.Fatalf("%d events over the pages, want %d", len(evs), n)
	}
	regs := walk(mineDoc, map[string]any{}, "me", "registrations")
	seen = map[any]bool{}
	for i, r := range regs {
		// Newest first: the last registered comes first.
		if seen[dig(r, "id")] || dig(r, "event", "id") != want[n-1-i] {
			t.Fatalf("registrations out of order or repeated: %v", regs)
		}
		seen[dig(r, "id")] = true
	}
	if len(regs) != n {
		t.Fatalf("%d registrations over the pages, want %d", len(regs), n)
	}
}

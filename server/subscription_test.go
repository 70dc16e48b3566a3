package main

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
)

// End-to-end tests of live updates: GraphQL subscriptions over a real
// WebSocket (graphql-transport-ws) fed by changes made over HTTP, on one
// server and across two servers on one PostgreSQL database.

const (
	subBoardDoc = `subscription($s: ID!) { boardChanged(storeId: $s) { store { code } version
		columns { status cards { number status bay technicianName maskedPlate ownerSurname } } } }`
	subOrderDoc = `subscription($id: ID!) { repairOrderUpdated(id: $id) { id number status version
		items { code approval } timeline { to actorName } } }`
)

// subWait is how long a subscriber waits for a change to arrive.
const subWait = 5 * time.Second

// subCardIn matches a board on which order number sits in column status.
func subCardIn(number, status string) func(map[string]any) bool {
	return func(d map[string]any) bool {
		_, col := bdCard(d["boardChanged"], number)
		return col == status
	}
}

// subOrderIn matches an order update in status.
func subOrderIn(status string) func(map[string]any) bool {
	return func(d map[string]any) bool { return dig(d, "repairOrderUpdated", "status") == status }
}

// A foreman's board follows the workshop: the board at once, then a new
// one after another member of staff moves an order over HTTP.
func TestSubscriptionBoardChanged(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	o := f.open(t, advisor, f.sz, car.Plate, 400, "REPAIR", nil)
	number := wkStr(o["number"])

	c := wsConnect(t, f.testServer, f.staff(t, "foreman.sz01"))
	op := c.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	first := c.nextResult(t, op, subWait)
	b := first["boardChanged"].(map[string]any)
	if dig(b, "store", "code") != "SZ01" {
		t.Fatalf("initial board: %v", b)
	}
	if got := e2eStrings(b["columns"], "status"); len(got) != len(bdColumns) {
		t.Fatalf("initial board's columns: %v", got)
	}
	card, col := bdCard(b, number)
	if col != "CHECKED_IN" || card["maskedPlate"] != bdMask(car.Plate) || card["ownerSurname"] != "测" {
		t.Fatalf("initial board's card: %v in %q", card, col)
	}

	f.move(t, advisor, wkStr(o["id"]), "DIAGNOSING", "")
	next := c.waitFor(t, op, subWait, subCardIn(number, "DIAGNOSING"))
	if wkStr(dig(next, "boardChanged", "version")) == wkStr(b["version"]) {
		t.Fatalf("a new board with the old version: %v", next)
	}
	f.ok(t, advisor, "assignRepairOrder", map[string]any{"orderId": o["id"], "technicianId": f.techID(t), "bay": "8号工位"})
	c.waitFor(t, op, subWait, func(d map[string]any) bool {
		card, _ := bdCard(d["boardChanged"], number)
		return card != nil && card["bay"] == "8号工位" && card["technicianName"] == "陈志强"
	})

	// Completing the operation ends it; the connection stays.
	c.send(t, wsMessage{ID: op, Type: "complete"})
	op2 := c.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	for {
		m, ok := c.recv(subWait)
		if !ok {
			t.Fatalf("no board after resubscribing (read error %v)", c.err())
		}
		if m.ID == op2 && m.Type == "next" {
			break
		}
		if m.ID != op {
			t.Fatalf("unexpected message: %+v", m)
		}
	}
}

// The owner follows their car: the order at once, then again after a move
// and after extra work is asked of them; staff of the store may follow it
// too.
func TestSubscriptionRepairOrderUpdated(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	o := f.open(t, advisor, f.sz, car.Plate, 400, "REPAIR", nil)
	id := wkStr(o["id"])

	owner := wsConnect(t, f.testServer, car.OwnerToken)
	op := owner.subscribe(t, subOrderDoc, map[string]any{"id": id})
	first := owner.nextResult(t, op, subWait)
	if dig(first, "repairOrderUpdated", "id") != id || dig(first, "repairOrderUpdated", "status") != "CHECKED_IN" {
		t.Fatalf("initial order: %v", first)
	}
	staff := wsConnect(t, f.testServer, f.staff(t, "foreman.sz01"))
	sop := staff.subscribe(t, subOrderDoc, map[string]any{"id": id})
	staff.nextResult(t, sop, subWait)

	f.move(t, advisor, id, "DIAGNOSING", "")
	d := owner.waitFor(t, op, subWait, subOrderIn("DIAGNOSING"))
	if tl := dig(d, "repairOrderUpdated", "timeline").([]any); len(tl) != 2 || dig(tl[1], "actorName") != "李明" {
		t.Fatalf("update's timeline: %v", d)
	}
	staff.waitFor(t, sop, subWait, subOrderIn("DIAGNOSING"))

	f.ok(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("PART", "BRK-PAD-F", "前刹车片", 1, 68000, false), true))
	d = owner.waitFor(t, op, subWait, subOrderIn("AWAITING_APPROVAL"))
	if items := dig(d, "repairOrderUpdated", "items").([]any); len(items) != 1 || dig(items[0], "approval") != "PENDING" {
		t.Fatalf("update with the request: %v", d)
	}
	staff.waitFor(t, sop, subWait, subOrderIn("AWAITING_APPROVAL"))
}

// Subscriptions check who asks, like queries: another owner, another
// store's staff, an owner on the board and a connection without a token
// are refused (and the connection stays usable); a bad token in
// connection_init closes the connection before it is acknowledged.
func TestSubscriptionRefusals(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	car := f.newCar(t, "")
	other := f.newCar(t, "")
	o := f.open(t, advisor, f.sz, car.Plate, 400, "REPAIR", nil)
	id := wkStr(o["id"])

	refused := func(c *wsClient, doc string, vars map[string]any, codes ...string) {
		t.Helper()
		op := c.subscribe(t, doc, vars)
		typ, got := c.refusal(t, op, subWait)
		if typ != "next" || len(got) != 1 || !contains(codes, got[0]) {
			t.Fatalf("refused as %s: codes %v, want one of %v", typ, got, codes)
		}
		// Nothing more arrives for it, even after a change.
		if m, ok := c.recv(200 * time.Millisecond); ok && m.ID == op && m.Type == "next" {
			t.Fatalf("refused operation sent data: %s", m.Payload)
		}
	}

	// Another owner: the order is not theirs.
	oc := wsConnect(t, f.testServer, other.OwnerToken)
	refused(oc, subOrderDoc, map[string]any{"id": id}, "NOT_FOUND")
	refused(oc, subBoardDoc, map[string]any{"s": f.sz}, "FORBIDDEN")
	f.move(t, advisor, id, "DIAGNOSING", "")
	if m, ok := oc.recv(300 * time.Millisecond); ok {
		t.Fatalf("another owner heard of the order: %+v", m)
	}
	// The connection stays usable for what is theirs.
	oo := f.open(t, advisor, f.sz, other.Plate, 100, "REPAIR", nil)
	op := oc.subscribe(t, subOrderDoc, map[string]any{"id": oo["id"]})
	if d := oc.nextResult(t, op, subWait); dig(d, "repairOrderUpdated", "number") != oo["number"] {
		t.Fatalf("own order: %v", d)
	}

	// Staff of another store.
	gz := wsConnect(t, f.testServer, f.staff(t, "foreman.gz01"))
	refused(gz, subBoardDoc, map[string]any{"s": f.sz}, "FORBIDDEN")
	refused(gz, subOrderDoc, map[string]any{"id": id}, "NOT_FOUND")

	// No token.
	anon := wsConnect(t, f.testServer, "")
	refused(anon, subBoardDoc, map[string]any{"s": f.sz}, "UNAUTHENTICATED")
	refused(anon, subOrderDoc, map[string]any{"id": id}, "UNAUTHENTICATED")

	// Only subscriptions are served over the WebSocket.
	ac := wsConnect(t, f.testServer, advisor)
	qop := ac.subscribe(t, `query($id: ID!) { repairOrder(id: $id) { number } }`, map[string]any{"id": id})
	if _, codes := ac.refusal(t, qop, subWait); len(codes) == 0 {
		t.Fatal("a query over the WebSocket was answered")
	}

	// Tokens that are not good: the connection is closed, never acknowledged.
	screen, _ := bdIssue(t, f, f.staff(t, "manager.sz01"), f.sz, "看板")
	for name, tok := range map[string]string{
		"forged":  e2eFlip(advisor),
		"garbage": "not-a-token",
		"screen":  screen,
	} {
		c := wsDial(t, f.testServer)
		c.init(t, tok)
		if m, ok := c.recv(subWait); ok {
			t.Fatalf("%s token: got %s %s instead of a close", name, m.Type, m.Payload)
		}
		if code, closed := c.closedWithin(subWait); !closed || code != graph.CloseForbidden {
			t.Fatalf("%s token: connection not closed with 4403 (closed %v, code %d)", name, closed, code)
		}
	}
	c := wsDial(t, f.testServer)
	c.send(t, wsMessage{Type: "connection_init", Payload: []byte(`{"Authorization":"Basic YWRtaW46YWRtaW4="}`)})
	if m, ok := c.recv(subWait); ok {
		t.Fatalf("Basic authorization: got %s instead of a close", m.Type)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A subscription does not outlive its token: the connection ends when the
// access token it was opened with expires.
func TestSubscriptionEndsWithToken(t *testing.T) {
	f := newWorkshop(t)
	var staffID models.Staff
	if err := f.DB.Conn(context.Background()).Preload("Stores").Where("username = ?", "foreman.sz01").Take(&staffID).Error; err != nil {
		t.Fatal(err)
	}
	short, err := auth.NewTokens([]byte(testSecret), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := auth.Principal{Kind: auth.KindStaff, ID: staffID.ID, Roles: []auth.Role{auth.RoleForeman}}
	for _, s := range staffID.Stores {
		p.StoreIDs = append(p.StoreIDs, s.StoreID)
	}
	tok, _, err := short.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	c := wsConnect(t, f.testServer, tok)
	op := c.subscribe(t, subBoardDoc, map[string]any{"s": f.sz})
	c.nextResult(t, op, subWait)
	if _, closed := c.closedWithin(5 * time.Second); !closed {
		t.Fatal("the subscription outlived its token")
	}
}

// Two servers on one PostgreSQL database: a change made through one reaches
// subscribers on the other (LISTEN/NOTIFY).
func TestSubscriptionAcrossInstances(t *testing.T) {
	if !onPostgres() {
		t.Skip("needs PostgreSQL (set TEST_DATABASE_URL): on SQLite there is one process; CI's PostgreSQL run covers it")
	}
	dbA, dbB := demoInstances(t)
	for _, db := range []*models.DB{dbA, dbB} {
		select {
		case <-db.LiveReady():
		case <-time.After(10 * time.Second):
			t.Fatal("live updates listener not ready")
		}
	}
	a := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbA })
	b := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbB })

	advisor := a.staff(t, "advisor.sz01")
	car := a.quickCar(t, "SZ01")
	o := a.open(t, advisor, a.sz, car.Plate, 1500, "REPAIR", nil)
	id, number := wkStr(o["id"]), wkStr(o["number"])

	board := wsConnect(t, b.testServer, b.staff(t, "foreman.sz01"))
	bop := board.subscribe(t, subBoardDoc, map[string]any{"s": b.sz})
	if _, col := bdCard(board.nextResult(t, bop, subWait)["boardChanged"], number); col != "CHECKED_IN" {
		t.Fatalf("instance B's initial board has %s in %q", number, col)
	}
	owner := wsConnect(t, b.testServer, b.ownerToken(t, car.Owner.ID))
	oop := owner.subscribe(t, subOrderDoc, map[string]any{"id": id})
	owner.nextResult(t, oop, subWait)

	start := time.Now()
	a.move(t, advisor, id, "DIAGNOSING", "")
	board.waitFor(t, bop, subWait, subCardIn(number, "DIAGNOSING"))
	owner.waitFor(t, oop, subWait, subOrderIn("DIAGNOSING"))
	t.Logf("instance B heard instance A's move after %v", time.Since(start))

	// And the other way round.
	back := wsConnect(t, a.testServer, a.ownerToken(t, car.Owner.ID))
	aop := back.subscribe(t, subOrderDoc, map[string]any{"id": id})
	back.nextResult(t, aop, subWait)
	b.move(t, b.staff(t, "advisor.sz01"), id, "IN_PROGRESS", "")
	back.waitFor(t, aop, subWait, subOrderIn("IN_PROGRESS"))
	board.waitFor(t, bop, subWait, subCardIn(number, "IN_PROGRESS"))
}

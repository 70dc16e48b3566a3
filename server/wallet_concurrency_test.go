package main

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Spends racing against one balance, on one server and across two servers
// on one PostgreSQL: never below zero, the ledger always adds up.

// wlReadyOrders opens n orders for owner at SZ01, one car each, with one
// labour line of payableFen, and moves them to READY_FOR_PICKUP over HTTP
// as the advisor, selecting no more than it needs (400 requests: about
// 0.4 s, 4 s under -race).
func (f *wkFixture) wlReadyOrders(t testing.TB, owner *models.Owner, n int, payableFen int) []string {
	t.Helper()
	const openDoc = `mutation($in: OpenRepairOrderInput!) { openRepairOrder(input: $in) {
		repairOrder { id } userErrors { code field message } } }`
	const moveDoc = `mutation($in: MoveRepairOrderInput!) { moveRepairOrder(input: $in) {
		repairOrder { status } userErrors { code field message } } }`
	advisor := f.staff(t, "advisor.sz01")
	ids := make([]string, n)
	for i := range ids {
		in := wkOpenInput(f.sz, f.wlNewCar(t, owner), 1500, "REPAIR", nil, wkItem("LABOR", "LAB-RACE", "检测工时", 1, payableFen, false))
		d := f.gql(t, advisor, openDoc, map[string]any{"in": in})
		if ids[i] = wkStr(dig(d, "openRepairOrder", "repairOrder", "id")); ids[i] == "" {
			t.Fatalf("open order %d: %v", i, d)
		}
		for _, to := range []string{"IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP"} {
			if d := f.gql(t, advisor, moveDoc, map[string]any{"in": wkMove(ids[i], to, "")}); dig(d, "moveRepairOrder", "repairOrder", "status") != to {
				t.Fatalf("move order %d to %s: %v", i, to, d)
			}
		}
	}
	return ids
}

// wlRace is the overdraft race: one owner, 100 orders ready for pickup of
// ¥88 each and a balance of exactly ¥880; 100 settlements paid from the
// wallet at once, sent to the given servers in turn. Exactly 10 succeed, 90
// are INSUFFICIENT_BALANCE, the balance ends at 0, and the account equals
// the sums of its ledger.
func wlRace(t *testing.T, servers ...*wkFixture) {
	const orders, covered, price = 100, 10, 8_800
	f := servers[0]
	owner := e2eInsertOwner(t, f.testServer, "并发车主", "SZ01")
	start := time.Now()
	ids := f.wlReadyOrders(t, owner, orders, price)
	t.Logf("prepared %d orders in %v", orders, time.Since(start))
	f.wlOK(t, f.staff(t, "cashier.sz01"), "topUpWallet",
		wlTopUp(e2eGlobalID("Owner", owner.ID), f.sz, covered*price, "CASH", wlKey("race")))
	if l := wlInvariant(t, f.testServer, owner.ID); l.Balance != covered*price {
		t.Fatalf("before the race: %+v", l)
	}

	tokens := make([]string, len(servers))
	for i, s := range servers {
		tokens[i] = s.staff(t, "cashier.sz01")
	}
	const doc = `mutation($in: SettleRepairOrderInput!) { settleRepairOrder(input: $in) {
		repairOrder { id settledAt } userErrors { code field message } } }`
	start = time.Now()
	rs := e2eConcurrently(orders, func(i int) *gqlResponse {
		return servers[i%len(servers)].do(t, req{Query: doc, Token: tokens[i%len(servers)],
			Vars: map[string]any{"in": wkSettle(ids[i], wkPay("WALLET", price, ""))}})
	})
	t.Logf("%d concurrent settlements over %d server(s) in %v", orders, len(servers), time.Since(start))
	var won []string
	refused := 0
	for i, r := range rs {
		p := e2ePayload(t, r, "settleRepairOrder")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && dig(p, "repairOrder", "settledAt") != nil:
			won = append(won, ids[i])
		case len(codes) == 1 && codes[0] == "INSUFFICIENT_BALANCE" && p["repairOrder"] == nil:
			refused++
		default:
			t.Fatalf("settlement %d: %v", i, p)
		}
	}
	if len(won) != covered || refused != orders-covered {
		t.Fatalf("%d settled, %d refused INSUFFICIENT_BALANCE; want %d and %d", len(won), refused, covered, orders-covered)
	}

	// The database agrees: balance 0, ten SPENDs and ten POINTS_EARNs of 88,
	// the account equal to its ledger; exactly the winners settled, each
	// with one WALLET payment linked to its entry.
	l := wlInvariant(t, f.testServer, owner.ID)
	if l.Balance != 0 || l.Points != covered*price/100 || l.Spends != covered || l.Earns != covered || l.Entries != 1+2*covered {
		t.Fatalf("after the race: %+v", l)
	}
	var settled, walletPays int64
	conn := f.DB.Conn(context.Background())
	if err := conn.Raw(`SELECT COUNT(*) FROM repair_orders WHERE owner_id = ? AND settled_at IS NOT NULL`, owner.ID).Scan(&settled).Error; err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(`SELECT COUNT(*) FROM repair_order_payments p JOIN repair_orders o ON o.id = p.order_id
		WHERE o.owner_id = ? AND p.method = 'WALLET' AND p.ledger_entry_id IS NOT NULL`, owner.ID).Scan(&walletPays).Error; err != nil {
		t.Fatal(err)
	}
	if settled != covered || walletPays != covered {
		t.Fatalf("%d orders settled with %d wallet payments; want %d", settled, walletPays, covered)
	}
	for _, id := range won {
		if o := f.order(t, f.staff(t, "cashier.sz01"), id); o["settledAt"] == nil || wkFen(o, "totals", "paid") != price {
			t.Fatalf("winner %s: %v", id, o)
		}
	}
	// The owner sees the same.
	m := f.wlMe(t, f.ownerToken(t, owner.ID), 100, "", "SPEND")
	wlWantMembership(t, m, 0, covered*price/100, "BASIC")
	if len(wlNodes(m)) != covered {
		t.Fatalf("the owner sees %d spends", len(wlNodes(m)))
	}
	if bad, err := wallet.Audit(context.Background(), f.DB); err != nil || len(bad) != 0 {
		t.Fatalf("wallet audit: %v %+v", err, bad)
	}
}

// 100 spends at once against a balance that covers exactly 10.
func TestWalletConcurrentSpends(t *testing.T) {
	wlRace(t, newWorkshop(t))
}

// The same race split across two server instances on one PostgreSQL
// database: the database's row locks, not one process, keep the balance.
func TestWalletConcurrentSpendsTwoInstances(t *testing.T) {
	if !onPostgres() {
		t.Skip("needs PostgreSQL (set TEST_DATABASE_URL): two server instances share a database only on PostgreSQL; SQLite serves one process")
	}
	dbA, dbB := demoInstances(t)
	a := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbA })
	b := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbB })
	wlRace(t, a, b)
}

package main

import (
	"slices"
	"testing"
)

// Who sees and moves which wallet: another owner, another store, and a
// walk-in customer of another store at the counter.

// Another owner, and another store's staff, see nothing of the account.
func TestWalletOtherOwnerAndStore(t *testing.T) {
	f := newWorkshop(t)
	cashier := f.staff(t, "cashier.sz01")
	a, b := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	aID := e2eGlobalID("Owner", a.Owner.ID)
	p := f.wlOK(t, cashier, "topUpWallet", wlTopUp(aID, f.sz, 100_000, "CASH", wlKey("topup")))
	aEntries := wlIDs(wlEntries(p))

	// A sees A's membership through node too.
	if d := f.gql(t, a.OwnerToken, wlNodeDoc, map[string]any{"id": aID}); wkNum(dig(d, "node", "membership", "balance", "amountFen")) != 110_000 {
		t.Fatalf("A's own node: %v", d)
	}
	// B: node(A) is null, without an error; B's own transactions hold none
	// of A's.
	r := f.do(t, req{Query: wlNodeDoc, Vars: map[string]any{"id": aID}, Token: b.OwnerToken})
	if len(r.Errors) != 0 || r.Data == nil || r.Data["node"] != nil {
		t.Fatalf("node(A) as B: %s", r.Raw)
	}
	mb := f.wlMe(t, b.OwnerToken, 100, "")
	wlWantMembership(t, mb, 0, 0, "BASIC")
	if len(wlNodes(mb)) != 0 {
		t.Fatalf("B's transactions: %v", wlNodes(mb))
	}
	// Anonymous: nothing either.
	if r := f.do(t, req{Query: wlNodeDoc, Vars: map[string]any{"id": aID}}); r.Data["node"] != nil {
		t.Fatalf("node(A) anonymously: %s", r.Raw)
	}
	// GZ01's staff: A is an SZ01 customer (home store and car sold there).
	for _, who := range []string{"cashier.gz01", "manager.gz01", "advisor.gz01"} {
		r := f.do(t, req{Query: wlNodeDoc, Vars: map[string]any{"id": aID}, Token: f.staff(t, who)})
		if len(r.Errors) != 0 || r.Data == nil || r.Data["node"] != nil {
			t.Fatalf("node(A) as %s: %s", who, r.Raw)
		}
	}
	// SZ01's staff see it.
	d := f.gql(t, f.staff(t, "advisor.sz01"), wlNodeDoc, map[string]any{"id": aID})
	edges, _ := dig(d, "node", "membership", "transactions", "edges").([]any)
	var seen []string
	for _, e := range edges {
		seen = append(seen, wkStr(dig(e, "node", "id")))
	}
	slices.Reverse(seen)
	if !slices.Equal(seen, aEntries) {
		t.Fatalf("SZ01 advisor's view of A: %v", d)
	}
}

// A GZ01 cashier finds an SZ01 customer by exact phone (walk-ins are found
// anywhere in the group) and may top their card up there, but sees no more
// of the membership than node(id:) would: membership is null, balance and
// ledger alike, without an error. GZ01's manager cannot refund or correct
// that account. (Before 12b1b69 the balance showed while the ledger failed
// with NOT_FOUND.)
func TestWalletWalkInMembershipScope(t *testing.T) {
	f := newWorkshop(t)
	a := f.quickCar(t, "SZ01")
	aID := e2eGlobalID("Owner", a.Owner.ID)
	f.wlOK(t, f.staff(t, "cashier.sz01"), "topUpWallet", wlTopUp(aID, f.sz, 100_000, "CASH", wlKey("topup")))

	gz := f.staff(t, "cashier.gz01")
	for name, doc := range map[string]string{
		"balance": `query($q: String!) { owners(search: $q) { edges { node { id membership { balance { amountFen } } } } } }`,
		"ledger": `query($q: String!) { owners(search: $q) { edges { node { id membership { balance { amountFen }
			transactions(first: 5) { edges { node { id kind } } } } } } } }`,
	} {
		r := f.do(t, req{Token: gz, Query: doc, Vars: map[string]any{"q": a.Owner.Phone}})
		node, _ := dig(r.Data, "owners", "edges", 0, "node").(map[string]any)
		if len(r.Errors) != 0 || node == nil || node["id"] != aID {
			t.Fatalf("GZ01's cashier searching A (%s): %s", name, r.Raw)
		}
		if m, present := node["membership"]; !present || m != nil {
			t.Fatalf("GZ01's cashier sees A's membership (%s): %s", name, r.Raw)
		}
	}
	// A walk-in may top up at GZ01.
	p := e2ePayload(t, f.wlCall(t, gz, "topUpWallet", wlTopUp(aID, f.gz, 20_000, "CASH", wlKey("walkin"))), "topUpWallet")
	if codes := userErrorCodes(p); len(codes) != 0 || len(wlEntries(p)) != 1 {
		t.Fatalf("walk-in top-up at GZ01: %v", p)
	}
	wlWantEntry(t, wlEntries(p)[0], "TOP_UP", 20_000, 0, 130_000, 0)
	// Money going back out is for the store's own customers only.
	before := wlInvariant(t, f.testServer, a.Owner.ID)
	f.wlDenied(t, f.staff(t, "manager.gz01"), "refundWallet", map[string]any{"ownerId": aID, "storeId": f.gz, "amountFen": 100,
		"method": "CASH", "reason": "退卡", "idempotencyKey": wlKey("refund")}, "NOT_FOUND")
	f.wlDenied(t, f.staff(t, "manager.gz01"), "adjustWallet", map[string]any{"ownerId": aID, "storeId": f.gz, "amountFen": -100,
		"reason": "冲正", "idempotencyKey": wlKey("adjust")}, "NOT_FOUND")
	if after := wlInvariant(t, f.testServer, a.Owner.ID); after != before || after.Balance != 130_000 {
		t.Fatalf("GZ01's refusals wrote: %+v -> %+v", before, after)
	}
}

// A cashier topping up a walk-in from another store sees the balance they
// just credited (the card is the group's), and of its transactions only
// those at their own store. (The payload's membership was null.)
func TestWalletWalkInTopUpPayload(t *testing.T) {
	f := newWorkshop(t)
	a := f.quickCar(t, "SZ01")
	aID := e2eGlobalID("Owner", a.Owner.ID)
	f.wlOK(t, f.staff(t, "cashier.sz01"), "topUpWallet", wlTopUp(aID, f.sz, 10_000, "CASH", wlKey("home")))
	gz := f.staff(t, "cashier.gz01")
	const doc = `mutation($in: TopUpWalletInput!) { topUpWallet(input: $in) {
		membership { balance { amountFen } transactions(first: 5) { edges { node { id kind amount { amountFen } } } } }
		entries { id } userErrors { code field message } } }`
	r := f.do(t, req{Query: doc, Token: gz, Vars: map[string]any{"in": wlTopUp(aID, f.gz, 20_000, "CASH", wlKey("walkin"))}})
	if l := wlInvariant(t, f.testServer, a.Owner.ID); l.Balance != 30_000 || l.Entries != 2 {
		t.Fatalf("walk-in top-up: %+v", l)
	}
	m, _ := dig(r.Data, "topUpWallet", "membership").(map[string]any)
	if len(r.Errors) != 0 || m == nil || wkFen(m, "balance") != 30_000 {
		t.Fatalf("the cashier does not see the balance they credited: %s", r.Raw)
	}
	edges, _ := dig(m, "transactions", "edges").([]any)
	if len(edges) != 1 || dig(edges, 0, "node", "id") != dig(r.Data, "topUpWallet", "entries", 0, "id") {
		t.Fatalf("GZ01's cashier sees more than GZ01's entries of A's card: %s", r.Raw)
	}
}

package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// End-to-end tests of the membership wallet
// through the real server: the cashier's top-ups with their bonus and the
// balance cap, the manager's refunds and corrections, every refusal with its
// code, who may do what at which store, idempotent retries (sequential and
// concurrent), repair orders paid from the wallet and with points, the
// owner's view of their membership, another owner's and another store's
// view, the race of 100 spends against a balance that covers 10 (on one
// server, and split across two servers on one PostgreSQL), points expiry and
// tiers. Money is checked against the database: the account's balance and
// points always equal the sums of its ledger entries.

const (
	wlMembershipFields = `balance { amountFen currency } balanceCap { amountFen } points tier
		spentLast12Months { amountFen } nextTier spendToNextTier { amountFen } pointsExpiringSoon nextPointsExpiry`
	wlEntryFields = `id kind amount { amountFen currency } points balanceAfter { amountFen } pointsAfter memo method
		reference repairOrder { id number } createdAt`
	wlPayloadFields = `membership { ` + wlMembershipFields + ` } entries { ` + wlEntryFields + ` } userErrors { code field message }`

	// wlMeDoc is the owner's wallet screen: the membership and a page of
	// transactions.
	wlMeDoc = `query($first: Int, $after: String, $kinds: [LedgerEntryKind!]) { me { id membership { ` + wlMembershipFields + `
		transactions(first: $first, after: $after, kinds: $kinds) { edges { cursor node { ` + wlEntryFields + ` } }
			pageInfo { hasNextPage endCursor } } } } }`

	// wlNodeDoc reads an owner's membership through node(id:).
	wlNodeDoc = `query($id: ID!) { node(id: $id) { id ... on Owner { membership { balance { amountFen } points tier
		transactions(first: 100) { edges { node { id kind } } } } } } }`

	wlOwnersDoc = `query($q: String!) { owners(search: $q) { edges { node { id phone } } } }`
)

// wlKey is a fresh idempotency key.
func wlKey(prefix string) string { return fmt.Sprintf("%s-%d", prefix, e2eNext()) }

// wlCall sends a wallet mutation (topUpWallet, refundWallet, adjustWallet)
// selecting the whole payload.
func (f *wkFixture) wlCall(t testing.TB, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc := fmt.Sprintf(`mutation($in: %sInput!) { %s(input: $in) { %s } }`,
		strings.ToUpper(field[:1])+field[1:], field, wlPayloadFields)
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// wlOK runs a wallet mutation that must be accepted and returns its payload.
func (f *wkFixture) wlOK(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.wlCall(t, token, field, input), field)
	if codes := userErrorCodes(p); len(codes) != 0 || p["membership"] == nil {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return p
}

// wlRefused runs a wallet mutation that must be refused with code on the
// input field (none when on is ""), appending nothing.
func (f *wkFixture) wlRefused(t testing.TB, token, field string, input map[string]any, code, on string) {
	t.Helper()
	p := e2ePayload(t, f.wlCall(t, token, field, input), field)
	if on == "" {
		e2eWantUserError(t, p, code)
	} else {
		e2eWantUserError(t, p, code, "input", on)
	}
	if p["membership"] != nil || len(p["entries"].([]any)) != 0 {
		t.Fatalf("%s refused with %s but answered %v", field, code, p)
	}
}

// wlDenied runs a wallet mutation the API must deny with a GraphQL error.
func (f *wkFixture) wlDenied(t testing.TB, token, field string, input map[string]any, code string) {
	t.Helper()
	r := f.wlCall(t, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Raw)
	}
}

// wlTopUp is a top-up input: CASH takes no reference, other methods a
// fresh one.
func wlTopUp(owner, store string, fen int, method, key string) map[string]any {
	in := map[string]any{"ownerId": owner, "storeId": store, "amountFen": fen, "method": method, "idempotencyKey": key}
	if method != "CASH" {
		in["reference"] = fmt.Sprintf("POS-%d", e2eNext())
	}
	return in
}

// wlFindOwner finds an owner's global id as the counter does: owners(search:
// phone).
func (f *wkFixture) wlFindOwner(t testing.TB, token, phone string) string {
	t.Helper()
	edges, _ := dig(f.gql(t, token, wlOwnersDoc, map[string]any{"q": phone}), "owners", "edges").([]any)
	if len(edges) != 1 || dig(edges, 0, "node", "phone") != phone {
		t.Fatalf("owners(search: %s): %v", phone, edges)
	}
	return dig(edges, 0, "node", "id").(string)
}

// wlMe reads the owner's membership with one page of transactions.
func (f *wkFixture) wlMe(t testing.TB, ownerToken string, first int, after string, kinds ...string) map[string]any {
	t.Helper()
	vars := map[string]any{"first": first}
	if after != "" {
		vars["after"] = after
	}
	if len(kinds) > 0 {
		vars["kinds"] = kinds
	}
	m, _ := dig(f.gql(t, ownerToken, wlMeDoc, vars), "me", "membership").(map[string]any)
	if m == nil {
		t.Fatal("me.membership is missing")
	}
	return m
}

// wlNodes lists the transactions of a membership.
func wlNodes(m map[string]any) []map[string]any {
	var out []map[string]any
	edges, _ := dig(m, "transactions", "edges").([]any)
	for _, e := range edges {
		out = append(out, dig(e, "node").(map[string]any))
	}
	return out
}

// wlEntries lists the entries of a wallet payload.
func wlEntries(p map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := p["entries"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any))
	}
	return out
}

func wlKinds(entries []map[string]any) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = wkStr(e["kind"])
	}
	return out
}

func wlIDs(entries []map[string]any) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = wkStr(e["id"])
	}
	return out
}

// wlWantEntry checks one ledger entry's kind and movements.
func wlWantEntry(t testing.TB, e map[string]any, kind string, amountFen, points, balanceAfter, pointsAfter int) {
	t.Helper()
	if e["kind"] != kind || wkFen(e, "amount") != amountFen || wkNum(e["points"]) != points ||
		wkFen(e, "balanceAfter") != balanceAfter || wkNum(e["pointsAfter"]) != pointsAfter ||
		dig(e, "amount", "currency") != "CNY" || wkStr(e["id"]) == "" {
		t.Fatalf("want %s %+d fen %+d points -> %d fen %d points, got %v", kind, amountFen, points, balanceAfter, pointsAfter, e)
	}
}

// wlWantMembership checks what a membership shows.
func wlWantMembership(t testing.TB, m map[string]any, balance, points int, tier string) {
	t.Helper()
	if wkFen(m, "balance") != balance || wkNum(m["points"]) != points || m["tier"] != tier ||
		dig(m, "balance", "currency") != "CNY" || wkFen(m, "balanceCap") != 500_000 {
		t.Fatalf("membership: want %d fen, %d points, %s; got %v", balance, points, tier, m)
	}
}

// wlLedger is an owner's account and the sums of its ledger and lots, read
// straight from the database.
type wlLedger struct {
	Balance, Points               int64 // the account row
	Entries, SumAmount, SumPoints int64 // its ledger entries
	LotPoints                     int64 // points left in its lots
	Spends, Redeems, Earns        int64 // entries of these kinds
}

func wlRead(t testing.TB, s *testServer, ownerID uuid.UUID) wlLedger {
	t.Helper()
	var l wlLedger
	conn := s.DB.Conn(context.Background())
	row := conn.Raw(`SELECT balance_fen, points FROM membership_accounts WHERE owner_id = ?`, ownerID).Row()
	if err := row.Scan(&l.Balance, &l.Points); err != nil {
		t.Fatalf("account of %s: %v", ownerID, err)
	}
	row = conn.Raw(`SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT), CAST(COALESCE(SUM(points), 0) AS BIGINT),
		COUNT(CASE WHEN kind = 'SPEND' THEN 1 END), COUNT(CASE WHEN kind = 'POINTS_REDEEM' THEN 1 END),
		COUNT(CASE WHEN kind = 'POINTS_EARN' THEN 1 END)
		FROM ledger_entries WHERE owner_id = ?`, ownerID).Row()
	if err := row.Scan(&l.Entries, &l.SumAmount, &l.SumPoints, &l.Spends, &l.Redeems, &l.Earns); err != nil {
		t.Fatalf("ledger of %s: %v", ownerID, err)
	}
	row = conn.Raw(`SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM points_lots WHERE owner_id = ?`, ownerID).Row()
	if err := row.Scan(&l.LotPoints); err != nil {
		t.Fatalf("lots of %s: %v", ownerID, err)
	}
	return l
}

// wlInvariant checks the ledger's invariant for an owner and returns what it
// read: balance = SUM(amount_fen), points = SUM(points) = points left in the
// lots, neither negative.
func wlInvariant(t testing.TB, s *testServer, ownerID uuid.UUID) wlLedger {
	t.Helper()
	l := wlRead(t, s, ownerID)
	if l.Balance != l.SumAmount || l.Points != l.SumPoints || l.Points != l.LotPoints || l.Balance < 0 || l.Points < 0 {
		t.Fatalf("ledger invariant broken for %s: %+v", ownerID, l)
	}
	return l
}

// wlReady opens an order for a car at SZ01 with the items and drives it to
// READY_FOR_PICKUP as the advisor; it returns the order's id and payable.
func (f *wkFixture) wlReady(t testing.TB, plate string, items ...map[string]any) (string, int) {
	t.Helper()
	advisor := f.staff(t, "advisor.sz01")
	o := f.open(t, advisor, f.sz, plate, 1500, "REPAIR", nil, items...)
	id := wkStr(o["id"])
	o = f.wkDrive(t, advisor, id, "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP")
	if o["status"] != "READY_FOR_PICKUP" {
		t.Fatalf("order %s: %v", id, o["status"])
	}
	return id, wkFen(o, "totals", "payable")
}

// wlNewCar adds another car (sold at SZ01) for an existing owner and
// returns its plate.
func (f *wkFixture) wlNewCar(t testing.TB, owner *models.Owner) string {
	t.Helper()
	return *e2eInsertVehicle(t, f.testServer, owner.ID, "SZ01").Plate
}

// wlUUID reads the key of a global id of type typ.
func wlUUID(t testing.TB, gid, typ string) uuid.UUID {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(gid)
	if err != nil {
		t.Fatalf("global id %q: %v", gid, err)
	}
	id, err := uuid.Parse(strings.TrimPrefix(string(raw), typ+":"))
	if err != nil {
		t.Fatalf("global id %q is not a %s: %v", gid, typ, err)
	}
	return id
}

// wlPoints is a POINTS payment (100 points = ¥1 = 100 fen).
func wlPoints(points int) map[string]any {
	return map[string]any{"method": "POINTS", "amountFen": points, "points": points}
}

// wlPrincipal is the principal behind a staff member's token, for domain
// calls a test makes directly.
func (f *wkFixture) wlPrincipal(t testing.TB, username string) *auth.Principal {
	t.Helper()
	p, err := f.App.Tokens.Verify(f.staff(t, username))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The counter: a cashier finds an owner by phone and tops their card up
// (TOP_UP, and TOP_UP_BONUS from ¥1,000), up to the ¥5,000 cap and not a fen
// past it; the manager refunds and corrects with a reason; the owner sees
// it all in me.membership, newest first, filtered by kind and paged. Each
// refusal has its code, and a refused request writes nothing.
func TestWalletCounter(t *testing.T) {
	f := newWorkshop(t)
	cashier, manager, advisor := f.staff(t, "cashier.sz01"), f.staff(t, "manager.sz01"), f.staff(t, "advisor.sz01")
	car := f.quickCar(t, "SZ01")
	ownerID := f.wlFindOwner(t, cashier, car.Owner.Phone)
	if ownerID != e2eGlobalID("Owner", car.Owner.ID) {
		t.Fatalf("owners(search) found %s", ownerID)
	}

	// A new owner's account is there, empty.
	m := f.wlMe(t, car.OwnerToken, 20, "")
	wlWantMembership(t, m, 0, 0, "BASIC")
	if len(wlNodes(m)) != 0 || dig(m, "transactions", "pageInfo", "hasNextPage") != false {
		t.Fatalf("new membership: %v", m)
	}

	// ¥500 in cash: one TOP_UP, no bonus.
	p := f.wlOK(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 50_000, "CASH", wlKey("topup")))
	es := wlEntries(p)
	if len(es) != 1 {
		t.Fatalf("¥500 top-up: %v", es)
	}
	wlWantEntry(t, es[0], "TOP_UP", 50_000, 0, 50_000, 0)
	if es[0]["method"] != "CASH" || dig(es[0], "repairOrder") != nil {
		t.Fatalf("cash top-up entry: %v", es[0])
	}
	wlWantMembership(t, p["membership"].(map[string]any), 50_000, 0, "BASIC")

	// ¥1,000 by card: TOP_UP with its reference, and the default 充1000送100.
	in := wlTopUp(ownerID, f.sz, 100_000, "CARD", wlKey("topup"))
	p = f.wlOK(t, cashier, "topUpWallet", in)
	es = wlEntries(p)
	if !slices.Equal(wlKinds(es), []string{"TOP_UP", "TOP_UP_BONUS"}) {
		t.Fatalf("¥1,000 top-up: %v", es)
	}
	wlWantEntry(t, es[0], "TOP_UP", 100_000, 0, 150_000, 0)
	wlWantEntry(t, es[1], "TOP_UP_BONUS", 10_000, 0, 160_000, 0)
	if es[0]["method"] != "CARD" || es[0]["reference"] != in["reference"] || wkStr(es[1]["memo"]) == "" {
		t.Fatalf("card top-up entries: %v", es)
	}
	wlWantMembership(t, p["membership"].(map[string]any), 160_000, 0, "BASIC")

	// The cap (¥5,000) counts the bonus: ¥3,500 would end at ¥5,200.
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 350_000, "CASH", wlKey("cap")), "BALANCE_CAP_EXCEEDED", "amountFen")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("a refused top-up wrote: %+v -> %+v", before, after)
	}
	// ¥3,300 and its ¥100 bonus reach the cap exactly, which is allowed;
	// then not one fen more.
	p = f.wlOK(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 330_000, "WECHAT_PAY", wlKey("topup")))
	wlWantMembership(t, p["membership"].(map[string]any), 500_000, 0, "BASIC")
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 1, "CASH", wlKey("cap")), "BALANCE_CAP_EXCEEDED", "amountFen")
	// Bad input.
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 0, "CASH", wlKey("bad")), "INVALID_ARGUMENT", "amountFen")
	noRef := wlTopUp(ownerID, f.sz, 100, "ALIPAY", wlKey("bad"))
	delete(noRef, "reference")
	f.wlRefused(t, cashier, "topUpWallet", noRef, "INVALID_ARGUMENT", "reference")
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 100, "WALLET", wlKey("bad")), "INVALID_ARGUMENT", "method")
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", "  "), "INVALID_ARGUMENT", "idempotencyKey")

	// Who may top up where: cashiers and managers of the store taking the
	// money; not an advisor, not at another store, not an owner, not
	// anonymously; and an owner that does not exist is not found.
	before = wlInvariant(t, f.testServer, car.Owner.ID)
	f.wlDenied(t, advisor, "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("role")), "FORBIDDEN")
	f.wlDenied(t, cashier, "topUpWallet", wlTopUp(ownerID, f.gz, 100, "CASH", wlKey("store")), "FORBIDDEN")
	f.wlDenied(t, car.OwnerToken, "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("owner")), "FORBIDDEN")
	f.wlDenied(t, "", "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("anon")), "UNAUTHENTICATED")
	f.wlDenied(t, cashier, "topUpWallet", wlTopUp(e2eGlobalID("Owner", models.NewID()), f.sz, 100, "CASH", wlKey("nobody")), "NOT_FOUND")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("a denied top-up wrote: %+v -> %+v", before, after)
	}

	// Refunds: the manager's, with a reason; never more than the balance.
	refund := func(fen int, reason string) map[string]any {
		return map[string]any{"ownerId": ownerID, "storeId": f.sz, "amountFen": fen, "method": "CASH",
			"reason": reason, "idempotencyKey": wlKey("refund")}
	}
	f.wlRefused(t, manager, "refundWallet", refund(20_000, "  "), "INVALID_ARGUMENT", "reason")
	f.wlRefused(t, manager, "refundWallet", refund(500_001, "退卡"), "INSUFFICIENT_BALANCE", "amountFen")
	f.wlDenied(t, cashier, "refundWallet", refund(20_000, "退卡"), "FORBIDDEN")
	f.wlDenied(t, f.staff(t, "manager.gz01"), "refundWallet", refund(100, "退卡"), "FORBIDDEN")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("a refused refund wrote: %+v -> %+v", before, after)
	}
	p = f.wlOK(t, manager, "refundWallet", refund(20_000, "车主退回部分储值"))
	es = wlEntries(p)
	if len(es) != 1 || es[0]["memo"] != "车主退回部分储值" || es[0]["method"] != "CASH" {
		t.Fatalf("refund: %v", es)
	}
	wlWantEntry(t, es[0], "REFUND", -20_000, 0, 480_000, 0)

	// Corrections: the manager's, with a reason; balance and points, either
	// way; never below zero.
	adjust := func(fen, points int, reason string) map[string]any {
		return map[string]any{"ownerId": ownerID, "storeId": f.sz, "amountFen": fen, "points": points,
			"reason": reason, "idempotencyKey": wlKey("adjust")}
	}
	f.wlRefused(t, manager, "adjustWallet", adjust(-5_000, 300, ""), "INVALID_ARGUMENT", "reason")
	f.wlRefused(t, manager, "adjustWallet", adjust(0, 0, "无变化"), "INVALID_ARGUMENT", "amountFen")
	f.wlRefused(t, manager, "adjustWallet", adjust(0, -1, "扣积分"), "INSUFFICIENT_POINTS", "points")
	f.wlRefused(t, manager, "adjustWallet", adjust(-480_001, 0, "扣款"), "INSUFFICIENT_BALANCE", "amountFen")
	f.wlDenied(t, cashier, "adjustWallet", adjust(100, 0, "补录"), "FORBIDDEN")
	p = f.wlOK(t, manager, "adjustWallet", adjust(-5_000, 300, "补录开业活动积分，冲正多充"))
	es = wlEntries(p)
	if len(es) != 1 || es[0]["memo"] != "补录开业活动积分，冲正多充" {
		t.Fatalf("adjust: %v", es)
	}
	wlWantEntry(t, es[0], "ADJUST", -5_000, 300, 475_000, 300)
	wlInvariant(t, f.testServer, car.Owner.ID)

	// The owner's view: everything above, newest first, each entry's
	// balance following from the one before.
	m = f.wlMe(t, car.OwnerToken, 100, "")
	wlWantMembership(t, m, 475_000, 300, "BASIC")
	if wkFen(m, "spentLast12Months") != 0 || m["nextTier"] != "SILVER" || wkFen(m, "spendToNextTier") != 300_000 ||
		wkNum(m["pointsExpiringSoon"]) != 0 || m["nextPointsExpiry"] != nil {
		t.Fatalf("owner's membership: %v", m)
	}
	all := wlNodes(m)
	want := []string{"ADJUST", "REFUND", "TOP_UP_BONUS", "TOP_UP", "TOP_UP_BONUS", "TOP_UP", "TOP_UP"}
	if !slices.Equal(wlKinds(all), want) {
		t.Fatalf("transactions %v, want %v", wlKinds(all), want)
	}
	for i := 0; i+1 < len(all); i++ {
		newer, older := all[i], all[i+1]
		if wkFen(newer, "balanceAfter")-wkFen(newer, "amount") != wkFen(older, "balanceAfter") ||
			wkNum(newer["pointsAfter"])-wkNum(newer["points"]) != wkNum(older["pointsAfter"]) ||
			e2eTime(t, newer["createdAt"]).Before(e2eTime(t, older["createdAt"])) {
			t.Fatalf("entries %d and %d do not follow: %v / %v", i, i+1, newer, older)
		}
	}
	if wkFen(all[len(all)-1], "balanceAfter") != 50_000 {
		t.Fatalf("oldest entry: %v", all[len(all)-1])
	}
	// Paged by 3: the same list.
	var paged []string
	after := ""
	for pages := 0; ; pages++ {
		pm := f.wlMe(t, car.OwnerToken, 3, after)
		nodes := wlNodes(pm)
		paged = append(paged, wlIDs(nodes)...)
		more := dig(pm, "transactions", "pageInfo", "hasNextPage") == true
		if pages > 5 || (more && len(nodes) != 3) {
			t.Fatalf("paging went wrong at page %d: %v", pages, pm)
		}
		if !more {
			break
		}
		after = wkStr(dig(pm, "transactions", "pageInfo", "endCursor"))
	}
	if !slices.Equal(paged, wlIDs(all)) {
		t.Fatalf("paged %v, want %v", paged, wlIDs(all))
	}
	// Filtered by kind.
	if k := wlKinds(wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "TOP_UP"))); !slices.Equal(k, []string{"TOP_UP", "TOP_UP", "TOP_UP"}) {
		t.Fatalf("kinds [TOP_UP]: %v", k)
	}
	if k := wlKinds(wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "REFUND", "TOP_UP_BONUS"))); !slices.Equal(k, []string{"REFUND", "TOP_UP_BONUS", "TOP_UP_BONUS"}) {
		t.Fatalf("kinds [REFUND, TOP_UP_BONUS]: %v", k)
	}
	if n := wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "POINTS_EXPIRE")); len(n) != 0 {
		t.Fatalf("kinds [POINTS_EXPIRE]: %v", n)
	}
	// The store's staff read the same account.
	d := f.gql(t, cashier, wlNodeDoc, map[string]any{"id": ownerID})
	if edges, _ := dig(d, "node", "membership", "transactions", "edges").([]any); wkNum(dig(d, "node", "membership", "balance", "amountFen")) != 475_000 || len(edges) != len(all) {
		t.Fatalf("the cashier's view: %v", d)
	}
}

// A retried top-up has one effect and answers the first result: retried in
// sequence, and 20 times at once; the key reused for other parameters is
// refused; another cashier's same key is another request.
func TestWalletTopUpIdempotent(t *testing.T) {
	f := newWorkshop(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	ownerID := e2eGlobalID("Owner", car.Owner.ID)

	key := wlKey("same")
	in := wlTopUp(ownerID, f.sz, 100_000, "CARD", key)
	first := f.wlOK(t, cashier, "topUpWallet", in)
	second := f.wlOK(t, cashier, "topUpWallet", in)
	ids := wlIDs(wlEntries(first))
	if len(ids) != 2 || !slices.Equal(wlIDs(wlEntries(second)), ids) {
		t.Fatalf("retry answered other entries: %v / %v", wlEntries(first), wlEntries(second))
	}
	if wkFen(second["membership"].(map[string]any), "balance") != 110_000 {
		t.Fatalf("retry's membership: %v", second["membership"])
	}
	if l := wlInvariant(t, f.testServer, car.Owner.ID); l.Entries != 2 || l.Balance != 110_000 {
		t.Fatalf("after a retried top-up: %+v", l)
	}

	// The same key for another amount, or another reference, is another
	// request: refused.
	other := wlTopUp(ownerID, f.sz, 90_000, "CARD", key)
	other["reference"] = in["reference"]
	f.wlRefused(t, cashier, "topUpWallet", other, "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
	f.wlRefused(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 100_000, "CARD", key), "IDEMPOTENCY_KEY_REUSED", "idempotencyKey")
	if l := wlInvariant(t, f.testServer, car.Owner.ID); l.Entries != 2 || l.Balance != 110_000 {
		t.Fatalf("after a reused key: %+v", l)
	}

	// Keys belong to their caller: another cashier choosing the same key
	// makes another top-up.
	cashier2 := e2eStaffToken(t, f.testServer, e2eInsertStaff(t, f.testServer, "pw-cashier-2", true, []string{"SZ01"}, "CASHIER"))
	p := f.wlOK(t, cashier2, "topUpWallet", in)
	if ids2 := wlIDs(wlEntries(p)); len(ids2) != 2 || slices.Contains(ids, ids2[0]) || slices.Contains(ids, ids2[1]) {
		t.Fatalf("another cashier's key answered %v (first cashier's: %v)", ids2, ids)
	}
	if l := wlInvariant(t, f.testServer, car.Owner.ID); l.Entries != 4 || l.Balance != 220_000 {
		t.Fatalf("after another cashier's top-up: %+v", l)
	}

	// 20 identical requests at once: one TOP_UP and its bonus; every answer
	// names those two entries.
	in = wlTopUp(ownerID, f.sz, 100_000, "ALIPAY", wlKey("burst"))
	doc := fmt.Sprintf(`mutation($in: TopUpWalletInput!) { topUpWallet(input: $in) { %s } }`, wlPayloadFields)
	rs := e2eConcurrently(20, func(int) *gqlResponse {
		return f.do(t, req{Query: doc, Vars: map[string]any{"in": in}, Token: cashier})
	})
	var burst []string
	for i, r := range rs {
		p := e2ePayload(t, r, "topUpWallet")
		if codes := userErrorCodes(p); len(codes) != 0 {
			t.Fatalf("concurrent retry %d refused: %v", i, p)
		}
		got := wlIDs(wlEntries(p))
		if i == 0 {
			burst = got
		}
		if len(got) != 2 || !slices.Equal(got, burst) {
			t.Fatalf("concurrent retry %d answered %v, retry 0 %v", i, got, burst)
		}
	}
	if l := wlInvariant(t, f.testServer, car.Owner.ID); l.Entries != 6 || l.Balance != 330_000 {
		t.Fatalf("after 20 concurrent retries: %+v", l)
	}
	if n := wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "TOP_UP")); len(n) != 3 || n[0]["id"] != burst[0] {
		t.Fatalf("the owner's top-ups after the burst: %v", n)
	}
}

// Paying a repair order with points, the wallet and a card: the payments
// add up to the bill (warranty items free), points pay at most half, money
// earns a point per yuan, every entry links to the order; each refusal
// writes nothing; a retry with the key charges nothing.
func TestWalletSettlement(t *testing.T) {
	f := newWorkshop(t)
	cashier, manager := f.staff(t, "cashier.sz01"), f.staff(t, "manager.sz01")
	car := f.quickCar(t, "SZ01")
	ownerID := e2eGlobalID("Owner", car.Owner.ID)

	// 40,000 points (a manager's correction) and ¥1,100 on the card.
	f.wlOK(t, manager, "adjustWallet", map[string]any{"ownerId": ownerID, "storeId": f.sz, "points": 40_000,
		"reason": "老会员积分迁移", "idempotencyKey": wlKey("adjust")})
	f.wlOK(t, cashier, "topUpWallet", wlTopUp(ownerID, f.sz, 100_000, "CARD", wlKey("topup")))

	// ¥572 to pay (the ¥500 warranty part is free): at most 28,600 points.
	id, payable := f.wlReady(t, car.Plate,
		wkItem("PART", "OIL-0W20", "原厂全合成机油 0W-20", 4, 9800, false),
		wkItem("LABOR", "LAB-MNT", "保养工时", 1, 18000, false),
		wkItem("PART", "WAR-PUMP", "水泵（质保）", 1, 50000, true))
	if payable != 57_200 {
		t.Fatalf("payable %d", payable)
	}
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wlPoints(28_601), wkPay("WALLET", 28_599, "")), "POINTS_OVER_CAP")
	p := f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", 20_000, ""), wlPoints(30_000), wkPay("CASH", 7_200, "")), "POINTS_OVER_CAP")
	e2eWantUserError(t, p, "POINTS_OVER_CAP", "input", "payments[1].points")
	p = f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", 50_000, "")), "PAYMENTS_DO_NOT_ADD_UP")
	e2eWantUserError(t, p, "PAYMENTS_DO_NOT_ADD_UP", "input", "payments")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", 57_300, ""), wkPay("CASH", -100, "")), "INVALID_ARGUMENT")
	// Another store's cashier does not find the order.
	f.denied(t, f.staff(t, "cashier.gz01"), "settleRepairOrder", wkSettle(id, wkPay("WALLET", payable, "")), "NOT_FOUND")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("refused settlements wrote: %+v -> %+v", before, after)
	}
	if o := f.order(t, cashier, id); o["settledAt"] != nil || len(o["payments"].([]any)) != 0 {
		t.Fatalf("refused settlements left the order %v", o)
	}

	// 10,000 points (¥100) + ¥300 from the wallet + ¥172 by card.
	settle := wkSettle(id, wlPoints(10_000), wkPay("WALLET", 30_000, ""), wkPay("CARD", 17_200, "POS-778899"))
	settle["idempotencyKey"] = wlKey("settle")
	o := f.ok(t, cashier, "settleRepairOrder", settle)
	if o["settledAt"] == nil || wkFen(o, "totals", "paid") != payable || len(o["payments"].([]any)) != 3 {
		t.Fatalf("settled order: %v", o)
	}
	for _, pay := range o["payments"].([]any) {
		if dig(pay, "method") == "POINTS" && (wkNum(dig(pay, "points")) != 10_000 || wkNum(dig(pay, "amount", "amountFen")) != 10_000) {
			t.Fatalf("points payment: %v", pay)
		}
	}
	// SPEND ¥300, POINTS_REDEEM 10,000 and POINTS_EARN 472 (¥472 of money:
	// wallet and card, not points), all linked to the order.
	m := f.wlMe(t, car.OwnerToken, 20, "")
	wlWantMembership(t, m, 80_000, 30_472, "BASIC")
	if wkFen(m, "spentLast12Months") != 47_200 || wkFen(m, "spendToNextTier") != 300_000-47_200 || m["nextTier"] != "SILVER" {
		t.Fatalf("membership after the settlement: %v", m)
	}
	sale := wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "SPEND", "POINTS_REDEEM", "POINTS_EARN"))
	if !slices.Equal(wlKinds(sale), []string{"POINTS_EARN", "POINTS_REDEEM", "SPEND"}) {
		t.Fatalf("the settlement's entries: %v", sale)
	}
	wlWantEntry(t, sale[2], "SPEND", -30_000, 0, 80_000, 40_000)
	wlWantEntry(t, sale[1], "POINTS_REDEEM", 0, -10_000, 80_000, 30_000)
	wlWantEntry(t, sale[0], "POINTS_EARN", 0, 472, 80_000, 30_472)
	for _, e := range sale {
		if dig(e, "repairOrder", "id") != id || dig(e, "repairOrder", "number") != o["number"] {
			t.Fatalf("entry %v does not link to order %s", e, o["number"])
		}
	}
	settled := wlInvariant(t, f.testServer, car.Owner.ID)
	if settled.Entries != before.Entries+3 {
		t.Fatalf("the settlement wrote %d entries", settled.Entries-before.Entries)
	}

	// A retry with the key answers the settled order and charges nothing;
	// the key with other payments is refused; without a key, a second
	// settlement is ALREADY_SETTLED.
	again := f.ok(t, cashier, "settleRepairOrder", settle)
	if again["settledAt"] != o["settledAt"] || len(again["payments"].([]any)) != 3 {
		t.Fatalf("retried settlement: %v", again)
	}
	changed := wkSettle(id, wlPoints(10_000), wkPay("WALLET", 47_200, ""))
	changed["idempotencyKey"] = settle["idempotencyKey"]
	f.refused(t, cashier, "settleRepairOrder", changed, "IDEMPOTENCY_KEY_REUSED")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", payable, "")), "ALREADY_SETTLED")
	f.refused(t, manager, "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")), "ALREADY_SETTLED")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != settled {
		t.Fatalf("retries charged again: %+v -> %+v", settled, after)
	}

	// A bill the balance does not cover: refused, the order unsettled, no
	// entry, no payment. The same for points.
	id2, payable2 := f.wlReady(t, f.wlNewCar(t, car.Owner), wkItem("LABOR", "LAB-BODY", "钣金喷漆", 1, 90_000, false))
	p = f.refused(t, cashier, "settleRepairOrder", wkSettle(id2, wkPay("WALLET", payable2, "")), "INSUFFICIENT_BALANCE")
	e2eWantUserError(t, p, "INSUFFICIENT_BALANCE", "input", "payments[0].amountFen")
	p = f.refused(t, cashier, "settleRepairOrder", wkSettle(id2, wkPay("CASH", 45_000-30_472, ""), wlPoints(30_473), wkPay("CARD", 44_999, "POS-1")), "INSUFFICIENT_POINTS")
	e2eWantUserError(t, p, "INSUFFICIENT_POINTS", "input", "payments[1].points")
	if o2 := f.order(t, cashier, id2); o2["settledAt"] != nil || o2["status"] != "READY_FOR_PICKUP" || len(o2["payments"].([]any)) != 0 {
		t.Fatalf("order after INSUFFICIENT_BALANCE: %v", o2)
	}
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != settled {
		t.Fatalf("refused spends wrote: %+v -> %+v", settled, after)
	}
	// The balance to the last fen, the rest in cash; then the car goes home.
	f.ok(t, cashier, "settleRepairOrder", wkSettle(id2, wkPay("WALLET", 80_000, ""), wkPay("CASH", payable2-80_000, "")))
	f.move(t, f.staff(t, "advisor.sz01"), id2, "DELIVERED", "")
	wlWantMembership(t, f.wlMe(t, car.OwnerToken, 20, ""), 0, 30_472+900, "BASIC")
	if l := wlInvariant(t, f.testServer, car.Owner.ID); l.Spends != 2 || l.Redeems != 1 || l.Earns != 2 {
		t.Fatalf("ledger after two settlements: %+v", l)
	}
}

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

// Points expire 24 months after they were earned, by the daily job (safe
// to run twice); the owner sees fewer points, a POINTS_EXPIRE entry, and
// what expires within 30 days; spending takes the points closest to expiry
// first.
func TestWalletPointsExpiry(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	manager := f.wlPrincipal(t, "manager.sz01")
	car := f.quickCar(t, "SZ01")
	ownerID := e2eGlobalID("Owner", car.Owner.ID)
	storeID := e2eStoreID(t, f.testServer, "SZ01")

	// Points earned in the past, by a wallet whose clock was moved back:
	// 500 points 25 months ago (expired a month ago) and 200 points 24
	// months less 10 days ago (expire in about 10 days); and 300 points
	// today over the API.
	earnAt := func(at time.Time, points int64) {
		t.Helper()
		past := &wallet.Service{DB: f.DB, Config: f.Cfg.Wallet, Clock: func() time.Time { return at }}
		if _, err := past.Adjust(ctx, manager, wallet.AdjustInput{OwnerID: car.Owner.ID, StoreID: storeID, Points: points,
			Reason: "历史积分", IdempotencyKey: wlKey("past")}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	earnAt(now.AddDate(0, -25, 0), 500)
	earnAt(now.AddDate(0, -24, 10), 200)
	f.wlOK(t, f.staff(t, "manager.sz01"), "adjustWallet", map[string]any{"ownerId": ownerID, "storeId": f.sz, "points": 300,
		"reason": "活动赠送", "idempotencyKey": wlKey("adjust")})
	wlWantMembership(t, f.wlMe(t, car.OwnerToken, 20, ""), 0, 1_000, "BASIC")

	// The daily job, twice.
	for range 2 {
		if _, err := f.App.Wallet.ExpirePoints(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	m := f.wlMe(t, car.OwnerToken, 20, "")
	wlWantMembership(t, m, 0, 500, "BASIC")
	if wkNum(m["pointsExpiringSoon"]) != 200 {
		t.Fatalf("points expiring soon: %v", m)
	}
	if at := e2eTime(t, m["nextPointsExpiry"]); at.Before(time.Now().AddDate(0, 0, 9)) || at.After(time.Now().AddDate(0, 0, 11)) {
		t.Fatalf("next points expiry %v, want in about 10 days", at)
	}
	if all := wlKinds(wlNodes(m)); len(all) != 4 || all[0] != "POINTS_EXPIRE" {
		t.Fatalf("transactions after expiry %v", all)
	}
	exp := wlNodes(f.wlMe(t, car.OwnerToken, 20, "", "POINTS_EXPIRE"))
	if len(exp) != 1 || wkStr(exp[0]["memo"]) == "" {
		t.Fatalf("POINTS_EXPIRE entries: %v", exp)
	}
	wlWantEntry(t, exp[0], "POINTS_EXPIRE", 0, -500, 0, 500)
	wlInvariant(t, f.testServer, car.Owner.ID)

	// 200 points spent on a ¥100 bill take the lot closest to expiry: none
	// expire soon any more. The ¥98 in cash earn 98.
	id, payable := f.wlReady(t, car.Plate, wkItem("LABOR", "LAB-WASH", "精洗", 1, 10_000, false))
	f.ok(t, f.staff(t, "cashier.sz01"), "settleRepairOrder", wkSettle(id, wlPoints(200), wkPay("CASH", payable-200, "")))
	m = f.wlMe(t, car.OwnerToken, 20, "")
	wlWantMembership(t, m, 0, 500-200+98, "BASIC")
	if wkNum(m["pointsExpiringSoon"]) != 0 || m["nextPointsExpiry"] != nil {
		t.Fatalf("after spending the oldest points: %v", m)
	}
	wlInvariant(t, f.testServer, car.Owner.ID)
}

// Tiers follow money spent (not points, not top-ups) over the trailing 12
// months: SILVER from ¥3,000, PLATINUM from ¥30,000 with no tier above;
// spend older than 12 months drops out when the daily job recomputes.
func TestWalletTiers(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	cashier := f.staff(t, "cashier.sz01")

	// ¥3,000 by card: SILVER, ¥7,000 short of GOLD.
	c := f.quickCar(t, "SZ01")
	f.wlOK(t, cashier, "topUpWallet", wlTopUp(e2eGlobalID("Owner", c.Owner.ID), f.sz, 400_000, "CARD", wlKey("topup")))
	if m := f.wlMe(t, c.OwnerToken, 1, ""); m["tier"] != "BASIC" || wkFen(m, "spentLast12Months") != 0 {
		t.Fatalf("top-ups are not spend: %v", m)
	}
	id, payable := f.wlReady(t, c.Plate, wkItem("PART", "ENG-01", "发动机维修", 1, 300_000, false))
	f.ok(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CARD", payable, "POS-3000")))
	m := f.wlMe(t, c.OwnerToken, 1, "")
	wlWantMembership(t, m, 410_000, 3_000, "SILVER")
	if wkFen(m, "spentLast12Months") != 300_000 || m["nextTier"] != "GOLD" || wkFen(m, "spendToNextTier") != 700_000 {
		t.Fatalf("SILVER: %v", m)
	}
	// ¥27,000 more, part from the wallet: PLATINUM, the top.
	id, payable = f.wlReady(t, f.wlNewCar(t, c.Owner), wkItem("PART", "BODY-01", "车身大修", 1, 2_700_000, false))
	f.ok(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("WALLET", 410_000, ""), wkPay("CARD", payable-410_000, "POS-27000")))
	m = f.wlMe(t, c.OwnerToken, 1, "")
	wlWantMembership(t, m, 0, 30_000, "PLATINUM")
	if wkFen(m, "spentLast12Months") != 3_000_000 || m["nextTier"] != nil || m["spendToNextTier"] != nil {
		t.Fatalf("PLATINUM: %v", m)
	}

	// ¥10,000 spent 13 months ago (the settlement's clock moved back, the
	// transaction's time for the workshop and the wallet alike): GOLD then,
	// but it no longer counts; the daily job sets BASIC.
	d := f.quickCar(t, "SZ01")
	id, payable = f.wlReady(t, d.Plate, wkItem("PART", "TRANS-01", "变速箱维修", 1, 1_000_000, false))
	then := func() time.Time { return time.Now().AddDate(0, -13, 0) }
	past := &workshop.Service{DB: f.DB, Clock: then, Wallet: &wallet.Service{DB: f.DB, Config: f.Cfg.Wallet, Clock: then}}
	if _, err := past.Settle(ctx, f.wlPrincipal(t, "cashier.sz01"), workshop.SettleInput{OrderID: wlUUID(t, id, "RepairOrder"),
		Payments: []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: int64(payable), Reference: "POS-OLD"}}}); err != nil {
		t.Fatal(err)
	}
	m = f.wlMe(t, d.OwnerToken, 1, "")
	if m["tier"] != "GOLD" || wkFen(m, "spentLast12Months") != 0 {
		t.Fatalf("before the daily job: %v", m)
	}
	if _, err := f.App.Wallet.RecomputeTiers(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	m = f.wlMe(t, d.OwnerToken, 1, "")
	wlWantMembership(t, m, 0, 10_000, "BASIC")
	if m["nextTier"] != "SILVER" || wkFen(m, "spendToNextTier") != 300_000 {
		t.Fatalf("after the daily job: %v", m)
	}
	// The recent spender keeps PLATINUM.
	if m := f.wlMe(t, c.OwnerToken, 1, ""); m["tier"] != "PLATINUM" {
		t.Fatalf("recent spender after the daily job: %v", m)
	}
	wlInvariant(t, f.testServer, c.Owner.ID)
	wlInvariant(t, f.testServer, d.Owner.ID)
}

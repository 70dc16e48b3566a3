package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
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

// wlAccount is a new owner's account at SZ01's counter, as the cashier
// finds it by phone.
type wlAccount struct {
	car              wkCar
	ownerID          string // global id
	cashier, manager string // tokens
}

func (f *wkFixture) wlNewAccount(t *testing.T) wlAccount {
	t.Helper()
	a := wlAccount{car: f.quickCar(t, "SZ01"), cashier: f.staff(t, "cashier.sz01"), manager: f.staff(t, "manager.sz01")}
	a.ownerID = f.wlFindOwner(t, a.cashier, a.car.Owner.Phone)
	if a.ownerID != e2eGlobalID("Owner", a.car.Owner.ID) {
		t.Fatalf("owners(search) found %s", a.ownerID)
	}
	return a
}

// wlFillToCap tops the account up to the ¥5,000 cap: ¥500 in cash, ¥1,000
// by card and ¥3,300 by WeChat Pay, the last two with their ¥100 bonus.
func (f *wkFixture) wlFillToCap(t *testing.T, a wlAccount) {
	t.Helper()
	f.wlOK(t, a.cashier, "topUpWallet", wlTopUp(a.ownerID, f.sz, 50_000, "CASH", wlKey("topup")))
	f.wlOK(t, a.cashier, "topUpWallet", wlTopUp(a.ownerID, f.sz, 100_000, "CARD", wlKey("topup")))
	p := f.wlOK(t, a.cashier, "topUpWallet", wlTopUp(a.ownerID, f.sz, 330_000, "WECHAT_PAY", wlKey("topup")))
	wlWantMembership(t, p["membership"].(map[string]any), 500_000, 0, "BASIC")
}

// wlRefund is a refundWallet input at SZ01, in cash.
func (f *wkFixture) wlRefund(a wlAccount, fen int, reason string) map[string]any {
	return map[string]any{"ownerId": a.ownerID, "storeId": f.sz, "amountFen": fen, "method": "CASH",
		"reason": reason, "idempotencyKey": wlKey("refund")}
}

// wlAdjust is an adjustWallet input at SZ01.
func (f *wkFixture) wlAdjust(a wlAccount, fen, points int, reason string) map[string]any {
	return map[string]any{"ownerId": a.ownerID, "storeId": f.sz, "amountFen": fen, "points": points,
		"reason": reason, "idempotencyKey": wlKey("adjust")}
}

// wlRefundPart: the manager refunds ¥200 of the full account.
func (f *wkFixture) wlRefundPart(t *testing.T, a wlAccount) map[string]any {
	t.Helper()
	return f.wlOK(t, a.manager, "refundWallet", f.wlRefund(a, 20_000, "车主退回部分储值"))
}

// wlCorrect: the manager takes ¥50 back and adds 300 points.
func (f *wkFixture) wlCorrect(t *testing.T, a wlAccount) map[string]any {
	t.Helper()
	return f.wlOK(t, a.manager, "adjustWallet", f.wlAdjust(a, -5_000, 300, "补录开业活动积分，冲正多充"))
}

// The counter: a cashier finds an owner by phone and tops their card up
// (TOP_UP, and TOP_UP_BONUS from ¥1,000), up to the ¥5,000 cap and not a fen
// past it; only cashiers and managers of the store taking the money. Each
// refusal has its code, and a refused request writes nothing.
func TestWalletTopUp(t *testing.T) {
	t.Parallel()
	f := newWorkshop(t)
	a := f.wlNewAccount(t)
	cashier, car, ownerID := a.cashier, a.car, a.ownerID

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
	f.wlDenied(t, f.staff(t, "advisor.sz01"), "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("role")), "FORBIDDEN")
	f.wlDenied(t, cashier, "topUpWallet", wlTopUp(ownerID, f.gz, 100, "CASH", wlKey("store")), "FORBIDDEN")
	f.wlDenied(t, car.OwnerToken, "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("owner")), "FORBIDDEN")
	f.wlDenied(t, "", "topUpWallet", wlTopUp(ownerID, f.sz, 100, "CASH", wlKey("anon")), "UNAUTHENTICATED")
	f.wlDenied(t, cashier, "topUpWallet", wlTopUp(e2eGlobalID("Owner", models.NewID()), f.sz, 100, "CASH", wlKey("nobody")), "NOT_FOUND")
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("a denied top-up wrote: %+v -> %+v", before, after)
	}
}

// Refunds are the manager's, with a reason, never more than the balance; a
// refused refund writes nothing.
func TestWalletRefund(t *testing.T) {
	t.Parallel()
	f := newWorkshop(t)
	a := f.wlNewAccount(t)
	f.wlFillToCap(t, a)
	before := wlInvariant(t, f.testServer, a.car.Owner.ID)
	f.wlRefused(t, a.manager, "refundWallet", f.wlRefund(a, 20_000, "  "), "INVALID_ARGUMENT", "reason")
	f.wlRefused(t, a.manager, "refundWallet", f.wlRefund(a, 500_001, "退卡"), "INSUFFICIENT_BALANCE", "amountFen")
	f.wlDenied(t, a.cashier, "refundWallet", f.wlRefund(a, 20_000, "退卡"), "FORBIDDEN")
	f.wlDenied(t, f.staff(t, "manager.gz01"), "refundWallet", f.wlRefund(a, 100, "退卡"), "FORBIDDEN")
	if after := wlInvariant(t, f.testServer, a.car.Owner.ID); after != before {
		t.Fatalf("a refused refund wrote: %+v -> %+v", before, after)
	}
	es := wlEntries(f.wlRefundPart(t, a))
	if len(es) != 1 || es[0]["memo"] != "车主退回部分储值" || es[0]["method"] != "CASH" {
		t.Fatalf("refund: %v", es)
	}
	wlWantEntry(t, es[0], "REFUND", -20_000, 0, 480_000, 0)
}

// Corrections are the manager's, with a reason: balance and points, either
// way; never below zero.
func TestWalletAdjust(t *testing.T) {
	t.Parallel()
	f := newWorkshop(t)
	a := f.wlNewAccount(t)
	f.wlFillToCap(t, a)
	f.wlRefundPart(t, a) // ¥4,800 left
	manager := a.manager
	f.wlRefused(t, manager, "adjustWallet", f.wlAdjust(a, -5_000, 300, ""), "INVALID_ARGUMENT", "reason")
	f.wlRefused(t, manager, "adjustWallet", f.wlAdjust(a, 0, 0, "无变化"), "INVALID_ARGUMENT", "amountFen")
	f.wlRefused(t, manager, "adjustWallet", f.wlAdjust(a, 0, -1, "扣积分"), "INSUFFICIENT_POINTS", "points")
	f.wlRefused(t, manager, "adjustWallet", f.wlAdjust(a, -480_001, 0, "扣款"), "INSUFFICIENT_BALANCE", "amountFen")
	f.wlDenied(t, a.cashier, "adjustWallet", f.wlAdjust(a, 100, 0, "补录"), "FORBIDDEN")
	es := wlEntries(f.wlCorrect(t, a))
	if len(es) != 1 || es[0]["memo"] != "补录开业活动积分，冲正多充" {
		t.Fatalf("adjust: %v", es)
	}
	wlWantEntry(t, es[0], "ADJUST", -5_000, 300, 475_000, 300)
	wlInvariant(t, f.testServer, a.car.Owner.ID)
}

// The owner sees the counter's entries in me.membership: newest first, each
// entry's balance following from the one before, filtered by kind and
// paged; the store's staff read the same account.
func TestWalletOwnerView(t *testing.T) {
	t.Parallel()
	f := newWorkshop(t)
	a := f.wlNewAccount(t)
	f.wlFillToCap(t, a)
	f.wlRefundPart(t, a)
	f.wlCorrect(t, a)
	car := a.car

	m := f.wlMe(t, car.OwnerToken, 100, "")
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
	d := f.gql(t, a.cashier, wlNodeDoc, map[string]any{"id": a.ownerID})
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

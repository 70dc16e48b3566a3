package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/packages"
)

// Service packages through the API: staff define products, the cashier
// sells them (from the wallet or for money taken at the counter), a
// settlement consumes one use in its transaction, the cashier refunds the
// unused share. See docs/packages.md.

const pkFields = `id status orderKind usesTotal usesLeft price { amountFen } perVisitCap { amountFen } validUntil
	paymentMethod soldAt refund { amountFen } refundedAt servicePackage { id name uses store { code } }`

// pkFeePercent is the refund fee the tests' servers are configured with.
const pkFeePercent = 10

func newPackagesFixture(t *testing.T) *wkFixture {
	return newWorkshop(t, func(c *Config, _ *Deps) { c.Packages = packages.Config{RefundFeePercent: pkFeePercent} })
}

// pkProduct creates a product at SZ01 as its CRM and returns its id.
func (f *wkFixture) pkProduct(t testing.TB, in map[string]any) string {
	t.Helper()
	base := map[string]any{"storeId": f.sz, "name": "保养四次卡", "orderKind": "MAINTENANCE", "uses": 4,
		"priceFen": 160_000, "validDays": 365}
	for k, v := range in {
		base[k] = v
	}
	p := f.cpMutate(t, f.staff(t, "crm.sz01"), "createServicePackage", base, "servicePackage { id }")
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("createServicePackage(%v) refused: %v", base, p)
	}
	return wkStr(dig(p, "servicePackage", "id"))
}

// pkSellInput is a sale of product to the car's owner.
func pkSellInput(product string, car wkCar, method, ref string) map[string]any {
	in := map[string]any{"servicePackageId": product, "ownerId": e2eGlobalID("Owner", car.Owner.ID), "method": method,
		"idempotencyKey": wlKey("pk-sell")}
	if ref != "" {
		in["reference"] = ref
	}
	return in
}

// pkSell sells product to the car's owner as SZ01's cashier and returns
// the package's id.
func (f *wkFixture) pkSell(t testing.TB, product string, car wkCar, method string) string {
	t.Helper()
	ref := ""
	if method == "CARD" {
		ref = fmt.Sprintf("POS-%d", e2eNext())
	}
	p := f.cpMutate(t, f.staff(t, "cashier.sz01"), "sellServicePackage", pkSellInput(product, car, method, ref), "package { id status }")
	if codes := userErrorCodes(p); len(codes) != 0 || dig(p, "package", "status") != "ACTIVE" {
		t.Fatalf("sellServicePackage refused: %v", p)
	}
	return wkStr(dig(p, "package", "id"))
}

// pkMine lists the owner's packages (status "" for all) as token's holder.
func (f *wkFixture) pkMine(t testing.TB, token, status string) []map[string]any {
	t.Helper()
	args := "first: 100"
	if status != "" {
		args += ", status: " + status
	}
	d := f.gql(t, token, `{ me { servicePackages(`+args+`) { totalCount edges { node { `+pkFields+` } } } } }`, nil)
	var out []map[string]any
	edges, _ := dig(d, "me", "servicePackages", "edges").([]any)
	for _, e := range edges {
		out = append(out, dig(e, "node").(map[string]any))
	}
	if n := wkNum(dig(d, "me", "servicePackages", "totalCount")); n != len(out) {
		t.Fatalf("totalCount %d, %d packages listed", n, len(out))
	}
	return out
}

// pkRefund refunds a package as token's holder and returns the payload.
func (f *wkFixture) pkRefund(t testing.TB, token, pkg, key string) map[string]any {
	t.Helper()
	return f.cpMutate(t, token, "refundServicePackage", map[string]any{"packageId": pkg, "idempotencyKey": key}, "package { "+pkFields+" }")
}

func pkWith(in map[string]any, pkg string) map[string]any {
	in["packageId"] = pkg
	return in
}

// pkMaintenance opens a maintenance order of ¥550 (oil ¥400, labour
// ¥150) plus a warranty part for a new car of the owner and drives it to
// READY_FOR_PICKUP.
func (f *wkFixture) pkMaintenance(t testing.TB, car wkCar) string {
	t.Helper()
	id, payable := f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE",
		wkItem("PART", "OIL", "机油", 1, 40_000, false), wkItem("LABOR", "LAB-MNT", "保养工时", 1, 15_000, false),
		wkItem("PART", "WAR", "质保件", 1, 5_000, true))
	if payable != 55_000 {
		t.Fatalf("payable %d", payable)
	}
	return id
}

// Products: bad input is a typed refusal that stores nothing; only CRM
// and MANAGER of the store create and retire; any staff of the store
// lists them; a retired product is no longer sold.
func TestServicePackageProducts(t *testing.T) {
	f := newPackagesFixture(t)
	crm := f.staff(t, "crm.sz01")
	count := func() int {
		var n int64
		must(t, f.DB.Conn(t.Context()).Table("service_packages").Count(&n).Error)
		return int(n)
	}
	list := func(token string, retired bool) map[string]any {
		return f.gql(t, token, `query($s: ID!, $r: Boolean) { servicePackages(storeId: $s, includeRetired: $r, first: 10) { totalCount edges { node { id } } } }`,
			map[string]any{"s": f.sz, "r": retired})
	}
	// The demo's product of SZ01 is there already.
	onSale := wkNum(dig(list(crm, false), "servicePackages", "totalCount"))
	// Other tests on the shared database may have retired some already.
	withRetired := wkNum(dig(list(crm, true), "servicePackages", "totalCount"))
	before := count()
	for _, b := range []struct {
		field string
		v     any
	}{{"name", ""}, {"uses", 0}, {"uses", 101}, {"priceFen", 0}, {"validDays", 0}, {"validDays", 1096}, {"perVisitCapFen", -1}} {
		in := map[string]any{"storeId": f.sz, "name": "保养四次卡", "orderKind": "MAINTENANCE", "uses": 4, "priceFen": 160_000, "validDays": 365}
		in[b.field] = b.v
		p := f.cpMutate(t, crm, "createServicePackage", in, "servicePackage { id }")
		e2eWantUserError(t, p, "INVALID_ARGUMENT", "input", b.field)
	}
	if n := count(); n != before {
		t.Fatalf("refused products stored %d rows", n-before)
	}
	in := map[string]any{"storeId": f.sz, "name": "保养四次卡", "orderKind": "MAINTENANCE", "uses": 4, "priceFen": 160_000, "validDays": 365}
	for _, who := range []string{"advisor.sz01", "cashier.sz01", "manager.gz01"} {
		r := f.do(t, req{Query: `mutation($in: CreateServicePackageInput!) { createServicePackage(input: $in) { servicePackage { id } } }`,
			Vars: map[string]any{"in": in}, Token: f.staff(t, who)})
		e2eWantGQLError(t, r, "FORBIDDEN")
	}
	p := f.cpMutate(t, f.staff(t, "manager.sz01"), "createServicePackage", pkCap(in, 50_000),
		"servicePackage { id name orderKind uses price { amountFen } validDays perVisitCap { amountFen } retiredAt store { code } }")
	sp, _ := p["servicePackage"].(map[string]any)
	if sp == nil || sp["orderKind"] != "MAINTENANCE" || wkFen(sp, "price") != 160_000 || wkFen(sp, "perVisitCap") != 50_000 ||
		sp["retiredAt"] != nil || dig(sp, "store", "code") != "SZ01" {
		t.Fatalf("created product: %v", p)
	}
	id := wkStr(sp["id"])
	other := f.pkProduct(t, map[string]any{"name": "精洗三次卡", "orderKind": "DETAILING", "uses": 3, "priceFen": 30_000})
	// Any staff of the store lists them; another store's staff are refused.
	if d := list(f.staff(t, "technician1.sz01"), false); wkNum(dig(d, "servicePackages", "totalCount")) != onSale+2 {
		t.Fatalf("SZ01's products: %v", d)
	}
	r := f.do(t, req{Query: `query($s: ID!) { servicePackages(storeId: $s) { totalCount } }`, Vars: map[string]any{"s": f.sz},
		Token: f.staff(t, "manager.gz01")})
	e2eWantGQLError(t, r, "FORBIDDEN")

	// Retired: not listed unless asked, not sold, packages sold stay.
	car := f.quickCar(t, "SZ01")
	sold := f.pkSell(t, id, car, "CASH")
	p = f.cpMutate(t, crm, "retireServicePackage", map[string]any{"servicePackageId": id}, "servicePackage { retiredAt }")
	if dig(p, "servicePackage", "retiredAt") == nil {
		t.Fatalf("retire: %v", p)
	}
	p = f.cpMutate(t, crm, "retireServicePackage", map[string]any{"servicePackageId": id}, "servicePackage { retiredAt }")
	e2eWantUserError(t, p, "CONFLICT", "input", "servicePackageId")
	if d := list(crm, false); wkNum(dig(d, "servicePackages", "totalCount")) != onSale+1 || dig(d, "servicePackages", "edges", 0, "node", "id") != other {
		t.Fatalf("products on sale: %v", d)
	}
	if d := list(crm, true); wkNum(dig(d, "servicePackages", "totalCount")) != withRetired+2 {
		t.Fatalf("products with the retired: %v", d)
	}
	p = f.cpMutate(t, f.staff(t, "cashier.sz01"), "sellServicePackage", pkSellInput(id, car, "CASH", ""), "package { id }")
	e2eWantUserError(t, p, string(packages.CodeRetired), "input", "servicePackageId")
	if mine := f.pkMine(t, car.OwnerToken, "ACTIVE"); len(mine) != 1 || mine[0]["id"] != sold {
		t.Fatalf("the package sold before the retirement: %v", mine)
	}
}

func pkCap(in map[string]any, fen int) map[string]any {
	out := map[string]any{"perVisitCapFen": fen}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// A sale from the wallet: the price leaves the stored value in a SPEND
// entry in the sale's transaction, once per idempotency key; the owner and
// the staff who see the customer see the package, others do not.
func TestServicePackageSale(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	product := f.pkProduct(t, nil)
	owner := e2eGlobalID("Owner", car.Owner.ID)

	// Not enough stored value: refused, nothing written.
	f.wlOK(t, cashier, "topUpWallet", wlTopUp(owner, f.sz, 100_000, "CASH", wlKey("pk-topup")))
	p := f.cpMutate(t, cashier, "sellServicePackage", pkSellInput(product, car, "WALLET", ""), "package { id }")
	e2eWantUserError(t, p, "INSUFFICIENT_BALANCE", "input", "method")
	// Bad input.
	p = f.cpMutate(t, cashier, "sellServicePackage", pkSellInput(product, car, "CARD", ""), "package { id }")
	e2eWantUserError(t, p, "INVALID_ARGUMENT", "input", "reference")
	in := pkSellInput(product, car, "CASH", "")
	delete(in, "idempotencyKey")
	r := f.do(t, req{Query: `mutation($in: SellServicePackageInput!) { sellServicePackage(input: $in) { package { id } } }`,
		Vars: map[string]any{"in": in}, Token: cashier})
	if r.Errors == nil {
		t.Fatalf("a sale without its key: %s", r.Raw)
	}
	if mine := f.pkMine(t, car.OwnerToken, ""); len(mine) != 0 {
		t.Fatalf("refused sales left packages: %v", mine)
	}
	// Who may sell: the advisor and CRM by role, GZ01's cashier by store.
	for _, who := range []string{"advisor.sz01", "crm.sz01", "cashier.gz01"} {
		r := f.do(t, req{Query: `mutation($in: SellServicePackageInput!) { sellServicePackage(input: $in) { package { id } } }`,
			Vars: map[string]any{"in": pkSellInput(product, car, "CASH", "")}, Token: f.staff(t, who)})
		if r.Errors == nil || dig(r.Data, "sellServicePackage") != nil {
			t.Fatalf("%s sold a package: %s", who, r.Raw)
		}
	}

	f.wlOK(t, cashier, "topUpWallet", wlTopUp(owner, f.sz, 100_000, "CASH", wlKey("pk-topup")))
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	in = pkSellInput(product, car, "WALLET", "")
	first := f.cpMutate(t, cashier, "sellServicePackage", in, "package { "+pkFields+" }")
	again := f.cpMutate(t, cashier, "sellServicePackage", in, "package { id }")
	pkg, _ := first["package"].(map[string]any)
	if pkg == nil || pkg["status"] != "ACTIVE" || wkNum(pkg["usesLeft"]) != 4 || pkg["paymentMethod"] != "WALLET" ||
		wkFen(pkg, "price") != 160_000 || pkg["refund"] != nil || dig(again, "package", "id") != pkg["id"] {
		t.Fatalf("sale %v, retried %v", first, again)
	}
	after := wlInvariant(t, f.testServer, car.Owner.ID)
	if after.Balance != before.Balance-160_000 || after.Spends != before.Spends+1 || after.Points != before.Points {
		t.Fatalf("wallet after the sale: %+v -> %+v", before, after)
	}
	// The owner, and SZ01's cashier through the customer, see it; a
	// stranger and GZ01's staff do not.
	if mine := f.pkMine(t, car.OwnerToken, "ACTIVE"); len(mine) != 1 || mine[0]["id"] != pkg["id"] {
		t.Fatalf("owner's packages: %v", mine)
	}
	view := `query($id: ID!) { node(id: $id) { ... on Owner { servicePackages(first: 10) { totalCount edges { node { id usesLeft } } } } } }`
	d := f.gql(t, cashier, view, map[string]any{"id": owner})
	if wkNum(dig(d, "node", "servicePackages", "totalCount")) != 1 {
		t.Fatalf("cashier's view: %v", d)
	}
	d = f.gql(t, f.staff(t, "cashier.gz01"), view, map[string]any{"id": owner})
	if dig(d, "node") != nil {
		t.Fatalf("GZ01's view of SZ01's customer: %v", d)
	}
	stranger := f.quickCar(t, "SZ01")
	node := `query($id: ID!) { node(id: $id) { id } }`
	if d := f.gql(t, stranger.OwnerToken, node, map[string]any{"id": pkg["id"]}); dig(d, "node") != nil {
		t.Fatalf("a stranger reads the package: %v", d)
	}
	if d := f.gql(t, car.OwnerToken, node, map[string]any{"id": pkg["id"]}); dig(d, "node", "id") != pkg["id"] {
		t.Fatalf("the owner reads the package by node: %v", d)
	}
}

// Settling with a package: one use covers the billed lines up to the
// per-visit cap, recorded as a PACKAGE payment; every refusal leaves the
// package and the order as they were.
func TestServicePackageSettlement(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	other := f.quickCar(t, "SZ01")
	product := f.pkProduct(t, map[string]any{"uses": 2, "perVisitCapFen": 50_000})
	pkg := f.pkSell(t, product, car, "CARD")
	theirs := f.pkSell(t, product, other, "CASH")

	// A REPAIR order: not the package's kind.
	repair, _ := f.cpReady(t, car.Plate, "REPAIR", wkItem("LABOR", "LAB-X", "检修", 1, 30_000, false))
	p := f.refused(t, cashier, "settleRepairOrder", pkWith(wkSettle(repair, wkPay("CASH", 30_000, "")), pkg), string(packages.CodeNotApplicable))
	e2eWantUserError(t, p, string(packages.CodeNotApplicable), "input", "packageId")
	f.ok(t, cashier, "settleRepairOrder", wkSettle(repair, wkPay("CASH", 30_000, "")))

	// ¥550 billed (and ¥50 under warranty): the package covers its ¥500
	// cap, the payments add up to ¥50.
	id := f.pkMaintenance(t, car)
	f.denied(t, cashier, "settleRepairOrder", pkWith(wkSettle(id, wkPay("CASH", 5_000, "")), theirs), "NOT_FOUND")
	f.refused(t, cashier, "settleRepairOrder", pkWith(wkSettle(id, wkPay("CASH", 55_000, "")), pkg), "PAYMENTS_DO_NOT_ADD_UP")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("PACKAGE", 55_000, "x")), "INVALID_ARGUMENT")
	if mine := f.pkMine(t, car.OwnerToken, "ACTIVE"); len(mine) != 1 || wkNum(mine[0]["usesLeft"]) != 2 {
		t.Fatalf("refused settlements used the package: %v", mine)
	}
	o := f.ok(t, cashier, "settleRepairOrder", pkWith(wkSettle(id, wkPay("CASH", 5_000, "")), pkg))
	var line map[string]any
	for _, pay := range o["payments"].([]any) {
		if dig(pay, "method") == "PACKAGE" {
			line = pay.(map[string]any)
		}
	}
	if wkFen(o, "totals", "paid") != 55_000 || line == nil || wkNum(dig(line, "amount", "amountFen")) != 50_000 {
		t.Fatalf("settled order: %v", o)
	}
	mine := f.pkMine(t, car.OwnerToken, "")
	if len(mine) != 1 || wkNum(mine[0]["usesLeft"]) != 1 || mine[0]["status"] != "ACTIVE" {
		t.Fatalf("package after one use: %v", mine)
	}
	// A small bill under the cap: covered in full, no other payment.
	small, _ := f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 20_000, false))
	o = f.ok(t, cashier, "settleRepairOrder", pkWith(wkSettle(small), pkg))
	if wkFen(o, "totals", "paid") != 20_000 || len(o["payments"].([]any)) != 1 {
		t.Fatalf("bill covered by the package: %v", o)
	}
	if used := f.pkMine(t, car.OwnerToken, "USED_UP"); len(used) != 1 || wkNum(used[0]["usesLeft"]) != 0 {
		t.Fatalf("used-up package: %v", used)
	}
	next := f.pkMaintenance(t, car)
	f.refused(t, cashier, "settleRepairOrder", pkWith(wkSettle(next, wkPay("CASH", 5_000, "")), pkg), string(packages.CodeUsedUp))
	p = f.pkRefund(t, cashier, pkg, wlKey("pk-refund"))
	e2eWantUserError(t, p, string(packages.CodeUsedUp), "input", "packageId")

	// Past its end: EXPIRED to every reader, refused at settlement and at
	// the counter.
	ended := time.Now().UTC().Add(-time.Hour)
	must(t, f.DB.Conn(t.Context()).Exec(`UPDATE owner_packages SET sold_at = ?, valid_until = ? WHERE id = ?`,
		ended.Add(-24*time.Hour), ended, wlUUID(t, theirs, "OwnerPackage")).Error)
	if exp := f.pkMine(t, other.OwnerToken, "EXPIRED"); len(exp) != 1 || exp[0]["status"] != "EXPIRED" {
		t.Fatalf("expired package: %v", exp)
	}
	theirOrder := f.pkMaintenance(t, other)
	f.refused(t, cashier, "settleRepairOrder", pkWith(wkSettle(theirOrder, wkPay("CASH", 5_000, "")), theirs), string(packages.CodeExpired))
	p = f.pkRefund(t, cashier, theirs, wlKey("pk-refund"))
	e2eWantUserError(t, p, string(packages.CodeExpired), "input", "packageId")
}

// Refunds: the unused uses' share of the price less the configured fee,
// back to the wallet for a WALLET sale (a REFUND entry), recorded as the
// amount to hand back otherwise; a refunded package is final.
func TestServicePackageRefund(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	owner := e2eGlobalID("Owner", car.Owner.ID)
	product := f.pkProduct(t, nil)
	f.wlOK(t, cashier, "topUpWallet", wlTopUp(owner, f.sz, 200_000, "CASH", wlKey("pk-topup")))
	pkg := f.pkSell(t, product, car, "WALLET")
	f.ok(t, cashier, "settleRepairOrder", pkWith(wkSettle(f.pkMaintenance(t, car)), pkg))

	// Who may refund: not the advisor, not GZ01's cashier.
	for _, who := range []string{"advisor.sz01", "cashier.gz01"} {
		r := f.do(t, req{Query: `mutation($in: RefundServicePackageInput!) { refundServicePackage(input: $in) { package { id } } }`,
			Vars: map[string]any{"in": map[string]any{"packageId": pkg, "idempotencyKey": wlKey("pk")}}, Token: f.staff(t, who)})
		if r.Errors == nil {
			t.Fatalf("%s refunded: %s", who, r.Raw)
		}
	}
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	key := wlKey("pk-refund")
	p := f.pkRefund(t, cashier, pkg, key)
	again := f.pkRefund(t, cashier, pkg, key)
	// Three of four uses left of ¥1,600: ¥1,200, less 10%: ¥1,080.
	want := packages.RefundFen(160_000, 4, 3, pkFeePercent)
	if want != 108_000 || dig(p, "package", "status") != "REFUNDED" || wkNum(dig(p, "package", "refund", "amountFen")) != int(want) ||
		dig(p, "package", "refundedAt") == nil || len(userErrorCodes(again)) != 0 || dig(again, "package", "id") != pkg {
		t.Fatalf("refund %v, retried %v", p, again)
	}
	after := wlInvariant(t, f.testServer, car.Owner.ID)
	if after.Balance != before.Balance+want || after.Entries != before.Entries+1 {
		t.Fatalf("wallet after the refund: %+v -> %+v", before, after)
	}
	p = f.pkRefund(t, cashier, pkg, wlKey("pk-refund"))
	e2eWantUserError(t, p, string(packages.CodeRefunded), "input", "packageId")
	f.refused(t, cashier, "settleRepairOrder", pkWith(wkSettle(f.pkMaintenance(t, car), wkPay("CASH", 5_000, "")), pkg), string(packages.CodeRefunded))
	if got := f.pkMine(t, car.OwnerToken, "REFUNDED"); len(got) != 1 {
		t.Fatalf("refunded packages: %v", got)
	}

	// Paid in cash: the wallet is not touched; the package records what the
	// counter hands back.
	cash := f.pkSell(t, product, car, "CASH")
	before = wlInvariant(t, f.testServer, car.Owner.ID)
	p = f.pkRefund(t, f.staff(t, "manager.sz01"), cash, wlKey("pk-refund"))
	if wkNum(dig(p, "package", "refund", "amountFen")) != int(packages.RefundFen(160_000, 4, 4, pkFeePercent)) || dig(p, "package", "paymentMethod") != "CASH" {
		t.Fatalf("cash refund: %v", p)
	}
	if after := wlInvariant(t, f.testServer, car.Owner.ID); after != before {
		t.Fatalf("a cash refund moved the wallet: %+v -> %+v", before, after)
	}
}

// pkSettleAll settles every order at once with the package, each paying
// the rest in cash (the covered part is at most the ¥500 cap of the
// products below), and counts the answers by userError code ("OK").
func (f *wkFixture) pkSettleAll(t *testing.T, token, pkg string, orders []string, extra func()) map[string]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for _, id := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.call(t, token, "settleRepairOrder", pkWith(wkSettle(id, wkPay("CASH", 5_000, "")), pkg)), "settleRepairOrder")
			code := "OK"
			if cs := userErrorCodes(p); len(cs) > 0 {
				code = cs[0]
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	if extra != nil {
		extra()
	}
	wg.Wait()
	return codes
}

// pkUses counts the uses recorded of a package and its PACKAGE payment
// lines.
func (f *wkFixture) pkUses(t *testing.T, pkg string) (uses, lines int64) {
	id := wlUUID(t, pkg, "OwnerPackage")
	conn := f.DB.Conn(t.Context())
	must(t, conn.Table("package_uses").Where("owner_package_id = ?", id).Count(&uses).Error)
	must(t, conn.Table("repair_order_payments").Where("method = 'PACKAGE' AND reference = ?", id.String()).Count(&lines).Error)
	return uses, lines
}

// 40 settlements at once, each of another order of the owner, all naming a
// package with one use left: exactly one takes it; the others are refused
// with PACKAGE_USED_UP and settle nothing.
func TestServicePackageConcurrentSettlements(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	pkg := f.pkSell(t, f.pkProduct(t, map[string]any{"uses": 2, "perVisitCapFen": 50_000}), car, "CASH")
	f.ok(t, cashier, "settleRepairOrder", pkWith(wkSettle(f.pkMaintenance(t, car), wkPay("CASH", 5_000, "")), pkg))
	const n = 40
	orders := make([]string, n)
	for i := range orders {
		orders[i] = f.pkMaintenance(t, car)
	}
	codes := f.pkSettleAll(t, cashier, pkg, orders, nil)
	if codes["OK"] != 1 || codes[string(packages.CodeUsedUp)] != n-1 {
		t.Fatalf("%d concurrent settlements with one use left: %v", n, codes)
	}
	var settled int64
	must(t, f.DB.Conn(t.Context()).Table("repair_orders").Where("owner_id = ? AND settled_at IS NOT NULL", car.Owner.ID).Count(&settled).Error)
	if uses, lines := f.pkUses(t, pkg); settled != 2 || uses != 2 || lines != 2 {
		t.Fatalf("settled %d orders, %d uses, %d PACKAGE lines", settled, uses, lines)
	}
	if used := f.pkMine(t, car.OwnerToken, "USED_UP"); len(used) != 1 {
		t.Fatalf("used-up packages: %v", used)
	}
}

// One order settled 30 times at once with a package of many uses: it is
// settled once and consumes one use.
func TestServicePackageSameOrderConcurrently(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	pkg := f.pkSell(t, f.pkProduct(t, map[string]any{"uses": 10, "perVisitCapFen": 50_000}), car, "CASH")
	id := f.pkMaintenance(t, car)
	orders := make([]string, 30)
	for i := range orders {
		orders[i] = id
	}
	codes := f.pkSettleAll(t, cashier, pkg, orders, nil)
	if codes["OK"] != 1 || codes["ALREADY_SETTLED"] != len(orders)-1 {
		t.Fatalf("one order settled %d times at once: %v", len(orders), codes)
	}
	if uses, lines := f.pkUses(t, pkg); uses != 1 || lines != 1 {
		t.Fatalf("%d uses, %d PACKAGE lines", uses, lines)
	}
	if mine := f.pkMine(t, car.OwnerToken, "ACTIVE"); len(mine) != 1 || wkNum(mine[0]["usesLeft"]) != 9 {
		t.Fatalf("package after the settlements: %v", mine)
	}
}

// Refunds racing settlements: whatever the order, the uses taken and the
// refund agree. Each settlement either took a use before the refund (and
// the refund counts it) or was refused after it (PACKAGE_REFUNDED); the
// wallet got back exactly the refund of the uses left at that moment.
func TestServicePackageRefundRacesSettlements(t *testing.T) {
	f := newPackagesFixture(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	owner := e2eGlobalID("Owner", car.Owner.ID)
	f.wlOK(t, cashier, "topUpWallet", wlTopUp(owner, f.sz, 200_000, "CASH", wlKey("pk-topup")))
	pkg := f.pkSell(t, f.pkProduct(t, map[string]any{"uses": 4, "perVisitCapFen": 50_000}), car, "WALLET")
	orders := make([]string, 12)
	for i := range orders {
		orders[i] = f.pkMaintenance(t, car)
	}
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	var refunds []map[string]any
	var mu sync.Mutex
	manager := f.staff(t, "manager.sz01")
	codes := f.pkSettleAll(t, cashier, pkg, orders, func() {
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := f.pkRefund(t, manager, pkg, wlKey("pk-race"))
				mu.Lock()
				refunds = append(refunds, p)
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	refunded := 0
	var refundFen int
	for _, p := range refunds {
		if len(userErrorCodes(p)) == 0 {
			refunded++
			refundFen = wkNum(dig(p, "package", "refund", "amountFen"))
		}
	}
	uses, lines := f.pkUses(t, pkg)
	mine := f.pkMine(t, car.OwnerToken, "")
	if len(mine) != 1 {
		t.Fatalf("packages: %v", mine)
	}
	left := wkNum(mine[0]["usesLeft"])
	after := wlInvariant(t, f.testServer, car.Owner.ID)
	switch {
	case int64(codes["OK"]) != uses || uses != lines || int(uses)+left != 4:
		t.Fatalf("settlements %v, %d uses, %d lines, %d left", codes, uses, lines, left)
	case refunded == 0:
		// Every use went before the refunds: they found it used up.
		if uses != 4 || mine[0]["status"] != "USED_UP" || after.Balance != before.Balance {
			t.Fatalf("no refund: %v %v", mine, codes)
		}
	case refunded != 1 || mine[0]["status"] != "REFUNDED" ||
		int64(refundFen) != packages.RefundFen(160_000, 4, left, pkFeePercent) || after.Balance != before.Balance+int64(refundFen):
		t.Fatalf("%d refunds of %d fen with %d uses left; wallet %+v -> %+v", refunded, refundFen, left, before, after)
	case codes["OK"]+codes[string(packages.CodeRefunded)]+codes[string(packages.CodeUsedUp)] != len(orders):
		t.Fatalf("settlement answers: %v", codes)
	}
}

// Owner.servicePackages through a list of owners: the same statements for
// 2 owners as for 6, with and without a status.
func TestOwnerPackagesOfAListInConstantStatements(t *testing.T) {
	f := newPackagesFixture(t)
	name := fmt.Sprintf("套餐%d", e2eNext())
	product := f.pkProduct(t, nil)
	for range 6 {
		car := wkCar{Owner: e2eInsertOwner(t, f.testServer, name, "SZ01")}
		for range 2 {
			f.pkSell(t, product, car, "CASH")
		}
	}
	tok := f.staff(t, "crm.sz01")
	count := func(n int, status string) int64 {
		args := "first: 5"
		if status != "" {
			args += ", status: " + status
		}
		doc := `query($s: String!, $n: Int!) { owners(search: $s, first: $n) { edges { node { id
			servicePackages(` + args + `) { totalCount edges { node { id status usesLeft servicePackage { name } } } } } } } }`
		// The fewest of three runs: on a loaded machine a list element's
		// key can miss its loader's batch (docs/performance.md).
		statements, d := minStatements(t, f.testServer, tok, doc, map[string]any{"s": name, "n": n})
		edges := dig(d, "owners", "edges").([]any)
		if len(edges) != n {
			t.Fatalf("%d owners, want %d", len(edges), n)
		}
		for _, e := range edges {
			if got := len(dig(e, "node", "servicePackages", "edges").([]any)); got != 2 || wkNum(dig(e, "node", "servicePackages", "totalCount")) != 2 {
				t.Fatalf("an owner's packages: %v", e)
			}
		}
		return statements
	}
	for _, st := range []string{"", "ACTIVE"} {
		if two, six := count(2, st), count(6, st); two != six {
			t.Errorf("packages (%q) of 2 owners: %d statements, of 6: %d", st, two, six)
		}
	}
}

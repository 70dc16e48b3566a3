package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/coupons"
)

// Coupons through the API: staff create templates and issue coupons, owners
// list theirs, the cashier takes one off a repair bill in the settlement's
// transaction. See docs/coupons.md.

const cpCouponFields = `id status source validFrom validUntil issuedAt usedAt discount { amountFen } revokedAt
	template { id name kind amount { amountFen } percent cap { amountFen } itemName itemCode minSpend { amountFen }
		orderKinds eventFees validDays perOwnerLimit store { code } }`

// cpMutate runs a coupon mutation and returns its payload.
func (f *wkFixture) cpMutate(t testing.TB, token, field string, in map[string]any, sel string) map[string]any {
	t.Helper()
	doc := fmt.Sprintf(`mutation($in: %sInput!) { %s(input: $in) { %s userErrors { code field message } } }`,
		strings.ToUpper(field[:1])+field[1:], field, sel)
	return e2ePayload(t, f.do(t, req{Query: doc, Vars: map[string]any{"in": in}, Token: token}), field)
}

// cpTemplate creates a template at SZ01 as its CRM and returns its id.
func (f *wkFixture) cpTemplate(t testing.TB, in map[string]any) string {
	t.Helper()
	base := map[string]any{"storeId": f.sz, "name": "保养立减", "kind": "FIXED_OFF", "amountFen": 5000,
		"orderKinds": []string{"MAINTENANCE", "REPAIR"}, "validDays": 30, "perOwnerLimit": 1}
	for k, v := range in {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	p := f.cpMutate(t, f.staff(t, "crm.sz01"), "createCouponTemplate", base, "couponTemplate { id }")
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("createCouponTemplate(%v) refused: %v", base, p)
	}
	return wkStr(dig(p, "couponTemplate", "id"))
}

// cpIssue issues a coupon of template to the car's owner as SZ01's CRM.
func (f *wkFixture) cpIssue(t testing.TB, template string, car wkCar) string {
	t.Helper()
	p := f.cpMutate(t, f.staff(t, "crm.sz01"), "issueCoupon", map[string]any{"couponTemplateId": template,
		"ownerId": e2eGlobalID("Owner", car.Owner.ID)}, "coupon { id status }")
	if codes := userErrorCodes(p); len(codes) != 0 || dig(p, "coupon", "status") != "AVAILABLE" {
		t.Fatalf("issueCoupon refused: %v", p)
	}
	return wkStr(dig(p, "coupon", "id"))
}

// cpMine lists the owner's coupons (status "" for all).
func (f *wkFixture) cpMine(t testing.TB, token, status string) []map[string]any {
	t.Helper()
	args := "first: 100"
	if status != "" {
		args += ", status: " + status
	}
	d := f.gql(t, token, `{ me { coupons(`+args+`) { edges { cursor node { `+cpCouponFields+` } } pageInfo { hasNextPage } } } }`, nil)
	var out []map[string]any
	edges, _ := dig(d, "me", "coupons", "edges").([]any)
	for _, e := range edges {
		out = append(out, dig(e, "node").(map[string]any))
	}
	return out
}

// cpReady opens an order of kind for the car at SZ01 and drives it to
// READY_FOR_PICKUP; it returns the order's id and payable.
func (f *wkFixture) cpReady(t testing.TB, plate, kind string, items ...map[string]any) (string, int) {
	t.Helper()
	advisor := f.staff(t, "advisor.sz01")
	o := f.open(t, advisor, f.sz, plate, 1500, kind, nil, items...)
	id := wkStr(o["id"])
	o = f.wkDrive(t, advisor, id, "IN_PROGRESS", "QUALITY_CHECK", "READY_FOR_PICKUP")
	return id, wkFen(o, "totals", "payable")
}

func cpWithCoupon(in map[string]any, coupon string) map[string]any {
	in["couponId"] = coupon
	return in
}

// Templates: each kind is created with its own fields; bad input is a
// typed refusal that stores nothing; only CRM and MANAGER of the store (the
// group's: GROUP_ADMIN) may create one.
func TestCouponTemplates(t *testing.T) {
	f := newWorkshop(t)
	crm := f.staff(t, "crm.sz01")
	count := func() int {
		var n int64
		must(t, f.DB.Conn(t.Context()).Table("coupon_templates").Count(&n).Error)
		return int(n)
	}
	before := count()
	until := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	bad := []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"name": ""}, "name"},
		{map[string]any{"amountFen": 0}, "amountFen"},
		{map[string]any{"kind": "PERCENT_OFF", "percent": 100, "capFen": 1000}, "percent"},
		{map[string]any{"kind": "PERCENT_OFF", "percent": 10}, "capFen"},
		{map[string]any{"kind": "FREE_ITEM", "capFen": 3000, "itemName": "洗车"}, "itemCode"},
		{map[string]any{"orderKinds": []string{}}, "orderKinds"},
		{map[string]any{"validDays": 0}, "validUntil"},
		{map[string]any{"validUntil": until}, "validDays"},
		{map[string]any{"validDays": nil, "validUntil": "2020-01-01T00:00:00Z"}, "validUntil"},
		{map[string]any{"perOwnerLimit": 0}, "perOwnerLimit"},
		{map[string]any{"minSpendFen": -1}, "minSpendFen"},
	}
	for _, b := range bad {
		in := map[string]any{"storeId": f.sz, "name": "保养立减", "kind": "FIXED_OFF", "amountFen": 5000,
			"orderKinds": []string{"MAINTENANCE"}, "validDays": 30, "perOwnerLimit": 1}
		for k, v := range b.in {
			if v == nil {
				delete(in, k)
			} else {
				in[k] = v
			}
		}
		p := f.cpMutate(t, crm, "createCouponTemplate", in, "couponTemplate { id }")
		e2eWantUserError(t, p, "INVALID_ARGUMENT", "input", b.field)
		if p["couponTemplate"] != nil {
			t.Fatalf("%v: refused but answered %v", b.in, p)
		}
	}
	if n := count(); n != before {
		t.Fatalf("refused templates stored %d rows", n-before)
	}
	// Who may create: the advisor is refused by role, GZ01's manager at
	// SZ01 by store, SZ01's manager a group template.
	in := map[string]any{"storeId": f.sz, "name": "x", "kind": "FIXED_OFF", "amountFen": 100, "orderKinds": []string{"REPAIR"},
		"validDays": 3, "perOwnerLimit": 1}
	for _, who := range []string{"advisor.sz01", "manager.gz01"} {
		r := f.do(t, req{Query: `mutation($in: CreateCouponTemplateInput!) { createCouponTemplate(input: $in) { couponTemplate { id } } }`,
			Vars: map[string]any{"in": in}, Token: f.staff(t, who)})
		e2eWantGQLError(t, r, "FORBIDDEN")
	}
	group := map[string]any{"name": "集团券", "kind": "FIXED_OFF", "amountFen": 100, "orderKinds": []string{"REPAIR"}, "validDays": 3, "perOwnerLimit": 1}
	r := f.do(t, req{Query: `mutation($in: CreateCouponTemplateInput!) { createCouponTemplate(input: $in) { couponTemplate { id } } }`,
		Vars: map[string]any{"in": group}, Token: f.staff(t, "manager.sz01")})
	e2eWantGQLError(t, r, "FORBIDDEN")
	if n := count(); n != before {
		t.Fatalf("forbidden templates stored %d rows", n-before)
	}
	p := f.cpMutate(t, f.staff(t, "admin"), "createCouponTemplate", group, "couponTemplate { id store { code } }")
	if len(userErrorCodes(p)) != 0 || dig(p, "couponTemplate", "id") == nil || dig(p, "couponTemplate", "store") != nil {
		t.Fatalf("group template: %v", p)
	}

	// Each kind shows its own fields.
	free := f.cpTemplate(t, map[string]any{"name": "免费洗车", "kind": "FREE_ITEM", "amountFen": nil, "capFen": 3000,
		"itemName": "洗车", "itemCode": "wash-01", "orderKinds": []string{"DETAILING", "MAINTENANCE"}, "perOwnerLimit": 2})
	d := f.gql(t, crm, `query($id: ID!) { node(id: $id) { ... on CouponTemplate { kind amount { amountFen } cap { amountFen }
		itemName itemCode orderKinds validDays perOwnerLimit store { code } } } }`, map[string]any{"id": free})
	tpl := dig(d, "node")
	if dig(tpl, "kind") != "FREE_ITEM" || dig(tpl, "amount") != nil || wkNum(dig(tpl, "cap", "amountFen")) != 3000 ||
		dig(tpl, "itemCode") != "WASH-01" || fmt.Sprint(dig(tpl, "orderKinds")) != "[DETAILING MAINTENANCE]" ||
		wkNum(dig(tpl, "validDays")) != 30 || dig(tpl, "store", "code") != "SZ01" {
		t.Fatalf("free item template: %v", tpl)
	}
	// Templates are listed for SZ01's staff with the group's; GZ01's
	// staff do not see SZ01's.
	list := func(token string) string {
		return fmt.Sprint(f.gql(t, token, `{ couponTemplates(first: 100) { edges { node { id } } } }`, nil))
	}
	if l := list(crm); !strings.Contains(l, free) {
		t.Fatalf("SZ01's CRM does not list its template: %s", l)
	}
	if l := list(f.staff(t, "manager.gz01")); strings.Contains(l, free) {
		t.Fatalf("GZ01 lists SZ01's template: %s", l)
	}
}

// Issuing: to customers the staff see, up to the per-owner limit, also
// under concurrent requests; the owner sees the coupon, other owners and
// other stores' staff do not.
func TestCouponIssue(t *testing.T) {
	f := newWorkshop(t)
	car, other := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	gzCar := f.quickCar(t, "GZ01")
	tpl := f.cpTemplate(t, map[string]any{"perOwnerLimit": 3})
	issue := func(token string, c wkCar) map[string]any {
		return f.cpMutate(t, token, "issueCoupon", map[string]any{"couponTemplateId": tpl, "ownerId": e2eGlobalID("Owner", c.Owner.ID)},
			"coupon { id }")
	}
	// GZ01's customer is not one SZ01's CRM sees; a technician may not issue.
	r := f.do(t, req{Query: `mutation($in: IssueCouponInput!) { issueCoupon(input: $in) { coupon { id } } }`,
		Vars: map[string]any{"in": map[string]any{"couponTemplateId": tpl, "ownerId": e2eGlobalID("Owner", gzCar.Owner.ID)}}, Token: f.staff(t, "crm.sz01")})
	e2eWantGQLError(t, r, "NOT_FOUND")
	r = f.do(t, req{Query: `mutation($in: IssueCouponInput!) { issueCoupon(input: $in) { coupon { id } } }`,
		Vars: map[string]any{"in": map[string]any{"couponTemplateId": tpl, "ownerId": e2eGlobalID("Owner", car.Owner.ID)}}, Token: f.staff(t, "technician1.sz01")})
	e2eWantGQLError(t, r, "FORBIDDEN")

	// 12 issues at once for one owner, limit 3: exactly 3.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := issue(f.staff(t, "crm.sz01"), car)
			code := "OK"
			if cs := userErrorCodes(p); len(cs) > 0 {
				code = cs[0]
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] != 3 || codes[string(coupons.CodeLimitReached)] != 9 {
		t.Fatalf("12 concurrent issues with a limit of 3: %v", codes)
	}
	mine := f.cpMine(t, car.OwnerToken, "AVAILABLE")
	if len(mine) != 3 || dig(mine[0], "template", "name") != "保养立减" || wkNum(dig(mine[0], "template", "amount", "amountFen")) != 5000 ||
		dig(mine[0], "source") != "STAFF" {
		t.Fatalf("owner's coupons: %v", mine)
	}
	if theirs := f.cpMine(t, other.OwnerToken, ""); len(theirs) != 0 {
		t.Fatalf("another owner sees coupons: %v", theirs)
	}
	// Another owner cannot open the coupon; GZ01's CRM does not see it.
	for _, tok := range []string{other.OwnerToken, f.staff(t, "crm.gz01")} {
		if d := f.gql(t, tok, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": mine[0]["id"]}); dig(d, "node") != nil {
			t.Fatalf("coupon visible to a stranger: %v", d)
		}
	}
	// SZ01's cashier sees the customer's coupons.
	d := f.gql(t, f.staff(t, "cashier.sz01"), `query($id: ID!) { node(id: $id) { ... on Owner { coupons(first: 10) { edges { node { id } } } } } }`,
		map[string]any{"id": e2eGlobalID("Owner", car.Owner.ID)})
	if edges, _ := dig(d, "node", "coupons", "edges").([]any); len(edges) != 3 {
		t.Fatalf("cashier's view of the owner's coupons: %v", d)
	}
	// Revoking frees a place under the limit; a revoked coupon is final.
	p := f.cpMutate(t, f.staff(t, "manager.sz01"), "revokeCoupon", map[string]any{"couponId": mine[0]["id"]}, "coupon { status revokedAt }")
	if dig(p, "coupon", "status") != "REVOKED" || dig(p, "coupon", "revokedAt") == nil {
		t.Fatalf("revoke: %v", p)
	}
	p = f.cpMutate(t, f.staff(t, "manager.sz01"), "revokeCoupon", map[string]any{"couponId": mine[0]["id"]}, "coupon { status }")
	e2eWantUserError(t, p, string(coupons.CodeNotAvailable), "input", "couponId")
	if p := issue(f.staff(t, "crm.sz01"), car); len(userErrorCodes(p)) != 0 {
		t.Fatalf("issue after a revoke: %v", p)
	}
	if got := f.cpMine(t, car.OwnerToken, "REVOKED"); len(got) != 1 {
		t.Fatalf("revoked coupons: %v", got)
	}
	// Pages are bounded and keyed.
	r = f.do(t, req{Query: `{ me { coupons(first: 101) { edges { cursor } } } }`, Token: car.OwnerToken})
	e2eWantGQLError(t, r, "INVALID_ARGUMENT")
	d = f.gql(t, car.OwnerToken, `{ me { coupons(first: 2) { edges { cursor } pageInfo { hasNextPage endCursor } } } }`, nil)
	if dig(d, "me", "coupons", "pageInfo", "hasNextPage") != true {
		t.Fatalf("first page of 2 of 4: %v", d)
	}
	d = f.gql(t, car.OwnerToken, `query($a: String) { me { coupons(first: 2, after: $a) { edges { cursor } pageInfo { hasNextPage } } } }`,
		map[string]any{"a": dig(d, "me", "coupons", "pageInfo", "endCursor")})
	if edges, _ := dig(d, "me", "coupons", "edges").([]any); len(edges) != 2 || dig(d, "me", "coupons", "pageInfo", "hasNextPage") != false {
		t.Fatalf("second page: %v", d)
	}
}

// Settling with a coupon: its discount is a COUPON payment, the other
// payments add up to the rest, points follow the money paid; every refusal
// leaves the coupon and the order as they were.
func TestCouponSettlement(t *testing.T) {
	f := newWorkshop(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	other := f.quickCar(t, "SZ01")
	percent := f.cpTemplate(t, map[string]any{"name": "九折", "kind": "PERCENT_OFF", "amountFen": nil, "percent": 10, "capFen": 3000,
		"minSpendFen": 20000, "orderKinds": []string{"MAINTENANCE"}})
	coupon := f.cpIssue(t, percent, car)
	theirs := f.cpIssue(t, percent, other)

	// A REPAIR order: not the coupon's kind.
	repair, _ := f.cpReady(t, car.Plate, "REPAIR", wkItem("LABOR", "LAB-X", "检修", 1, 30000, false))
	p := f.refused(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(repair, wkPay("CASH", 30000, "")), coupon), string(coupons.CodeNotApplicable))
	e2eWantUserError(t, p, string(coupons.CodeNotApplicable), "input", "couponId")
	f.ok(t, cashier, "settleRepairOrder", wkSettle(repair, wkPay("CASH", 30000, "")))

	// Maintenance of ¥180: below the ¥200 minimum spend.
	small, _ := f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 18000, false))
	f.refused(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(small, wkPay("CASH", 18000, "")), coupon), string(coupons.CodeMinSpendNotMet))
	// Another owner's coupon is not found on this owner's bill.
	f.denied(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(small, wkPay("CASH", 18000, "")), theirs), "NOT_FOUND")

	// ¥500 of maintenance, ¥50 of it warranty: payable ¥450; 10% is ¥45,
	// capped at ¥30, so the payments add up to ¥420 and points may pay at
	// most ¥210 of it.
	id, payable := f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE",
		wkItem("PART", "OIL", "机油", 1, 40000, false), wkItem("LABOR", "LAB-MNT", "保养工时", 1, 5000, false),
		wkItem("PART", "WAR", "质保件", 1, 5000, true))
	if payable != 45000 {
		t.Fatalf("payable %d", payable)
	}
	f.refused(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(id, wkPay("CASH", 45000, "")), coupon), "PAYMENTS_DO_NOT_ADD_UP")
	f.refused(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(id, wlPoints(21_001), wkPay("CASH", 21_000-1, "")), coupon), "POINTS_OVER_CAP")
	f.refused(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("COUPON", 45000, "x")), "INVALID_ARGUMENT")
	if got := f.cpMine(t, car.OwnerToken, "AVAILABLE"); len(got) != 1 {
		t.Fatalf("refused settlements used the coupon: %v", got)
	}
	// The owner's wallet pays ¥420; 420 points earned, not 450.
	f.wlOK(t, f.staff(t, "cashier.sz01"), "topUpWallet", wlTopUp(e2eGlobalID("Owner", car.Owner.ID), f.sz, 50_000, "CASH", wlKey("cp-topup")))
	before := wlInvariant(t, f.testServer, car.Owner.ID)
	o := f.ok(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(id, wkPay("WALLET", 42000, "")), coupon))
	if wkFen(o, "totals", "payable") != 45000 || wkFen(o, "totals", "paid") != 45000 || len(o["payments"].([]any)) != 2 {
		t.Fatalf("settled order: %v", o)
	}
	var line map[string]any
	for _, pay := range o["payments"].([]any) {
		if dig(pay, "method") == "COUPON" {
			line = pay.(map[string]any)
		}
	}
	if line == nil || wkNum(dig(line, "amount", "amountFen")) != 3000 {
		t.Fatalf("no COUPON line of ¥30: %v", o["payments"])
	}
	after := wlInvariant(t, f.testServer, car.Owner.ID)
	if after.Balance != before.Balance-42000 || after.Points != before.Points+420 {
		t.Fatalf("wallet after the settlement: %+v -> %+v", before, after)
	}
	used := f.cpMine(t, car.OwnerToken, "USED")
	if len(used) != 1 || wkNum(dig(used[0], "discount", "amountFen")) != 3000 || used[0]["usedAt"] == nil {
		t.Fatalf("used coupon: %v", used)
	}
	// Used once: the next bill is refused.
	next, _ := f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 30000, false))
	f.refused(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(next, wkPay("CASH", 27000, "")), coupon), string(coupons.CodeNotAvailable))

	// A free car wash: the dearest WASH line up to the cap, the whole bill
	// when that is all.
	wash := f.cpTemplate(t, map[string]any{"name": "免费洗车", "kind": "FREE_ITEM", "amountFen": nil, "capFen": 5000,
		"itemName": "洗车", "itemCode": "WASH", "orderKinds": []string{"DETAILING"}})
	wc := f.cpIssue(t, wash, car)
	det, _ := f.cpReady(t, f.wlNewCar(t, car.Owner), "DETAILING", wkItem("LABOR", "WASH", "精洗", 1, 4000, false))
	o = f.ok(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(det), wc))
	if wkFen(o, "totals", "paid") != 4000 || len(o["payments"].([]any)) != 1 {
		t.Fatalf("bill paid by the free wash: %v", o)
	}
}

// 100 settlements at once, each of another order of the same owner, all
// naming one coupon: exactly one uses it; the others are refused with
// COUPON_NOT_AVAILABLE and settle nothing.
func TestCouponConcurrentSettlements(t *testing.T) {
	f := newWorkshop(t)
	cashier := f.staff(t, "cashier.sz01")
	car := f.quickCar(t, "SZ01")
	tpl := f.cpTemplate(t, map[string]any{"amountFen": 2000})
	coupon := f.cpIssue(t, tpl, car)
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		ids[i], _ = f.cpReady(t, f.wlNewCar(t, car.Owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 10000, false))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.call(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(id, wkPay("CASH", 8000, "")), coupon)), "settleRepairOrder")
			code := "OK"
			if cs := userErrorCodes(p); len(cs) > 0 {
				code = cs[0]
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] != 1 || codes[string(coupons.CodeNotAvailable)] != n-1 {
		t.Fatalf("%d concurrent settlements with one coupon: %v", n, codes)
	}
	var settled, lines, discount int64
	conn := f.DB.Conn(t.Context())
	must(t, conn.Table("repair_orders").Where("owner_id = ? AND settled_at IS NOT NULL", car.Owner.ID).Count(&settled).Error)
	must(t, conn.Raw(`SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM repair_order_payments WHERE method = 'COUPON' AND reference = ?`,
		wlUUID(t, coupon, "Coupon").String()).Row().Scan(&lines, &discount))
	if settled != 1 || lines != 1 || discount != 2000 {
		t.Fatalf("settled %d orders, %d COUPON lines of %d fen", settled, lines, discount)
	}
	if used := f.cpMine(t, car.OwnerToken, "USED"); len(used) != 1 {
		t.Fatalf("used coupons: %v", used)
	}
}

package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/models/demo"
)

// nodeExample finds one object of a Node type: the query that lists it, the
// path to its id in the answer, the caller allowed to read it and one who is
// not ("" with public: anyone may).
type nodeExample struct {
	query   string
	path    []any
	allowed string
	denied  string
	public  bool
}

// TestNodeFetchesEveryType: for every type implementing Node, read from the
// schema by introspection (a new one without an example here fails), an
// object found where it is listed is fetched by node(id:) by a caller who may
// read it, as the same type with the same id, and is null for a caller who
// may not (as for a missing object).
func TestNodeFetchesEveryType(t *testing.T) {
	// A server that takes online payments, and a payment of a payer's.
	_, s, _, payer := payFixture(t, "节点")
	s.startTopUp(t, payer, 5000, "JSAPI", "node")
	owner := s.ownerToken(t, s.ownerByPhone(t, demo.DemoOwnerPhone).ID)
	_, stranger := wechatOwner(t, s, "陌生")
	manager, otherStore := s.staffToken(t, "manager.sz01"), s.staffToken(t, "manager.gz01")
	sz := e2eStoreNodeID(t, s, "SZ01")
	// A screen token of SZ01's, for the manager to find.
	s.gql(t, manager, `mutation($s: ID!) { issueScreenToken(input: {storeId: $s, name: "节点测试"}) { token } }`, map[string]any{"s": sz})
	// A roadside request of the owner's.
	car := dig(s.gql(t, owner, `{ me { vehicles(first: 1) { edges { node { id } } } } }`, nil), "me", "vehicles", "edges", 0, "node", "id")
	if r := s.gql(t, owner, pcAssist, map[string]any{"v": car}); dig(r, "requestAssistance", "assistanceRequest", "id") == nil {
		t.Fatalf("requestAssistance: %v", r)
	}
	// A coupon template of SZ01's, and a coupon of it issued to the owner.
	crmTok := s.staffToken(t, "crm.sz01")
	tpl := s.gql(t, crmTok, `mutation($in: CreateCouponTemplateInput!) { createCouponTemplate(input: $in) { couponTemplate { id } userErrors { code message } } }`,
		map[string]any{"in": map[string]any{"storeId": sz, "name": "节点测试券", "kind": "FIXED_OFF", "amountFen": 1000,
			"orderKinds": []string{"MAINTENANCE"}, "validDays": 30, "perOwnerLimit": 5}})
	tplID, _ := dig(tpl, "createCouponTemplate", "couponTemplate", "id").(string)
	ownerID := dig(s.gql(t, owner, `{ me { id } }`, nil), "me", "id")
	if r := s.gql(t, crmTok, `mutation($in: IssueCouponInput!) { issueCoupon(input: $in) { coupon { id } userErrors { code message } } }`,
		map[string]any{"in": map[string]any{"couponTemplateId": tplID, "ownerId": ownerID}}); dig(r, "issueCoupon", "coupon", "id") == nil {
		t.Fatalf("issueCoupon: %v (template %v)", r, tpl)
	}
	orders := `{ me { vehicles(first: 5) { edges { node { serviceHistory(first: 1) { edges { node { id items { id } } } } } } } } }`
	examples := map[string]nodeExample{
		"Store":             {query: `{ stores(first: 1) { edges { node { id } } } }`, path: []any{"stores", "edges", 0, "node", "id"}, allowed: owner, public: true},
		"Owner":             {query: `{ me { id } }`, path: []any{"me", "id"}, allowed: owner, denied: stranger},
		"Vehicle":           {query: `{ me { vehicles(first: 1) { edges { node { id } } } } }`, path: []any{"me", "vehicles", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"Staff":             {query: `{ staffMe { id } }`, path: []any{"staffMe", "id"}, allowed: manager, denied: owner},
		"RepairOrder":       {query: orders, path: []any{"me", "vehicles", "edges", 0, "node", "serviceHistory", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"RepairOrderItem":   {query: orders, path: []any{"me", "vehicles", "edges", 0, "node", "serviceHistory", "edges", 0, "node", "items", 0, "id"}, allowed: owner, denied: otherStore},
		"Appointment":       {query: `{ me { appointments(first: 1) { edges { node { id } } } } }`, path: []any{"me", "appointments", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"Event":             {query: `{ events(first: 1) { edges { node { id } } } }`, path: []any{"events", "edges", 0, "node", "id"}, allowed: owner, public: true},
		"Registration":      {query: `{ me { registrations(first: 1) { edges { node { id } } } } }`, path: []any{"me", "registrations", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"Survey":            {query: `{ me { surveys(first: 1) { edges { node { id } } } } }`, path: []any{"me", "surveys", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"Complaint":         {query: `{ me { complaints(first: 1) { edges { node { id } } } } }`, path: []any{"me", "complaints", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"FollowUpTask":      {query: `{ followUpTasks(first: 1) { edges { node { id } } } }`, path: []any{"followUpTasks", "edges", 0, "node", "id"}, allowed: manager, denied: otherStore},
		"AssistanceRequest": {query: `{ me { assistanceRequests(first: 1) { edges { node { id } } } } }`, path: []any{"me", "assistanceRequests", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"OnlinePayment":     {query: `{ me { payments(first: 1) { edges { node { id } } } } }`, path: []any{"me", "payments", "edges", 0, "node", "id"}, allowed: payer, denied: stranger},
		"Notification":      {query: `{ me { notifications(first: 1) { edges { node { id } } } } }`, path: []any{"me", "notifications", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"LedgerEntry":       {query: `{ me { membership { transactions(first: 1) { edges { node { id } } } } } }`, path: []any{"me", "membership", "transactions", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"ScreenToken":       {query: `query { screenTokens(storeId: "` + sz + `") { id } }`, path: []any{"screenTokens", 0, "id"}, allowed: manager, denied: otherStore},
		"Coupon":            {query: `{ me { coupons(first: 1) { edges { node { id } } } } }`, path: []any{"me", "coupons", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		"CouponTemplate":    {query: `{ couponTemplates(storeId: "` + sz + `", first: 1) { edges { node { id } } } }`, path: []any{"couponTemplates", "edges", 0, "node", "id"}, allowed: manager, denied: otherStore},
		// The demo owner's referral of 刘洋.
		"Referral": {query: `{ me { referral { referrals(first: 1) { edges { node { id } } } } } }`, path: []any{"me", "referral", "referrals", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		// The demo's SZ01 package product, and the demo owner's package.
		"ServicePackage": {query: `{ servicePackages(storeId: "` + sz + `", first: 1) { edges { node { id } } } }`, path: []any{"servicePackages", "edges", 0, "node", "id"}, allowed: manager, denied: otherStore},
		"OwnerPackage":   {query: `{ me { servicePackages(first: 1) { edges { node { id } } } } }`, path: []any{"me", "servicePackages", "edges", 0, "node", "id"}, allowed: owner, denied: stranger},
		// The demo's SZ01 audience and campaign.
		"Audience": {query: `{ audiences(storeId: "` + sz + `", first: 1) { edges { node { id } } } }`, path: []any{"audiences", "edges", 0, "node", "id"}, allowed: manager, denied: otherStore},
		"Campaign": {query: `{ campaigns(storeId: "` + sz + `", first: 1) { edges { node { id } } } }`, path: []any{"campaigns", "edges", 0, "node", "id"}, allowed: manager, denied: otherStore},
	}
	implementors := introspect(t, s).implements("Node")
	if len(implementors) < 17 {
		t.Fatalf("only %d Node types: %v", len(implementors), implementors)
	}
	const node = `query($id: ID!) { node(id: $id) { __typename id } }`
	for _, typ := range implementors {
		ex, ok := examples[typ]
		if !ok {
			t.Errorf("%s implements Node: add an example to this test", typ)
			continue
		}
		id, _ := dig(s.gql(t, ex.allowed, ex.query, nil), ex.path...).(string)
		if id == "" {
			t.Errorf("%s: no example found", typ)
			continue
		}
		got := s.gql(t, ex.allowed, node, map[string]any{"id": id})
		if dig(got, "node", "__typename") != typ || dig(got, "node", "id") != id {
			t.Errorf("%s %s: node answers %v", typ, id, got)
		}
		if ex.public {
			continue
		}
		if got := s.gql(t, ex.denied, node, map[string]any{"id": id}); got["node"] != nil {
			t.Errorf("%s %s: node shows it to a caller who may not read it: %v", typ, id, got)
		}
	}
}

// TestStaffSummaryIDIsItsOwn: an order's advisor, a StaffSummary, has an id
// of its own, not the Staff node's (a client cache keyed by id alone would
// merge the two objects), and names the Staff node by staffId.
func TestStaffSummaryIDIsItsOwn(t *testing.T) {
	f := newWorkshop(t)
	car := f.newCar(t, "")
	o := f.open(t, f.staff(t, "advisor.sz01"), f.sz, car.Plate, 500, "MAINTENANCE", nil)
	staff := f.staffID(t, "advisor.sz01")
	summary, _ := dig(o, "advisor", "id").(string)
	if summary == "" || summary == staff || dig(o, "advisor", "staffId") != staff {
		t.Fatalf("advisor %v; the advisor's Staff id %s", o["advisor"], staff)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(summary); !strings.HasPrefix(string(raw), "StaffSummary:") {
		t.Fatalf("the advisor's id names %q", raw)
	}
}

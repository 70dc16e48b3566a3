package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// What the sweep aims at and who it sends: owner A's records (what A sees,
// walked from me { ... } and node(id:)), SZ01's own records (as its manager
// sees them), and what is public (stores, published events, package
// products on sale).

// swOpen are the operations that take no ID, each with why the sweep need
// not aim it at anyone: they act on the caller only, or are open by design.
// An operation that takes no ID and is not here fails the sweep: list it
// here with its reason, or give it a way to name someone else's record.
var swOpen = map[string]string{
	"Query.me":                            "the signed-in owner's own profile",
	"Query.staffMe":                       "the signed-in staff member's own record",
	"Query.stores":                        "the store list is public",
	"Query.exportMyData":                  "the signed-in owner's own data",
	"Query.jobRuns":                       "scheduled jobs, no customer data; managers only",
	"Mutation.requestLoginCode":           "sign-in: sends a code to the phone given, which proves nothing until the code comes back",
	"Mutation.verifyLoginCode":            "sign-in: needs the code sent to the phone",
	"Mutation.loginWithWeChat":            "sign-in: needs a code from WeChat",
	"Mutation.refreshSession":             "sign-in: needs the session's refresh token",
	"Mutation.logout":                     "sign-in: needs the session's refresh token",
	"Mutation.staffLogin":                 "sign-in: needs the staff member's password",
	"Mutation.setMarketingConsent":        "the signed-in owner's own consent",
	"Mutation.updateNotificationSettings": "the signed-in owner's own settings: the input names kinds, not an owner",
	"Mutation.deleteMyAccount":            "the signed-in owner's own account",
	"Mutation.registerDevice":             "registers the caller's own app installation; its token is the installation's, which only it holds",
	"Mutation.unregisterDevice":           "removes only the caller's own device with the token; another owner's is left alone",
	"Query.wechatSubscriptionTemplates":   "the mini-program's configured templates, no customer data; owners only",
	"Mutation.acceptSubscriptionMessages": "records template permissions for the signed-in owner only: the input names templates, not an owner",
	"Query.paymentsOwingRefunds":          "lists the payments at the caller's own stores only (models.Scope); managers only",
}

// swNames are string inputs that name a customer's record as an ID would:
// the sweep fills them with A's and counts them as aimed at A.
func (w *swWorld) swNames() map[string]string {
	return map[string]string{
		"Query.owners.search":             w.f.a.Phone,
		"CheckInRegistrationInput.code":   w.f.checkInCode,
		"OpenRepairOrderInput.vehicle":    w.f.cars[0].Plate,
		"RegisterVehicleInput.ownerPhone": w.f.a.Phone,
	}
}

// swDataAllowed are operations that may answer a caller with what the sweep
// counts as A's data, by design.
var swDataAllowed = map[string]string{
	"Query.owners/otherStore": "an exact phone number finds a walk-in customer anywhere in the group",
}

// swIdentifying are the fields whose values name A as well as an ID does.
var swIdentifying = []string{"phone", "callbackPhone", "vin", "plate", "number", "checkInCode"}

// swTechnicianMayNot are the types of A's records a technician of A's store
// must not see: the customer and what is between the customer and the
// store's front office. Technicians see the cars and orders they work on.
var swTechnicianMayNot = []string{"Owner", "Notification", "Registration", "Complaint", "Survey",
	"AssistanceRequest", "LedgerEntry", "FollowUpTask", "ScreenToken", "OnlinePayment", "Coupon", "OwnerPackage"}

// swStaffOnly are the fields of A's records that only staff read: A's own
// crawl leaves them out (A is refused them, which TestApprovalDeliveries
// and TestSegmentsAndChurn check).
var swStaffOnly = map[string]bool{"approvalDeliveries": true, "segment": true, "churnRisk": true}

type swWorld struct {
	t      testing.TB
	f      *swFixture
	b      *models.Owner // another owner, a customer of SZ01 too
	sc     *swSchema
	owned  map[string]string // id -> type: what A sees
	stored map[string]string // id -> type: SZ01's store-scoped records
	public map[string]string // id -> type: stores, events past their draft, products on sale
	status map[string]string // id -> status, of the records crawled
	strs   map[string]string // A's identifying strings -> field
	pubStr map[string]bool
	first  []string        // ids to aim at first, most damaging first
	nodes  map[string]bool // types node(id:) answers for
	seq    atomic.Int64
}

func newSweepWorld(t *testing.T, f *swFixture) *swWorld {
	t.Helper()
	w := &swWorld{t: t, f: f, sc: introspect(t, f.testServer), owned: map[string]string{}, stored: map[string]string{},
		public: map[string]string{}, status: map[string]string{}, strs: map[string]string{f.a.Name: "name"}, pubStr: map[string]bool{}}
	w.nodes = map[string]bool{}
	for _, n := range w.sc.implements("Node") {
		w.nodes[n] = true
	}

	// A's records: me, then every node A can open, until nothing is new.
	// One request per field of Owner keeps each within the complexity limit.
	// A is refused the fields only staff read (the sweep's calls below
	// still ask every caller for them).
	w.sc.hidden = swStaffOnly
	for _, sel := range w.sc.fieldSelections("Owner", 1, true) {
		w.crawl(t, f.aToken, `{ me { `+sel+` } }`, nil, w.owned, w.strs)
	}
	opened := map[string]bool{}
	for {
		var next []string
		for id, typ := range w.owned {
			if w.nodes[typ] && !opened[id] {
				next = append(next, id)
			}
		}
		if len(next) == 0 {
			break
		}
		sort.Strings(next)
		for _, id := range next {
			opened[id] = true
			typ := w.owned[id]
			w.crawl(t, f.aToken, `query($id: ID!) { node(id: $id) { ... on `+typ+` { `+w.sc.selection(typ, 1, true)+` } } }`,
				map[string]any{"id": id}, w.owned, w.strs)
		}
	}
	for _, id := range []string{f.order, f.pendingItem, f.delivered, f.appointment, f.registration, f.request, f.complaint, f.payment, f.refund, f.coupon, f.ownerPackage} {
		if w.owned[id] == "" {
			t.Errorf("A's crawl missed %s (%s)", id, w.sc.globalType(id))
		}
	}
	w.sc.hidden = nil
	w.wantTypes(t, "A's crawl", w.owned, "Owner", "Vehicle", "RepairOrder", "RepairOrderItem", "Appointment", "Registration",
		"Notification", "AssistanceRequest", "Survey", "Complaint", "LedgerEntry", "Staff", "Store", "Event", "OnlinePayment", "PaymentRefund", "Coupon", "CouponTemplate", "OwnerPackage", "ServicePackage")

	// SZ01's records, as its manager and staff see them.
	mgr := f.staff(t, "manager.sz01")
	for _, q := range []struct{ field, args, typ string }{
		{"screenTokens", "storeId: $s", "ScreenToken"},
		{"followUpTasks", "storeId: $s, first: 100", "FollowUpTaskConnection"},
		{"complaints", "storeId: $s, first: 100", "ComplaintConnection"},
		{"events", "filter: {storeId: $s, includeUnpublished: true}, first: 100", "EventConnection"},
		{"workshopBoard", "storeId: $s", "WorkshopBoard"},
		{"appointments", "storeId: $s, date: $d", "DaySchedule"},
		{"openAssistanceRequests", "storeId: $s, first: 100", "AssistanceRequestConnection"},
		{"audiences", "storeId: $s, first: 100", "AudienceConnection"},
		{"campaigns", "storeId: $s, first: 100", "CampaignConnection"},
	} {
		got := map[string]string{}
		defs, vars := "$s: ID!", map[string]any{"s": f.sz}
		if strings.Contains(q.args, "$d") {
			defs, vars["d"] = defs+", $d: Date!", f.apptDay
		}
		w.crawl(t, mgr, `query(`+defs+`) { `+q.field+`(`+q.args+`) { `+w.sc.selection(q.typ, 1, false)+` } }`, vars, got, nil)
		for id, typ := range got {
			// The store's records, not its customers: they are A (above)
			// or other owners, who may be customers of GZ01 as well.
			if typ != "Owner" && typ != "Vehicle" && typ != "Store" {
				w.stored[id] = typ
			}
		}
	}
	// A campaign's invitations are a list inside the campaign.
	invitations := map[string]string{}
	for id, typ := range w.stored {
		if typ == "Campaign" {
			w.crawl(t, mgr, `query($id: ID!) { node(id: $id) { ... on Campaign { invitations(first: 100) { `+
				w.sc.selection("CampaignInvitationConnection", 1, false)+` } } } }`, map[string]any{"id": id}, invitations, nil)
		}
	}
	for id, typ := range invitations {
		if typ != "Owner" && typ != "Vehicle" && typ != "Store" {
			w.stored[id] = typ
		}
	}
	for _, login := range []string{"advisor", "foreman", "technician1", "technician2", "crm", "events", "cashier", "manager"} {
		w.crawl(t, f.staff(t, login+".sz01"), `{ staffMe { id } }`, nil, w.stored, nil)
	}
	if w.stored[f.screenToken] == "" || w.stored[f.draftEvent] == "" {
		t.Errorf("SZ01's crawl missed its screen or its draft event: %v", w.stored)
	}
	w.wantTypes(t, "SZ01's crawl", w.stored, "ScreenToken", "FollowUpTask", "Complaint", "Event", "RepairOrder",
		"Appointment", "AssistanceRequest", "Staff")

	// Public: the stores, and the events past their draft (any signed-in
	// caller may open them), with what they show, as an owner sees them.
	for id, typ := range w.owned {
		if typ == "Store" || (typ == "Event" && w.status[id] != "DRAFT") {
			w.public[id] = typ
		}
	}
	for id, typ := range w.stored {
		if typ == "Event" && w.status[id] != "DRAFT" {
			w.public[id] = typ
		}
	}
	// A package product on sale: any owner may read it, and buy it online
	// (docs/packages.md); a retired one stays the store's and its buyers'.
	for _, ids := range []map[string]string{w.owned, w.stored} {
		for id, typ := range ids {
			if typ == "ServicePackage" && e2eCount(t, f.testServer, &packages.Product{}, "id = ? AND retired_at IS NULL",
				wlUUID(t, id, "ServicePackage")) == 1 {
				w.public[id] = typ
			}
		}
	}
	if w.public[f.servicePackage] == "" {
		t.Errorf("SZ01's package product on sale is not public: %v", w.public)
	}
	w.b = e2eInsertOwner(t, f.testServer, "扫查乙", "SZ01")
	pubStrs := map[string]string{}
	w.crawl(t, f.ownerToken(t, w.b.ID), `{ stores(first: 100) { `+w.sc.selection("StoreConnection", 1, false)+` } }`, nil, map[string]string{}, pubStrs)
	for s := range pubStrs {
		w.pubStr[s] = true
	}
	if w.public[f.event] == "" || w.public[f.sz] == "" || w.public[f.draftEvent] != "" {
		t.Errorf("SZ01 or A's class not public, or the draft public: %v", w.public)
	}
	w.first = []string{e2eGlobalID("Owner", f.a.ID), f.cars[0].ID, f.order, f.pendingItem, f.appointment, f.registration,
		f.request, f.complaint, f.payment, f.refund, f.coupon, f.ownerPackage, f.onlinePackage, f.draftEvent, f.event, f.screenToken, f.techID(t), f.staffID(t, "advisor.sz01"), f.sz}
	return w
}

// wantTypes fails unless ids holds records of every type: the fixture
// gives A (and SZ01) a record of each kind, so a missing one means the
// crawl no longer reaches it and the sweep would not aim at it.
func (w *swWorld) wantTypes(t *testing.T, what string, ids map[string]string, types ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, typ := range ids {
		have[typ] = true
	}
	for _, typ := range types {
		if !have[typ] {
			t.Errorf("%s found no %s", what, typ)
		}
	}
}

// crawl runs doc as token and collects every global id of the response
// (with its type) into ids, and the values of identifying fields into strs.
func (w *swWorld) crawl(t *testing.T, token, doc string, vars map[string]any, ids, strs map[string]string) {
	t.Helper()
	r := w.f.do(t, req{Query: doc, Vars: vars, Token: token})
	if len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("crawl %s: %s", doc, r.Raw)
	}
	walkStrings(r.Data, "", func(k, v string) {
		if typ := w.sc.globalType(v); typ != "" {
			ids[v] = typ
		} else if strs != nil && slices.Contains(swIdentifying, k) && v != "" {
			strs[v] = k
		}
	})
	walkObjects(r.Data, func(m map[string]any) {
		if id, ok := m["id"].(string); ok {
			if st, ok := m["status"].(string); ok {
				w.status[id] = st
			}
		}
	})
}

// walkObjects calls fn with every object of a decoded JSON value.
func walkObjects(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, e := range x {
			walkObjects(e, fn)
		}
	case []any:
		for _, e := range x {
			walkObjects(e, fn)
		}
	}
}

// swCaller is someone who must not reach A's or SZ01's records.
type swCaller struct {
	name, kind, token string
	victims           map[string][]string // slot type -> ids to aim at, best first
	fillers           map[string][]string // slot type -> public ids for the other slots
	secrets           map[string]string   // value -> what it is, never to be answered
}

func (w *swWorld) callers(t *testing.T) []*swCaller {
	t.Helper()
	f := w.f
	// A's active order is technician1's job; technician2 works next to it.
	list := []*swCaller{
		{name: "owner B", kind: "owner", token: f.ownerToken(t, w.b.ID)},
		{name: "advisor.gz01", kind: "otherStore", token: f.staff(t, "advisor.gz01")},
		{name: "manager.gz01", kind: "otherStore", token: f.staff(t, "manager.gz01")},
		{name: "technician2.sz01", kind: "technician", token: f.staff(t, "technician2.sz01")},
		{name: "screen", kind: "screen", token: f.screen},
		{name: "anonymous", kind: "anonymous"},
	}
	all := map[string]string{}
	for id, typ := range w.owned {
		all[id] = typ
	}
	for id, typ := range w.stored {
		all[id] = typ
	}
	for _, c := range list {
		c.victims, c.fillers, c.secrets = map[string][]string{}, map[string][]string{}, map[string]string{}
		for id, typ := range all {
			if c.kind == "technician" && w.owned[id] == "" && strings.HasPrefix(typ, "RepairOrder") {
				// The store's other jobs may be this technician's own
				// (the demo workshop assigns them): working on them is
				// their job. A's order, technician1's, stays aimed at.
				continue
			}
			public := w.public[id] != ""
			switch {
			case public && (c.kind == "owner" || c.kind == "anonymous"):
				c.fillers[typ] = append(c.fillers[typ], id)
			default:
				c.victims[typ] = append(c.victims[typ], id)
			}
			if public {
				continue
			}
			if c.kind != "technician" || slices.Contains(swTechnicianMayNot, typ) || typ == "Event" {
				c.secrets[id] = typ + " " + id
			}
		}
		for s, field := range w.strs {
			if w.pubStr[s] {
				continue
			}
			if c.kind != "technician" || slices.Contains([]string{"name", "phone", "callbackPhone", "checkInCode"}, field) {
				c.secrets[s] = "A's " + field
			}
		}
		for typ := range c.victims {
			w.rank(c.victims[typ])
		}
		for typ := range c.fillers {
			w.rank(c.fillers[typ])
		}
	}
	return list
}

// rank puts the fixture's records first, then the rest in a fixed order.
func (w *swWorld) rank(ids []string) {
	sort.SliceStable(ids, func(i, j int) bool {
		pi, pj := slices.Index(w.first, ids[i]), slices.Index(w.first, ids[j])
		switch {
		case pi >= 0 && pj >= 0:
			return pi < pj
		case pi >= 0 || pj >= 0:
			return pi >= 0
		}
		return ids[i] < ids[j]
	})
}

// swOp is a query or mutation the sweep aims.
type swOp struct {
	name  string // "Query.node", "Mutation.bookAppointment"
	root  string
	field swField
}

// operations lists the operations that take an ID or a name of a record,
// and fails for one the sweep cannot aim or that takes neither and is not
// open.
func (w *swWorld) operations(t *testing.T) []*swOp {
	t.Helper()
	var ops []*swOp
	for _, root := range []string{w.sc.QueryType.Name, w.sc.MutationType.Name} {
		for _, fl := range w.sc.byName[root].Fields {
			name := root + "." + fl.Name
			slots := 0
			for _, a := range fl.Args {
				slots += w.slots(name, a.Name, a.Type, map[string]bool{}, t)
			}
			_, open := swOpen[name]
			switch {
			case slots > 0 && open:
				t.Errorf("%s takes an ID but is listed as open: remove it from swOpen", name)
			case slots == 0 && !open:
				t.Errorf("%s takes no ID the sweep can aim: list it in swOpen with why it needs no authorization check, "+
					"or name its identifying input in swNames", name)
			case slots > 0:
				ops = append(ops, &swOp{name: name, root: strings.ToLower(root), field: fl})
			}
		}
	}
	for name := range swOpen {
		root, field, _ := strings.Cut(name, ".")
		if !slices.ContainsFunc(w.sc.byName[root].Fields, func(f swField) bool { return f.Name == field }) {
			t.Errorf("swOpen lists %s, which the schema no longer has", name)
		}
	}
	return ops
}

// slots counts the aimable inputs under an argument or input field (IDs and
// swNames), and reports ID slots whose type it cannot tell.
func (w *swWorld) slots(owner, name string, ref swRef, seen map[string]bool, t *testing.T) int {
	named := ref.named()
	if _, ok := w.swNames()[owner+"."+name]; ok {
		return 1
	}
	switch {
	case named == "ID":
		if w.slotType(owner, name) == "" {
			t.Errorf("%s.%s is an ID the sweep cannot tell the type of: name it <type>Id or add it to slotType", owner, name)
		}
		return 1
	case w.sc.byName[named].Kind == "INPUT_OBJECT" && !seen[named]:
		seen[named] = true
		n := 0
		for _, in := range w.sc.byName[named].InputFields {
			n += w.slots(named, in.Name, in.Type, seen, t)
		}
		return n
	}
	return 0
}

// slotType is the type of record an ID input names, from its name:
// "vehicleId" a Vehicle, "orderId" a RepairOrder, the id of
// repairOrder(id:) a RepairOrder; "*" any (node).
func (w *swWorld) slotType(owner, name string) string {
	if owner == "Query.node" && name == "id" {
		return "*"
	}
	if name == "id" && strings.HasPrefix(owner, "Query.") {
		name = strings.TrimPrefix(owner, "Query.")
	}
	aliases := map[string]string{"order": "RepairOrder", "item": "RepairOrderItem", "task": "FollowUpTask",
		"request": "AssistanceRequest", "technician": "Staff", "advisor": "Staff", "assignee": "Staff",
		"sellingStore": "Store", "homeStore": "Store", "MarkNotificationsReadInput.ids": "Notification",
		"payment": "OnlinePayment", "refund": "PaymentRefund", "invitation": "CampaignInvitation", "couponTemplate": "CouponTemplate",
		"rewardCouponTemplate": "CouponTemplate", "package": "OwnerPackage"}
	if typ, ok := aliases[owner+"."+name]; ok {
		return typ
	}
	base := strings.TrimSuffix(strings.TrimSuffix(name, "Ids"), "Id")
	if typ, ok := aliases[base]; ok {
		return typ
	}
	typ := strings.ToUpper(base[:1]) + base[1:]
	if ty := w.sc.byName[typ]; ty != nil && ty.Kind == "OBJECT" && w.sc.entity(typ) {
		return typ
	}
	return ""
}

// swCall is one request of the sweep.
type swCall struct {
	caller     *swCaller
	op         *swOp
	defs, args string
	vars       map[string]any
	aimed      []string
	on         string // the type to select on: the operation's, or the one type a node id names
	depth      int
}

// doc is the call's document, selecting everything but the fields in skip.
func (c swCall) doc(sc *swSchema, skip map[string]bool) string {
	d := c.op.root + c.defs + " { " + c.op.field.Name + c.args
	if ret := c.op.field.Type.named(); !sc.leaf(ret) {
		sel := sc.selectionWithout(c.on, c.depth, skip)
		if c.on != ret {
			sel = "__typename ... on " + c.on + " { " + sel + " }"
		}
		d += " { " + sel + " }"
	}
	return d + " }"
}

// calls builds the requests aiming op as c: one per victim of the types
// its slots take (at most three; node: every victim), and, when it has
// several optional ID inputs, each of them alone as well (a domain may
// refuse a combination before it looks at who asks).
func (w *swWorld) calls(op *swOp, c *swCaller) ([]swCall, error) {
	var out []swCall
	variants := []int{-1}
	for vi := 0; vi < len(variants); vi++ {
		n := 1
		for k := 0; k < n; k++ {
			b := &swBuild{w: w, c: c, k: k, only: variants[vi]}
			call := swCall{caller: c, op: op, vars: map[string]any{}, on: op.field.Type.named(), depth: 3}
			var defs, args []string
			for _, a := range op.field.Args {
				v, ok := b.value(op.name, a.Name, a.Type, a.Type.required() && a.DefaultValue == nil)
				if b.err != nil {
					return nil, b.err
				}
				if !ok {
					continue
				}
				if a.Name == "first" {
					call.depth = 1 // a page of records: each shallower, or the page costs too much
				}
				call.vars[a.Name] = v
				defs = append(defs, "$"+a.Name+": "+a.Type.String())
				args = append(args, a.Name+": $"+a.Name)
			}
			if k == 0 {
				n = b.n
			}
			if vi == 0 && k == 0 && b.optional > 1 {
				for i := range b.optional {
					variants = append(variants, i)
				}
			}
			if len(b.aimed) == 0 {
				continue // public records only: nothing of A's or SZ01's to aim with
			}
			if w.sc.byName[call.on].Kind == "INTERFACE" && len(b.aimed) == 1 {
				call.on = w.sc.globalType(b.aimed[0])
			}
			if len(defs) > 0 {
				call.defs = "(" + strings.Join(defs, ", ") + ")"
				call.args = "(" + strings.Join(args, ", ") + ")"
			}
			call.aimed = b.aimed
			out = append(out, call)
		}
	}
	return out, nil
}

// swBuild fills the inputs of one call.
type swBuild struct {
	w        *swWorld
	c        *swCaller
	k        int // which victim of each type
	only     int // -1: every optional ID input; i: only the i-th
	n        int // how many calls the slots ask for
	optional int // optional ID inputs met
	aimed    []string
	err      error
}

func (b *swBuild) value(owner, name string, ref swRef, required bool) (any, bool) {
	if b.err != nil {
		return nil, false
	}
	switch ref.Kind {
	case "NON_NULL":
		v, ok := b.value(owner, name, *ref.OfType, true)
		if !ok && b.err == nil {
			b.err = fmt.Errorf("cannot fill %s.%s (%s)", owner, name, ref)
		}
		return v, ok
	case "LIST":
		aimed := len(b.aimed)
		v, ok := b.value(owner, name, *ref.OfType, required)
		if !ok || (!required && len(b.aimed) == aimed) {
			return nil, false // an optional list is sent only to aim at someone
		}
		return []any{v}, true
	}
	named := ref.Name
	if v, ok := b.w.swNames()[owner+"."+name]; ok {
		b.aimed = append(b.aimed, v)
		return v, true
	}
	ty := b.w.sc.byName[named]
	switch {
	case named == "ID":
		if !required {
			i := b.optional
			b.optional++
			if b.only >= 0 && b.only != i {
				return nil, false
			}
		}
		return b.id(owner, name, required)
	case ty.Kind == "INPUT_OBJECT":
		aimed := len(b.aimed)
		m := map[string]any{}
		for _, in := range ty.InputFields {
			if v, ok := b.value(named, in.Name, in.Type, in.Type.required() && in.DefaultValue == nil); ok {
				m[in.Name] = v
			}
		}
		if !required && len(b.aimed) == aimed {
			return nil, false // so is an optional input object
		}
		if named == "StartPaymentInput" {
			// A payment's purpose follows the thing it is aimed at.
			switch refs := map[string]bool{"registrationId": m["registrationId"] != nil, "repairOrderId": m["repairOrderId"] != nil,
				"servicePackageId": m["servicePackageId"] != nil}; {
			case refs["registrationId"] && !refs["repairOrderId"] && !refs["servicePackageId"]:
				m["purpose"] = "EVENT_FEE"
			case refs["repairOrderId"] && !refs["registrationId"] && !refs["servicePackageId"]:
				m["purpose"] = "REPAIR_BILL"
			case refs["servicePackageId"] && !refs["registrationId"] && !refs["repairOrderId"]:
				m["purpose"] = "SERVICE_PACKAGE"
			}
		}
		return m, b.err == nil
	}
	if v, ok := b.w.plausible(owner, name, named, required); ok {
		return v, true
	}
	if !required {
		return nil, false
	}
	if ty.Kind == "ENUM" && len(ty.EnumValues) > 0 {
		return ty.EnumValues[0].Name, true
	}
	b.err = fmt.Errorf("%s.%s: the sweep has no value for a required %s", owner, name, named)
	return nil, false
}

// id aims an ID slot: the k-th victim of its type, or a public record of
// it for a caller to whom it is public.
func (b *swBuild) id(owner, name string, required bool) (any, bool) {
	typ := b.w.slotType(owner, name)
	var victims []string
	if typ == "*" {
		for t, list := range b.c.victims {
			if b.w.nodes[t] {
				victims = append(victims, list...)
			}
		}
		sort.Strings(victims)
		b.n = max(b.n, len(victims))
	} else {
		victims = b.c.victims[typ]
		b.n = max(b.n, min(len(victims), 3))
	}
	if len(victims) > 0 {
		v := victims[b.k%len(victims)]
		b.aimed = append(b.aimed, v)
		return v, true
	}
	if fill := b.c.fillers[typ]; len(fill) > 0 {
		return fill[0], true
	}
	if required {
		b.err = fmt.Errorf("%s.%s takes a %s and the sweep has none to aim", owner, name, typ)
	}
	return nil, false
}

// plausible is a value the domain accepts for a field, so that a refusal
// is about who asks rather than what was sent. Optional fields get one only
// where it makes the call reach further (a cancellation's note, force).
func (w *swWorld) plausible(owner, name, named string, required bool) (any, bool) {
	now := time.Now()
	ts := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
	day := func(n int) string { return testdb.Today().AddDate(0, 0, n).String() }
	if !required {
		switch name {
		case "note", "reason":
			return "扫查", true
		case "force", "includeUnpublished":
			return true, true
		case "first":
			return 50, true
		case "amountFen":
			return 30, true // a top-up's amount
		}
		return nil, false
	}
	if owner+"."+name == "MoveRepairOrderInput.to" {
		return "CANCELLED", true // the move that reaches furthest
	}
	switch named {
	case "DateTime":
		switch name {
		case "slotStart":
			return w.f.freeSlot, true
		case "registrationOpensAt":
			return ts(-time.Hour), true
		case "registrationClosesAt":
			return ts(96 * time.Hour), true
		case "cancellationDeadline":
			return ts(72 * time.Hour), true
		case "endsAt":
			return ts(122 * time.Hour), true
		}
		return ts(120 * time.Hour), true
	case "Date":
		switch name {
		case "from":
			return day(0), true
		case "to":
			return day(30), true
		}
		return w.f.apptDay, true
	case "Int":
		switch name {
		case "mileageIn", "mileageKm":
			return 300000, true
		case "modelYear":
			return 2024, true
		case "overall", "advisor", "quality", "timeliness", "cleanliness":
			return 5, true
		case "capacity", "etaMinutes", "amountFen", "unitPriceFen":
			return 30, true
		}
		return 1, true
	case "Float":
		switch name {
		case "latitude":
			return 22.5405, true
		case "longitude":
			return 114.054, true
		}
		return 1.0, true
	case "Boolean":
		return true, true
	case "String":
		switch name {
		case "idempotencyKey":
			return fmt.Sprintf("sweep-%d-%d", e2eNext(), w.seq.Add(1)), true
		case "vin":
			return e2eVIN(w.t), true
		case "plate":
			return e2ePlate(), true
		case "dispatcherPhone", "callbackPhone", "phone":
			return "+8613912345678", true
		}
		return "扫查", true
	}
	return nil, false
}

// run sends a call, checks every answer gave nothing away and returns how
// the first ended. A field that fails (a non-null one refused to this
// caller) takes its parents with it and could hide what they would show:
// the call is sent again without the failing fields until it answers
// without nested errors.
func (w *swWorld) run(t *testing.T, c swCall) string {
	t.Helper()
	skip := map[string]bool{}
	first := ""
	for {
		r := w.f.do(t, req{Query: c.doc(w.sc, skip), Vars: c.vars, Token: c.caller.token})
		if c.caller.kind == "screen" {
			if !screenRefused(r) {
				t.Errorf("%s with a screen's token: (%d) %s", c.op.name, r.Status, r.Raw)
			}
			return "401"
		}
		w.check(t, c, r, skip)
		if first == "" {
			first = outcome(r, c.op.field.Name)
		}
		more := false
		for _, e := range r.Errors {
			if len(e.Path) < 2 {
				continue
			}
			if f, ok := e.Path[len(e.Path)-1].(string); ok && !skip[f] {
				skip[f], more = true, true
			}
		}
		if !more {
			return first
		}
	}
}

// check asserts one answer carries none of the caller's secrets.
func (w *swWorld) check(t *testing.T, c swCall, r *gqlResponse, skip map[string]bool) {
	t.Helper()
	if _, allowed := swDataAllowed[c.op.name+"/"+c.caller.kind]; allowed {
		return
	}
	walkStrings(r.Data, "", func(k, v string) {
		if what, leak := c.caller.secrets[v]; leak {
			t.Errorf("%s as %s answered %s (field %s), aimed at %v:\n%s\n%s", c.op.name, c.caller.name, what, k, c.aimed, c.doc(w.sc, skip), r.Raw)
		}
	})
	for _, e := range r.Errors {
		for s, what := range c.caller.secrets {
			if w.sc.globalType(s) == "" && strings.Contains(e.Message, s) {
				t.Errorf("%s as %s: error message carries %s: %s", c.op.name, c.caller.name, what, e.Message)
			}
		}
	}
}

// outcome names how a call ended: the error code on the operation (with
// its reason), its userErrors' codes, null, or "ok".
func outcome(r *gqlResponse, field string) string {
	for _, e := range r.Errors {
		if len(e.Path) < 2 {
			o, _ := e.Extensions["code"].(string)
			if reason, _ := e.Extensions["reason"].(string); reason != "" {
				o += "/" + reason
			}
			return o
		}
	}
	if codes := userErrorCodes(dig(r.Data, field)); len(codes) > 0 {
		return strings.Join(codes, "+")
	}
	if dig(r.Data, field) == nil {
		return "null"
	}
	return "ok"
}

// swReached are the outcomes that show a call got as far as the question
// of who asks: refused for it, or answered (and checked above).
var swReached = []string{"401", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "NOT_YOUR_JOB", "null", "ok"}

// checkExercised fails for an operation some caller only ever saw refused
// for its input: the sweep never reached its authorization check, and a
// missing one would go unnoticed. Give the sweep a plausible value then.
func (w *swWorld) checkExercised(t *testing.T, ops []*swOp, outcomes map[string]map[string][]string) {
	t.Helper()
	for _, op := range ops {
		if len(outcomes[op.name]) == 0 {
			t.Errorf("%s: the sweep had nothing to aim at it with", op.name)
		}
		for caller, outs := range outcomes[op.name] {
			if !slices.ContainsFunc(outs, func(o string) bool {
				code, _, _ := strings.Cut(o, "/")
				return slices.Contains(swReached, code)
			}) {
				t.Errorf("%s as %s was only refused for its input (%v): the sweep did not reach the check of who asks", op.name, caller, compact(outs))
			}
		}
	}
}

package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/events"
)

// Coupons on event fees through the API: reserved at registration, spent
// when the fee is charged or paid online, given back when the registration
// is withdrawn with its refund; events' reward coupons at check-in. See
// docs/coupons.md, "Event fees".

// Days ahead of the events of these tests (distinct from the other event
// tests' days, so that lists by date meet no other test's event).
const (
	cpDayWallet = 191
	cpDayRace   = 193
	cpDayOnline = 195
	cpDayHold   = 197
	cpDayReward = 199
	cpDayList   = 201
)

const cpRegDoc = `query($id: ID!) { node(id: $id) { ... on Registration { id status paid { amountFen }
	couponDiscount { amountFen } refunded { amountFen } } } }`

// cpEvents is an events fixture whose coupons share the events' clock.
func cpEvents(t *testing.T, tweak ...func(*Config, *Deps)) *evFixture {
	t.Helper()
	f := newEvents(t, tweak...)
	f.App.Coupons.Clock = f.App.Events.Clock
	return f
}

// cpEventTemplate is a SZ01 template paying event fees only: amount off,
// valid for days from issue.
func (f *evFixture) cpEventTemplate(t *testing.T, amountFen int64, days int) string {
	t.Helper()
	return f.cpTemplate(t, map[string]any{"orderKinds": nil, "eventFees": true, "amountFen": amountFen, "validDays": days})
}

// cpStatus is the coupon's status as its owner reads it.
func (f *evFixture) cpStatus(t *testing.T, token, coupon string) string {
	t.Helper()
	d := f.gql(t, token, `query($id: ID!) { node(id: $id) { ... on Coupon { status } } }`, map[string]any{"id": coupon})
	return wkStr(dig(d, "node", "status"))
}

func (f *evFixture) cpReg(t *testing.T, token string, reg any) map[string]any {
	t.Helper()
	n, _ := dig(f.gql(t, token, cpRegDoc, map[string]any{"id": reg}), "node").(map[string]any)
	return n
}

func fen(v any, path ...any) int64 { return int64(wkNum(dig(v, path...))) }

// A coupon on a fee paid from the wallet: charged the fee less the
// discount, the coupon USED; a cancellation before the deadline refunds
// what was paid and gives the coupon back, once; after the deadline it
// stays spent. Waitlisted, the coupon is RESERVED and comes back when the
// registration is withdrawn; one whose window ended meanwhile comes back
// EXPIRED. Refused: a template not for event fees, a fee in points, another
// owner's coupon; nothing is written.
func TestCouponOnEventFeeFromTheWallet(t *testing.T) {
	f := cpEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, cpDayWallet)
	now := start.AddDate(0, 0, -5)
	f.at(now)
	ev := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 10_000, "capacity": 2}))
	c := f.owner(t, 50_000, 0)
	tpl := f.cpEventTemplate(t, 3000, 30)
	coupon := f.cpIssue(t, tpl, c)

	// Refusals write nothing.
	repairOnly := f.cpIssue(t, f.cpTemplate(t, map[string]any{"amountFen": 1000}), c)
	f.refused(t, c.OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"couponId": repairOnly}),
		string(coupons.CodeNotApplicable), "couponId")
	other := f.owner(t, 50_000, 0)
	e2eWantGQLError(t, f.call(t, other.OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"couponId": coupon})), "NOT_FOUND")
	pointsEv := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feePoints": 100, "title": "积分讲堂"}))
	f.refused(t, c.OwnerToken, "registerForEvent", evRegIn(pointsEv["id"], map[string]any{"couponId": coupon}),
		string(coupons.CodeNotApplicable), "couponId")
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "AVAILABLE" {
		t.Fatalf("after refusals the coupon is %s", st)
	}
	if bal, _ := f.balance(t, c.Owner.ID); bal != 50_000 {
		t.Fatalf("refusals charged: balance %d", bal)
	}

	// Used: the fee less the discount.
	r := f.register(t, c, ev["id"], map[string]any{"couponId": coupon})
	got := f.cpReg(t, c.OwnerToken, r["id"])
	if got["status"] != "CONFIRMED" || fen(got, "paid", "amountFen") != 7000 || fen(got, "couponDiscount", "amountFen") != 3000 {
		t.Fatalf("registered with a coupon: %v", got)
	}
	if bal, _ := f.balance(t, c.Owner.ID); bal != 43_000 {
		t.Fatalf("balance after the discounted fee: %d", bal)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "USED" {
		t.Fatalf("coupon after registering: %s", st)
	}
	if got := f.gql(t, c.OwnerToken, `query($id: ID!) { node(id: $id) { ... on Registration { coupon { id status } } } }`,
		map[string]any{"id": r["id"]}); dig(got, "node", "coupon", "id") != coupon || dig(got, "node", "coupon", "status") != "USED" {
		t.Fatalf("the registration's coupon: %v", got)
	}

	// Cancelled with its refund: the coupon back, once, whatever the retries.
	key := fmt.Sprintf("cp-cancel-%d", e2eNext())
	for range 3 {
		f.ok(t, c.OwnerToken, "cancelRegistration", map[string]any{"registrationId": r["id"], "idempotencyKey": key})
	}
	if got := f.cpReg(t, c.OwnerToken, r["id"]); got["status"] != "CANCELLED" || fen(got, "refunded", "amountFen") != 7000 {
		t.Fatalf("cancelled: %v", got)
	}
	if bal, _ := f.balance(t, c.Owner.ID); bal != 50_000 {
		t.Fatalf("balance after the refund: %d", bal)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "AVAILABLE" {
		t.Fatalf("coupon after the cancellation: %s", st)
	}

	// Used again; cancelled after the deadline: no refund, the coupon stays spent.
	r = f.register(t, c, ev["id"], map[string]any{"couponId": coupon})
	f.at(start.Add(-12 * time.Hour))
	if got := f.ok(t, c.OwnerToken, "cancelRegistration", evCancelIn(r)); fen(got, "refunded", "amountFen") != 0 {
		t.Fatalf("refunded after the deadline: %v", got)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "USED" {
		t.Fatalf("coupon of a fee kept: %s", st)
	}

	// Waitlisted: RESERVED until withdrawn; given back EXPIRED when its
	// window ended meanwhile.
	f.at(now)
	full := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 10_000, "capacity": 1, "title": "满员讲堂"}))
	f.register(t, f.owner(t, 50_000, 0), full["id"], nil)
	short := f.cpIssue(t, f.cpEventTemplate(t, 2000, 1), c)
	w := f.register(t, c, full["id"], map[string]any{"couponId": short})
	if w["status"] != "WAITLISTED" {
		t.Fatalf("registered for a full event: %v", w)
	}
	if st := f.cpStatus(t, c.OwnerToken, short); st != "RESERVED" {
		t.Fatalf("coupon of a waitlisted registration: %s", st)
	}
	if mine := f.cpMine(t, c.OwnerToken, "RESERVED"); len(mine) != 1 {
		t.Fatalf("reserved coupons: %v", mine)
	}
	f.at(now.Add(36 * time.Hour))
	f.ok(t, c.OwnerToken, "cancelRegistration", evCancelIn(w))
	if st := f.cpStatus(t, c.OwnerToken, short); st != "EXPIRED" {
		t.Fatalf("coupon given back past its window: %s", st)
	}

	// Still waitlisted when the event starts: the job gives the coupon back, once.
	d := f.owner(t, 50_000, 0)
	held := f.cpIssue(t, f.cpEventTemplate(t, 2000, 30), d)
	if w := f.register(t, d, full["id"], map[string]any{"couponId": held}); w["status"] != "WAITLISTED" {
		t.Fatalf("registered for a full event: %v", w)
	}
	f.at(start.Add(time.Hour))
	for i, want := range []int64{1, 0} {
		if n, err := f.App.Events.ReleaseWaitlistCoupons(context.Background(), start.Add(time.Hour)); err != nil || n != want {
			t.Fatalf("run %d of the waitlist job gave back %d (%v), want %d", i, n, err, want)
		}
	}
	if st := f.cpStatus(t, d.OwnerToken, held); st != "AVAILABLE" {
		t.Fatalf("coupon of a registration waitlisted at the start: %s", st)
	}
	f.audit(t)
}

// One coupon, valid for event fees and maintenance bills, named by 100
// concurrent requests of its owner (50 registrations for 50 events, 50
// settlements at the counter) while 20 other owners register for some of the
// events with coupons of their own: exactly one of the owner's uses
// succeeds, every other is COUPON_NOT_AVAILABLE with nothing written; the
// other owners all get their seats.
func TestCouponConcurrentEventRegistrationsAndSettlements(t *testing.T) {
	// The coupons and the workshop keep the real time; the events' clock is
	// five days before the events (within the coupon's year).
	f := newEvents(t)
	staff, cashier := f.staff(t, "events.sz01"), f.staff(t, "cashier.sz01")
	start := evStart(t, cpDayRace)
	f.at(start.AddDate(0, 0, -5))
	const n = 50
	evs := make([]map[string]any, n)
	for i := range evs {
		evs[i] = f.publish(t, staff, evEventIn(f.sz, "CLASS", start, map[string]any{"feeFen": 10_000, "capacity": 5,
			"title": fmt.Sprintf("并发讲堂 %d", i)}))
	}
	c := f.owner(t, 1_000_000, 0)
	tpl := f.cpTemplate(t, map[string]any{"amountFen": 2000, "eventFees": true, "validDays": 365})
	coupon := f.cpIssue(t, tpl, c)
	orders := make([]string, n)
	for i := range orders {
		orders[i], _ = f.cpReady(t, f.wlNewCar(t, c.Owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 10000, false))
	}
	const nOthers = 20
	others := make([]wkCar, nOthers)
	theirs := make([]string, nOthers)
	for i := range others {
		others[i] = f.owner(t, 50_000, 0)
		theirs[i] = f.cpIssue(t, tpl, others[i])
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes, otherCodes := map[string]int{}, map[string]int{}
	outcome := func(p map[string]any) string {
		if cs := userErrorCodes(p); len(cs) > 0 {
			return cs[0]
		}
		return "OK"
	}
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.call(t, c.OwnerToken, "registerForEvent", evRegIn(evs[i]["id"], map[string]any{"couponId": coupon})), "registerForEvent")
			mu.Lock()
			codes[outcome(p)]++
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.wkFixture.call(t, cashier, "settleRepairOrder", cpWithCoupon(wkSettle(orders[i], wkPay("CASH", 8000, "")), coupon)), "settleRepairOrder")
			mu.Lock()
			codes[outcome(p)]++
			mu.Unlock()
		}()
		if i >= nOthers {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.call(t, others[i].OwnerToken, "registerForEvent", evRegIn(evs[i]["id"], map[string]any{"couponId": theirs[i]})), "registerForEvent")
			mu.Lock()
			otherCodes[outcome(p)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] != 1 || codes[string(coupons.CodeNotAvailable)] != 2*n-1 {
		t.Fatalf("%d concurrent uses of one coupon: %v", 2*n, codes)
	}
	if otherCodes["OK"] != nOthers {
		t.Fatalf("the other owners' registrations: %v", otherCodes)
	}
	conn := f.DB.Conn(context.Background())
	var regs, settled, lines int64
	must(t, conn.Table("registrations").Where("owner_id = ? AND status <> 'CANCELLED'", c.Owner.ID).Count(&regs).Error)
	must(t, conn.Table("repair_orders").Where("owner_id = ? AND settled_at IS NOT NULL", c.Owner.ID).Count(&settled).Error)
	must(t, conn.Table("repair_order_payments").Where("method = 'COUPON'").
		Where("reference = ?", wlUUID(t, coupon, "Coupon").String()).Count(&lines).Error)
	if regs+settled != 1 || lines != settled {
		t.Fatalf("the owner has %d registrations, %d settled orders, %d COUPON lines", regs, settled, lines)
	}
	bal, _ := f.balance(t, c.Owner.ID)
	if want := int64(1_000_000 - 8000*regs); bal != want {
		t.Fatalf("balance %d, want %d", bal, want)
	}
	if used := f.cpMine(t, c.OwnerToken, "USED"); len(used) != 1 {
		t.Fatalf("used coupons: %v", used)
	}
	f.audit(t)
}

// Paying online: the coupon is RESERVED with the held seats, the payment
// is the fee less the discount, and the coupon is USED when the payment
// succeeds; a cancellation refunds what was paid online and gives it
// back. A hold that ends unpaid releases the coupon with the seats.
func TestCouponOnEventFeePaidOnline(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)
	f.App.Coupons.Clock = f.App.Events.Clock
	ev, _ := feeEvent(t, cpDayOnline, 3, f)
	c := f.owner(t, 0, 0)
	coupon := f.cpIssue(t, f.cpEventTemplate(t, 1800, 30), c)
	reg := f.register(t, c, ev["id"], map[string]any{"payWith": "WECHAT_PAY", "couponId": coupon})
	if reg["status"] != "AWAITING_PAYMENT" {
		t.Fatalf("registered %v", reg)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "RESERVED" {
		t.Fatalf("coupon while the payment is due: %s", st)
	}
	started := f.startFee(t, c.OwnerToken, reg["id"], "cp-fee")
	pay, _ := started["payment"].(map[string]any)
	if fen(pay, "amount", "amountFen") != evFee-1800 {
		t.Fatalf("started %v", started)
	}
	no := wkStr(pay["outTradeNo"])
	must(t, fake.Pay(no))
	deliver(t, fake, paidNote(t, fake, no), 5, f)
	got := f.cpReg(t, c.OwnerToken, reg["id"])
	if got["status"] != "CONFIRMED" || fen(got, "paid", "amountFen") != evFee-1800 || fen(got, "couponDiscount", "amountFen") != 1800 {
		t.Fatalf("paid: %v", got)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "USED" {
		t.Fatalf("coupon after the payment: %s", st)
	}
	f.ok(t, c.OwnerToken, "cancelRegistration", evCancelIn(reg))
	if n, amount := f.refunds(t, pay["id"], "CANCELLED"); n != 1 || amount != evFee-1800 {
		t.Fatalf("refunds: %d of %d fen", n, amount)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "AVAILABLE" {
		t.Fatalf("coupon after the cancellation: %s", st)
	}
	f.seatsHeld(t, ev["id"])
}

func TestCouponReleasedWithAnUnpaidHold(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)
	f.App.Coupons.Clock = f.App.Events.Clock
	ev, now := feeEvent(t, cpDayHold, 3, f)
	c := f.owner(t, 0, 0)
	coupon := f.cpIssue(t, f.cpEventTemplate(t, 1800, 30), c)
	reg := f.register(t, c, ev["id"], map[string]any{"payWith": "WECHAT_PAY", "couponId": coupon})
	f.at(now.Add(time.Hour))
	if _, err := f.App.Events.ReleaseExpiredHolds(context.Background(), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := f.cpReg(t, c.OwnerToken, reg["id"]); got["status"] != "CANCELLED" {
		t.Fatalf("after the hold: %v", got)
	}
	if st := f.cpStatus(t, c.OwnerToken, coupon); st != "AVAILABLE" {
		t.Fatalf("coupon after the hold ended: %s", st)
	}
}

// An event's reward: staff name a template on the event; the check-in
// issues its coupon (source EVENT_REWARD) once per registration; an owner
// at the template's limit is checked in without one. Another store's
// template is refused.
func TestEventRewardCouponAtCheckIn(t *testing.T) {
	f := cpEvents(t)
	staff := f.staff(t, "events.sz01")
	start := evStart(t, cpDayReward)
	f.at(start.AddDate(0, 0, -5))
	tpl := f.cpTemplate(t, map[string]any{"amountFen": 5000, "validDays": 90, "perOwnerLimit": 1})
	in := evEventIn(f.sz, "CLASS", start, map[string]any{"rewardCouponTemplateId": e2eGlobalID("CouponTemplate", uuid.New())})
	e2eWantGQLError(t, f.call(t, staff, "createEvent", in), "NOT_FOUND")
	ev := f.publish(t, staff, evEventIn(f.sz, "CLASS", start, nil))
	upd := f.ok(t, staff, "updateEvent", map[string]any{"eventId": ev["id"], "rewardCouponTemplateId": tpl})
	if upd["id"] != ev["id"] {
		t.Fatalf("updated %v", upd)
	}
	a, b := f.owner(t, 0, 0), f.owner(t, 0, 0)
	f.cpIssue(t, tpl, b) // b holds the one allowed already
	ra := f.register(t, a, ev["id"], nil)
	rb := f.register(t, b, ev["id"], nil)
	f.at(start.Add(-time.Hour))
	f.ok(t, staff, "checkInRegistration", map[string]any{"code": ra["checkInCode"]})
	f.refused(t, staff, "checkInRegistration", map[string]any{"code": ra["checkInCode"]}, "ALREADY_CHECKED_IN", "code")
	f.ok(t, staff, "checkInRegistration", map[string]any{"code": rb["checkInCode"]})
	mine := f.cpMine(t, a.OwnerToken, "")
	if len(mine) != 1 || mine[0]["source"] != string(coupons.SourceEventReward) || mine[0]["status"] != "AVAILABLE" {
		t.Fatalf("a's coupons after the check-in: %v", mine)
	}
	if theirs := f.cpMine(t, b.OwnerToken, ""); len(theirs) != 1 || theirs[0]["source"] != "STAFF" {
		t.Fatalf("b's coupons after the check-in: %v", theirs)
	}
	// The event shows its reward to owners; a's registration names the
	// coupon it earned, b's none.
	read := f.gql(t, a.OwnerToken, `query($id: ID!) { node(id: $id) { ... on Event { rewardCouponTemplate { id amount { amountFen } } } } }`,
		map[string]any{"id": ev["id"]})
	if dig(read, "node", "rewardCouponTemplate", "id") != tpl || fen(read, "node", "rewardCouponTemplate", "amount", "amountFen") != 5000 {
		t.Fatalf("the event's reward as an owner reads it: %v", read)
	}
	rewardOf := func(token string, reg any) any {
		d := f.gql(t, token, `query($id: ID!) { node(id: $id) { ... on Registration { rewardCoupon { id source } coupon { id } } } }`,
			map[string]any{"id": reg})
		if dig(d, "node", "coupon") != nil {
			t.Fatalf("a registration without a coupon names one: %v", d)
		}
		return dig(d, "node", "rewardCoupon")
	}
	if got := rewardOf(a.OwnerToken, ra["id"]); dig(got, "id") != mine[0]["id"] || dig(got, "source") != "EVENT_REWARD" {
		t.Fatalf("a's registration's reward: %v, a holds %v", got, mine)
	}
	if got := rewardOf(b.OwnerToken, rb["id"]); got != nil {
		t.Fatalf("b's registration names a reward: %v", got)
	}
	var rewarded []events.Registration
	must(t, f.DB.Conn(context.Background()).Where("reward_coupon_id IS NOT NULL AND event_id = ?",
		wlUUID(t, wkStr(ev["id"]), "Event")).Find(&rewarded).Error)
	if len(rewarded) != 1 || rewarded[0].OwnerID != a.Owner.ID {
		t.Fatalf("rewarded registrations: %v", rewarded)
	}
}

// Owner.coupons through a list of owners: a constant number of statements
// whatever the number of owners (one page of coupons for all of them).
func TestOwnerCouponsOfAListInConstantStatements(t *testing.T) {
	f := newWorkshop(t)
	name := fmt.Sprintf("券%d", e2eNext())
	tpl := f.cpTemplate(t, map[string]any{"perOwnerLimit": 3})
	for range 6 {
		o := e2eInsertOwner(t, f.testServer, name, "SZ01")
		car := wkCar{Owner: o}
		for range 2 {
			f.cpIssue(t, tpl, car)
		}
	}
	tok := f.staff(t, "crm.sz01")
	count := func(n int, status string) int64 {
		args := "first: 5"
		if status != "" {
			args += ", status: " + status
		}
		doc := `query($s: String!, $n: Int!) { owners(search: $s, first: $n) { edges { node { id
			coupons(` + args + `) { totalCount edges { node { id status template { name } } } } } } } }`
		// The fewest of three runs: on a loaded machine a list element's
		// key can miss its loader's batch (docs/performance.md).
		statements, d := minStatements(t, f.testServer, tok, doc, map[string]any{"s": name, "n": n})
		edges := dig(d, "owners", "edges").([]any)
		if len(edges) != n {
			t.Fatalf("%d owners, want %d", len(edges), n)
		}
		for _, e := range edges {
			if got := len(dig(e, "node", "coupons", "edges").([]any)); got != 2 || wkNum(dig(e, "node", "coupons", "totalCount")) != 2 {
				t.Fatalf("an owner's coupons: %v", e)
			}
		}
		return statements
	}
	for _, st := range []string{"", "AVAILABLE"} {
		if two, six := count(2, st), count(6, st); two != six {
			t.Errorf("coupons (%q) of 2 owners: %d statements, of 6: %d", st, two, six)
		}
	}
}

// The events list with each event's reward, and me.registrations with each
// registration's coupon and reward, cost as many statements for 12 rows as
// for 2: the coupons and templates are read by id for the whole page.
func TestEventCouponsOfAListInConstantStatements(t *testing.T) {
	f := cpEvents(t)
	staff := f.staff(t, "events.sz01")
	first := evStart(t, cpDayList)
	f.at(first.AddDate(0, 0, -5))
	me := f.owner(t, 500_000, 0)
	const n = 12
	for i := range n {
		reward := f.cpTemplate(t, map[string]any{"amountFen": 1000 + i, "validDays": 90})
		ev := f.publish(t, staff, evEventIn(f.sz, "CLASS", first.Add(time.Duration(i)*time.Minute),
			map[string]any{"feeFen": 10_000, "rewardCouponTemplateId": reward}))
		coupon := f.cpIssue(t, f.cpEventTemplate(t, 500, 30), me)
		f.register(t, me, ev["id"], map[string]any{"couponId": coupon})
	}
	const list = `query($f: EventFilter, $n: Int) { events(filter: $f, first: $n) { edges { node { id
		rewardCouponTemplate { id amount { amountFen } } } } } }`
	const mineDoc = `query($n: Int) { me { registrations(first: $n) { edges { node { id
		coupon { id status template { id } } rewardCoupon { id } } } } } }`
	vars := func(k int) map[string]any {
		return map[string]any{"n": k, "f": map[string]any{"storeId": f.sz, "from": evTS(first), "to": evTS(first.Add(n * time.Minute))}}
	}
	l2, _ := minStatements(t, f.testServer, me.OwnerToken, list, vars(2))
	lN, d := minStatements(t, f.testServer, me.OwnerToken, list, vars(n))
	evs, _ := dig(d, "events", "edges").([]any)
	if len(evs) != n {
		t.Fatalf("events: %d", len(evs))
	}
	for i, e := range evs {
		if fen(e, "node", "rewardCouponTemplate", "amount", "amountFen") != int64(1000+i) {
			t.Fatalf("event %d's reward: %v", i, e)
		}
	}
	m2, _ := minStatements(t, f.testServer, me.OwnerToken, mineDoc, map[string]any{"n": 2})
	mN, d := minStatements(t, f.testServer, me.OwnerToken, mineDoc, map[string]any{"n": n})
	regs, _ := dig(d, "me", "registrations", "edges").([]any)
	if len(regs) != n {
		t.Fatalf("registrations: %d", len(regs))
	}
	for _, r := range regs {
		if dig(r, "node", "coupon", "status") != "USED" || dig(r, "node", "coupon", "template", "id") == nil || dig(r, "node", "rewardCoupon") != nil {
			t.Fatalf("registration: %v", r)
		}
	}
	if l2 != lN || m2 != mN {
		t.Fatalf("statements: events %d for 2, %d for %d; registrations %d for 2, %d for %d", l2, lN, n, m2, mN, n)
	}
	t.Logf("events with rewards: %d statements; registrations with coupons: %d", lN, mN)
}

package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/payments"
)

// Event fees paid online with WeChat Pay, end to end through the real
// server and a fake WeChat Pay: registering with WECHAT_PAY holds the
// seats; startPayment (EVENT_FEE) pays them within the hold; duplicate
// notifications on two instances confirm once; a payment arriving after the
// hold was released gets the seats back if they are free and is refunded
// whole if not; unpaid holds go to the waitlist (the job, or the payment
// sweep when a payment was open); owners racing for the last seats never
// overbook; cancellations refund to WeChat Pay.

// Days ahead of these tests' events (see events_test.go).
const (
	evDayFeePaid       = 151
	evDayFeeLate       = 153
	evDayFeeHold       = 155
	evDayFeeRace       = 157
	evDayFeeCancel     = 159
	evDayFeeStoreCance = 161
	evFee              = 8_800
)

const (
	evFeeRegDoc = `query($id: ID!) { node(id: $id) { ... on Registration { id status holdExpiresAt checkInCode
		paid { amountFen } refunded { amountFen } payment { id state amount { amountFen } } event { seatsLeft } } } }`
	evFeeStartDoc = `mutation($in: StartPaymentInput!) { startPayment(input: $in) {
		payment { id state purpose outTradeNo amount { amountFen } store { code } expiresAt }
		app { prepayId } userErrors { code field message } } }`
)

// feeFixture is a server paying through fake whose events and payments
// share the test's clock.
func feeFixture(t *testing.T, fake *authtest.FakeWeChatPay) *evFixture {
	t.Helper()
	f := newEvents(t, func(c *Config, _ *Deps) { c.WeChatPay = fakePayConfig(fake) })
	f.App.Payments.Clock = f.App.Events.Clock
	return f
}

func newFake(t *testing.T) *authtest.FakeWeChatPay {
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	return fake
}

// feeEvent publishes a class at SZ01 with the fee, capacity seats, and sets
// the clocks five days before it (registration open, before the deadline).
func feeEvent(t *testing.T, day, capacity int, servers ...*evFixture) (map[string]any, time.Time) {
	t.Helper()
	f := servers[0]
	start := evStart(t, day)
	ev := f.publish(t, f.staff(t, "events.sz01"), evEventIn(f.sz, "CLASS", start, map[string]any{"title": "线上付费讲堂",
		"capacity": capacity, "feeFen": evFee}))
	for _, s := range servers {
		s.at(start.AddDate(0, 0, -5))
	}
	return ev, start.AddDate(0, 0, -5)
}

// holdSeat registers c's owner paying with WeChat Pay: the seat is held.
func (f *evFixture) holdSeat(t *testing.T, c wkCar, ev map[string]any) map[string]any {
	t.Helper()
	r := f.register(t, c, ev["id"], map[string]any{"payWith": "WECHAT_PAY"})
	if r["status"] != "AWAITING_PAYMENT" || r["payWith"] != "WECHAT_PAY" || r["checkInCode"] != nil {
		t.Fatalf("registered %v", r)
	}
	return r
}

// startFee starts paying the registration's fee in the app.
func (f *evFixture) startFee(t *testing.T, tok string, reg any, key string) map[string]any {
	t.Helper()
	return e2ePayload(t, f.do(t, req{Query: evFeeStartDoc, Token: tok, Vars: map[string]any{"in": map[string]any{
		"purpose": "EVENT_FEE", "registrationId": reg, "tradeType": "APP", "idempotencyKey": key}}}), "startPayment")
}

// feeReg reads a registration through the API as token's holder.
func (f *evFixture) feeReg(t *testing.T, tok string, reg any) map[string]any {
	t.Helper()
	n, _ := dig(f.gql(t, tok, evFeeRegDoc, map[string]any{"id": reg}), "node").(map[string]any)
	return n
}

// paidNote builds the notification of the paid order.
func paidNote(t *testing.T, fake *authtest.FakeWeChatPay, no string) authtest.PayNotification {
	t.Helper()
	n, err := fake.NotificationFor(no, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// deliver sends n copies of note spread over the servers at once; every
// copy must be acknowledged.
func deliver(t *testing.T, fake *authtest.FakeWeChatPay, note authtest.PayNotification, copies int, servers ...*evFixture) {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, copies)
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- notifyTo(t, fake, servers[i%len(servers)].testServer, note)
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Fatalf("notification answered %d", c)
		}
	}
}

// sweep runs the payment sweep as of now. The database is shared: other
// tests' pending payments are asked about too, and this test's fake knows
// none of them (the sweep reports that and moves none of them); what the
// test checks is its own payment.
func (f *evFixture) sweep(t *testing.T, now time.Time) {
	t.Helper()
	if n, err := f.App.Payments.SweepPending(context.Background(), now); n < 1 {
		t.Fatalf("the sweep moved nothing: %v", err)
	}
}

// refunds counts the refunds of the payment with cause.
func (f *evFixture) refunds(t *testing.T, paymentGID any, cause string) (n int64, fen int64) {
	t.Helper()
	id := wlUUID(t, wkStr(paymentGID), "OnlinePayment")
	var rows []payments.Refund
	if err := f.DB.Conn(context.Background()).Where("payment_id = ? AND cause = ?", id, cause).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		fen += r.AmountFen
	}
	return int64(len(rows)), fen
}

// seatsHeld checks the event's seats_taken is the party sizes of the
// registrations holding seats (confirmed or awaiting payment), within the
// capacity, and returns it.
func (f *evFixture) seatsHeld(t *testing.T, ev any) int {
	t.Helper()
	e := f.event(t, ev)
	var held int64
	if err := f.DB.Conn(context.Background()).Model(&events.Registration{}).
		Where("event_id = ? AND status IN ?", e.ID, []events.RegStatus{events.Confirmed, events.AwaitingPayment}).
		Select("COALESCE(SUM(party_size), 0)").Scan(&held).Error; err != nil {
		t.Fatal(err)
	}
	if int(held) != e.SeatsTaken || e.SeatsTaken > e.Capacity {
		t.Fatalf("seats_taken %d, held %d, capacity %d", e.SeatsTaken, held, e.Capacity)
	}
	return e.SeatsTaken
}

// An owner pays a class's fee in the app within the hold: the seat is held
// while they pay; one payment at a time for the registration (another key
// is refused, the same key gives the same payment, nobody else can pay
// it); the notification, twenty copies on two instances at once, confirms
// the registration once.
func TestEventFeePaidWithinTheHold(t *testing.T) {
	fake := newFake(t)
	a, b := feeFixture(t, fake), feeFixture(t, fake)
	ev, now := feeEvent(t, evDayFeePaid, 2, a, b)
	c := a.owner(t, 0, 0)
	reg := a.holdSeat(t, c, ev)
	got := a.feeReg(t, c.OwnerToken, reg["id"])
	hold, _ := time.Parse(time.RFC3339Nano, wkStr(got["holdExpiresAt"]))
	if !hold.Equal(now.Add(payments.DefaultHold)) || dig(got, "event", "seatsLeft") != float64(1) || got["payment"] != nil {
		t.Fatalf("held registration %v (now %v)", got, now)
	}

	// Concurrent starts with different keys: one payment.
	starts := e2eConcurrently(8, func(i int) *gqlResponse {
		return a.do(t, req{Query: evFeeStartDoc, Token: c.OwnerToken, Vars: map[string]any{"in": map[string]any{
			"purpose": "EVENT_FEE", "registrationId": reg["id"], "tradeType": "APP", "idempotencyKey": "fee-" + string(rune('a'+i))}}})
	})
	var started map[string]any
	var key string
	for i, r := range starts {
		p := e2ePayload(t, r, "startPayment")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && started == nil:
			started, key = p, "fee-"+string(rune('a'+i))
		case len(codes) == 1 && codes[0] == "PAYMENT_IN_FLIGHT":
		default:
			t.Fatalf("start %d: %v", i, p)
		}
	}
	if started == nil {
		t.Fatal("no start accepted")
	}
	pay := started["payment"].(map[string]any)
	no := wkStr(pay["outTradeNo"])
	expires, _ := time.Parse(time.RFC3339Nano, wkStr(pay["expiresAt"]))
	if pay["purpose"] != "EVENT_FEE" || dig(pay, "amount", "amountFen") != float64(evFee) || dig(pay, "store", "code") != "SZ01" ||
		!strings.HasPrefix(no, "EF") || !expires.Equal(hold) || dig(started, "app", "prepayId") == nil {
		t.Fatalf("started %v", started)
	}
	if again := a.startFee(t, c.OwnerToken, reg["id"], key); dig(again, "payment", "id") != pay["id"] {
		t.Fatalf("the same key started %v", again)
	}
	other := a.owner(t, 0, 0)
	e2eWantGQLError(t, a.do(t, req{Query: evFeeStartDoc, Token: other.OwnerToken, Vars: map[string]any{"in": map[string]any{
		"purpose": "EVENT_FEE", "registrationId": reg["id"], "tradeType": "APP", "idempotencyKey": "x"}}}), "NOT_FOUND")
	regID := wlUUID(t, wkStr(reg["id"]), "Registration")
	if n := e2eCount(t, a.testServer, &payments.Payment{}, "reference_id = ?", regID); n != 1 {
		t.Fatalf("%d payments for the registration", n)
	}

	if err := fake.Pay(no); err != nil {
		t.Fatal(err)
	}
	deliver(t, fake, paidNote(t, fake, no), 20, a, b)
	got = a.feeReg(t, c.OwnerToken, reg["id"])
	if got["status"] != "CONFIRMED" || dig(got, "paid", "amountFen") != float64(evFee) || got["checkInCode"] == nil ||
		dig(got, "payment", "state") != "PAID" || dig(got, "event", "seatsLeft") != float64(1) {
		t.Fatalf("after the notifications %v", got)
	}
	if n := evCount(a.inboxKinds(t, c.OwnerToken), events.NotifyPromoted); n != 1 {
		t.Fatalf("%d confirmations in the inbox", n)
	}
	// Paid: no second payment.
	expectUserError(t, a.startFee(t, c.OwnerToken, reg["id"], "fee-late"), "NOT_AWAITING_PAYMENT")
	a.seatsHeld(t, ev["id"])
	a.audit(t)
}

// Payments that arrive after the hold was released (WeChat Pay took the
// money as the sweep closed the order): with the seat still free it is
// given back; with the seat gone to the waitlist the money goes back whole
// and the promoted owner keeps the seat. The hold-release job leaves a
// hold with an open payment to the sweep.
func TestEventFeePaidAfterTheHold(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)

	// A free seat: given.
	ev, now := feeEvent(t, evDayFeeLate, 2, f)
	c := f.owner(t, 0, 0)
	reg := f.holdSeat(t, c, ev)
	no := wkStr(dig(f.startFee(t, c.OwnerToken, reg["id"], "k"), "payment", "outTradeNo"))
	late := now.Add(payments.DefaultHold + time.Minute)
	f.at(late)
	ctx := context.Background()
	if n, err := f.App.Events.ReleaseExpiredHolds(ctx, late); err != nil || n != 0 {
		t.Fatalf("hold job released %d (%v) with a payment open", n, err)
	}
	f.sweep(t, late)
	if r := f.reg(t, reg["id"]); r.Status != events.Withdrawn || r.CancelReason != events.HoldReleasedReason {
		t.Fatalf("after the sweep %+v", r)
	}
	if err := fake.PayClosed(no); err != nil {
		t.Fatal(err)
	}
	deliver(t, fake, paidNote(t, fake, no), 4, f)
	got := f.feeReg(t, c.OwnerToken, reg["id"])
	if got["status"] != "CONFIRMED" || dig(got, "payment", "state") != "PAID" || dig(got, "paid", "amountFen") != float64(evFee) {
		t.Fatalf("paid after the release, seat free: %v", got)
	}
	f.seatsHeld(t, ev["id"])

	// No free seat: the waitlisted owner was promoted; the late money goes back.
	ev2, now2 := feeEvent(t, evDayFeeLate+1, 1, f)
	d := f.owner(t, 0, 0)
	held := f.holdSeat(t, d, ev2)
	w := f.owner(t, evFee, 0)
	waiting := f.register(t, w, ev2["id"], nil)
	if waiting["status"] != "WAITLISTED" {
		t.Fatalf("second owner %v", waiting)
	}
	pay := dig(f.startFee(t, d.OwnerToken, held["id"], "k"), "payment").(map[string]any)
	late2 := now2.Add(payments.DefaultHold + time.Minute)
	f.at(late2)
	if n, err := f.App.Events.ReleaseExpiredHolds(ctx, late2); err != nil || n != 0 {
		t.Fatalf("hold job released %d (%v) with a payment open", n, err)
	}
	if r := f.reg(t, waiting["id"]); r.Status != events.Waitlisted {
		t.Fatalf("promoted before the payment closed: %+v", r)
	}
	f.sweep(t, late2)
	if r := f.reg(t, waiting["id"]); r.Status != events.Confirmed || r.PaidFen != evFee {
		t.Fatalf("waitlisted owner after the sweep %+v", r)
	}
	if err := fake.PayClosed(wkStr(pay["outTradeNo"])); err != nil {
		t.Fatal(err)
	}
	deliver(t, fake, paidNote(t, fake, wkStr(pay["outTradeNo"])), 4, f)
	got = f.feeReg(t, d.OwnerToken, held["id"])
	if got["status"] != "CANCELLED" || dig(got, "payment", "state") != "REFUNDING" {
		t.Fatalf("paid after the release, no seat: %v", got)
	}
	if n, fen := f.refunds(t, pay["id"], payments.CauseNotApplicable); n != 1 || fen != evFee {
		t.Fatalf("%d refunds of %d fen", n, fen)
	}
	if r := f.reg(t, waiting["id"]); r.Status != events.Confirmed {
		t.Fatalf("the promoted owner lost the seat: %+v", r)
	}
	f.seatsHeld(t, ev2["id"])
	f.audit(t)
}

// An unpaid hold (no payment started) ends: the job releases it and
// promotes the waitlist, once however often it runs; the released owner
// can no longer pay.
func TestEventHoldExpiryPromotesTheWaitlist(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)
	ev, now := feeEvent(t, evDayFeeHold, 1, f)
	c := f.owner(t, 0, 0)
	reg := f.holdSeat(t, c, ev)
	w := f.owner(t, evFee, 0)
	waiting := f.register(t, w, ev["id"], nil)
	ctx := context.Background()
	// Not yet.
	if n, err := f.App.Events.ReleaseExpiredHolds(ctx, now.Add(payments.DefaultHold-time.Second)); err != nil || n != 0 {
		t.Fatalf("released %d before the end: %v", n, err)
	}
	late := now.Add(payments.DefaultHold)
	f.at(late)
	var wg sync.WaitGroup
	released := make(chan int64, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := f.App.Events.ReleaseExpiredHolds(ctx, late)
			if err != nil {
				t.Error(err)
			}
			released <- n
		}()
	}
	wg.Wait()
	close(released)
	var total int64
	for n := range released {
		total += n
	}
	if total != 1 {
		t.Fatalf("released %d times", total)
	}
	if r := f.reg(t, reg["id"]); r.Status != events.Withdrawn || r.CancelReason != events.HoldReleasedReason {
		t.Fatalf("expired hold %+v", r)
	}
	if r := f.reg(t, waiting["id"]); r.Status != events.Confirmed || r.PaidFen != evFee {
		t.Fatalf("waitlisted %+v", r)
	}
	expectUserError(t, f.startFee(t, c.OwnerToken, reg["id"], "k"), "NOT_AWAITING_PAYMENT")
	f.seatsHeld(t, ev["id"])
	f.audit(t)
}

// Many owners race for the last seats paying with WeChat Pay, on two
// instances: the holds never pass the capacity; the waitlist takes the
// rest. Half of the holders pay; the others' holds end and the job hands
// their seats to the waitlist, which is held for its payment in turn.
func TestEventFeeHoldsNeverOverbook(t *testing.T) {
	fake := newFake(t)
	a, b := feeFixture(t, fake), feeFixture(t, fake)
	const owners, capacity = 30, 6
	ev, now := feeEvent(t, evDayFeeRace, capacity, a, b)
	// One seat taken from the wallet first: the WeChat Pay owners race for the last five.
	first := a.owner(t, evFee, 0)
	if r := a.register(t, first, ev["id"], nil); r["status"] != "CONFIRMED" {
		t.Fatalf("first %v", r)
	}
	cars := make([]wkCar, owners)
	for i := range cars {
		cars[i] = a.owner(t, 0, 0)
	}
	rs := e2eConcurrently(owners, func(i int) *gqlResponse {
		s := []*evFixture{a, b}[i%2]
		return s.call(t, cars[i].OwnerToken, "registerForEvent", evRegIn(ev["id"], map[string]any{"payWith": "WECHAT_PAY"}))
	})
	var holders []int
	for i, r := range rs {
		p := e2ePayload(t, r, "registerForEvent")
		if codes := userErrorCodes(p); len(codes) != 0 {
			t.Fatalf("owner %d: %v", i, p)
		}
		switch dig(p, "registration", "status") {
		case "AWAITING_PAYMENT":
			holders = append(holders, i)
		case "WAITLISTED":
		default:
			t.Fatalf("owner %d: %v", i, p)
		}
	}
	if len(holders) != capacity-1 || a.seatsHeld(t, ev["id"]) != capacity {
		t.Fatalf("%d holders for %d seats", len(holders), capacity-1)
	}
	// The first half pay, at once.
	paying := holders[:len(holders)/2]
	for _, i := range paying {
		regID := a.myRegistration(t, cars[i], ev["id"])
		no := wkStr(dig(a.startFee(t, cars[i].OwnerToken, regID, "k"), "payment", "outTradeNo"))
		if err := fake.Pay(no); err != nil {
			t.Fatal(err)
		}
		deliver(t, fake, paidNote(t, fake, no), 4, a, b)
	}
	late := now.Add(payments.DefaultHold)
	a.at(late)
	b.at(late)
	var wg sync.WaitGroup
	runs := make(chan int64, 2)
	for _, s := range []*evFixture{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.App.Events.ReleaseExpiredHolds(context.Background(), late)
			if err != nil {
				t.Error(err)
			}
			runs <- n
		}()
	}
	wg.Wait()
	close(runs)
	var released int64
	for n := range runs {
		released += n
	}
	if want := int64(len(holders) - len(paying)); released != want {
		t.Fatalf("released %d holds, want %d", released, want)
	}
	e := a.event(t, ev["id"])
	var confirmed, held, waiting int64
	for st, n := range map[events.RegStatus]*int64{events.Confirmed: &confirmed, events.AwaitingPayment: &held, events.Waitlisted: &waiting} {
		*n = e2eCount(t, a.testServer, &events.Registration{}, "event_id = ? AND status = ?", e.ID, st)
	}
	if confirmed != int64(1+len(paying)) || held != released || confirmed+held != capacity || waiting != owners-int64(len(holders))-released {
		t.Fatalf("confirmed %d, held %d, waiting %d after the release", confirmed, held, waiting)
	}
	a.seatsHeld(t, ev["id"])
	a.audit(t)
}

// myRegistration is the global id of c's owner's registration for ev.
func (f *evFixture) myRegistration(t *testing.T, c wkCar, ev any) any {
	t.Helper()
	return dig(f.gql(t, c.OwnerToken, evEventDoc, map[string]any{"id": ev}), "event", "myRegistration", "id")
}

// paidSeat registers c's owner with WeChat Pay and pays the fee.
func (f *evFixture) paidSeat(t *testing.T, fake *authtest.FakeWeChatPay, c wkCar, ev map[string]any) (reg, pay map[string]any) {
	t.Helper()
	reg = f.holdSeat(t, c, ev)
	pay = dig(f.startFee(t, c.OwnerToken, reg["id"], "k"), "payment").(map[string]any)
	if err := fake.Pay(wkStr(pay["outTradeNo"])); err != nil {
		t.Fatal(err)
	}
	deliver(t, fake, paidNote(t, fake, wkStr(pay["outTradeNo"])), 1, f)
	if r := f.reg(t, reg["id"]); r.Status != events.Confirmed {
		t.Fatalf("paid seat %+v", r)
	}
	return reg, pay
}

// An owner cancelling a paid registration before the deadline is refunded
// to WeChat Pay (a refund recorded with the cancellation); after it, not.
func TestEventFeeRefundedOnCancellation(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)
	ev, _ := feeEvent(t, evDayFeeCancel, 3, f)
	c := f.owner(t, 0, 0)
	reg, pay := f.paidSeat(t, fake, c, ev)
	got := f.ok(t, c.OwnerToken, "cancelRegistration", evCancelIn(reg))
	if got["status"] != "CANCELLED" || dig(got, "refunded", "amountFen") != float64(evFee) {
		t.Fatalf("cancelled %v", got)
	}
	if n, fen := f.refunds(t, pay["id"], payments.CauseCancelled); n != 1 || fen != evFee {
		t.Fatalf("%d refunds of %d fen", n, fen)
	}
	if st := dig(f.gql(t, c.OwnerToken, paymentDoc, map[string]any{"id": pay["id"]}), "payment", "state"); st != "REFUNDING" {
		t.Fatalf("payment %v", st)
	}

	// After the deadline: no refund.
	d := f.owner(t, 0, 0)
	reg2, pay2 := f.paidSeat(t, fake, d, ev)
	e := f.event(t, ev["id"])
	f.at(e.CancellationDeadline.Add(time.Hour))
	if got := f.ok(t, d.OwnerToken, "cancelRegistration", evCancelIn(reg2)); dig(got, "refunded", "amountFen") != float64(0) {
		t.Fatalf("refunded after the deadline: %v", got)
	}
	if n, _ := f.refunds(t, pay2["id"], payments.CauseCancelled); n != 0 {
		t.Fatalf("%d refunds after the deadline", n)
	}
	f.seatsHeld(t, ev["id"])
	f.audit(t)
}

// The store cancels an event: every online-paid registration is refunded
// to WeChat Pay, the wallet-paid one to the wallet, a held seat released.
func TestStoreCancellationRefundsOnlineFees(t *testing.T) {
	fake := newFake(t)
	f := feeFixture(t, fake)
	ev, _ := feeEvent(t, evDayFeeStoreCance, 5, f)
	var pays []map[string]any
	for range 2 {
		_, pay := f.paidSeat(t, fake, f.owner(t, 0, 0), ev)
		pays = append(pays, pay)
	}
	held := f.holdSeat(t, f.owner(t, 0, 0), ev)
	w := f.owner(t, evFee, 0)
	walletReg := f.register(t, w, ev["id"], nil)
	f.ok(t, f.staff(t, "events.sz01"), "cancelEvent", map[string]any{"eventId": ev["id"], "reason": "场地维修"})
	for _, pay := range pays {
		if n, fen := f.refunds(t, pay["id"], payments.CauseCancelled); n != 1 || fen != evFee {
			t.Fatalf("%d refunds of %d fen", n, fen)
		}
	}
	if r := f.reg(t, held["id"]); r.Status != events.Withdrawn || r.RefundedFen != 0 {
		t.Fatalf("held %+v", r)
	}
	if r := f.reg(t, walletReg["id"]); r.RefundedFen != evFee {
		t.Fatalf("wallet-paid %+v", r)
	}
	if bal, _ := f.balance(t, w.Owner.ID); bal != evFee {
		t.Fatalf("wallet balance %d", bal)
	}
	if e := f.event(t, ev["id"]); e.SeatsTaken != 0 {
		t.Fatalf("seats taken %d", e.SeatsTaken)
	}
	f.audit(t)
}

package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The victim of the authorization tests: owner A, a customer of SZ01 only
// (home store SZ01, both cars sold there), with a record of every kind an
// owner has, all at SZ01, made through the API: a delivered visit (with a
// declined item, its survey and 3-day call), a car in the workshop waiting
// for A's approval, an appointment, a confirmed seat at a class, a wallet
// top-up, a roadside request and a complaint. SZ01 also has a draft event
// and a screen.
type swFixture struct {
	*crFixture
	a      *models.Owner
	aToken string
	cars   [2]wkCar // cars[0] is in the workshop, cars[1] was delivered

	order, pendingItem, delivered string // repair order and item global ids
	appointment, apptDay          string // apptDay: the appointment's store-local date
	freeSlot                      string // another free slot start at SZ01 (RFC 3339)
	event, draftEvent             string
	registration, checkInCode     string
	request, complaint            string
	screenToken, screen           string // the SZ01 screen's id and bearer token
	payment                       string // A's online top-up, still pending
	refund                        string // a refund of another top-up of A's, closed by WeChat Pay
	coupon                        string // a coupon of SZ01's issued to A
	servicePackage, ownerPackage  string // a package product of SZ01's, and one A bought
	onlinePackage                 string // a package A bought online (WeChat Pay)
}

func newSweepFixture(t *testing.T) *swFixture {
	t.Helper()
	f := &swFixture{crFixture: newCare(t)}
	f.a = e2eInsertOwner(t, f.testServer, fmt.Sprintf("扫查甲%d", e2eNext()), "SZ01")
	f.aToken = f.ownerToken(t, f.a.ID)
	for i := range f.cars {
		v := e2eInsertVehicle(t, f.testServer, f.a.ID, "SZ01")
		f.cars[i] = wkCar{ID: e2eGlobalID("Vehicle", v.ID), VIN: v.VIN, Plate: *v.Plate, Owner: f.a, OwnerToken: f.aToken}
	}
	advisor, foreman := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01")
	tech := f.staff(t, "technician1.sz01")

	// A delivered visit with a declined item; the care jobs then offer its
	// survey and schedule its 3-day call.
	number := f.wkDeliverVisit(t, f.cars[1], 12000, true)
	f.jobs(t)
	var done workshop.RepairOrder
	must(t, f.DB.Conn(t.Context()).Where("number = ?", number).Take(&done).Error)
	f.delivered = e2eGlobalID("RepairOrder", done.ID)

	// A car in the workshop, assigned to technician1, waiting for A to
	// approve extra work (which also puts a notification in A's inbox).
	o := f.open(t, advisor, f.sz, f.cars[0].Plate, 15000, "REPAIR", nil,
		wkItem("LABOR", "LAB-DIAG", "故障诊断", 1, 20000, false))
	f.order = wkStr(o["id"])
	f.wkFixture.ok(t, foreman, "assignRepairOrder", map[string]any{"orderId": f.order, "technicianId": f.techID(t), "bay": "3号工位"})
	f.move(t, tech, f.order, "DIAGNOSING", "")
	o = f.wkFixture.ok(t, tech, "addRepairOrderItem", wkAdd(f.order, wkItem("PART", "BRK-PAD", "前刹车片", 1, 68000, false), true))
	f.pendingItem = wkStr(dig(wkItemBy(t, o, "BRK-PAD"), "id"))
	// The approval request's delivery, as the outbox writes it when SMS is
	// configured (this server has no provider): its recipient and payload
	// are A's, which RepairOrder.approvalDeliveries must never show.
	var asked inbox.Notification
	must(t, f.DB.Conn(t.Context()).Take(&asked, "owner_id = ? AND kind = ?", f.a.ID, outbox.KindApprovalNeeded).Error)
	must(t, f.DB.Conn(t.Context()).Create(&outbox.Delivery{ID: models.NewID(), OwnerID: &f.a.ID, NotificationID: &asked.ID,
		Kind: outbox.KindApprovalNeeded, Channel: outbox.ChannelSMS, Recipient: f.a.Phone, Template: outbox.KindApprovalNeeded,
		Payload: `{"name":"` + f.a.Name + `"}`, DedupeKey: "notification:" + asked.ID.String() + ":SMS", Status: outbox.Failed,
		Attempts: 1, LastError: "isv.MOBILE_NUMBER_ILLEGAL", NextAttemptAt: time.Now()}).Error)

	// An appointment of the delivered car, and another slot still free.
	slots := f.freeSlots(t, 2)
	appt := f.swMutate(t, f.aToken, "bookAppointment", map[string]any{"storeId": f.sz, "vehicleId": f.cars[1].ID,
		"kind": "MAINTENANCE", "slotStart": slots[0]}, "appointment { id slotStart }")
	f.appointment = wkStr(dig(appt, "appointment", "id"))
	f.apptDay = models.DateOf(e2eTime(t, slots[0]).In(bkShanghai)).String()
	f.freeSlot = slots[1]

	// A class at SZ01 with A's seat, and a draft nobody outside the store's
	// event staff may see.
	events := f.staff(t, "events.sz01")
	start := time.Now().AddDate(0, 0, 12).Truncate(time.Hour)
	ev := f.swMutate(t, events, "createEvent", evEventIn(f.sz, "CLASS", start, map[string]any{"registrationOpensAt": evTS(time.Now().Add(-time.Hour))}), "event { id }")
	f.event = wkStr(dig(ev, "event", "id"))
	f.swMutate(t, events, "publishEvent", map[string]any{"eventId": f.event}, "event { id }")
	reg := f.swMutate(t, f.aToken, "registerForEvent", map[string]any{"eventId": f.event}, "registration { id status checkInCode }")
	f.registration, f.checkInCode = wkStr(dig(reg, "registration", "id")), wkStr(dig(reg, "registration", "checkInCode"))
	if f.checkInCode == "" {
		t.Fatalf("A's registration has no check-in code: %v", reg)
	}
	draft := f.swMutate(t, events, "createEvent", evEventIn(f.sz, "TRIP", start.AddDate(0, 0, 3), map[string]any{"title": "未发布的自驾游"}), "event { id }")
	f.draftEvent = wkStr(dig(draft, "event", "id"))

	f.swMutate(t, f.staff(t, "cashier.sz01"), "topUpWallet", map[string]any{"ownerId": e2eGlobalID("Owner", f.a.ID), "storeId": f.sz,
		"amountFen": 100000, "method": "CASH", "idempotencyKey": wlKey("sweep-topup")}, "entries { id }")
	ask := rsAsk(f.cars[1])
	ask["storeId"] = f.sz
	rq := f.swMutate(t, f.aToken, "requestAssistance", ask, "assistanceRequest { id }")
	f.request = wkStr(dig(rq, "assistanceRequest", "id"))
	c := f.swMutate(t, f.aToken, "fileComplaint", map[string]any{"category": "AFTER_SALES",
		"description": fmt.Sprintf("扫查投诉 %d：保养后异响", e2eNext()), "repairOrderId": f.delivered}, "complaint { id }")
	f.complaint = wkStr(dig(c, "complaint", "id"))

	tpl := f.swMutate(t, f.staff(t, "crm.sz01"), "createCouponTemplate", map[string]any{"storeId": f.sz, "name": "扫查保养券",
		"kind": "FIXED_OFF", "amountFen": 3000, "orderKinds": []string{"MAINTENANCE"}, "validDays": 30, "perOwnerLimit": 2}, "couponTemplate { id }")
	cp := f.swMutate(t, f.staff(t, "crm.sz01"), "issueCoupon", map[string]any{"couponTemplateId": dig(tpl, "couponTemplate", "id"),
		"ownerId": e2eGlobalID("Owner", f.a.ID)}, "coupon { id }")
	f.coupon = wkStr(dig(cp, "coupon", "id"))

	sp := f.swMutate(t, f.staff(t, "crm.sz01"), "createServicePackage", map[string]any{"storeId": f.sz, "name": "扫查保养套餐",
		"orderKind": "MAINTENANCE", "uses": 4, "priceFen": 100000, "validDays": 365}, "servicePackage { id }")
	f.servicePackage = wkStr(dig(sp, "servicePackage", "id"))
	op := f.swMutate(t, f.staff(t, "cashier.sz01"), "sellServicePackage", map[string]any{"servicePackageId": f.servicePackage,
		"ownerId": e2eGlobalID("Owner", f.a.ID), "method": "CASH", "idempotencyKey": wlKey("sweep-package")}, "package { id }")
	f.ownerPackage = wkStr(dig(op, "package", "id"))

	f.screen, f.screenToken = bdIssue(t, f.wkFixture, f.staff(t, "manager.sz01"), f.sz, "扫查车间大屏")

	// An online top-up A started in the mini-program (WeChat Pay pointed at
	// a local fake; A signed in through WeChat).
	fake := authtest.NewFakeWeChatPay()
	t.Cleanup(fake.Close)
	provider, err := payments.NewWeChatPay(*fakePayConfig(fake))
	must(t, err)
	f.App.Payments.Provider = provider
	must(t, f.DB.Conn(t.Context()).Model(f.a).Update("wechat_openid", fmt.Sprintf("oSweep%d", e2eNext())).Error)
	pay := f.swMutate(t, f.aToken, "startPayment", map[string]any{"purpose": "TOP_UP", "storeId": f.sz, "amountFen": 5000,
		"tradeType": "JSAPI", "idempotencyKey": wlKey("sweep-pay")}, "payment { id }")
	f.payment = wkStr(dig(pay, "payment", "id"))

	// Another, paid, that SZ01's manager refunded and WeChat Pay closed:
	// money owed that a manager records paid by hand.
	paid := f.swMutate(t, f.aToken, "startPayment", map[string]any{"purpose": "TOP_UP", "storeId": f.sz, "amountFen": 3000,
		"tradeType": "JSAPI", "idempotencyKey": wlKey("sweep-paid")}, "payment { id outTradeNo }")
	no := wkStr(dig(paid, "payment", "outTradeNo"))
	must(t, fake.Pay(no))
	n, err := fake.NotificationFor(no, nil)
	must(t, err)
	if c := notifyTo(t, fake, f.testServer, n); c != http.StatusNoContent {
		t.Fatalf("payment notification answered %d", c)
	}
	rf := f.swMutate(t, f.staff(t, "manager.sz01"), "refundOnlinePayment", map[string]any{"paymentId": dig(paid, "payment", "id"),
		"reason": "扫查退款", "idempotencyKey": wlKey("sweep-refund")}, "refund { id outRefundNo }")
	f.refund = wkStr(dig(rf, "refund", "id"))
	out := wkStr(dig(rf, "refund", "outRefundNo"))
	must(t, fake.SettleRefund(out, "CLOSED"))
	rn, err := fake.RefundNotificationFor(out, nil)
	must(t, err)
	if c := refundNotifyTo(t, fake, f.testServer, rn); c != http.StatusNoContent {
		t.Fatalf("refund notification answered %d", c)
	}

	// A package A bought online: a SERVICE_PACKAGE payment, paid, and the
	// package (WECHAT_PAY_ONLINE) it created.
	bought := f.swMutate(t, f.aToken, "startPayment", map[string]any{"purpose": "SERVICE_PACKAGE", "servicePackageId": f.servicePackage,
		"tradeType": "JSAPI", "idempotencyKey": wlKey("sweep-package-online")}, "payment { id outTradeNo }")
	no = wkStr(dig(bought, "payment", "outTradeNo"))
	must(t, fake.Pay(no))
	n, err = fake.NotificationFor(no, nil)
	must(t, err)
	if c := notifyTo(t, fake, f.testServer, n); c != http.StatusNoContent {
		t.Fatalf("package payment notification answered %d", c)
	}
	f.onlinePackage = wkStr(dig(f.gql(t, f.aToken, `{ me { servicePackages(first: 1) { edges { node { id paymentMethod } } } } }`, nil),
		"me", "servicePackages", "edges", 0, "node", "id"))

	// SZ01's CRM invites every customer who consents (A among them) to
	// book: an audience, a sent campaign and its invitations.
	must(t, f.DB.Conn(t.Context()).Model(f.a).Update("marketing_consent", true).Error)
	_, err = f.App.CRM.ComputeSegments(t.Context(), time.Now())
	must(t, err)
	crmTok := f.staff(t, "crm.sz01")
	au := f.swMutate(t, crmTok, "saveAudience", map[string]any{"storeId": f.sz, "name": "扫查受众", "filter": map[string]any{}}, "audience { id }")
	f.swMutate(t, crmTok, "createCampaign", map[string]any{"storeId": f.sz, "audienceId": dig(au, "audience", "id"), "name": "扫查邀约",
		"kind": "BOOKING", "serviceKind": "MAINTENANCE", "title": "保养邀约", "body": "欢迎到店保养"}, "campaign { id }")
	_, err = f.App.CRM.DispatchCampaigns(t.Context(), time.Now())
	must(t, err)
	return f
}

// swMutate runs a mutation that must be accepted and returns its payload,
// selecting sel and the userErrors.
func (f *swFixture) swMutate(t testing.TB, token, field string, in map[string]any, sel string) map[string]any {
	t.Helper()
	doc := fmt.Sprintf(`mutation($in: %sInput!) { %s(input: $in) { %s userErrors { code field message } } }`,
		strings.ToUpper(field[:1])+field[1:], field, sel)
	p := e2ePayload(t, f.do(t, req{Query: doc, Vars: map[string]any{"in": in}, Token: token}), field)
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("%s(%v) refused: %v", field, in, p)
	}
	return p
}

// freeSlots finds n MAINTENANCE slots at SZ01 with a seat left, at least
// two days ahead (other tests book the next days).
func (f *swFixture) freeSlots(t testing.TB, n int) []string {
	t.Helper()
	d := f.gql(t, "", bkSlotsDoc, map[string]any{"s": f.sz, "k": "MAINTENANCE",
		"from": testdb.Today().AddDate(0, 0, 2).String(), "to": testdb.Today().AddDate(0, 0, 25).String()})
	var out []string
	for _, s := range bkSlotsOf(t, d["availableSlots"]) {
		if s.SeatsLeft > 0 && len(out) < n {
			out = append(out, bkTS(s.Start))
		}
	}
	if len(out) < n {
		t.Fatalf("SZ01 has fewer than %d free maintenance slots", n)
	}
	return out
}

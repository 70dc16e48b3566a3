package main

import (
	"slices"
	"testing"
)

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

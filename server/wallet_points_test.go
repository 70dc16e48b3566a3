package main

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Points: earned on settlement, spent, and expired lot by lot; membership
// tiers by what was spent.

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

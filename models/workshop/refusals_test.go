package workshop_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Every refusal with its code and field; a refused request changes nothing.
func TestOpenRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, car := e.customer("周一")
	advisor := e.who("advisor.sz01")
	valid := func() workshop.OpenInput {
		return workshop.OpenInput{StoreID: e.sz.ID, Vehicle: *car.Plate, MileageIn: 10500, Kind: workshop.Repair, Items: []workshop.ItemInput{oil}}
	}
	past := e.clock.Now().Add(-time.Minute)
	for _, c := range []struct {
		name  string
		mod   func(*workshop.OpenInput)
		code  models.Code
		field string
	}{
		{"unknown kind", func(in *workshop.OpenInput) { in.Kind = "TUNING" }, models.CodeInvalidArgument, "kind"},
		{"negative mileage", func(in *workshop.OpenInput) { in.MileageIn = -1 }, models.CodeInvalidArgument, "mileageIn"},
		{"long concern", func(in *workshop.OpenInput) { in.Concern = strings.Repeat("响", 501) }, models.CodeInvalidArgument, "concern"},
		{"promised in the past", func(in *workshop.OpenInput) { in.PromisedAt = &past }, models.CodeInvalidArgument, "promisedAt"},
		{"item kind", func(in *workshop.OpenInput) { in.Items[0].Kind = "SERVICE" }, models.CodeInvalidArgument, "items[0].kind"},
		{"item without description", func(in *workshop.OpenInput) {
			in.Items = append(in.Items, workshop.ItemInput{Kind: workshop.Labor, Description: "  ", QuantityMilli: 1000})
		}, models.CodeInvalidArgument, "items[1].description"},
		{"item description too long", func(in *workshop.OpenInput) { in.Items[0].Description = strings.Repeat("油", 201) }, models.CodeInvalidArgument, "items[0].description"},
		{"zero quantity", func(in *workshop.OpenInput) { in.Items[0].QuantityMilli = 0 }, models.CodeInvalidArgument, "items[0].quantity"},
		{"huge quantity", func(in *workshop.OpenInput) { in.Items[0].QuantityMilli = 1_000_001 }, models.CodeInvalidArgument, "items[0].quantity"},
		{"negative price", func(in *workshop.OpenInput) { in.Items[0].UnitPriceFen = -1 }, models.CodeInvalidArgument, "items[0].unitPriceFen"},
		{"huge price", func(in *workshop.OpenInput) { in.Items[0].UnitPriceFen = 10_000_001 }, models.CodeInvalidArgument, "items[0].unitPriceFen"},
		{"neither plate nor VIN", func(in *workshop.OpenInput) { in.Vehicle = "ABC" }, models.CodeInvalidArgument, "vehicle"},
		{"unknown plate", func(in *workshop.OpenInput) { in.Vehicle = "粤E99999" }, models.CodeNotFound, "vehicle"},
		{"advisor is a foreman", func(in *workshop.OpenInput) { in.AdvisorID = &e.who("foreman.sz01").ID }, models.CodeInvalidArgument, "advisorId"},
		{"advisor of the other store", func(in *workshop.OpenInput) { in.AdvisorID = &e.who("advisor.gz01").ID }, models.CodeInvalidArgument, "advisorId"},
		{"mileage below the last reading", func(in *workshop.OpenInput) { in.MileageIn = 9999 }, models.CodeMileageDecreased, "mileageIn"},
		{"store the caller does not work for", func(in *workshop.OpenInput) { in.StoreID = e.gz.ID }, models.CodeForbidden, "storeId"},
	} {
		in := valid()
		in.Items = append([]workshop.ItemInput(nil), in.Items...)
		c.mod(&in)
		_, err := e.svc.Open(e.ctx, advisor, in)
		if err == nil {
			t.Errorf("%s: opened", c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code, c.field) })
	}
	_, err := e.svc.Open(e.ctx, e.who("admin"), workshop.OpenInput{StoreID: uuid.New(), Vehicle: *car.Plate, MileageIn: 10500, Kind: workshop.Repair})
	wantCode(t, err, models.CodeNotFound, "storeId")
	_, err = e.svc.Open(e.ctx, nil, valid())
	wantCode(t, err, models.CodeUnauthenticated, "")
	_, err = e.svc.Open(e.ctx, e.who("technician1.sz01"), valid())
	wantCode(t, err, models.CodeForbidden, "")
	if n := e.countRows(&workshop.RepairOrder{}, "vehicle_id = ?", car.ID); n != 0 {
		t.Fatalf("refusals opened %d orders", n)
	}
	var v models.Vehicle
	must(t, e.db.Conn(e.ctx).Where("id = ?", car.ID).Take(&v).Error)
	if v.MileageKm != 10000 {
		t.Errorf("refusals changed the mileage to %d", v.MileageKm)
	}

	// By VIN, with another advisor of the store and no items.
	o, err := e.svc.Open(e.ctx, e.who("manager.sz01"), workshop.OpenInput{StoreID: e.sz.ID, Vehicle: strings.ToLower(car.VIN), MileageIn: 10000,
		Kind: workshop.Repair, AdvisorID: &advisor.ID, FirstFreeMaintenance: true})
	must(t, err)
	if o.AdvisorID != advisor.ID || !o.FirstFreeMaintenance || len(e.items(o)) != 0 {
		t.Errorf("opened by VIN %+v", o)
	}
	_, err = e.svc.Open(e.ctx, advisor, valid())
	wantCode(t, err, workshop.CodeVehicleInWorkshop, "vehicle")
}

func TestItemRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	advisor, tech := e.who("advisor.sz01"), e.who("technician1.sz01")
	owner, car := e.customer("吴二")
	o := e.open(car)

	_, err := e.svc.AddItem(e.ctx, advisor, o.ID, workshop.ItemInput{Kind: workshop.Part, Code: strings.Repeat("X", 41), Description: "x", QuantityMilli: 1}, false, nil)
	wantCode(t, err, models.CodeInvalidArgument, "item.code")
	_, err = e.svc.AddItem(e.ctx, advisor, o.ID, workshop.ItemInput{Kind: workshop.Part, Description: "", QuantityMilli: 1}, false, nil)
	wantCode(t, err, models.CodeInvalidArgument, "item.description")
	_, err = e.svc.AddItem(e.ctx, advisor, o.ID, pads, true, nil)
	wantCode(t, err, workshop.CodeInvalidTransition, "") // nothing to wait for at check-in
	_, err = e.svc.AddItem(e.ctx, advisor, o.ID, pads, false, ptr(o.Version+1))
	wantCode(t, err, models.CodeConflict, "expectedVersion")
	_, err = e.svc.AddItem(e.ctx, tech, o.ID, pads, true, nil)
	wantCode(t, err, workshop.CodeNotYourJob, "")
	_, err = e.svc.AddItem(e.ctx, tech, o.ID, pads, false, nil)
	wantCode(t, err, models.CodeForbidden, "needsApproval")
	_, err = e.svc.AddItem(e.ctx, e.who("crm.sz01"), o.ID, pads, false, nil)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.RemoveItem(e.ctx, advisor, uuid.New(), nil)
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.RemoveItem(e.ctx, tech, e.items(o)[0].ID, nil)
	wantCode(t, err, models.CodeForbidden, "")
	if got := e.reload(o); got.Version != 1 || len(e.items(o)) != 2 {
		t.Fatalf("refusals changed the order: version %d, %d items", got.Version, len(e.items(o)))
	}

	// Decided items are kept; items of a settled order stay.
	_, err = e.svc.Assign(e.ctx, e.who("foreman.sz01"), o.ID, &tech.ID, nil, nil)
	must(t, err)
	o = e.move(o, workshop.Diagnosing, "")
	o, err = e.svc.AddItem(e.ctx, tech, o.ID, pads, true, nil)
	must(t, err)
	o, err = e.svc.AddItem(e.ctx, tech, o.ID, wiper, true, nil)
	must(t, err)
	its := e.items(o)
	o, err = e.svc.Decide(e.ctx, ownerOf(owner), o.ID, []workshop.Decision{{ItemID: its[2].ID, Approve: true}, {ItemID: its[3].ID}})
	must(t, err)
	for _, it := range its[2:] {
		_, err = e.svc.RemoveItem(e.ctx, advisor, it.ID, nil)
		wantCode(t, err, workshop.CodeItemDecided, "")
	}
	for _, to := range []workshop.Status{workshop.InProgress, workshop.QualityCheck} {
		o = e.move(o, to, "")
	}
	_, err = e.svc.RemoveItem(e.ctx, advisor, its[0].ID, nil)
	wantCode(t, err, workshop.CodeItemWorkStarted, "")
	_, err = e.svc.Settle(e.ctx, advisor, workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: 41160 + 18000 + 68000}}})
	must(t, err)
	_, err = e.svc.AddItem(e.ctx, advisor, o.ID, wiper, false, nil)
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	_, err = e.svc.Move(e.ctx, advisor, o.ID, workshop.Cancelled, "客户不要了", nil, "")
	wantCode(t, err, workshop.CodeAlreadySettled, "")
	o = e.move(o, workshop.ReadyForPickup, "")
	o = e.move(o, workshop.Delivered, "")
	_, err = e.svc.RemoveItem(e.ctx, advisor, its[1].ID, nil)
	wantCode(t, err, workshop.CodeOrderClosed, "")
	_, err = e.svc.AddItem(e.ctx, advisor, o.ID, wiper, false, nil)
	wantCode(t, err, workshop.CodeOrderClosed, "")
}

func TestAssignRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	foreman := e.who("foreman.sz01")
	_, car := e.customer("郑三")
	o := e.open(car)
	for _, c := range []struct {
		name  string
		tech  *uuid.UUID
		bay   *string
		field string
	}{
		{"nothing", nil, nil, "technicianId"},
		{"an advisor", &e.who("advisor.sz01").ID, nil, "technicianId"},
		{"the other store's technician", &e.who("technician1.gz01").ID, nil, "technicianId"},
		{"unknown", ptr(uuid.New()), nil, "technicianId"},
		{"long bay", nil, ptr(strings.Repeat("位", 21)), "bay"},
	} {
		_, err := e.svc.Assign(e.ctx, foreman, o.ID, c.tech, c.bay, nil)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, models.CodeInvalidArgument, c.field) })
	}
	// An inactive technician cannot be assigned.
	idle := e.person("idle.sz01", []uuid.UUID{e.sz.ID}, "TECHNICIAN")
	must(t, e.db.Conn(e.ctx).Model(&models.Staff{}).Where("id = ?", idle.ID).Update("active", false).Error)
	_, err := e.svc.Assign(e.ctx, foreman, o.ID, &idle.ID, nil, nil)
	wantCode(t, err, models.CodeInvalidArgument, "technicianId")
	_, err = e.svc.Assign(e.ctx, e.who("technician1.sz01"), o.ID, &e.who("technician1.sz01").ID, nil, nil)
	wantCode(t, err, models.CodeForbidden, "")

	tech := e.who("technician2.sz01")
	o, err = e.svc.Assign(e.ctx, foreman, o.ID, &tech.ID, ptr(" 5号工位 "), nil)
	must(t, err)
	if *o.TechnicianID != tech.ID || *o.Bay != "5号工位" {
		t.Fatalf("assigned %+v", o)
	}
	o, err = e.svc.Assign(e.ctx, foreman, o.ID, nil, ptr("6号工位"), nil)
	must(t, err)
	if o.TechnicianID == nil || *o.Bay != "6号工位" {
		t.Fatalf("a bay change dropped the technician: %+v", o)
	}
	o, err = e.svc.Assign(e.ctx, foreman, o.ID, &uuid.Nil, ptr(""), nil)
	must(t, err)
	if o.TechnicianID != nil || o.Bay != nil {
		t.Fatalf("unassigned %+v", o)
	}
	o = e.move(o, workshop.Cancelled, "客户改期")
	_, err = e.svc.Assign(e.ctx, foreman, o.ID, &tech.ID, nil, nil)
	wantCode(t, err, workshop.CodeOrderClosed, "")
}

func TestMoveRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	foreman := e.who("foreman.sz01")
	_, car := e.customer("冯四")
	o := e.open(car)
	_, err := e.svc.Move(e.ctx, foreman, o.ID, workshop.QualityCheck, "", nil, "")
	wantCode(t, err, workshop.CodeInvalidTransition, "")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, workshop.Delivered, "", nil, "")
	wantCode(t, err, workshop.CodeInvalidTransition, "")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, "PARKED", "", nil, "")
	wantCode(t, err, models.CodeInvalidArgument, "to")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, workshop.Diagnosing, strings.Repeat("注", 501), nil, "")
	wantCode(t, err, models.CodeInvalidArgument, "note")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, workshop.Cancelled, "   ", nil, "")
	wantCode(t, err, workshop.CodeReasonRequired, "note")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, workshop.Diagnosing, "", ptr(7), "")
	wantCode(t, err, models.CodeConflict, "expectedVersion")
	_, err = e.svc.Move(e.ctx, foreman, uuid.New(), workshop.Diagnosing, "", nil, "")
	wantCode(t, err, models.CodeNotFound, "")
	if got := e.reload(o); got.Version != 1 || got.Status != workshop.CheckedIn || len(e.events(o)) != 1 {
		t.Fatalf("refused moves changed the order: %+v", got)
	}
	o = e.move(o, workshop.InProgress, "")
	o = e.move(o, workshop.QualityCheck, "")
	o = e.move(o, workshop.ReadyForPickup, "")
	_, err = e.svc.Move(e.ctx, foreman, o.ID, workshop.Delivered, "", nil, "")
	wantCode(t, err, workshop.CodeNotSettled, "")
	o = e.move(o, workshop.Cancelled, "客户车辆已拖走")
	for _, to := range []workshop.Status{workshop.Delivered, workshop.InProgress, workshop.Cancelled} {
		_, err = e.svc.Move(e.ctx, foreman, o.ID, to, "再试", nil, "")
		wantCode(t, err, workshop.CodeOrderClosed, "")
	}
}

func TestSettleRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cashier := e.who("cashier.sz01")
	_, car := e.customer("陈五")
	o := e.open(car)
	const payable = 41160 + 18000
	card := func(amount int64) []workshop.PaymentInput {
		return []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: amount, Reference: "POS-1"}}
	}
	_, err := e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: card(payable)})
	wantCode(t, err, workshop.CodeWorkNotFinished, "")
	o = e.move(o, workshop.InProgress, "")
	_, err = e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: card(payable)})
	wantCode(t, err, workshop.CodeWorkNotFinished, "")
	o = e.move(o, workshop.QualityCheck, "")

	today := models.DateOf(e.clock.Now().In(e.sz.Location()))
	for _, c := range []struct {
		name  string
		in    workshop.SettleInput
		code  models.Code
		field string
	}{
		{"empty wallet", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.Wallet, AmountFen: payable}}}, wallet.CodeInsufficientBalance, "payments[0].amountFen"},
		{"points over half", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: 100}, {Method: workshop.Points, AmountFen: payable - 100, Points: payable - 100}}}, wallet.CodePointsOverCap, "payments[1].points"},
		{"unknown method", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: "CHEQUE", AmountFen: payable}}}, models.CodeInvalidArgument, "payments[0].method"},
		{"zero amount", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: 0}}}, models.CodeInvalidArgument, "payments[0].amountFen"},
		{"negative amount", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: payable + 1}, {Method: workshop.Cash, AmountFen: -1}}}, models.CodeInvalidArgument, "payments[1].amountFen"},
		{"card without reference", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: payable, Reference: " "}}}, models.CodeInvalidArgument, "payments[0].reference"},
		{"alipay without reference", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.Alipay, AmountFen: payable}}}, models.CodeInvalidArgument, "payments[0].reference"},
		{"points on a card", workshop.SettleInput{Payments: []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: payable, Reference: "x", Points: 5}}}, models.CodeInvalidArgument, "payments[0].points"},
		{"too many payments", workshop.SettleInput{Payments: make([]workshop.PaymentInput, 11)}, models.CodeInvalidArgument, "payments"},
		{"short", workshop.SettleInput{Payments: card(payable - 1)}, workshop.CodePaymentsDoNotAddUp, "payments"},
		{"over", workshop.SettleInput{Payments: card(payable + 1)}, workshop.CodePaymentsDoNotAddUp, "payments"},
		{"nothing", workshop.SettleInput{}, workshop.CodePaymentsDoNotAddUp, "payments"},
		{"next service today", workshop.SettleInput{Payments: card(payable), NextServiceDate: &today}, models.CodeInvalidArgument, "nextServiceDate"},
		{"next service in ten years", workshop.SettleInput{Payments: card(payable), NextServiceDate: ptr(today.AddDate(10, 0, 0))}, models.CodeInvalidArgument, "nextServiceDate"},
		{"next service km below mileage", workshop.SettleInput{Payments: card(payable), NextServiceKm: ptr(o.MileageIn)}, models.CodeInvalidArgument, "nextServiceKm"},
	} {
		c.in.OrderID = o.ID
		_, err := e.svc.Settle(e.ctx, cashier, c.in)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code, c.field) })
	}
	_, err = e.svc.Settle(e.ctx, e.who("foreman.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: card(payable)})
	wantCode(t, err, models.CodeForbidden, "")
	if got := e.reload(o); got.SettledAt != nil || got.Version != o.Version || e.countRows(&workshop.Payment{}, "order_id = ?", o.ID) != 0 {
		t.Fatalf("refused settlements changed the order: %+v", got)
	}
	// Given next service due is kept.
	next := today.AddDate(0, 3, 0)
	o, err = e.svc.Settle(e.ctx, e.who("manager.sz01"), workshop.SettleInput{OrderID: o.ID, Payments: []workshop.PaymentInput{
		{Method: workshop.Alipay, AmountFen: 50000, Reference: "2088000111"}, {Method: workshop.Cash, AmountFen: payable - 50000},
	}, NextServiceDate: &next, NextServiceKm: ptr(o.MileageIn + 3000)})
	must(t, err)
	if *o.NextServiceDate != next || *o.NextServiceKm != o.MileageIn+3000 {
		t.Errorf("next service %v %v", o.NextServiceDate, o.NextServiceKm)
	}
	_, err = e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o.ID, Payments: card(payable)})
	wantCode(t, err, workshop.CodeAlreadySettled, "")

	// A cancelled order cannot be settled.
	_, car2 := e.customer("褚六")
	o2 := e.open(car2)
	o2 = e.move(o2, workshop.Cancelled, "客户改期")
	_, err = e.svc.Settle(e.ctx, cashier, workshop.SettleInput{OrderID: o2.ID, Payments: card(payable)})
	wantCode(t, err, workshop.CodeOrderClosed, "")
}

// The configured maintenance interval of a car sets its next service due.
func TestSettleUsesVehicleInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, car := e.customer("卫七")
	must(t, e.db.Conn(e.ctx).Model(&models.Vehicle{}).Where("id = ?", car.ID).
		Updates(map[string]any{"service_interval_months": 12, "service_interval_km": 10000}).Error)
	o := e.open(car, func(in *workshop.OpenInput) { in.Items = nil })
	o = e.move(o, workshop.InProgress, "")
	o = e.move(o, workshop.QualityCheck, "")
	o, err := e.svc.Settle(e.ctx, e.who("advisor.sz01"), workshop.SettleInput{OrderID: o.ID})
	must(t, err)
	today := models.DateOf(e.clock.Now().In(e.sz.Location()))
	if *o.NextServiceDate != today.AddDate(1, 0, 0) || *o.NextServiceKm != o.MileageIn+10000 {
		t.Errorf("next service %v / %v km", *o.NextServiceDate, *o.NextServiceKm)
	}
}

func TestDecideRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, car := e.customer("蒋八")
	other, otherCar := e.customer("沈九")
	o := e.open(car)
	o = e.move(o, workshop.InProgress, "")
	o, err := e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, pads, true, nil)
	must(t, err)
	its := e.items(o)
	pending := its[2].ID
	o2 := e.open(otherCar)
	o2 = e.move(o2, workshop.InProgress, "")
	o2, err = e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o2.ID, wiper, true, nil)
	must(t, err)
	foreign := e.items(o2)[2].ID

	me := ownerOf(owner)
	_, err = e.svc.Decide(e.ctx, me, o.ID, nil)
	wantCode(t, err, models.CodeInvalidArgument, "decisions")
	_, err = e.svc.Decide(e.ctx, me, o.ID, []workshop.Decision{{ItemID: pending, Approve: true}, {ItemID: pending}})
	wantCode(t, err, models.CodeInvalidArgument, "decisions[1].itemId")
	_, err = e.svc.Decide(e.ctx, me, o.ID, []workshop.Decision{{ItemID: pending, Approve: true}, {ItemID: its[0].ID, Approve: true}})
	wantCode(t, err, workshop.CodeItemNotPending, "decisions[1].itemId")
	_, err = e.svc.Decide(e.ctx, me, o.ID, []workshop.Decision{{ItemID: foreign, Approve: true}})
	wantCode(t, err, workshop.CodeItemNotPending, "decisions[0].itemId")
	_, err = e.svc.Decide(e.ctx, ownerOf(other), o.ID, []workshop.Decision{{ItemID: pending, Approve: true}})
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.Decide(e.ctx, e.who("advisor.sz01"), o.ID, []workshop.Decision{{ItemID: pending, Approve: true}})
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.Decide(e.ctx, nil, o.ID, []workshop.Decision{{ItemID: pending, Approve: true}})
	wantCode(t, err, models.CodeUnauthenticated, "")
	if got := e.reload(o); got.Status != workshop.AwaitingApproval || got.Version != o.Version || e.items(o)[2].Approval != workshop.Pending {
		t.Fatalf("refused decisions changed the order: %+v", got)
	}
	o, err = e.svc.Decide(e.ctx, me, o.ID, []workshop.Decision{{ItemID: pending, Approve: true}})
	must(t, err)
	if o.Status != workshop.InProgress || e.items(o)[2].WorkStartedAt == nil {
		t.Fatalf("approved work did not start: %s", o.Status)
	}
	_, err = e.svc.Decide(e.ctx, me, o.ID, []workshop.Decision{{ItemID: pending, Approve: false}})
	wantCode(t, err, workshop.CodeItemNotPending, "decisions[0].itemId")
}

package workshop_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// deliver takes a car through a paid visit and returns the order.
func (e *env) deliver(car *models.Vehicle, km int) *workshop.RepairOrder {
	e.t.Helper()
	o := e.open(car, func(in *workshop.OpenInput) { in.MileageIn = km })
	for _, to := range []workshop.Status{workshop.InProgress, workshop.QualityCheck, workshop.ReadyForPickup} {
		o = e.move(o, to, "")
	}
	_, err := e.svc.Settle(e.ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: o.ID,
		Payments: []workshop.PaymentInput{{Method: workshop.WeChatPay, AmountFen: 41160 + 18000, Reference: "4200000001"}}})
	must(e.t, err)
	o = e.move(o, workshop.Delivered, "")
	e.clock.Advance(24 * time.Hour)
	return o
}

func TestServiceHistory(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	_, car := e.customer("老客户")
	_, car2 := e.customer("另一位")
	_, fresh := e.customer("新客户")
	var orders []*workshop.RepairOrder
	for i := range 5 {
		orders = append(orders, e.deliver(car, 11000+i*5000))
	}
	other := e.deliver(car2, 20000)
	// Open and cancelled orders are not history.
	e.open(car, func(in *workshop.OpenInput) { in.MileageIn = 40000 })
	c := e.open(car2, func(in *workshop.OpenInput) { in.MileageIn = 21000 })
	e.move(c, workshop.Cancelled, "客户取消")

	newest := func(i int) uuid.UUID { return orders[len(orders)-1-i].ID }
	k1 := workshop.HistoryKey{VehicleID: car.ID, First: 2}
	k2 := workshop.HistoryKey{VehicleID: car2.ID, First: 10}
	k3 := workshop.HistoryKey{VehicleID: fresh.ID, First: 10}
	var got map[workshop.HistoryKey]workshop.HistoryPage
	var err error
	n := e.statements(func() { got, err = e.svc.ServiceHistory(e.ctx, []workshop.HistoryKey{k1, k2, k3, k1}) })
	must(t, err)
	if n != 1 {
		t.Errorf("ServiceHistory ran %d statements; want 1", n)
	}
	p := got[k1]
	if len(p.Orders) != 2 || p.Orders[0].ID != newest(0) || p.Orders[1].ID != newest(1) || !p.HasNext || p.Total != 5 {
		t.Fatalf("first page %+v", p)
	}
	if p := got[k2]; len(p.Orders) != 1 || p.Orders[0].ID != other.ID || p.HasNext || p.Total != 1 {
		t.Fatalf("other car %+v", p)
	}
	if p := got[k3]; len(p.Orders) != 0 || p.Orders == nil || p.HasNext || p.Total != 0 {
		t.Fatalf("car without history %+v", p)
	}

	// Keyset pages after the cursor; a second page of the same car in the
	// same batch costs one more statement.
	k4 := workshop.HistoryKey{VehicleID: car.ID, First: 2, After: models.Cursor{ID: newest(1)}}
	k5 := workshop.HistoryKey{VehicleID: car.ID, First: 2, After: models.Cursor{ID: newest(3)}}
	n = e.statements(func() { got, err = e.svc.ServiceHistory(e.ctx, []workshop.HistoryKey{k1, k4, k5, k2}) })
	must(t, err)
	if n != 3 {
		t.Errorf("ServiceHistory with three pages of one car ran %d statements; want 3", n)
	}
	if p := got[k4]; len(p.Orders) != 2 || p.Orders[0].ID != newest(2) || p.Orders[1].ID != newest(3) || !p.HasNext || p.Total != 5 {
		t.Fatalf("second page %+v", p)
	}
	if p := got[k5]; len(p.Orders) != 1 || p.Orders[0].ID != newest(4) || p.HasNext {
		t.Fatalf("last page %+v", p)
	}
	if p := got[k1]; len(p.Orders) != 2 || p.Orders[0].ID != newest(0) {
		t.Fatalf("first page in a mixed batch %+v", p)
	}
	// A page past the end is empty and still has the total.
	k6 := workshop.HistoryKey{VehicleID: car.ID, First: 2, After: models.Cursor{ID: newest(4)}}
	got, err = e.svc.ServiceHistory(e.ctx, []workshop.HistoryKey{k6})
	must(t, err)
	if p := got[k6]; len(p.Orders) != 0 || p.Orders == nil || p.HasNext || p.Total != 5 {
		t.Errorf("page past the end %+v", p)
	}
	// First outside 1..100 is refused like on every list, not read as 20.
	for _, first := range []int{0, 101} {
		bad := workshop.HistoryKey{VehicleID: car.ID, First: first}
		got, err = e.svc.ServiceHistory(e.ctx, []workshop.HistoryKey{bad, k1})
		must(t, err)
		if codeOf(got[bad].Err) != models.CodeInvalidArgument || len(got[k1].Orders) != 2 {
			t.Errorf("first %d: %+v", first, got)
		}
	}
	if got, err := e.svc.ServiceHistory(e.ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no keys: %v, %v", got, err)
	}

	last, err := e.svc.LastServiceByVehicleIDs(e.ctx, []uuid.UUID{car.ID, car2.ID, fresh.ID})
	must(t, err)
	if len(last) != 2 || last[car.ID].ID != newest(0) || last[car2.ID].ID != other.ID {
		t.Errorf("last services %+v", last)
	}
}

// Every batch load runs one statement whatever the number of keys.
func TestBatchLoads(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	var orders []*workshop.RepairOrder
	must(t, e.db.Conn(e.ctx).Find(&orders).Error)
	var vehicles []*models.Vehicle
	must(t, e.db.Conn(e.ctx).Find(&vehicles).Error)
	var staffIDs []uuid.UUID
	must(t, e.db.Conn(e.ctx).Model(&models.Staff{}).Pluck("id", &staffIDs).Error)
	orderIDs := make([]uuid.UUID, len(orders))
	for i, o := range orders {
		orderIDs[i] = o.ID
	}
	vehicleIDs := make([]uuid.UUID, len(vehicles))
	for i, v := range vehicles {
		vehicleIDs[i] = v.ID
	}
	if len(orders) < 50 || len(vehicles) < 30 {
		t.Fatalf("demo has %d orders, %d vehicles", len(orders), len(vehicles))
	}
	for name, load := range map[string]func(ids []uuid.UUID) (int, error){
		"items": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.ItemsByOrderIDs(e.ctx, ids)
			for _, items := range m {
				for i := 1; i < len(items); i++ {
					if items[i].ID.String() < items[i-1].ID.String() {
						t.Error("items not ordered by id")
					}
				}
			}
			return len(m), err
		},
		"events": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.EventsByOrderIDs(e.ctx, ids)
			for _, evs := range m {
				if evs[0].FromStatus != nil || evs[0].ToStatus != workshop.CheckedIn {
					t.Error("timeline does not start with the check-in")
				}
			}
			return len(m), err
		},
		"payments": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.PaymentsByOrderIDs(e.ctx, ids)
			return len(m), err
		},
		"orders": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.OrdersByIDs(e.ctx, ids)
			return len(m), err
		},
	} {
		var got int
		var err error
		n := e.statements(func() { got, err = load(orderIDs) })
		must(t, err)
		if n != 1 || got == 0 {
			t.Errorf("%s: %d statements for %d orders (%d with rows)", name, n, len(orderIDs), got)
		}
		if n := e.statements(func() { _, _ = load(nil) }); n != 0 {
			t.Errorf("%s of nothing ran %d statements", name, n)
		}
	}
	for name, load := range map[string]func(ids []uuid.UUID) (int, error){
		"active": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.ActiveOrdersByVehicleIDs(e.ctx, ids)
			for _, o := range m {
				if o.Status.Closed() {
					t.Errorf("active order %s is %s", o.Number, o.Status)
				}
			}
			return len(m), err
		},
		"last service": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.LastServiceByVehicleIDs(e.ctx, ids)
			for _, o := range m {
				if o.Status != workshop.Delivered {
					t.Errorf("last service %s is %s", o.Number, o.Status)
				}
			}
			return len(m), err
		},
		"recommendations": func(ids []uuid.UUID) (int, error) {
			m, err := e.svc.RecommendationsByVehicleIDs(e.ctx, ids)
			for _, items := range m {
				for i, it := range items {
					if it.Approval != workshop.Declined || (i > 0 && it.ID.String() > items[i-1].ID.String()) {
						t.Errorf("recommendation %+v out of place", it)
					}
				}
			}
			return len(m), err
		},
	} {
		var got int
		var err error
		n := e.statements(func() { got, err = load(vehicleIDs) })
		must(t, err)
		if n != 1 || got == 0 {
			t.Errorf("%s: %d statements for %d vehicles (%d with rows)", name, n, len(vehicleIDs), got)
		}
	}
	var names map[uuid.UUID]string
	n := e.statements(func() { names, _ = e.svc.StaffNames(e.ctx, staffIDs) })
	if n != 1 || len(names) != len(staffIDs) || names[e.who("advisor.sz01").ID] != "李明" {
		t.Errorf("StaffNames: %d statements, %d names", n, len(names))
	}
}

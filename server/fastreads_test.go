package main

import (
	"testing"
)

// The owner's home screen takes at most 4 statements on either database,
// whatever the number of cars, and the same for one car as for five.
func TestHomeScreenStatements(t *testing.T) {
	f := newWorkshop(t)
	single := f.newCar(t, "")
	f.wkDeliverVisit(t, single, 1000, false)

	multi := f.newCar(t, "")
	cars := []wkCar{multi}
	for range 4 {
		cars = append(cars, f.newCar(t, multi.Owner.Phone))
	}
	for i, c := range cars {
		f.wkDeliverVisit(t, c, 1000+i, i%2 == 0)
		if i < 3 {
			f.open(t, f.staff(t, "advisor.sz01"), f.sz, c.Plate, 9000+i, "REPAIR", nil, wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false))
		}
	}
	shape := func(d map[string]any) (cars, served, active int) {
		if dig(d, "me", "homeStore", "name") == nil || dig(d, "me", "membership", "tier") == nil {
			t.Fatalf("home without store or membership: %v", d)
		}
		for _, e := range dig(d, "me", "vehicles", "edges").([]any) {
			cars++
			if dig(e, "node", "lastService", "totals", "total", "amountFen") != nil {
				served++
			}
			if dig(e, "node", "activeRepairOrder", "status") != nil {
				active++
			}
		}
		return
	}
	one, d1 := minStatements(t, f.testServer, single.OwnerToken, homeQuery, nil)
	if c, s, a := shape(d1); c != 1 || s != 1 || a != 0 {
		t.Fatalf("one car: %d cars, %d served, %d active: %v", c, s, a, d1)
	}
	five, d5 := minStatements(t, f.testServer, multi.OwnerToken, homeQuery, nil)
	if c, s, a := shape(d5); c != 5 || s != 5 || a != 3 {
		t.Fatalf("five cars: %d cars, %d served, %d active: %v", c, s, a, d5)
	}
	t.Logf("home screen statements: %d for one car, %d for five", one, five)
	if five != one {
		t.Errorf("home screen: %d statements for one car, %d for five", one, five)
	}
	if five > 4 {
		t.Errorf("home screen took %d statements, budget 4", five)
	}
}

// The totals the home screen reads up front with the cars' orders are the
// ones the order's items and payments add up to.
func TestHomeScreenTotalsAreTheOrders(t *testing.T) {
	f := newWorkshop(t)
	car := f.newCar(t, "")
	f.wkDeliverVisit(t, car, 1000, true)
	f.open(t, f.staff(t, "advisor.sz01"), f.sz, car.Plate, 2000, "REPAIR", nil,
		wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false), wkItem("PART", "HU", "中控显示屏", 1, 352000, true))
	const totals = `totals { total { amountFen } warrantyCovered { amountFen } payable { amountFen } paid { amountFen } pendingApproval { amountFen } declined { amountFen } }`
	d := f.gql(t, car.OwnerToken, `{ me { vehicles { edges { node { lastService { id `+totals+` } activeRepairOrder { id `+totals+` } } } } } }`, nil)
	for _, field := range []string{"lastService", "activeRepairOrder"} {
		o := dig(d, "me", "vehicles", "edges", 0, "node", field)
		if o == nil {
			t.Fatalf("no %s: %v", field, d)
		}
		one := f.gql(t, car.OwnerToken, `query($id: ID!) { repairOrder(id: $id) { `+totals+` } }`, map[string]any{"id": dig(o, "id")})
		if !equalJSON(dig(o, "totals"), dig(one, "repairOrder", "totals")) {
			t.Errorf("%s totals on the home screen %v, from its items %v", field, dig(o, "totals"), dig(one, "repairOrder", "totals"))
		}
		if dig(o, "totals", "total", "amountFen") == float64(0) {
			t.Errorf("%s without a total: %v", field, o)
		}
	}
}

// A deferred fragment (@defer) is resolved by gqlgen after the rest, or
// not at all, and the HTTP transport answers with the first part: the
// loaders' scheduler cannot follow it, so such an operation batches by time
// and is answered all the same (TestMain checks no operation ended with its
// count wrong).
func TestDeferredFragmentsAreAnswered(t *testing.T) {
	f := newWorkshop(t)
	c := f.newCar(t, "")
	f.wkDeliverVisit(t, c, 1000, false)
	r := f.do(t, req{Token: c.OwnerToken, Query: `{ me { name vehicles(first: 5) { edges { node { plate lastService { number } } } }
		... @defer { homeStore { name } } } }`})
	if r.Status != 200 || len(r.Data) == 0 {
		t.Fatalf("a query with @defer: %d %s", r.Status, r.Raw)
	}
	if dig(r.Data, "me", "vehicles", "edges") == nil {
		t.Fatalf("a query with @defer lost its data: %s", r.Raw)
	}
}

package workshop_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// run calls fn from n goroutines released at once and returns their errors.
func run(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func codeOf(err error) models.Code {
	var me *models.Error
	if errors.As(err, &me) {
		return me.Code
	}
	if err != nil {
		return "OTHER: " + models.Code(err.Error())
	}
	return ""
}

// Orders opened at once at one store on one day get the numbers 001..020.
func TestConcurrentOpenNumbers(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	// A day of its own, past the demo's orders of today.
	e.clock.Advance(72 * time.Hour)
	day := e.clock.Now().In(e.sz.Location()).Format("20060102")
	const n = 20
	cars := make([]string, n)
	for i := range cars {
		_, v := e.customer(fmt.Sprintf("客户%d", i))
		cars[i] = *v.Plate
	}
	numbers := make([]string, n)
	errs := run(n, func(i int) error {
		o, err := e.svc.Open(e.ctx, e.who("advisor.sz01"), workshop.OpenInput{StoreID: e.sz.ID, Vehicle: cars[i], MileageIn: 20000, Kind: workshop.Maintenance})
		if err == nil {
			numbers[i] = o.Number
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	slices.Sort(numbers)
	for i, got := range numbers {
		if want := fmt.Sprintf("SZ01-%s-%03d", day, i+1); got != want {
			t.Errorf("number %d = %s; want %s", i, got, want)
		}
	}
}

// Of many check-ins of one car at once, exactly one opens an order.
func TestConcurrentOpenSameVehicle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, car := e.customer("同一辆车")
	const n = 10
	errs := run(n, func(i int) error {
		_, err := e.svc.Open(e.ctx, e.who("advisor.sz01"), workshop.OpenInput{StoreID: e.sz.ID, Vehicle: *car.Plate, MileageIn: 20000, Kind: workshop.Repair})
		return err
	})
	codes := map[models.Code]int{}
	for _, err := range errs {
		codes[codeOf(err)]++
	}
	if codes[""] != 1 || codes[workshop.CodeVehicleInWorkshop] != n-1 {
		t.Fatalf("outcomes %v; want 1 success and %d VEHICLE_IN_WORKSHOP", codes, n-1)
	}
	if got := e.countRows(&workshop.RepairOrder{}, "vehicle_id = ?", car.ID); got != 1 {
		t.Fatalf("%d orders for the car", got)
	}
}

// Of many moves of one order at once, exactly one moves it; the others see
// it moved (INVALID_TRANSITION) or, with a version, CONFLICT.
func TestConcurrentMoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, car := e.customer("抢着改")
	o := e.open(car)
	const n = 10
	staff := []string{"advisor.sz01", "foreman.sz01", "manager.sz01", "admin"}
	errs := run(n, func(i int) error {
		_, err := e.svc.Move(e.ctx, e.who(staff[i%len(staff)]), o.ID, workshop.Diagnosing, "", nil, "")
		return err
	})
	codes := map[models.Code]int{}
	for _, err := range errs {
		codes[codeOf(err)]++
	}
	if codes[""] != 1 || codes[workshop.CodeInvalidTransition] != n-1 {
		t.Fatalf("outcomes %v; want 1 success and %d INVALID_TRANSITION", codes, n-1)
	}
	got := e.reload(o)
	if got.Status != workshop.Diagnosing || got.Version != 2 || len(e.events(o)) != 2 {
		t.Fatalf("after the race: %s v%d with %d events", got.Status, got.Version, len(e.events(o)))
	}

	version := got.Version
	errs = run(n, func(i int) error {
		to := workshop.InProgress
		if i%2 == 1 {
			to = workshop.Cancelled
		}
		_, err := e.svc.Move(e.ctx, e.who(staff[i%len(staff)]), o.ID, to, "并发", &version, "")
		return err
	})
	codes = map[models.Code]int{}
	for _, err := range errs {
		codes[codeOf(err)]++
	}
	if codes[""] != 1 || codes[models.CodeConflict] != n-1 {
		t.Fatalf("outcomes with a version %v; want 1 success and %d CONFLICT", codes, n-1)
	}
	if got := e.reload(o); got.Version != 3 || len(e.events(o)) != 3 {
		t.Fatalf("after the versioned race: v%d with %d events", got.Version, len(e.events(o)))
	}
}

// The owner deciding while staff withdraw the same request: one wins, the
// order ends consistent.
func TestConcurrentDecideAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, car := e.customer("左右为难")
	o := e.open(car)
	o = e.move(o, workshop.InProgress, "")
	o, err := e.svc.AddItem(e.ctx, e.who("advisor.sz01"), o.ID, pads, true, nil)
	must(t, err)
	item := e.items(o)[2].ID
	errs := run(2, func(i int) error {
		if i == 0 {
			_, err := e.svc.Decide(e.ctx, ownerOf(owner), o.ID, []workshop.Decision{{ItemID: item, Approve: true}})
			return err
		}
		_, err := e.svc.RemoveItem(e.ctx, e.who("advisor.sz01"), item, nil)
		return err
	})
	ok := 0
	for _, err := range errs {
		switch codeOf(err) {
		case "":
			ok++
		case workshop.CodeItemDecided, workshop.CodeItemWorkStarted, workshop.CodeItemNotPending:
			// The owner won (the approved item may already be in work), or
			// the request was withdrawn first.
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	got := e.reload(o)
	if ok != 1 || got.Status != workshop.InProgress || got.Version != o.Version+1 {
		t.Fatalf("%d won; order %s v%d", ok, got.Status, got.Version)
	}
}

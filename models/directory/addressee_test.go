package directory_test

import (
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

// The addressee of a message: the owner with the car's plate and model and
// the store's name, in one statement, locked or not; what the message does
// not concern (or what is gone) reads "".
func TestAddresseeReadsOwnerCarAndStoreInOneStatement(t *testing.T) {
	w := newWorld(t)
	o := w.Owner(1, "张三", w.SZ)
	car := w.Car(o, 1, w.SZ)
	gone := models.NewID()
	for _, c := range []struct {
		name                 string
		vid, sid             bool
		plate, model, storeN string
		lock                 bool
	}{
		{name: "car and store", vid: true, sid: true, plate: *car.Plate, model: car.Model, storeN: w.SZ.Name},
		{name: "car and store, locked", vid: true, sid: true, plate: *car.Plate, model: car.Model, storeN: w.SZ.Name, lock: true},
		{name: "neither"},
		{name: "store only", sid: true, storeN: w.SZ.Name},
	} {
		t.Run(c.name, func(t *testing.T) {
			var vid, sid = &gone, &gone
			if c.vid {
				vid = &car.ID
			}
			if c.sid {
				sid = &w.SZ.ID
			}
			if c.name == "neither" {
				vid, sid = nil, nil
			}
			var err error
			var plate, model, store, name string
			n := w.statements(func() {
				a, e := w.dir.Addressee(w.Ctx, o.ID, vid, sid, c.lock)
				if err = e; e == nil {
					plate, model, store, name = a.Plate, a.Model, a.Store, a.Name
				}
			})
			if err != nil || n != 1 {
				t.Fatalf("Addressee: %v, %d statements", err, n)
			}
			if name != o.Name || plate != c.plate || model != c.model || store != c.storeN {
				t.Fatalf("Addressee = %q %q %q %q; want %q %q %q %q", name, plate, model, store, o.Name, c.plate, c.model, c.storeN)
			}
		})
	}
	// A car id that is no car's reads "" (the "store only" case above);
	// an owner that is no owner's is record-not-found.
	if _, err := w.dir.Addressee(w.Ctx, gone, nil, nil, false); err == nil {
		t.Fatal("Addressee of no owner succeeded")
	}
}

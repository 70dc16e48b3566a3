package booking_test

import (
	"context"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/directory"
)

// TestEraseOwner: an account deletion cancels the owner's future
// appointments and gives the seats back; the cars of a deleted account take
// no bookings, not even from staff.
func TestEraseOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	start := e.at(3, "10:00")
	a := e.book(c, start)
	before := e.taken("MAINTENANCE", start)
	err := e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
		if err := (&directory.Service{DB: e.db}).MarkOwnerDeleted(ctx, c.owner.ID, e.clock.Now()); err != nil {
			return err
		}
		return e.svc.EraseOwner(ctx, c.owner.ID)
	})
	must(t, err)
	if got := e.reload(a); got.Status != booking.Cancelled {
		t.Fatalf("appointment %s after the deletion", got.Status)
	}
	if got := e.taken("MAINTENANCE", start); got != before-1 {
		t.Fatalf("seats taken %d, want %d", got, before-1)
	}
	_, err = e.svc.Book(e.ctx, e.who("advisor"), e.in(c, start))
	wantCode(t, err, models.CodeNotFound, "vehicleId")
}

package packages_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
)

// remindersOf counts the owner's PACKAGE_EXPIRING notifications.
func (e *env) remindersOf(ownerID any) int64 {
	e.t.Helper()
	var n int64
	must(e.t, e.db.Conn(e.ctx).Model(&inbox.Notification{}).Where("owner_id = ? AND kind = ?", ownerID, outbox.KindPackageExpiring).Count(&n).Error)
	return n
}

// The reminder: a package with visits left is told of once, a week before
// its end at the kernel clock, however many runs at once (two instances of
// the job, and more); refunded and used-up packages never are.
func TestPackageReminderConcurrentRuns(t *testing.T) {
	e := newEnv(t)
	o, refunded, usedUp := e.owner(), e.owner(), e.owner()
	pkg := e.sell(o) // ends base + 30 days
	gone := e.sell(refunded)
	_, err := e.svc.Refund(e.ctx, e.cashier, packages.RefundInput{PackageID: gone.ID, IdempotencyKey: "remind-refund"})
	must(t, err)
	spent := e.sell(usedUp)
	must(t, e.db.Conn(e.ctx).Model(&packages.Package{}).Where("id = ?", spent.ID).
		Updates(map[string]any{"uses_left": 0, "status": packages.UsedUp}).Error)

	e.clock.Set(pkg.ValidUntil.Add(-packages.RemindBefore - time.Minute))
	_, err = e.svc.Remind(e.ctx, e.clock.Now())
	must(t, err)
	if n := e.remindersOf(o.ID); n != 0 {
		t.Fatalf("%d reminders more than a week before the end", n)
	}

	e.clock.Set(pkg.ValidUntil.Add(-packages.RemindBefore + time.Minute))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each run as another instance would: its own service on the
			// same database.
			other := &packages.Service{DB: e.db, Clock: e.clock.Now, Config: packages.DefaultConfig()}
			if _, err := other.Remind(e.ctx, e.clock.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := e.remindersOf(o.ID); n != 1 {
		t.Fatalf("%d reminders of one package; want 1", n)
	}
	if n := e.remindersOf(refunded.ID) + e.remindersOf(usedUp.ID); n != 0 {
		t.Fatalf("%d reminders of refunded or used-up packages", n)
	}
	var got packages.Package
	must(t, e.db.Conn(e.ctx).Take(&got, "id = ?", pkg.ID).Error)
	if got.RemindedAt == nil {
		t.Fatal("reminded_at not set")
	}

	// Later runs, up to its end and after it, add nothing.
	for _, at := range []time.Time{pkg.ValidUntil.Add(-time.Hour), pkg.ValidUntil.Add(time.Hour)} {
		e.clock.Set(at)
		_, err := e.svc.Remind(e.ctx, e.clock.Now())
		must(t, err)
	}
	if n := e.remindersOf(o.ID); n != 1 {
		t.Fatalf("%d reminders after later runs", n)
	}
}

package models_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// ticking is a clock that moves on a second at every reading, so that two
// readings never agree.
func ticking(from time.Time) models.Clock {
	var n atomic.Int64
	return func() time.Time { return from.Add(time.Duration(n.Add(1)) * time.Second) }
}

func TestTransactionHasOneTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	clock := ticking(time.Date(2031, 3, 3, 10, 0, 0, 0, time.UTC))
	db := w.DB.WithClock(clock)
	dir := &directory.Service{DB: w.DB, Clock: clock}
	ib := &inbox.Service{DB: w.DB, Clock: clock}
	a := w.Owner(1, "", nil)

	// One change, three times written: the owner's consent time and its
	// updated_at (stamped by GORM), and the consent event.
	_, err := dir.UpdateProfile(w.Ctx, ownerPrincipal(a), a.ID, directory.ProfileChange{MarketingConsent: ptr(true)})
	must(t, err)
	var o models.Owner
	must(t, w.DB.Conn(w.Ctx).Where("id = ?", a.ID).Take(&o).Error)
	var ev models.ConsentEvent
	must(t, w.DB.Conn(w.Ctx).Where("owner_id = ?", a.ID).Take(&ev).Error)
	if o.MarketingConsentAt == nil || !o.UpdatedAt.Equal(*o.MarketingConsentAt) || !ev.CreatedAt.Equal(o.UpdatedAt) {
		t.Fatalf("one change, several times: consent at %v, updated at %v, event at %v", o.MarketingConsentAt, o.UpdatedAt, ev.CreatedAt)
	}

	// Two notifications in one transaction carry one time; in two, two.
	notify := func(ctx context.Context) *inbox.Notification {
		n := &inbox.Notification{OwnerID: a.ID, Kind: "NEWS", Title: "t"}
		_, err := ib.CreateNotification(ctx, n)
		must(t, err)
		return n
	}
	var first, second *inbox.Notification
	must(t, db.WithTx(w.Ctx, func(ctx context.Context) error {
		first, second = notify(ctx), notify(ctx)
		return nil
	}))
	if !first.CreatedAt.Equal(second.CreatedAt) {
		t.Fatalf("one transaction wrote %v and %v", first.CreatedAt, second.CreatedAt)
	}
	if third, fourth := notify(w.Ctx), notify(w.Ctx); third.CreatedAt.Equal(fourth.CreatedAt) {
		t.Fatalf("two transactions wrote one time %v: the clock did not tick", third.CreatedAt)
	}
}

func TestChinaDate(t *testing.T) {
	t.Parallel()
	// 23:30 UTC is 07:30 the next morning in China.
	late := time.Date(2031, 3, 3, 23, 30, 0, 0, time.UTC)
	if got, want := models.ChinaDate(late), (models.Date{Year: 2031, Month: time.March, Day: 4}); got != want {
		t.Fatalf("ChinaDate(%v) = %v; want %v", late, got, want)
	}
	if got := models.Clock(func() time.Time { return late }).Today(context.Background()); got.String() != "2031-03-04" {
		t.Fatalf("Today at %v = %v; want 2031-03-04", late, got)
	}
	// 15:59 UTC is still the same day there, 16:00 the next.
	if got := models.ChinaDate(time.Date(2031, 3, 3, 15, 59, 0, 0, time.UTC)); got.String() != "2031-03-03" {
		t.Fatalf("ChinaDate at 15:59 UTC = %v", got)
	}
	if got := models.ChinaDate(time.Date(2031, 3, 3, 16, 0, 0, 0, time.UTC)); got.String() != "2031-03-04" {
		t.Fatalf("ChinaDate at 16:00 UTC = %v", got)
	}

	// The date rules go by China's date: at 23:30 UTC on 3 March a
	// birthday on 4 March is today, on 5 March in the future.
	w := newWorld(t)
	dir := &directory.Service{DB: w.DB, Clock: func() time.Time { return late }}
	a := w.Owner(1, "", nil)
	_, err := dir.UpdateProfile(w.Ctx, ownerPrincipal(a), a.ID, directory.ProfileChange{Birthday: date("2031-03-04")})
	must(t, err)
	_, err = dir.UpdateProfile(w.Ctx, ownerPrincipal(a), a.ID, directory.ProfileChange{Birthday: date("2031-03-05")})
	wantCode(t, err, models.CodeInvalidArgument, "birthday")
}

package roadside_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// TestEraseOwner: an account deletion blanks what the owner wrote (the
// descriptions, the reasons the owner gave when cancelling, the notes of
// the owner's own timeline entries) and where the car stood (address,
// coordinates, distance), puts the owner's phone in the callback number
// and cancels the open request; what staff wrote stays, and another
// owner's requests are untouched.
func TestEraseOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.who("admin")
	// A store with coordinates, so that the requests carry a distance.
	near := e.store(ptr(22.5405), ptr(114.0600))
	at := func(in *roadside.RequestInput) {
		in.StoreID = &near
		in.Description = "停在小区门口\n钥匙在保安处"
		in.CallbackPhone = "139 0000 2222"
	}
	c := e.customer()
	other := e.customer()

	// Cancelled by the owner, with a reason.
	r1 := e.request(c, at)
	_, err := e.svc.Cancel(e.ctx, c.p, r1.ID, "朋友帮忙解决了")
	must(t, err)
	// Cancelled by the store, with the store's reason.
	r2 := e.request(c, at)
	_, err = e.svc.Accept(e.ctx, admin, r2.ID)
	must(t, err)
	_, err = e.svc.Cancel(e.ctx, admin, r2.ID, "车主电话无人接听")
	must(t, err)
	// Open: dispatched, with the store's note.
	r3 := e.request(c, at)
	_, err = e.svc.Accept(e.ctx, admin, r3.ID)
	must(t, err)
	in := dispatchIn(r3.ID)
	in.Note = "带上搭电宝"
	_, err = e.svc.Dispatch(e.ctx, admin, in)
	must(t, err)
	// Another owner's, cancelled by that owner.
	r4 := e.request(other, at)
	_, err = e.svc.Cancel(e.ctx, other.p, r4.ID, "不需要了")
	must(t, err)
	if r1.DistanceM == nil || r4.DistanceM == nil {
		t.Fatalf("requests at a store with coordinates have no distance: %v, %v", r1.DistanceM, r4.DistanceM)
	}

	// On PostgreSQL announcements arrive through the listener: once it
	// listens.
	<-e.db.LiveReady()
	live, stop := e.db.Subscribe(roadside.Topic(r3.ID))
	defer stop()
	e.clock.Advance(time.Minute)
	err = e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
		if err := (&directory.Service{DB: e.db}).MarkOwnerDeleted(ctx, c.owner.ID, e.clock.Now()); err != nil {
			return err
		}
		return e.svc.EraseOwner(ctx, c.owner.ID)
	})
	must(t, err)
	if !signalled(live) {
		t.Fatal("the cancellation of the open request was not announced")
	}

	read := func(id uuid.UUID) *roadside.Request {
		t.Helper()
		r, err := e.svc.RequestFor(e.ctx, admin, id)
		must(t, err)
		return r
	}
	for _, id := range []uuid.UUID{r1.ID, r2.ID, r3.ID} {
		r := read(id)
		if r.Description != "" || r.Address != "（车主已注销）" || r.Latitude != 0 || r.Longitude != 0 || r.DistanceM != nil ||
			r.CallbackPhone != c.owner.Phone {
			t.Errorf("request %s after the deletion: description %q, address %q, at (%v, %v), distance %v, callback %q",
				id, r.Description, r.Address, r.Latitude, r.Longitude, r.DistanceM, r.CallbackPhone)
		}
	}
	if got := read(r1.ID); got.CancelReason == nil || *got.CancelReason != "" {
		t.Errorf("the owner's cancel reason = %v; want blank", got.CancelReason)
	}
	if got := read(r2.ID); got.CancelReason == nil || *got.CancelReason != "车主电话无人接听" {
		t.Errorf("the store's cancel reason = %v; want kept", got.CancelReason)
	}
	if got := read(r3.ID); got.Status != roadside.Cancelled || got.CancelReason == nil || *got.CancelReason != "车主注销账户" ||
		got.FinishedAt == nil || got.Version != 4 {
		t.Errorf("the open request after the deletion: %+v", got)
	}

	// The timelines: the owner's notes blanked (but the deletion's own
	// entry), the store's kept.
	type entry struct {
		to    roadside.Status
		actor string
		note  string
	}
	want := map[uuid.UUID][]entry{
		r1.ID: {{roadside.Requested, roadside.ActorOwner, ""}, {roadside.Cancelled, roadside.ActorOwner, ""}},
		r2.ID: {{roadside.Requested, roadside.ActorOwner, ""}, {roadside.Accepted, roadside.ActorStaff, ""},
			{roadside.Cancelled, roadside.ActorStaff, "车主电话无人接听"}},
		r3.ID: {{roadside.Requested, roadside.ActorOwner, ""}, {roadside.Accepted, roadside.ActorStaff, ""},
			{roadside.Dispatched, roadside.ActorStaff, "带上搭电宝"}, {roadside.Cancelled, roadside.ActorOwner, "车主注销账户"}},
		r4.ID: {{roadside.Requested, roadside.ActorOwner, ""}, {roadside.Cancelled, roadside.ActorOwner, "不需要了"}},
	}
	for id, w := range want {
		ev := e.events(id)
		if len(ev) != len(w) {
			t.Fatalf("request %s has %d timeline entries; want %d", id, len(ev), len(w))
		}
		for i := range w {
			if got := (entry{ev[i].ToStatus, ev[i].ActorKind, ev[i].Note}); got != w[i] {
				t.Errorf("request %s entry %d = %+v; want %+v", id, i, got, w[i])
			}
		}
	}

	// Another owner's request is untouched.
	if got := read(r4.ID); got.Description != "停在小区门口\n钥匙在保安处" || got.Address != r4.Address || got.DistanceM == nil ||
		*got.DistanceM != *r4.DistanceM || got.CallbackPhone != "+8613900002222" || got.CancelReason == nil || *got.CancelReason != "不需要了" {
		t.Errorf("another owner's request after the deletion: %+v", got)
	}
}

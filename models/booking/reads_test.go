package booking_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
)

func TestAppointmentFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	a := e.book(c, e.at(1, "10:00"))
	for _, p := range []*auth.Principal{c.p, e.who("technician"), e.who("crm"), e.who("admin")} {
		got, err := e.svc.AppointmentFor(e.ctx, p, a.ID)
		if err != nil || got.ID != a.ID {
			t.Fatalf("AppointmentFor(%v) = %v, %v", p.Kind, got, err)
		}
	}
	for _, p := range []*auth.Principal{e.customer().p, e.who("advisor.sz01"), e.who("manager.gz01"),
		{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.store.ID}}} {
		_, err := e.svc.AppointmentFor(e.ctx, p, a.ID)
		wantCode(t, err, models.CodeNotFound, "")
	}
	if _, err := e.svc.AppointmentFor(e.ctx, nil, a.ID); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
}

func TestOwnerAppointments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer(3)
	var made []*booking.Appointment
	for i := range 3 {
		made = append(made, e.book(c, e.at(1+i, "10:00"), vehicle(c.cars[i])))
	}
	_, err := e.svc.Cancel(e.ctx, c.p, made[0].ID, "")
	must(t, err)
	made = append(made, e.book(c, e.at(4, "10:00"), vehicle(c.cars[0])))

	page, more, err := e.svc.OwnerAppointments(e.ctx, c.p, c.owner.ID, models.Page{First: 3}, nil)
	must(t, err)
	if len(page) != 3 || !more || page[0].ID != made[3].ID || page[2].ID != made[1].ID {
		t.Fatalf("first page %d, more=%v", len(page), more)
	}
	rest, more, err := e.svc.OwnerAppointments(e.ctx, c.p, c.owner.ID, models.Page{First: 3, After: models.Cursor{ID: page[2].ID}}, nil)
	if err != nil || len(rest) != 1 || more || rest[0].ID != made[0].ID {
		t.Fatalf("second page %v, %v, %v", rest, more, err)
	}
	cancelled := booking.Cancelled
	only, _, err := e.svc.OwnerAppointments(e.ctx, c.p, c.owner.ID, models.Page{First: 10}, &cancelled)
	if err != nil || len(only) != 1 || only[0].ID != made[0].ID {
		t.Fatalf("cancelled only %v, %v", only, err)
	}
	_, _, err = e.svc.OwnerAppointments(e.ctx, c.p, c.owner.ID, models.Page{First: 10}, ptr(booking.Status("LOST")))
	wantCode(t, err, models.CodeInvalidArgument, "status")

	// Another owner's list is not found; staff see the owner's
	// appointments at their stores only.
	_, _, err = e.svc.OwnerAppointments(e.ctx, e.customer().p, c.owner.ID, models.Page{First: 10}, nil)
	wantCode(t, err, models.CodeNotFound, "")
	got, _, err := e.svc.OwnerAppointments(e.ctx, e.who("crm"), c.owner.ID, models.Page{First: 10}, nil)
	if err != nil || len(got) != 4 {
		t.Fatalf("store staff see %d, %v", len(got), err)
	}
	got, _, err = e.svc.OwnerAppointments(e.ctx, e.who("crm.sz01"), c.owner.ID, models.Page{First: 10}, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("other store's staff see %d, %v", len(got), err)
	}
	_, _, err = e.svc.OwnerAppointments(e.ctx, &auth.Principal{Kind: auth.KindScreen, ID: models.NewID()}, c.owner.ID, models.Page{First: 10}, nil)
	wantCode(t, err, models.CodeForbidden, "")
}

func TestAppointmentsByIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.book(e.customer(), e.at(1, "10:00"))
	b := e.book(e.customer(), e.at(1, "11:00"))
	got, err := e.svc.AppointmentsByIDs(e.ctx, []uuid.UUID{a.ID, b.ID, models.NewID()})
	if err != nil || len(got) != 2 || got[a.ID].SlotStart != a.SlotStart || got[b.ID].OwnerID != b.OwnerID {
		t.Fatalf("AppointmentsByIDs = %v, %v", got, err)
	}
	if got, err := e.svc.AppointmentsByIDs(e.ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

package workshop_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

func TestAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx
	ownerA, carA := e.customer("欧阳锋")
	ownerB, _ := e.customer("黄药师")
	tech1, tech2 := e.who("technician1.sz01"), e.who("technician2.sz01")
	o := e.open(carA)
	o, err := e.svc.Assign(ctx, e.who("foreman.sz01"), o.ID, &tech1.ID, nil, nil)
	must(t, err)

	t.Run("technicians act on their own jobs only", func(t *testing.T) {
		_, err := e.svc.Move(ctx, tech2, o.ID, workshop.Diagnosing, "", nil, "")
		wantCode(t, err, workshop.CodeNotYourJob, "")
		_, err = e.svc.AddItem(ctx, tech2, o.ID, pads, true, nil)
		wantCode(t, err, workshop.CodeNotYourJob, "")
		got, err := e.svc.Move(ctx, tech1, o.ID, workshop.Diagnosing, "", nil, "")
		must(t, err)
		o = got
		_, err = e.svc.Move(ctx, tech1, o.ID, workshop.Cancelled, "不修了", nil, "")
		wantCode(t, err, models.CodeForbidden, "")
		// A technician who is also an advisor acts as an advisor.
		both := e.person("both.sz01", []uuid.UUID{e.sz.ID}, auth.RoleTechnician, auth.RoleAdvisor)
		got, err = e.svc.Move(ctx, both, o.ID, workshop.InProgress, "", nil, "")
		must(t, err)
		o = got
	})

	t.Run("staff of the other store do not find the order", func(t *testing.T) {
		gz := e.who("advisor.gz01")
		_, err := e.svc.Move(ctx, gz, o.ID, workshop.WaitingParts, "", nil, "")
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.AddItem(ctx, gz, o.ID, pads, false, nil)
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.Assign(ctx, e.who("foreman.gz01"), o.ID, &tech2.ID, nil, nil)
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.RemoveItem(ctx, gz, e.items(o)[0].ID, nil)
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.Settle(ctx, e.who("cashier.gz01"), workshop.SettleInput{OrderID: o.ID})
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.OrderFor(ctx, gz, o.ID)
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.Board(ctx, gz, e.sz.ID)
		wantCode(t, err, models.CodeForbidden, "")
		// Every role of the own store reads it; the admin everywhere.
		for _, u := range []string{"crm.sz01", "cashier.sz01", "events.sz01", "admin"} {
			if _, err := e.svc.OrderFor(ctx, e.who(u), o.ID); err != nil {
				t.Errorf("%s cannot read the order: %v", u, err)
			}
		}
	})

	t.Run("roles", func(t *testing.T) {
		for _, u := range []string{"cashier.sz01", "crm.sz01", "events.sz01"} {
			_, err := e.svc.Move(ctx, e.who(u), o.ID, workshop.WaitingParts, "", nil, "")
			wantCode(t, err, models.CodeForbidden, "")
			_, err = e.svc.AddItem(ctx, e.who(u), o.ID, pads, true, nil)
			wantCode(t, err, models.CodeForbidden, "")
		}
		_, err := e.svc.Settle(ctx, tech1, workshop.SettleInput{OrderID: o.ID})
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Move(ctx, ownerOf(ownerA), o.ID, workshop.WaitingParts, "", nil, "")
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Move(ctx, nil, o.ID, workshop.WaitingParts, "", nil, "")
		wantCode(t, err, models.CodeUnauthenticated, "")
		got, err := e.svc.Move(ctx, e.who("admin"), o.ID, workshop.WaitingParts, "", nil, "")
		must(t, err)
		o = got
		got, err = e.svc.Move(ctx, e.who("manager.sz01"), o.ID, workshop.InProgress, "配件到了", nil, "")
		must(t, err)
		o = got
	})

	t.Run("owners see their own orders only", func(t *testing.T) {
		got, err := e.svc.OrderFor(ctx, ownerOf(ownerA), o.ID)
		must(t, err)
		if got.ID != o.ID {
			t.Fatalf("read %v", got.ID)
		}
		_, err = e.svc.OrderFor(ctx, ownerOf(ownerB), o.ID)
		wantCode(t, err, models.CodeNotFound, "")
		o, err = e.svc.AddItem(ctx, tech1, o.ID, pads, true, nil)
		must(t, err)
		pending := e.items(o)[2].ID
		_, err = e.svc.Decide(ctx, ownerOf(ownerB), o.ID, []workshop.Decision{{ItemID: pending, Approve: true}})
		wantCode(t, err, models.CodeNotFound, "")
		// Reading as another owner or as staff stamps nothing.
		_, _ = e.svc.OrderFor(ctx, ownerOf(ownerB), o.ID)
		_, _ = e.svc.OrderFor(ctx, e.who("advisor.sz01"), o.ID)
		if e.items(o)[2].SeenAt != nil {
			t.Error("the request was marked seen by someone other than the owner")
		}
		_, err = e.svc.OrderFor(ctx, nil, o.ID)
		wantCode(t, err, models.CodeUnauthenticated, "")
	})

	t.Run("a car's new owner sees its history", func(t *testing.T) {
		must(t, e.db.Conn(ctx).Model(&models.Vehicle{}).Where("id = ?", carA.ID).Update("owner_id", ownerB.ID).Error)
		if _, err := e.svc.OrderFor(ctx, ownerOf(ownerB), o.ID); err != nil {
			t.Errorf("new owner: %v", err)
		}
		if _, err := e.svc.OrderFor(ctx, ownerOf(ownerA), o.ID); err != nil {
			t.Errorf("owner at check-in: %v", err)
		}
		// Deciding stays with the owner who brought the car in.
		_, err := e.svc.Decide(ctx, ownerOf(ownerB), o.ID, []workshop.Decision{{ItemID: e.items(o)[2].ID, Approve: true}})
		wantCode(t, err, models.CodeNotFound, "")
	})

	t.Run("screens read their board and nothing else", func(t *testing.T) {
		screen := &auth.Principal{Kind: auth.KindScreen, ID: uuid.New(), StoreIDs: []uuid.UUID{e.sz.ID}}
		if _, err := e.svc.Board(ctx, screen, e.sz.ID); err != nil {
			t.Fatalf("screen board: %v", err)
		}
		_, err := e.svc.Board(ctx, screen, e.gz.ID)
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.OrderFor(ctx, screen, o.ID)
		wantCode(t, err, models.CodeNotFound, "")
		_, err = e.svc.Move(ctx, screen, o.ID, workshop.WaitingParts, "", nil, "")
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Board(ctx, ownerOf(ownerA), e.sz.ID)
		wantCode(t, err, models.CodeForbidden, "")
		_, err = e.svc.Board(ctx, e.who("admin"), uuid.New())
		wantCode(t, err, models.CodeNotFound, "")
	})
}

package workshop_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// How an order was paid is seen by its owner and by staff of its store
// (GROUP_ADMIN: every store), nobody else.
func TestPaymentsVisible(t *testing.T) {
	t.Parallel()
	sz, gz, owner := uuid.New(), uuid.New(), uuid.New()
	o := &workshop.RepairOrder{ID: uuid.New(), OwnerID: owner, StoreID: sz}
	for _, c := range []struct {
		name  string
		actor *auth.Principal
		want  bool
	}{
		{"the owner", &auth.Principal{Kind: auth.KindOwner, ID: owner}, true},
		{"another owner", &auth.Principal{Kind: auth.KindOwner, ID: uuid.New()}, false},
		{"technician of the store", &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), StoreIDs: []uuid.UUID{sz}, Roles: []auth.Role{auth.RoleTechnician}}, true},
		{"advisor of another store", &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), StoreIDs: []uuid.UUID{gz}, Roles: []auth.Role{auth.RoleAdvisor}}, false},
		{"group admin", &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleGroupAdmin}}, true},
		{"staff id equal to the owner's", &auth.Principal{Kind: auth.KindStaff, ID: owner, StoreIDs: []uuid.UUID{gz}, Roles: []auth.Role{auth.RoleAdvisor}}, false},
		{"anonymous", nil, false},
	} {
		if got := workshop.PaymentsVisible(c.actor, o); got != c.want {
			t.Errorf("%s: PaymentsVisible = %v, want %v", c.name, got, c.want)
		}
	}
}

// A board poll: a screen of the store with a live token, or staff of the
// store; the time it answers is the service's clock.
func TestBoardVersionFor(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	ctx := e.ctx
	tok, err := e.svc.IssueScreenToken(ctx, e.who("manager.sz01"), e.sz.ID, "大屏")
	must(t, err)
	screen := &auth.Principal{Kind: auth.KindScreen, ID: tok.ID, StoreIDs: []uuid.UUID{e.sz.ID}}
	want, err := e.svc.BoardVersion(ctx, e.sz.ID)
	must(t, err)

	for name, p := range map[string]*auth.Principal{"screen": screen, "advisor": e.who("advisor.sz01"), "admin": e.who("admin")} {
		v, at, err := e.svc.BoardVersionFor(ctx, p, e.sz.ID)
		must(t, err)
		if v != want || !at.Equal(e.clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Errorf("%s: %d at %v; want %d at %v", name, v, at, want, e.clock.Now())
		}
	}
	e.clock.Advance(3 * time.Minute)
	if _, at, _ := e.svc.BoardVersionFor(ctx, screen, e.sz.ID); !at.Equal(e.clock.Now().UTC().Truncate(time.Microsecond)) {
		t.Errorf("after the clock moved: %v, want %v", at, e.clock.Now())
	}

	_, _, err = e.svc.BoardVersionFor(ctx, screen, e.gz.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")
	_, _, err = e.svc.BoardVersionFor(ctx, &auth.Principal{Kind: auth.KindScreen, ID: uuid.New()}, e.sz.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")
	_, _, err = e.svc.BoardVersionFor(ctx, e.who("manager.gz01"), e.sz.ID)
	wantCode(t, err, models.CodeForbidden, "")
	_, _, err = e.svc.BoardVersionFor(ctx, &auth.Principal{Kind: auth.KindOwner, ID: uuid.New()}, e.sz.ID)
	wantCode(t, err, models.CodeForbidden, "")
	_, _, err = e.svc.BoardVersionFor(ctx, nil, e.sz.ID)
	wantCode(t, err, models.CodeForbidden, "")
}

// An order's overdue flag and minutes in status follow the service's clock.
func TestOrderTimesFollowTheClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, v := e.customer("钟表")
	promised := e.clock.Now().Add(2 * time.Hour)
	o := e.open(v, func(in *workshop.OpenInput) { in.PromisedAt = &promised })
	if e.svc.OrderOverdue(e.ctx, o) || e.svc.OrderMinutesInStatus(e.ctx, o) != 0 {
		t.Fatalf("just opened: overdue %v, %d minutes", e.svc.OrderOverdue(e.ctx, o), e.svc.OrderMinutesInStatus(e.ctx, o))
	}
	e.clock.Advance(3 * time.Hour)
	if !e.svc.OrderOverdue(e.ctx, o) || e.svc.OrderMinutesInStatus(e.ctx, o) != 180 {
		t.Errorf("3 h later: overdue %v, %d minutes; want true, 180", e.svc.OrderOverdue(e.ctx, o), e.svc.OrderMinutesInStatus(e.ctx, o))
	}
}

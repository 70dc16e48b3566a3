package events_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

// env is the demo group on a database of the dialect under test, with the
// events and wallet services on a clock the test moves. Tests make their own
// events and customers, so they share one database.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *models.DB
	svc    *events.Service
	wallet *wallet.Service
	clock  *clock
	sz, gz *models.Store
	staff  map[string]*auth.Principal
}

type clock = testdb.Clock

func newEnv(t *testing.T) *env {
	t.Helper()
	return envOn(t, testdb.Shared(t, func(db *models.DB) error {
		_, err := demo.Seed(context.Background(), db, "pw")
		return err
	}))
}

func envOn(t *testing.T, db *models.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: db, clock: testdb.NewClock(testdb.Now()), staff: map[string]*auth.Principal{}}
	e.wallet = &wallet.Service{DB: db, Clock: e.clock.Now}
	e.svc = &events.Service{DB: db, Wallet: e.wallet, Clock: e.clock.Now}
	var stores []*models.Store
	must(t, db.Conn(ctx).Find(&stores).Error)
	for _, s := range stores {
		switch s.Code {
		case "SZ01":
			e.sz = s
		case "GZ01":
			e.gz = s
		}
	}
	for name, p := range testdb.StaffPrincipals(t, db) {
		e.staff[name] = p
	}
	t.Cleanup(func() {
		bad, err := wallet.Audit(context.Background(), db)
		if err != nil {
			t.Errorf("audit: %v", err)
		}
		for _, d := range bad {
			t.Errorf("ledger invariant broken: %+v", d)
		}
	})
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) who(username string) *auth.Principal {
	e.t.Helper()
	p := e.staff[username]
	if p == nil {
		e.t.Fatalf("no staff %s", username)
	}
	return p
}

var customers atomic.Int64

// customer adds an owner with fen in the wallet.
func (e *env) customer(fen int64) (*models.Owner, *auth.Principal) {
	e.t.Helper()
	n := customers.Add(1)
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", n), Name: fmt.Sprintf("车主%d", n), HomeStoreID: &e.sz.ID}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	if fen > 0 {
		_, err := e.wallet.TopUp(e.ctx, e.who("cashier.sz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID,
			AmountFen: fen, Method: "CASH", IdempotencyKey: fmt.Sprintf("fixture-%d", n)})
		must(e.t, err)
	}
	return o, &auth.Principal{Kind: auth.KindOwner, ID: o.ID}
}

// vehicle gives the owner a car (VIN and plate unique per call).
func (e *env) vehicle(o *models.Owner) *models.Vehicle {
	e.t.Helper()
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: fmt.Sprintf("T%016d", customers.Add(1)), Brand: "丰田", Model: "凯美瑞", ModelYear: 2022}
	must(e.t, e.db.Conn(e.ctx).Create(v).Error)
	return v
}

// spec is a valid event at SZ01 three days ahead, registration open from an
// hour ago until the day before, free cancellation until two days before.
func (e *env) spec(kind events.Kind, capacity int) events.Spec {
	now := e.clock.Now()
	start := now.Add(72 * time.Hour).Truncate(time.Hour)
	s := events.Spec{StoreID: e.sz.ID, Kind: kind, Title: "保养讲堂", Location: "深圳福田店二楼", StartsAt: start,
		EndsAt: start.Add(3 * time.Hour), RegistrationOpensAt: now.Add(-time.Hour), RegistrationClosesAt: start.Add(-24 * time.Hour),
		CancellationDeadline: start.Add(-48 * time.Hour), Capacity: capacity}
	if kind == events.Trip {
		s.Title, s.MaxPartySize = "双月湾自驾", 4
		s.Itinerary = []events.Stop{{At: start, Place: "深圳福田店"}, {At: start.Add(2 * time.Hour), Place: "惠州双月湾"}}
	}
	return s
}

// published creates and publishes an event from spec.
func (e *env) published(s events.Spec) *events.Event {
	e.t.Helper()
	ev, err := e.svc.CreateEvent(e.ctx, e.who("events.sz01"), s)
	must(e.t, err)
	ev, err = e.svc.PublishEvent(e.ctx, e.who("events.sz01"), ev.ID, nil)
	must(e.t, err)
	return ev
}

func (e *env) event(id any) *events.Event {
	e.t.Helper()
	var ev events.Event
	must(e.t, e.db.Conn(e.ctx).Where("id = ?", id).Take(&ev).Error)
	return &ev
}

func (e *env) reg(id any) *events.Registration {
	e.t.Helper()
	var r events.Registration
	must(e.t, e.db.Conn(e.ctx).Where("id = ?", id).Take(&r).Error)
	return &r
}

func (e *env) balance(o *models.Owner) (fen, points int64) {
	e.t.Helper()
	var a wallet.Account
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Take(&a).Error)
	return a.BalanceFen, a.Points
}

func (e *env) inbox(o *models.Owner, kind string) int {
	e.t.Helper()
	var n int64
	must(e.t, e.db.Conn(e.ctx).Model(&inbox.Notification{}).Where("owner_id = ? AND kind = ?", o.ID, kind).Count(&n).Error)
	return int(n)
}

var wantCode = testdb.WantCode

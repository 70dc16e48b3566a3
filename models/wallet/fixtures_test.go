package wallet_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// env is the seeded demo group (two stores and their staff) on a database
// of the dialect under test, with a wallet service on a clock the test
// moves. Tests work on customers of their own (env.customer), so most share
// one database; those that run the daily jobs, which touch every account,
// get one of their own (isolatedEnv).
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *models.DB
	svc    *wallet.Service
	clock  *clock
	sz, gz *models.Store
	staff  map[string]*auth.Principal // by username: "cashier.sz01", "admin"
}

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.Shared(t, seedDemo)
	return envOn(t, db)
}

func isolatedEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.Open(t)
	if _, err := demo.Seed(context.Background(), db, "pw"); err != nil {
		t.Fatal(err)
	}
	return envOn(t, db)
}

// emptyEnv is a database of its own with no demo data: for tests whose
// counts cover every account (the daily jobs). It has no stores or staff.
func emptyEnv(t *testing.T) *env {
	t.Helper()
	return envOn(t, testdb.Open(t))
}

type clock = testdb.Clock

func envOn(t *testing.T, db *models.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: db, clock: testdb.NewClock(testdb.Now()), staff: map[string]*auth.Principal{}}
	e.svc = &wallet.Service{DB: db, Clock: e.clock.Now}
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
	// Every test ends with the ledger's invariant checked on every account.
	t.Cleanup(func() { checkLedger(t, db) })
	return e
}

// checkLedger fails the test unless every account's balance and points
// equal the sums of its entries (and its points the points left in its
// lots).
func checkLedger(t testing.TB, db *models.DB) {
	t.Helper()
	bad, err := wallet.Audit(context.Background(), db)
	if err != nil {
		t.Errorf("audit: %v", err)
		return
	}
	for _, d := range bad {
		t.Errorf("ledger invariant broken: %+v", d)
	}
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

// customer adds an owner whose home store is SZ01 (if there is one); the
// account opens with them.
func (e *env) customer(name string) *models.Owner {
	e.t.Helper()
	n := customers.Add(1)
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86137%08d", n), Name: name}
	if e.sz != nil {
		o.HomeStoreID = &e.sz.ID
	}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	return o
}

func ownerOf(o *models.Owner) *auth.Principal { return &auth.Principal{Kind: auth.KindOwner, ID: o.ID} }

var keys atomic.Int64

func key() string { return fmt.Sprintf("key-%d", keys.Add(1)) }

// topUp tops an owner up at SZ01 as its cashier.
func (e *env) topUp(o *models.Owner, fen int64) *wallet.Result {
	e.t.Helper()
	r, err := e.svc.TopUp(e.ctx, e.who("cashier.sz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.sz.ID, AmountFen: fen,
		Method: "CASH", IdempotencyKey: key()})
	must(e.t, err)
	return r
}

// charge runs a Charge in a transaction of its own.
func (e *env) charge(in wallet.ChargeInput) ([]*wallet.Entry, error) {
	var out []*wallet.Entry
	err := e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
		var err error
		out, err = e.svc.Charge(ctx, in)
		return err
	})
	return out, err
}

func (e *env) account(o *models.Owner) *wallet.Account {
	e.t.Helper()
	var a wallet.Account
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Take(&a).Error)
	return &a
}

func (e *env) entries(o *models.Owner) []*wallet.Entry {
	e.t.Helper()
	var out []*wallet.Entry
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Order("id ASC").Find(&out).Error)
	return out
}

func (e *env) lots(o *models.Owner) []*wallet.PointsLot {
	e.t.Helper()
	var out []*wallet.PointsLot
	must(e.t, e.db.Conn(e.ctx).Where("owner_id = ?", o.ID).Order("expires_at ASC, id ASC").Find(&out).Error)
	return out
}

func (e *env) membership(o *models.Owner) *wallet.Membership {
	e.t.Helper()
	m, err := e.svc.Membership(e.ctx, ownerOf(o), o.ID)
	must(e.t, err)
	return m
}

func kinds(entries []*wallet.Entry) []wallet.EntryKind {
	out := make([]wallet.EntryKind, len(entries))
	for i, x := range entries {
		out[i] = x.Kind
	}
	return out
}

var wantCode = testdb.WantCode

// seedDemo prepares the shared database with the demo data.
func seedDemo(db *models.DB) error {
	_, err := demo.Seed(context.Background(), db, "pw")
	return err
}

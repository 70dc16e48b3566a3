package packages_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/testdb"
)

var serial atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

var base = time.Date(2031, 5, 4, 2, 0, 0, 0, time.UTC)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type env struct {
	t       testing.TB
	ctx     context.Context
	db      *models.DB
	clock   *testdb.Clock
	svc     *packages.Service
	store   uuid.UUID
	crm     *auth.Principal
	cashier *auth.Principal
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := testdb.Shared(t, nil)
	e := &env{t: t, ctx: context.Background(), db: db, clock: testdb.NewClock(base)}
	e.svc = &packages.Service{DB: db, Clock: e.clock.Now, Config: packages.DefaultConfig()}
	n := serial.Add(1)
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("P%05d", n), Name: fmt.Sprintf("套餐门店%d", n), City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	must(t, db.Conn(e.ctx).Create(st).Error)
	e.store = st.ID
	e.crm = testdb.AddStaff(t, db, fmt.Sprintf("pkcrm%d", n), []uuid.UUID{st.ID}, auth.RoleCRM)
	e.cashier = testdb.AddStaff(t, db, fmt.Sprintf("pkcashier%d", n), []uuid.UUID{st.ID}, auth.RoleCashier)
	return e
}

func (e *env) owner() *models.Owner {
	e.t.Helper()
	n := int(serial.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", n), Name: fmt.Sprintf("套餐主%d", n), HomeStoreID: &e.store}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	return o
}

func (e *env) sell(o *models.Owner) *packages.Package {
	e.t.Helper()
	p, err := e.svc.CreateProduct(e.ctx, e.crm, packages.ProductInput{StoreID: e.store, Name: "保养四次卡", OrderKind: "MAINTENANCE",
		Uses: 4, PriceFen: 160_000, ValidDays: 30})
	must(e.t, err)
	pkg, err := e.svc.Sell(e.ctx, e.cashier, packages.SaleInput{ProductID: p.ID, OwnerID: o.ID, Method: packages.Cash,
		IdempotencyKey: fmt.Sprintf("sell-%d", serial.Add(1))})
	must(e.t, err)
	return pkg
}

// A package is ACTIVE until its end at the kernel clock, EXPIRED after
// (read, never stored), and an expired package is not refunded.
func TestExpiryAtTheClock(t *testing.T) {
	e := newEnv(t)
	o := e.owner()
	pkg := e.sell(o)
	if !pkg.ValidUntil.Equal(base.Add(30*24*time.Hour)) || pkg.Status != packages.Active || pkg.UsesLeft != 4 {
		t.Fatalf("sold: %+v", pkg)
	}
	e.clock.Set(pkg.ValidUntil.Add(-time.Second))
	got, err := e.svc.PackageFor(e.ctx, e.cashier, pkg.ID)
	must(t, err)
	if got.Status != packages.Active {
		t.Fatalf("a second before its end: %s", got.Status)
	}
	e.clock.Set(pkg.ValidUntil)
	got, err = e.svc.PackageFor(e.ctx, e.cashier, pkg.ID)
	must(t, err)
	if got.Status != packages.Expired {
		t.Fatalf("at its end: %s", got.Status)
	}
	owner := &auth.Principal{Kind: auth.KindOwner, ID: o.ID}
	for st, want := range map[packages.Status]int{packages.Expired: 1, packages.Active: 0, "": 1} {
		key := packages.PageKey{OwnerID: o.ID, Status: st, First: 10}
		pages, err := e.svc.PackagePages(e.ctx, owner, []packages.PageKey{key})
		must(t, err)
		if got := pages[key]; got.Err != nil || len(got.Rows) != want || got.Total != want {
			t.Fatalf("%q packages at the end: %+v, want %d", st, got, want)
		}
	}
	_, err = e.svc.Refund(e.ctx, e.cashier, packages.RefundInput{PackageID: pkg.ID, IdempotencyKey: "refund-expired"})
	if !errors.Is(err, packages.ErrExpired) {
		t.Fatalf("refund of an expired package: %v", err)
	}
}

// Consume runs only in its caller's transaction.
func TestConsumeNeedsTheSettlementsTransaction(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.Consume(e.ctx, packages.Consumption{PackageID: models.NewID()}); err == nil {
		t.Fatal("Consume outside a transaction")
	}
}

func TestExportAndErase(t *testing.T) {
	e := newEnv(t)
	o, other := e.owner(), e.owner()
	mine, theirs := e.sell(o), e.sell(other)
	out, err := e.svc.ExportOwner(e.ctx, o.ID)
	must(t, err)
	body, err := json.Marshal(out)
	must(t, err)
	if s := string(body); !strings.Contains(s, mine.ID.String()) || strings.Contains(s, theirs.ID.String()) || !strings.Contains(s, "保养四次卡") {
		t.Fatalf("export: %s", s)
	}
	must(t, e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error { return e.svc.EraseOwner(ctx, o.ID) }))
	var left []uuid.UUID
	must(t, e.db.Conn(e.ctx).Model(&packages.Package{}).Where("owner_id IN ?", []uuid.UUID{o.ID, other.ID}).Pluck("id", &left).Error)
	if len(left) != 1 || left[0] != theirs.ID {
		t.Fatalf("after erasing: %v", left)
	}
}

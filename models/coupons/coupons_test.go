package coupons_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

var serial atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

var base = time.Date(2031, 5, 4, 2, 0, 0, 0, time.UTC)

type env struct {
	t       testing.TB
	ctx     context.Context
	db      *models.DB
	clock   *testdb.Clock
	svc     *coupons.Service
	store   uuid.UUID
	crm     *auth.Principal
	cashier *auth.Principal
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := testdb.Shared(t, nil)
	e := &env{t: t, ctx: context.Background(), db: db, clock: testdb.NewClock(base)}
	e.svc = &coupons.Service{DB: db, Clock: e.clock.Now}
	n := serial.Add(1)
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("C%05d", n), Name: fmt.Sprintf("券门店%d", n), City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	must(t, db.Conn(e.ctx).Create(st).Error)
	e.store = st.ID
	e.crm = testdb.AddStaff(t, db, fmt.Sprintf("crm%d", n), []uuid.UUID{st.ID}, auth.RoleCRM)
	e.cashier = testdb.AddStaff(t, db, fmt.Sprintf("cashier%d", n), []uuid.UUID{st.ID}, auth.RoleCashier)
	return e
}

func (e *env) owner() *models.Owner {
	e.t.Helper()
	n := int(serial.Add(1))
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86137%08d", n), Name: fmt.Sprintf("券主%d", n), HomeStoreID: &e.store}
	must(e.t, e.db.Conn(e.ctx).Create(o).Error)
	return o
}

func (e *env) template(mod func(*coupons.TemplateInput)) *coupons.Template {
	e.t.Helper()
	in := coupons.TemplateInput{StoreID: &e.store, Name: "保养立减", Kind: coupons.FixedOff, AmountFen: 5000,
		OrderKinds: []string{"MAINTENANCE"}, ValidDays: 10, PerOwnerLimit: 1}
	if mod != nil {
		mod(&in)
	}
	t, err := e.svc.CreateTemplate(e.ctx, e.crm, in)
	must(e.t, err)
	return t
}

func (e *env) issue(t *coupons.Template, o *models.Owner) *coupons.Coupon {
	e.t.Helper()
	c, err := e.svc.IssueByStaff(e.ctx, e.crm, t.ID, o.ID, "")
	must(e.t, err)
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), &coupons.Template{}, &coupons.Coupon{})
}

// The discount rule of each kind, and the refusals of a bill the coupon
// does not fit.
func TestDiscount(t *testing.T) {
	t.Parallel()
	store, other := models.NewID(), models.NewID()
	fixed := &coupons.Template{StoreID: &store, Kind: coupons.FixedOff, AmountFen: 5000, OrderKinds: "MAINTENANCE,REPAIR", MinSpendFen: 10000}
	pct := &coupons.Template{Kind: coupons.PercentOff, Percent: 15, CapFen: 2000, OrderKinds: "MAINTENANCE", EventFees: true}
	free := &coupons.Template{Kind: coupons.FreeItem, ItemCode: "WASH", CapFen: 3000, OrderKinds: "DETAILING"}
	bill := func(kind string, payable int64, lines ...coupons.Line) coupons.Bill {
		return coupons.Bill{StoreID: store, OrderKind: kind, PayableFen: payable, Lines: lines}
	}
	cases := []struct {
		name string
		t    *coupons.Template
		b    coupons.Bill
		want int64
		code models.Code
	}{
		{"fixed", fixed, bill("REPAIR", 30000), 5000, ""},
		{"fixed at the minimum", fixed, bill("MAINTENANCE", 10000), 5000, ""},
		{"fixed below the minimum", fixed, bill("MAINTENANCE", 9999), 0, coupons.CodeMinSpendNotMet},
		{"fixed, another kind", fixed, bill("DETAILING", 30000), 0, coupons.CodeNotApplicable},
		{"fixed, another store", fixed, coupons.Bill{StoreID: other, OrderKind: "REPAIR", PayableFen: 30000}, 0, coupons.CodeNotApplicable},
		{"fixed, an event fee", fixed, coupons.Bill{StoreID: store, EventFee: true, PayableFen: 30000}, 0, coupons.CodeNotApplicable},
		{"percent, rounded down", pct, bill("MAINTENANCE", 10001), 1500, ""},
		{"percent, capped", pct, bill("MAINTENANCE", 100000), 2000, ""},
		{"percent, an event fee", pct, coupons.Bill{StoreID: other, EventFee: true, PayableFen: 5000}, 750, ""},
		{"percent of nothing", pct, bill("MAINTENANCE", 0), 0, coupons.CodeNotApplicable},
		{"free item, dearest line", free, bill("DETAILING", 9000, coupons.Line{Code: "wash", AmountFen: 1500},
			coupons.Line{Code: "WASH", AmountFen: 2500}, coupons.Line{Code: "WAX", AmountFen: 5000}), 2500, ""},
		{"free item, capped", free, bill("DETAILING", 9000, coupons.Line{Code: "WASH", AmountFen: 8000}), 3000, ""},
		{"free item, no line", free, bill("DETAILING", 9000, coupons.Line{Code: "WAX", AmountFen: 9000}), 0, coupons.CodeNotApplicable},
		{"fixed, more than the bill", &coupons.Template{Kind: coupons.FixedOff, AmountFen: 5000, OrderKinds: "REPAIR"}, bill("REPAIR", 3000), 3000, ""},
	}
	for _, c := range cases {
		got, err := c.t.Discount(c.b)
		if c.code != "" {
			testdb.WantCode(t, err, c.code, "couponId")
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

// Redemption: exactly one of many concurrent redemptions of one coupon
// wins; a used coupon is refused; a released one is available again.
func TestRedeemOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.owner()
	c := e.issue(e.template(nil), o)
	const n = 40
	var wg sync.WaitGroup
	var won, refused atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
				_, err := e.svc.Redeem(ctx, coupons.Redemption{CouponID: c.ID, OwnerID: o.ID, RefType: coupons.RefRepairOrder, RefID: models.NewID(),
					Bill: coupons.Bill{StoreID: e.store, OrderKind: "MAINTENANCE", PayableFen: 20000}})
				return err
			})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, coupons.ErrNotAvailable):
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 || refused.Load() != n-1 {
		t.Fatalf("%d redemptions: %d won, %d refused", n, won.Load(), refused.Load())
	}
	// Another owner cannot name it.
	stranger := e.owner()
	err := e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
		_, err := e.svc.Redeem(ctx, coupons.Redemption{CouponID: c.ID, OwnerID: stranger.ID, RefID: models.NewID()})
		return err
	})
	testdb.WantCode(t, err, models.CodeNotFound, "couponId")
}

// A cancelled use gives the coupon back while it is valid, and expired
// after its end.
func TestRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.owner()
	tpl := e.template(func(in *coupons.TemplateInput) { in.EventFees, in.PerOwnerLimit = true, 2 })
	redeem := func(c *coupons.Coupon, ref uuid.UUID) {
		must(t, e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error {
			_, err := e.svc.Redeem(ctx, coupons.Redemption{CouponID: c.ID, OwnerID: o.ID, RefType: coupons.RefRegistration, RefID: ref,
				Bill: coupons.Bill{StoreID: e.store, EventFee: true, PayableFen: 8000}})
			return err
		}))
	}
	a, b := e.issue(tpl, o), e.issue(tpl, o)
	ra, rb := models.NewID(), models.NewID()
	redeem(a, ra)
	redeem(b, rb)
	back, err := e.svc.Release(e.ctx, coupons.RefRegistration, ra)
	must(t, err)
	if got, _ := e.svc.CouponFor(e.ctx, e.crm, a.ID); !back || got.Status != coupons.Available || got.DiscountFen != 0 {
		t.Fatalf("released coupon: %v %+v", back, got)
	}
	e.clock.Advance(11 * 24 * time.Hour)
	back, err = e.svc.Release(e.ctx, coupons.RefRegistration, rb)
	must(t, err)
	if got, _ := e.svc.CouponFor(e.ctx, e.crm, b.ID); !back || got.Status != coupons.Expired {
		t.Fatalf("released after its end: %v %+v", back, got)
	}
}

// Reserve holds a coupon (RESERVED, no used_at) that Consume spends or
// Release gives back; concurrent give-backs of one bill give it back once,
// and a second Consume or Release finds nothing.
func TestReserveConsumeRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.owner()
	tpl := e.template(func(in *coupons.TemplateInput) { in.EventFees, in.PerOwnerLimit = true, 2 })
	inTx := func(f func(ctx context.Context) error) error { return e.db.WithClock(e.clock.Now).WithTx(e.ctx, f) }
	c := e.issue(tpl, o)
	ref := models.NewID()
	must(t, inTx(func(ctx context.Context) error {
		off, err := e.svc.Reserve(ctx, coupons.Redemption{CouponID: c.ID, OwnerID: o.ID, RefType: coupons.RefRegistration, RefID: ref,
			Bill: coupons.Bill{StoreID: e.store, EventFee: true, PayableFen: 8000}})
		if err == nil && off != 5000 {
			err = fmt.Errorf("reserved for %d fen off", off)
		}
		return err
	}))
	got, _ := e.svc.CouponFor(e.ctx, e.crm, c.ID)
	if got.Status != coupons.Reserved || got.UsedAt != nil || got.DiscountFen != 5000 {
		t.Fatalf("reserved coupon: %+v", got)
	}
	// Reserved is not available to another bill.
	err := inTx(func(ctx context.Context) error {
		_, err := e.svc.Redeem(ctx, coupons.Redemption{CouponID: c.ID, OwnerID: o.ID, RefType: coupons.RefRegistration, RefID: models.NewID(),
			Bill: coupons.Bill{StoreID: e.store, EventFee: true, PayableFen: 8000}})
		return err
	})
	testdb.WantCode(t, err, coupons.CodeNotAvailable, "couponId")
	for i, want := range []bool{true, false} {
		var ok bool
		must(t, inTx(func(ctx context.Context) (err error) {
			ok, err = e.svc.Consume(ctx, coupons.RefRegistration, ref)
			return err
		}))
		if ok != want {
			t.Fatalf("consume %d: %v", i, ok)
		}
	}
	if got, _ := e.svc.CouponFor(e.ctx, e.crm, c.ID); got.Status != coupons.Used || got.UsedAt == nil {
		t.Fatalf("consumed coupon: %+v", got)
	}
	var wg sync.WaitGroup
	var back atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok bool
			if err := inTx(func(ctx context.Context) (err error) {
				ok, err = e.svc.Release(ctx, coupons.RefRegistration, ref)
				return err
			}); err != nil {
				t.Error(err)
			}
			if ok {
				back.Add(1)
			}
		}()
	}
	wg.Wait()
	if got, _ := e.svc.CouponFor(e.ctx, e.crm, c.ID); back.Load() != 1 || got.Status != coupons.Available || got.UsedRefID != nil {
		t.Fatalf("%d give-backs of one bill; coupon %+v", back.Load(), got)
	}
}

// The jobs: a reminder once per coupon 3 days before its end, then the
// coupon marked expired once passed; owners see it expired before. Not in
// parallel: the jobs go through every coupon of the shared database, and
// would expire the other tests' coupons under them.
func TestExpiryAndReminder(t *testing.T) {
	e := newEnv(t)
	o := e.owner()
	c := e.issue(e.template(nil), o) // ends base + 10 days
	count := func() int64 {
		var n int64
		must(t, e.db.Conn(e.ctx).Model(&inbox.Notification{}).Where("owner_id = ? AND kind = ?", o.ID, outbox.KindCouponExpiring).Count(&n).Error)
		return n
	}
	now := base.Add(6 * 24 * time.Hour)
	must(t, func() error { _, err := e.svc.Remind(e.ctx, now); return err }())
	if count() != 0 {
		t.Fatal("reminded 4 days before the end")
	}
	now = base.Add(7*24*time.Hour + time.Minute)
	for range 2 {
		_, err := e.svc.Remind(e.ctx, now)
		must(t, err)
	}
	if count() != 1 {
		t.Fatalf("%d reminders; want 1", count())
	}
	// Past its end: EXPIRED to readers at once, and stored so by the job.
	e.clock.Set(base.Add(10*24*time.Hour + time.Second))
	st := coupons.Expired
	rows, _, err := e.svc.Coupons(e.ctx, &auth.Principal{Kind: auth.KindOwner, ID: o.ID}, o.ID, &st, models.Page{First: 10})
	must(t, err)
	if len(rows) != 1 || rows[0].ID != c.ID {
		t.Fatalf("expired coupons before the job: %v", rows)
	}
	n, err := e.svc.Expire(e.ctx, e.clock.Now())
	must(t, err)
	if n < 1 {
		t.Fatalf("expired %d", n)
	}
	var stored coupons.Coupon
	must(t, e.db.Conn(e.ctx).Take(&stored, "id = ?", c.ID).Error)
	if stored.Status != coupons.Expired {
		t.Fatalf("stored status %s", stored.Status)
	}
}

// Bad template input stores nothing; staff outside the store may not
// create or issue.
func TestTemplateRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := newEnv(t)
	in := coupons.TemplateInput{StoreID: &e.store, Name: "x", Kind: coupons.FixedOff, AmountFen: 100, OrderKinds: []string{"TUNING"},
		ValidDays: 3, PerOwnerLimit: 1}
	_, err := e.svc.CreateTemplate(e.ctx, e.crm, in)
	testdb.WantCode(t, err, models.CodeInvalidArgument, "orderKinds")
	in.OrderKinds = []string{"REPAIR"}
	_, err = e.svc.CreateTemplate(e.ctx, other.crm, in)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.CreateTemplate(e.ctx, e.cashier, in)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	tpl := e.template(nil)
	_, err = e.svc.IssueByStaff(e.ctx, other.crm, tpl.ID, e.owner().ID, "")
	testdb.WantCode(t, err, models.CodeNotFound, "couponTemplateId")
	// A fixed window that has ended issues no more.
	until := base.Add(time.Hour)
	win := e.template(func(in *coupons.TemplateInput) { in.ValidDays, in.ValidUntil = 0, &until })
	e.clock.Advance(2 * time.Hour)
	_, err = e.svc.Issue(e.ctx, coupons.IssueRequest{TemplateID: win.ID, OwnerID: e.owner().ID, Source: coupons.SourceCampaign})
	testdb.WantCode(t, err, coupons.CodeTemplateExpired, "couponTemplateId")
}

// The owner's export lists their coupons with the terms; erasing the
// account deletes them and leaves other owners' alone.
func TestExportAndErase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o, other := e.owner(), e.owner()
	tpl := e.template(nil)
	mine, theirs := e.issue(tpl, o), e.issue(tpl, other)
	out, err := e.svc.ExportOwner(e.ctx, o.ID)
	must(t, err)
	cs := out.([]*coupons.Coupon)
	if len(cs) != 1 || cs[0].ID != mine.ID || cs[0].Template == nil || cs[0].Template.Name != "保养立减" {
		t.Fatalf("export: %+v", cs)
	}
	must(t, e.db.WithClock(e.clock.Now).WithTx(e.ctx, func(ctx context.Context) error { return e.svc.EraseOwner(ctx, o.ID) }))
	var left []uuid.UUID
	must(t, e.db.Conn(e.ctx).Model(&coupons.Coupon{}).Where("owner_id IN ?", []uuid.UUID{o.ID, other.ID}).Pluck("id", &left).Error)
	if len(left) != 1 || left[0] != theirs.ID {
		t.Fatalf("after erasing: %v", left)
	}
}

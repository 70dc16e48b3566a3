package wallet_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm/schema"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestMembershipAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o, other := e.customer("韩五"), e.customer("杨六")
	e.topUp(o, 12_300)
	for _, c := range []struct {
		name  string
		actor *auth.Principal
		code  models.Code
	}{
		{"the owner", ownerOf(o), ""},
		{"staff of the home store", e.who("cashier.sz01"), ""},
		{"group admin", e.who("admin"), ""},
		{"another owner", ownerOf(other), models.CodeNotFound},
		// A membership is the customer's: technicians see no customer.
		{"a technician of the home store", e.who("technician1.sz01"), models.CodeNotFound},
		{"a screen", &auth.Principal{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.sz.ID}}, models.CodeNotFound},
		{"nobody", nil, models.CodeUnauthenticated},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := e.svc.Membership(e.ctx, c.actor, o.ID)
			_, _, lerr := e.svc.Entries(e.ctx, c.actor, o.ID, models.Page{First: 5}, nil)
			if c.code != "" {
				wantCode(t, err, c.code, "")
				wantCode(t, lerr, c.code, "")
				return
			}
			must(t, err)
			must(t, lerr)
			if m.OwnerID != o.ID || m.BalanceFen != 12_300 || m.Tier != wallet.Basic {
				t.Fatalf("membership %+v", m)
			}
		})
	}
	_, err := e.svc.Membership(e.ctx, e.who("admin"), models.NewID())
	wantCode(t, err, models.CodeNotFound, "")

	// Another store's staff do not see the membership; its counter staff
	// see the card's entries at their store (a walk-in's top-up), no others.
	gz := e.who("manager.gz01")
	_, err = e.svc.Membership(e.ctx, gz, o.ID)
	wantCode(t, err, models.CodeNotFound, "")
	rows, _, err := e.svc.Entries(e.ctx, gz, o.ID, models.Page{First: 5}, nil)
	must(t, err)
	if len(rows) != 0 {
		t.Fatalf("GZ01's manager sees %d SZ01 entries", len(rows))
	}
	res, err := e.svc.TopUp(e.ctx, e.who("cashier.gz01"), wallet.TopUpInput{OwnerID: o.ID, StoreID: e.gz.ID,
		AmountFen: 100, Method: "CASH", IdempotencyKey: "walk-in-" + o.ID.String()})
	must(t, err)
	rows, _, err = e.svc.Entries(e.ctx, gz, o.ID, models.Page{First: 5}, nil)
	must(t, err)
	if len(rows) != 1 || rows[0].ID != res.Entries[0].ID {
		t.Fatalf("GZ01's manager sees %v, want only the GZ01 top-up", rows)
	}
	_, _, err = e.svc.Entries(e.ctx, e.who("advisor.gz01"), o.ID, models.Page{First: 5}, nil)
	wantCode(t, err, models.CodeNotFound, "")
}

func TestEntriesNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("朱七")
	e.topUp(o, 100_000) // TOP_UP, TOP_UP_BONUS
	for i := range 3 {
		_, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 1_000, MoneyFen: 1_000, Key: "s" + string(rune('a'+i))})
		must(t, err)
	}
	all := e.entries(o) // oldest first
	p := models.Page{First: 3}
	var got []*wallet.Entry
	for {
		page, more, err := e.svc.Entries(e.ctx, ownerOf(o), o.ID, p, nil)
		must(t, err)
		got = append(got, page...)
		if !more {
			break
		}
		p.After = models.Cursor{ID: page[len(page)-1].ID}
	}
	if len(got) != len(all) || len(all) != 8 {
		t.Fatalf("%d entries paged, %d in the ledger", len(got), len(all))
	}
	for i := range got {
		if got[i].ID != all[len(all)-1-i].ID {
			t.Fatalf("entry %d is %s; want newest first", i, got[i].Kind)
		}
	}
	spends, more, err := e.svc.Entries(e.ctx, ownerOf(o), o.ID, models.Page{First: 10}, []wallet.EntryKind{wallet.Spend, wallet.TopUpBonus})
	must(t, err)
	if more || !slices.Equal(kinds(spends), []wallet.EntryKind{wallet.Spend, wallet.Spend, wallet.Spend, wallet.TopUpBonus}) {
		t.Fatalf("filtered %v", kinds(spends))
	}
	_, _, err = e.svc.Entries(e.ctx, ownerOf(o), o.ID, models.Page{First: 10}, []wallet.EntryKind{"GIFT"})
	wantCode(t, err, models.CodeInvalidArgument, "kinds")
}

// A dataloader's batch costs the same few statements for 1 owner or 20.
func TestMembershipsByOwnerIDsStatements(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t) // counts statements: a database of its own
	var ids []uuid.UUID
	for i := range 20 {
		o := e.customer("批量")
		ids = append(ids, o.ID)
		if i%2 == 0 {
			e.topUp(o, 100_000)
			_, err := e.charge(wallet.ChargeInput{OwnerID: o.ID, WalletFen: 5_000, MoneyFen: 5_000, Key: "b"})
			must(t, err)
		}
	}
	count := func(ids []uuid.UUID) (map[uuid.UUID]*wallet.Membership, int64) {
		before := e.db.Statements()
		m, err := e.svc.MembershipsByOwnerIDs(e.ctx, ids)
		must(t, err)
		return m, e.db.Statements() - before
	}
	one, n1 := count(ids[:1])
	all, n20 := count(append(ids, models.NewID()))
	if n1 != n20 || n20 > 3 {
		t.Fatalf("statements: %d for 1 owner, %d for 21; want the same, at most 3", n1, n20)
	}
	if len(one) != 1 || len(all) != 20 || all[ids[0]].BalanceFen != 105_000 || all[ids[0]].SpentLast12MFen != 5_000 || all[ids[0]].Points != 50 {
		t.Fatalf("batch: %d, %d; first %+v", len(one), len(all), all[ids[0]])
	}
	if empty, n := count(nil); len(empty) != 0 || n != 0 {
		t.Fatalf("empty batch: %d statements", n)
	}
}

// Every owner has an account, opened by the database with the owner.
func TestAccountOpensWithOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", customers.Add(1)), Name: "新车主"}
	must(t, e.db.Conn(e.ctx).Create(o).Error)
	a := e.account(o)
	if a.BalanceFen != 0 || a.Points != 0 || a.Tier != wallet.Basic || a.CreatedAt.IsZero() {
		t.Fatalf("account %+v", a)
	}
	var owners, accounts int64
	must(t, e.db.Conn(e.ctx).Model(&models.Owner{}).Count(&owners).Error)
	must(t, e.db.Conn(e.ctx).Model(&wallet.Account{}).Count(&accounts).Error)
	if owners > accounts {
		t.Fatalf("%d owners, %d accounts", owners, accounts)
	}
}

// Nothing updates or deletes an entry, whatever the SQL; the CHECKs stop a
// negative balance even when written directly.
func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.customer("秦八")
	x := e.topUp(o, 1_000).Entries[0]
	conn := e.db.Conn(e.ctx)
	for name, sql := range map[string]string{
		"update": `UPDATE ledger_entries SET amount_fen = 999999 WHERE id = ?`,
		"delete": `DELETE FROM ledger_entries WHERE id = ?`,
	} {
		if err := conn.Exec(sql, x.ID).Error; err == nil {
			t.Errorf("%s of a ledger entry succeeded", name)
		}
	}
	if err := conn.Exec(`UPDATE membership_accounts SET balance_fen = -1 WHERE owner_id = ?`, o.ID).Error; err == nil {
		t.Error("a negative balance was accepted")
	}
	if err := conn.Exec(`UPDATE membership_accounts SET points = -1 WHERE owner_id = ?`, o.ID).Error; err == nil {
		t.Error("negative points were accepted")
	}
	if got := e.entries(o); len(got) != 1 || got[0].AmountFen != 1_000 {
		t.Fatalf("entries %+v", got)
	}
}

// Every GORM entity of package wallet (and the idempotency key) matches its
// table: every field a column, every column a field, NULL exactly where the
// field is a pointer.
func TestSchemaMatchesEntities(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	conn := e.db.Conn(context.Background())
	m := conn.Migrator()
	cache := &sync.Map{}
	for _, ent := range []any{&wallet.Account{}, &wallet.Entry{}, &wallet.PointsLot{}, &models.IdempotencyKey{}} {
		s, err := schema.Parse(ent, cache, conn.NamingStrategy)
		must(t, err)
		t.Run(s.Table, func(t *testing.T) {
			cols, err := m.ColumnTypes(ent)
			must(t, err)
			nullable := map[string]bool{}
			for _, c := range cols {
				n, _ := c.Nullable()
				nullable[c.Name()] = n
			}
			fields := map[string]bool{}
			for _, f := range s.Fields {
				fields[f.DBName] = true
				n, ok := nullable[f.DBName]
				if !ok {
					t.Errorf("%s.%s: no column %s", s.Name, f.Name, f.DBName)
					continue
				}
				if isPtr := f.FieldType.Kind() == reflect.Pointer; !f.PrimaryKey && n != isPtr {
					t.Errorf("%s.%s: column nullable=%v, field %s", s.Name, f.Name, n, f.FieldType)
				}
			}
			for name := range nullable {
				if !fields[name] {
					t.Errorf("table %s: column %s has no field", s.Table, name)
				}
			}
		})
	}
}

// A membership is loaded only for owners the caller may see (the customer
// rule): the owner, staff in a customer role at the owner's store, the
// group admin; not a technician, another store's staff or another owner.
func TestMembershipsFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.customer("可见甲"), e.customer("可见乙")
	ids := []uuid.UUID{a.ID, b.ID}
	tech := &auth.Principal{Kind: auth.KindStaff, ID: models.NewID(), StoreIDs: []uuid.UUID{e.sz.ID}, Roles: []auth.Role{auth.RoleTechnician}}
	gzAdvisor := &auth.Principal{Kind: auth.KindStaff, ID: models.NewID(), StoreIDs: []uuid.UUID{e.gz.ID}, Roles: []auth.Role{auth.RoleAdvisor}}
	szAdvisor := &auth.Principal{Kind: auth.KindStaff, ID: models.NewID(), StoreIDs: []uuid.UUID{e.sz.ID}, Roles: []auth.Role{auth.RoleAdvisor}}
	for _, c := range []struct {
		name  string
		actor *auth.Principal
		want  []uuid.UUID
	}{
		{"the owner", ownerOf(a), []uuid.UUID{a.ID}},
		{"advisor of their store", szAdvisor, ids},
		{"group admin", e.who("admin"), ids},
		{"technician of their store", tech, nil},
		{"advisor of another store", gzAdvisor, nil},
		{"anonymous", nil, nil},
	} {
		m, err := e.svc.MembershipsFor(e.ctx, c.actor, ids)
		must(t, err)
		if len(m) != len(c.want) {
			t.Errorf("%s: %d memberships, want %d", c.name, len(m), len(c.want))
			continue
		}
		for _, id := range c.want {
			if m[id] == nil {
				t.Errorf("%s: no membership for %s", c.name, id)
			}
		}
	}
}

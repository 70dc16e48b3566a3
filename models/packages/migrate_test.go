package packages_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// The migration for packages bought online keeps every package, payment and
// refund written before it (on SQLite it rebuilds payments and
// owner_packages, which other tables refer to), and from then on a package
// has either a seller or a payment.
func TestOnlinePurchaseMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	dbURL, drop, err := testdb.URL()
	must(t, err)
	t.Cleanup(drop)
	db, err := models.Open(dbURL, t.TempDir(), nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	dialect := string(db.Dialect)
	_, err = migrations.UpTo(ctx, db.SQL, dialect, 34)
	must(t, err)

	now := time.Date(2031, 5, 4, 2, 0, 0, 0, time.UTC)
	store, staff, owner, product, pkg, pay, refund, use, order, car := models.NewID(), models.NewID(), models.NewID(), models.NewID(),
		models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID()
	exec := func(sql string, args ...any) {
		t.Helper()
		must(t, db.Conn(ctx).Exec(sql, args...).Error)
	}
	exec(`INSERT INTO stores (id, code, name, city, created_at, updated_at) VALUES (?, 'MIG36', '迁移门店', '深圳', ?, ?)`, store, now, now)
	exec(`INSERT INTO staffs (id, username, name, password_hash, created_at, updated_at) VALUES (?, 'mig36', '收银', 'x', ?, ?)`, staff, now, now)
	exec(`INSERT INTO owners (id, phone, created_at, updated_at) VALUES (?, '+8613600036036', ?, ?)`, owner, now, now)
	exec(`INSERT INTO service_packages (id, store_id, name, order_kind, uses, price_fen, valid_days, created_by, created_at)
		VALUES (?, ?, '保养四次卡', 'MAINTENANCE', 4, 160000, 365, ?, ?)`, product, store, staff, now)
	exec(`INSERT INTO owner_packages (id, package_id, owner_id, store_id, order_kind, uses_total, uses_left, price_fen, valid_until,
		status, pay_method, sold_by, sold_at, updated_at) VALUES (?, ?, ?, ?, 'MAINTENANCE', 4, 3, 160000, ?, 'ACTIVE', 'CASH', ?, ?, ?)`,
		pkg, product, owner, store, now.Add(365*24*time.Hour), staff, now, now)
	exec(`INSERT INTO vehicles (id, vin, brand, model, model_year, owner_id, created_at, updated_at)
		VALUES (?, 'LSVAU2180N2183036', '大众', '帕萨特', 2030, ?, ?, ?)`, car, owner, now, now)
	exec(`INSERT INTO repair_orders (id, number, store_id, vehicle_id, owner_id, advisor_id, kind, mileage_in, status, status_changed_at,
		created_at, updated_at) VALUES (?, 'MIG36-20310504-001', ?, ?, ?, ?, 'MAINTENANCE', 1000, 'DELIVERED', ?, ?, ?)`,
		order, store, car, owner, staff, now, now, now)
	exec(`INSERT INTO package_uses (id, owner_package_id, order_id, covered_fen, used_by, used_at) VALUES (?, ?, ?, 40000, ?, ?)`,
		use, pkg, order, staff, now)
	exec(`INSERT INTO payments (id, owner_id, store_id, purpose, amount_fen, refunded_fen, out_trade_no, trade_type, state, idempotency_key,
		expires_at, paid_at, created_at, updated_at) VALUES (?, ?, ?, 'TOP_UP', 5000, 0, 'TU036', 'JSAPI', 'REFUNDING', 'k', ?, ?, ?, ?)`,
		pay, owner, store, now, now, now, now)
	exec(`INSERT INTO payment_refunds (id, payment_id, out_refund_no, amount_fen, cause, reason, state, created_at, updated_at)
		VALUES (?, ?, 'RF036', 5000, 'STAFF', '退款', 'PENDING', ?, ?)`, refund, pay, now, now)

	_, err = migrations.UpTo(ctx, db.SQL, dialect, 36)
	must(t, err)
	count := func(table, where string, args ...any) int64 {
		t.Helper()
		var n int64
		must(t, db.Conn(ctx).Table(table).Where(where, args...).Count(&n).Error)
		return n
	}
	if count("owner_packages", "id = ? AND sold_by = ? AND uses_left = 3 AND payment_id IS NULL", pkg, staff) != 1 ||
		count("package_uses", "owner_package_id = ?", pkg) != 1 || count("payments", "id = ? AND state = 'REFUNDING'", pay) != 1 ||
		count("payment_refunds", "payment_id = ?", pay) != 1 {
		t.Fatal("rows lost by the migration")
	}
	// A package bought online has its payment and no seller; a package
	// with neither, or a payment without the online method, is refused.
	exec(`INSERT INTO payments (id, owner_id, store_id, purpose, reference_id, amount_fen, out_trade_no, trade_type, state, idempotency_key,
		expires_at, paid_at, created_at, updated_at) VALUES (?, ?, ?, 'SERVICE_PACKAGE', ?, 160000, 'SP036', 'JSAPI', 'PAID', 'k2', ?, ?, ?, ?)`,
		refund, owner, store, product, now, now, now, now)
	insert := func(id any, method string, soldBy, payment any) error {
		return db.Conn(ctx).Exec(`INSERT INTO owner_packages (id, package_id, owner_id, store_id, order_kind, uses_total, uses_left, price_fen,
			valid_until, status, pay_method, sold_by, payment_id, sold_at, updated_at)
			VALUES (?, ?, ?, ?, 'MAINTENANCE', 4, 4, 160000, ?, 'ACTIVE', ?, ?, ?, ?, ?)`,
			id, product, owner, store, now.Add(time.Hour), method, soldBy, payment, now, now).Error
	}
	if err := insert(models.NewID(), "WECHAT_PAY", nil, nil); err == nil {
		t.Fatal("a package with neither a seller nor a payment")
	}
	if err := insert(models.NewID(), "CASH", nil, refund); err == nil {
		t.Fatal("a payment on a package sold for cash")
	}
	must(t, insert(models.NewID(), "WECHAT_PAY_ONLINE", nil, refund))
	if err := insert(models.NewID(), "WECHAT_PAY_ONLINE", nil, refund); err == nil {
		t.Fatal("two packages of one payment")
	}
}

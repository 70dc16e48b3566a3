package models_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every GORM entity of package models; a new one belongs here.
var entities = []any{
	&models.Store{}, &models.StoreHours{}, &models.Staff{}, &models.StaffRole{}, &models.StaffStore{},
	&models.Owner{}, &models.Vehicle{}, &models.LoginCode{}, &models.RefreshToken{}, &models.AuthFailure{},
	&models.StaffNetwork{}, &inbox.Notification{}, &models.IdempotencyKey{}, &directory.DeletedOwner{},
}

func TestMigrationsApplyToEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, drop, err := testdb.URL()
	must(t, err)
	t.Cleanup(drop)
	db, err := models.Open(dbURL, t.TempDir(), nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	dialect := string(db.Dialect)

	pending, err := migrations.Pending(ctx, db.SQL, dialect)
	must(t, err)
	if !pending {
		t.Fatal("an empty database has no pending migrations")
	}
	n, err := migrations.Up(ctx, db.SQL, dialect, nil)
	must(t, err)
	if want := len(migrationFiles(t, dialect)); n != want {
		t.Fatalf("applied %d migrations; want %d", n, want)
	}
	n, err = migrations.Up(ctx, db.SQL, dialect, nil)
	must(t, err)
	if n != 0 {
		t.Fatalf("second Up applied %d migrations; want 0", n)
	}
	if pending, err := migrations.Pending(ctx, db.SQL, dialect); err != nil || pending {
		t.Fatalf("Pending after Up = %v, %v", pending, err)
	}
}

// migrationFiles lists the versions of the migration files of a dialect, read
// from the source tree.
func migrationFiles(t *testing.T, dialect string) []int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("..", "migrations", dialect))
	must(t, err)
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.ParseInt(strings.SplitN(name, "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s/%s: no version prefix", dialect, name)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrationVersionsMatchAcrossDialects(t *testing.T) {
	t.Parallel()
	pg, lite := migrationFiles(t, "postgres"), migrationFiles(t, "sqlite")
	if len(pg) == 0 || !slices.Equal(pg, lite) {
		t.Fatalf("migration files: postgres %v, sqlite %v; want the same versions", pg, lite)
	}
	t.Run("Versions", func(t *testing.T) {
		pgV, err := migrations.Versions("postgres")
		must(t, err)
		liteV, err := migrations.Versions("sqlite")
		must(t, err)
		if !slices.Equal(pgV, liteV) || !slices.Equal(pgV, pg) {
			t.Fatalf("Versions: postgres %v, sqlite %v; files %v", pgV, liteV, pg)
		}
	})
}

// TestSchemaMatchesModels checks, on the dialect under test, that every
// entity has its table, every field its column and every column a field, and
// that a column is nullable exactly when its field can hold NULL (a pointer),
// so that no read fails on a NULL and no write loses a value.
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), entities...)
}

func TestSchemaConstraints(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t)
	ctx := context.Background()
	conn := db.Conn(ctx)
	now := testdb.Now()
	store := &models.Store{ID: models.NewID(), Code: "T1", Name: "测试店", City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 2, SlotMinutes: 60}
	must(t, conn.Create(store).Error)
	owner := &models.Owner{ID: models.NewID(), Phone: "+8613800000001", Name: "张伟"}
	must(t, conn.Create(owner).Error)
	staff := &models.Staff{ID: models.NewID(), Username: "u1", Name: "员工", PasswordHash: "x", Active: true}
	must(t, conn.Create(staff).Error)

	fails := []struct {
		name string
		sql  string
		args []any
	}{
		{"negative mileage", `INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, mileage_km, created_at, updated_at)
			VALUES (?, ?, 'LVGBE4AK0RG000001', 'Toyota', 'Camry', 2024, -1, ?, ?)`, []any{models.NewID(), owner.ID, now, now}},
		{"negative warranty km", `INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, warranty_end_km, created_at, updated_at)
			VALUES (?, ?, 'LVGBE4AK0RG000002', 'Toyota', 'Camry', 2024, -1, ?, ?)`, []any{models.NewID(), owner.ID, now, now}},
		{"short VIN", `INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, created_at, updated_at)
			VALUES (?, ?, 'LVGBE4AK0RG00000', 'Toyota', 'Camry', 2024, ?, ?)`, []any{models.NewID(), owner.ID, now, now}},
		{"vehicle of no owner", `INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, created_at, updated_at)
			VALUES (?, ?, 'LVGBE4AK0RG000003', 'Toyota', 'Camry', 2024, ?, ?)`, []any{models.NewID(), models.NewID(), now, now}},
		{"bad staff role", `INSERT INTO staff_roles (staff_id, role) VALUES (?, 'BOSS')`, []any{staff.ID}},
		{"phone not E.164", `INSERT INTO owners (id, phone, created_at, updated_at) VALUES (?, '13800000002', ?, ?)`, []any{models.NewID(), now, now}},
		{"duplicate phone", `INSERT INTO owners (id, phone, created_at, updated_at) VALUES (?, '+8613800000001', ?, ?)`, []any{models.NewID(), now, now}},
		{"bad gender", `INSERT INTO owners (id, phone, gender, created_at, updated_at) VALUES (?, '+8613800000003', 'X', ?, ?)`, []any{models.NewID(), now, now}},
		{"weekday 7", `INSERT INTO store_hours (store_id, weekday, opens, closes) VALUES (?, 7, '08:00', '18:00')`, []any{store.ID}},
		{"closes before opens", `INSERT INTO store_hours (store_id, weekday, opens, closes) VALUES (?, 1, '18:00', '08:00')`, []any{store.ID}},
		{"duplicate store code", `INSERT INTO stores (id, code, name, city, created_at, updated_at) VALUES (?, 'T1', 'x', 'y', ?, ?)`, []any{models.NewID(), now, now}},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			if err := conn.Exec(f.sql, f.args...).Error; err == nil {
				t.Fatalf("insert succeeded; want a constraint violation")
			}
		})
	}
	// The valid twin of the mileage row is accepted, so the failures above
	// are the constraints and not the statement.
	must(t, conn.Exec(`INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, mileage_km, created_at, updated_at)
		VALUES (?, ?, 'LVGBE4AK0RG000001', 'Toyota', 'Camry', 2024, 0, ?, ?)`, models.NewID(), owner.ID, now, now).Error)
	must(t, conn.Exec(`INSERT INTO staff_roles (staff_id, role) VALUES (?, 'MANAGER')`, staff.ID).Error)
	if !models.IsUniqueViolation(conn.Exec(`INSERT INTO owners (id, phone, created_at, updated_at) VALUES (?, '+8613800000001', ?, ?)`, models.NewID(), now, now).Error) {
		t.Error("IsUniqueViolation does not recognise a duplicate phone")
	}
}

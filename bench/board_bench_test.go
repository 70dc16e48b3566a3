package bench_test

// Benchmarks of the domain calls behind a workshop screen's poll of
// GET /api/v1/stores/{code}/board (server/board.go):
//
//	304   workshop.Service.ScreenBoardVersion: the one statement a poll whose
//	      If-None-Match still matches costs.
//	full  ScreenBoardVersion, then workshop.Service.Board, then the board
//	      encoded as JSON: what a poll costs when the board changed.
//
// Each reports stmts/op from models.DB.Statements(), the counter behind the
// server's ownerhub_db_statements_total metric, and orders (cards on the
// board). They run on the demo data (models/demo) of store SZ01 as seeded,
// then again after GrowBy more orders were opened there, to show that the
// statements do not grow with the board.
//
// The database is the dialect under test (models/testdb): SQLite by
// default, PostgreSQL when TEST_DATABASE_URL is set. It is created and
// seeded only when a benchmark runs, so `go test ./bench/` stays quick.
//
//	go test -run x -bench . -benchtime 2s ./bench/
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test -run x -bench . -benchtime 2s ./bench/

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/workshop"
)

const (
	benchStore = "SZ01"
	// GrowBy is how many orders the second round opens at the store.
	GrowBy = 200
)

// fixture is the seeded database the benchmarks share.
type fixture struct {
	db      *models.DB
	ws      *workshop.Service
	storeID uuid.UUID
	manager *auth.Principal
	screen  *auth.Principal
	grown   bool
}

var (
	fxOnce    sync.Once
	fx        *fixture
	fxErr     error
	fxCleanup func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fxCleanup != nil {
		fxCleanup()
	}
	os.Exit(code)
}

// setup creates and seeds the database once per process.
func setup(b *testing.B) *fixture {
	b.Helper()
	fxOnce.Do(func() { fx, fxErr = newFixture(context.Background()) })
	if fxErr != nil {
		b.Fatal(fxErr)
	}
	return fx
}

func newFixture(ctx context.Context) (*fixture, error) {
	db, cleanup, err := testdb.New()
	if err != nil {
		return nil, err
	}
	fxCleanup = cleanup
	if _, err := demo.Seed(ctx, db, demo.DefaultPassword); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	f := &fixture{db: db, ws: &workshop.Service{DB: db}}
	store, err := f.ws.StoreByCode(ctx, benchStore)
	if err != nil {
		return nil, err
	}
	f.storeID = store.ID
	var m models.Staff
	if err := db.Conn(ctx).Where("username = ?", "manager.sz01").Take(&m).Error; err != nil {
		return nil, fmt.Errorf("demo manager: %w", err)
	}
	f.manager = &auth.Principal{Kind: auth.KindStaff, ID: m.ID, Roles: []auth.Role{auth.RoleManager}, StoreIDs: []uuid.UUID{store.ID}}
	// The screen as issueScreenToken makes it: the token's principal is the
	// grant's row id, bound to the store.
	t, err := f.ws.IssueScreenToken(ctx, f.manager, store.ID, "benchmark")
	if err != nil {
		return nil, fmt.Errorf("screen token: %w", err)
	}
	f.screen = &auth.Principal{Kind: auth.KindScreen, ID: t.ID, StoreIDs: []uuid.UUID{store.ID}}
	return f, nil
}

// orders counts the cards on the board.
func (f *fixture) orders(ctx context.Context) (int, error) {
	board, err := f.ws.Board(ctx, f.screen, f.storeID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range board.Columns {
		n += len(c.Cards)
	}
	return n, nil
}

// grow registers GrowBy new cars and checks each in at the store, through
// the same operations staff use.
func (f *fixture) grow(ctx context.Context) error {
	if f.grown {
		return nil
	}
	for i := range GrowBy {
		vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LBVBENCH0%08d", i))
		if err != nil {
			return err
		}
		v, _, err := (&directory.Service{DB: f.db}).RegisterVehicle(ctx, f.manager, directory.VehicleRegistration{
			OwnerPhone: "+8613911110000", OwnerName: "压测", VIN: vin,
			Brand: "BYD", Model: "Han", ModelYear: 2024,
		})
		if err != nil {
			return fmt.Errorf("register %s: %w", vin, err)
		}
		_, err = f.ws.Open(ctx, f.manager, workshop.OpenInput{
			StoreID: f.storeID, Vehicle: v.VIN, MileageIn: 1000 + i, Kind: workshop.Maintenance,
			Concern: "benchmark check-in",
		})
		if err != nil {
			return fmt.Errorf("open order for %s: %w", vin, err)
		}
	}
	f.grown = true
	return nil
}

func BenchmarkBoardPoll(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	for _, round := range []string{"demo", "grown"} {
		if round == "grown" {
			if err := f.grow(ctx); err != nil {
				b.Fatal(err)
			}
		}
		n, err := f.orders(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			b.Run("304", func(b *testing.B) { benchPoll(b, f, n, false) })
			b.Run("full", func(b *testing.B) { benchPoll(b, f, n, true) })
		})
	}
}

// benchPoll does what the board handler does for a screen's poll: the
// version check, and when full the board and its JSON.
func benchPoll(b *testing.B, f *fixture, orders int, full bool) {
	ctx := context.Background()
	size := 0
	start := f.db.Statements()
	b.ReportAllocs()
	for b.Loop() {
		_, ok, err := f.ws.ScreenBoardVersion(ctx, f.screen.ID, f.storeID)
		if err != nil || !ok {
			b.Fatalf("screen poll refused: ok=%v err=%v", ok, err)
		}
		if !full {
			continue
		}
		board, err := f.ws.Board(ctx, f.screen, f.storeID)
		if err != nil {
			b.Fatal(err)
		}
		out, err := json.Marshal(board)
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(f.db.Statements()-start)/float64(b.N), "stmts/op")
	b.ReportMetric(float64(orders), "orders")
	if full {
		b.ReportMetric(float64(size), "json-bytes")
	}
}

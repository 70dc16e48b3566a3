package bench_test

// Benchmark of settling repair orders paid from the membership wallet:
// workshop.Service.Settle, which fixes the
// bill, charges the owner's wallet (wallet.Service.Charge: the account row
// locked, a SPEND and a POINTS_EARN entry, a points lot, the tier) and
// records the payment, in one transaction.
//
//	one-account    every settlement pays from the same owner's wallet: all
//	               of them queue on that one account row.
//	many-accounts  each goroutine pays from its own owner's wallet.
//
// Both run b.RunParallel with GOMAXPROCS×settleParallelism goroutines and
// report settles/s (settlements per second of wall time) and stmts/op. Each
// settlement is a ¥100 bill paid in full from the wallet. The orders are
// prepared before the timer starts: inserted READY_FOR_PICKUP (one car each,
// as one open order per car requires) at a store of their own, BN01, so
// that the board benchmark's SZ01 board stays as seeded; the wallets are
// funded by one manager's correction (a top-up may not pass the ¥5,000 cap).
// After each run the accounts are checked: balance and points equal the
// sums of their ledger entries, and each paid exactly what it settled.
//
//	go test -run x -bench Settle -benchtime 3s ./bench/
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test -run x -bench Settle -benchtime 3s ./bench/

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

const (
	// settlePriceFen is every benchmark bill: ¥100, paid from the wallet.
	settlePriceFen = 10_000
	// settleParallelism: RunParallel runs GOMAXPROCS times this many
	// goroutines (8 on the 2-core reference machine).
	settleParallelism = 4
	// settleBatch rows per INSERT when preparing orders.
	settleBatch = 200
)

// settleFixture is the benchmark store BN01 with a wallet-connected
// workshop on the shared seeded database.
type settleFixture struct {
	db      *models.DB
	ws      *workshop.Service
	wl      *wallet.Service
	storeID uuid.UUID
	staff   *auth.Principal // the demo manager of SZ01, also manager of BN01
	seq     atomic.Int64
}

var (
	sfOnce sync.Once
	sf     *settleFixture
	sfErr  error
)

func settleSetup(b *testing.B) *settleFixture {
	b.Helper()
	f := setup(b)
	sfOnce.Do(func() { sf, sfErr = newSettleFixture(context.Background(), f) })
	if sfErr != nil {
		b.Fatal(sfErr)
	}
	return sf
}

func newSettleFixture(ctx context.Context, f *fixture) (*settleFixture, error) {
	now := testdb.Now()
	store := &models.Store{ID: models.NewID(), Code: "BN01", Name: "结算压测店", City: "深圳", Timezone: "Asia/Shanghai",
		ServiceBays: 4, SlotMinutes: 60, CreatedAt: now, UpdatedAt: now}
	if err := f.db.Conn(ctx).Create(store).Error; err != nil {
		return nil, fmt.Errorf("benchmark store: %w", err)
	}
	wl := &wallet.Service{DB: f.db}
	return &settleFixture{
		db: f.db, wl: wl, ws: &workshop.Service{DB: f.db, Wallet: wl}, storeID: store.ID,
		staff: &auth.Principal{Kind: auth.KindStaff, ID: f.manager.ID, Roles: []auth.Role{auth.RoleManager}, StoreIDs: []uuid.UUID{store.ID}},
	}, nil
}

// owners adds n owners of BN01; the database opens their accounts.
func (s *settleFixture) owners(ctx context.Context, n int) ([]uuid.UUID, error) {
	now := testdb.Now()
	rows := make([]*models.Owner, n)
	ids := make([]uuid.UUID, n)
	for i := range rows {
		ids[i] = models.NewID()
		rows[i] = &models.Owner{ID: ids[i], Phone: fmt.Sprintf("+86136%08d", s.seq.Add(1)), Name: "压测车主",
			HomeStoreID: &s.storeID, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.db.Conn(ctx).CreateInBatches(rows, settleBatch).Error; err != nil {
		return nil, fmt.Errorf("benchmark owners: %w", err)
	}
	return ids, nil
}

// fund puts fen on the owner's card with one manager's correction.
func (s *settleFixture) fund(ctx context.Context, owner uuid.UUID, fen int64) error {
	_, err := s.wl.Adjust(ctx, s.staff, wallet.AdjustInput{OwnerID: owner, StoreID: s.storeID, AmountFen: fen,
		Reason: "benchmark funds", IdempotencyKey: fmt.Sprintf("bench-fund-%d", s.seq.Add(1))})
	return err
}

// readyOrders inserts n orders of the owner at BN01, each for a car of its
// own, READY_FOR_PICKUP with one pre-approved ¥100 labour line.
func (s *settleFixture) readyOrders(ctx context.Context, owner uuid.UUID, n int) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, n)
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		now := testdb.Now()
		for lo := 0; lo < n; lo += settleBatch {
			hi := min(lo+settleBatch, n)
			cars := make([]*models.Vehicle, 0, hi-lo)
			orders := make([]*workshop.RepairOrder, 0, hi-lo)
			items := make([]*workshop.Item, 0, hi-lo)
			for i := lo; i < hi; i++ {
				seq := s.seq.Add(1)
				car := &models.Vehicle{ID: models.NewID(), OwnerID: owner, VIN: fmt.Sprintf("BNCH%013d", seq), Brand: "BYD",
					Model: "Han", ModelYear: 2024, SellingStoreID: &s.storeID, MileageKm: 1000, CreatedAt: now, UpdatedAt: now}
				ids[i] = models.NewID()
				orders = append(orders, &workshop.RepairOrder{ID: ids[i], Number: fmt.Sprintf("BN01-BENCH-%d", seq),
					StoreID: s.storeID, VehicleID: car.ID, OwnerID: owner, AdvisorID: s.staff.ID, Kind: workshop.Repair,
					MileageIn: 1000, Status: workshop.ReadyForPickup, StatusChangedAt: now, Version: 1, CreatedAt: now, UpdatedAt: now})
				items = append(items, &workshop.Item{ID: models.NewID(), OrderID: ids[i], Kind: workshop.Labor, Code: "LAB-BENCH",
					Description: "压测工时", QuantityMilli: 1000, UnitPriceFen: settlePriceFen, AmountFen: settlePriceFen,
					Approval: workshop.PreApproved, CreatedBy: s.staff.ID, CreatedAt: now})
				cars = append(cars, car)
			}
			conn := s.db.Conn(ctx)
			if err := conn.Create(cars).Error; err != nil {
				return err
			}
			if err := conn.Create(orders).Error; err != nil {
				return err
			}
			if err := conn.Create(items).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("benchmark orders: %w", err)
	}
	return ids, nil
}

// check verifies an account after a run: it paid for exactly settled
// orders, and its balance and points equal the sums of its ledger.
func (s *settleFixture) check(ctx context.Context, owner uuid.UUID, funded, settled int64) error {
	var r struct{ BalanceFen, Points, SumAmount, SumPoints, Spends int64 }
	err := s.db.Conn(ctx).Raw(`SELECT a.balance_fen, a.points,
		CAST(COALESCE(SUM(e.amount_fen), 0) AS BIGINT) AS sum_amount, CAST(COALESCE(SUM(e.points), 0) AS BIGINT) AS sum_points,
		COUNT(CASE WHEN e.kind = 'SPEND' THEN 1 END) AS spends
		FROM membership_accounts a LEFT JOIN ledger_entries e ON e.owner_id = a.owner_id
		WHERE a.owner_id = ? GROUP BY a.owner_id, a.balance_fen, a.points`, owner).Scan(&r).Error
	switch {
	case err != nil:
		return err
	case r.BalanceFen != r.SumAmount || r.Points != r.SumPoints:
		return fmt.Errorf("account %s differs from its ledger: %+v", owner, r)
	case r.Spends != settled || r.BalanceFen != funded-settled*settlePriceFen ||
		r.Points != settled*wallet.PointsEarned(settlePriceFen):
		return fmt.Errorf("account %s after %d settlements of %d fen from %d: %+v", owner, settled, settlePriceFen, funded, r)
	}
	return nil
}

func BenchmarkSettle(b *testing.B) {
	s := settleSetup(b)
	b.Run("one-account", func(b *testing.B) { benchSettle(b, s, false) })
	b.Run("many-accounts", func(b *testing.B) { benchSettle(b, s, true) })
}

// benchSettle settles b.N orders in parallel, all from one owner's wallet
// or each goroutine from its own owner's.
func benchSettle(b *testing.B, s *settleFixture, many bool) {
	ctx := context.Background()
	accounts := 1
	if many {
		accounts = runtime.GOMAXPROCS(0) * settleParallelism
	}
	prep := time.Now()
	owners, err := s.owners(ctx, accounts)
	if err != nil {
		b.Fatal(err)
	}
	// Each account has an order for every iteration: RunParallel does not
	// say how it shares b.N out among its goroutines.
	queues := make([][]uuid.UUID, accounts)
	funded := int64(b.N) * settlePriceFen
	for i, o := range owners {
		if queues[i], err = s.readyOrders(ctx, o, b.N); err != nil {
			b.Fatal(err)
		}
		if err := s.fund(ctx, o, funded); err != nil {
			b.Fatal(err)
		}
	}
	if b.N > 1 {
		b.Logf("prepared %d orders for %d account(s) in %v", b.N*accounts, accounts, time.Since(prep).Round(time.Millisecond))
	}
	taken := make([]atomic.Int64, accounts)
	var goroutines atomic.Int64
	start := s.db.Statements()
	b.SetParallelism(settleParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := int(goroutines.Add(1) - 1)
		if !many {
			mine = 0
		}
		for pb.Next() {
			id := queues[mine][taken[mine].Add(1)-1]
			_, err := s.ws.Settle(ctx, s.staff, workshop.SettleInput{OrderID: id,
				Payments: []workshop.PaymentInput{{Method: workshop.Wallet, AmountFen: settlePriceFen}}})
			if err != nil {
				b.Errorf("settle: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settles/s")
	b.ReportMetric(float64(s.db.Statements()-start)/float64(b.N), "stmts/op")
	for i, o := range owners {
		if err := s.check(ctx, o, funded, taken[i].Load()); err != nil {
			b.Fatal(err)
		}
	}
}

package bench_test

// Benchmarks of registering for a popular event:
//
//	free  every goroutine registers an owner of its own for the same class
//	      and cancels the registration again (events.Service.Register, then
//	      CancelRegistration): all of them take and give back seats on one
//	      event row, which every registration, cancellation and promotion of
//	      the event locks first. The class has 10,000 seats, never full.
//	paid  the same for a class of ¥10 a seat paid from the wallet: the
//	      registration charges the owner's account (a SPEND entry) and the
//	      cancellation, before the deadline, refunds it (a REFUND entry), in
//	      the same transactions.
//
// They run b.RunParallel with GOMAXPROCS×eventParallelism goroutines and
// report registrations/s (registered and cancelled again per second of wall
// time: b.N / elapsed), stmts/op (for both) and, counted once before the
// timer on one registration and one cancellation alone, stmts/register and
// stmts/cancel. The event is new in every run, at SZ01 thirty days ahead;
// after the run its seats_taken is checked to be 0 with every registration
// cancelled, each paid one charged and refunded exactly once, and the
// ledger audited (wallet.Audit).
//
//	go test -run x -bench Event -benchtime 3s ./bench/
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test -run x -bench Event -benchtime 3s ./bench/

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

const (
	// eventParallelism: RunParallel runs GOMAXPROCS times this many
	// goroutines (8 on the 2-core reference machine).
	eventParallelism = 4
	eventFeeFen      = 1_000
)

var eventSeq atomic.Int64

func BenchmarkEventRegister(b *testing.B) {
	f := setup(b)
	b.Run("free", func(b *testing.B) { benchRegister(b, f, 0) })
	b.Run("paid", func(b *testing.B) { benchRegister(b, f, eventFeeFen) })
}

// eventOwners adds n owners of SZ01 and funds each with fen through a
// manager's correction.
func eventOwners(ctx context.Context, f *fixture, wl *wallet.Service, n int, fen int64) ([]*auth.Principal, error) {
	now := testdb.Now()
	owners := make([]*models.Owner, n)
	out := make([]*auth.Principal, n)
	for i := range owners {
		seq := eventSeq.Add(1)
		owners[i] = &models.Owner{ID: models.NewID(), Phone: fmt.Sprintf("+86136%08d", seq), Name: "活动压测",
			HomeStoreID: &f.storeID, CreatedAt: now, UpdatedAt: now}
		out[i] = &auth.Principal{Kind: auth.KindOwner, ID: owners[i].ID}
	}
	if err := f.db.Conn(ctx).CreateInBatches(owners, 200).Error; err != nil {
		return nil, fmt.Errorf("benchmark owners: %w", err)
	}
	if fen > 0 {
		for i, o := range owners {
			if _, err := wl.Adjust(ctx, f.manager, wallet.AdjustInput{OwnerID: o.ID, StoreID: f.storeID, AmountFen: fen,
				Reason: "活动压测", IdempotencyKey: fmt.Sprintf("bench-event-%d-%d", eventSeq.Load(), i)}); err != nil {
				return nil, fmt.Errorf("fund benchmark owner: %w", err)
			}
		}
	}
	return out, nil
}

func benchRegister(b *testing.B, f *fixture, fee int64) {
	ctx := context.Background()
	wl := &wallet.Service{DB: f.db}
	svc := &events.Service{DB: f.db, Wallet: wl}
	now := time.Now().UTC().Truncate(time.Hour)
	start := now.AddDate(0, 0, 30)
	ev, err := svc.CreateEvent(ctx, f.manager, events.Spec{StoreID: f.storeID, Kind: events.Class, Title: "热门讲堂",
		Location: "深圳福田店", StartsAt: start, EndsAt: start.Add(2 * time.Hour), RegistrationOpensAt: now.Add(-time.Hour),
		RegistrationClosesAt: start.Add(-time.Hour), CancellationDeadline: start.Add(-24 * time.Hour),
		Capacity: events.MaxCapacity, FeeFen: fee})
	if err == nil {
		_, err = svc.PublishEvent(ctx, f.manager, ev.ID, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0) * eventParallelism
	// Each owner can pay for every registration of the run: refunds give
	// the fee back before the next one.
	owners, err := eventOwners(ctx, f, wl, workers+1, 10*fee)
	if err != nil {
		b.Fatal(err)
	}

	// One registration and its cancellation alone, counted.
	s0 := f.db.Statements()
	r, err := svc.Register(ctx, owners[workers], events.RegisterInput{EventID: ev.ID})
	if err != nil {
		b.Fatal(err)
	}
	s1 := f.db.Statements()
	if _, err := svc.CancelRegistration(ctx, owners[workers], r.ID, ""); err != nil {
		b.Fatal(err)
	}
	s2 := f.db.Statements()

	var goroutines, registered atomic.Int64
	before := f.db.Statements()
	b.SetParallelism(eventParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		me := owners[int(goroutines.Add(1)-1)]
		for pb.Next() {
			r, err := svc.Register(ctx, me, events.RegisterInput{EventID: ev.ID})
			if err != nil {
				b.Errorf("register: %v", err)
				return
			}
			if r.Status != events.Confirmed {
				b.Errorf("registration %s", r.Status)
				return
			}
			registered.Add(1)
			if _, err := svc.CancelRegistration(ctx, me, r.ID, ""); err != nil {
				b.Errorf("cancel: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
	b.ReportMetric(float64(f.db.Statements()-before)/float64(b.N), "stmts/op")
	b.ReportMetric(float64(s1-s0), "stmts/register")
	b.ReportMetric(float64(s2-s1), "stmts/cancel")
	if err := checkEvent(ctx, f, ev.ID, registered.Load()+1, fee > 0); err != nil {
		b.Fatal(err)
	}
}

// checkEvent verifies an event after a run: no seat held, every one of n
// registrations cancelled, and (paid) each charged and refunded once.
func checkEvent(ctx context.Context, f *fixture, eventID uuid.UUID, n int64, paid bool) error {
	var r struct{ SeatsTaken, Registrations, Cancelled, Spends, Refunds int64 }
	err := f.db.Conn(ctx).Raw(`SELECT
		(SELECT seats_taken FROM events WHERE id = ?) AS seats_taken,
		(SELECT COUNT(*) FROM registrations WHERE event_id = ?) AS registrations,
		(SELECT COUNT(*) FROM registrations WHERE event_id = ? AND status = 'CANCELLED' AND refunded_fen = paid_fen) AS cancelled,
		(SELECT COUNT(*) FROM ledger_entries e JOIN registrations r ON r.id = e.ref_id WHERE r.event_id = ? AND e.kind = 'SPEND') AS spends,
		(SELECT COUNT(*) FROM ledger_entries e JOIN registrations r ON r.id = e.ref_id WHERE r.event_id = ? AND e.kind = 'REFUND') AS refunds`,
		eventID, eventID, eventID, eventID, eventID).Scan(&r).Error
	if err != nil {
		return err
	}
	want := int64(0)
	if paid {
		want = n
	}
	if r.SeatsTaken != 0 || r.Registrations != n || r.Cancelled != n || r.Spends != want || r.Refunds != want {
		return fmt.Errorf("after %d registrations: %+v", n, r)
	}
	bad, err := wallet.Audit(ctx, f.db)
	if err != nil {
		return err
	}
	if len(bad) != 0 {
		return fmt.Errorf("wallet audit: %+v", bad)
	}
	return nil
}

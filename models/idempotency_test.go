package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// receipt is what the test operation answers: the effect it made.
type receipt struct {
	NotificationID uuid.UUID
	Title          string
	At             time.Time
}

// idemFixture runs an operation whose one effect is a notification in an
// owner's inbox, so effects can be counted.
type idemFixture struct {
	w     *world
	owner *models.Owner
}

func newIdemFixture(t *testing.T) *idemFixture {
	w := newWorld(t)
	return &idemFixture{w: w, owner: w.Owner(1, "张伟", w.SZ)}
}

type sendParams struct {
	Title  string
	Amount int64
}

func (f *idemFixture) send(ctx context.Context, scope, key string, p sendParams, required bool) (receipt, error) {
	return models.Idempotent(ctx, f.w.DB, scope, key, "test.send", p, required, func(ctx context.Context) (receipt, error) {
		if p.Title == "race" {
			// Long enough that the other retries arrive while it runs.
			time.Sleep(50 * time.Millisecond)
		}
		if p.Amount < 0 {
			return receipt{}, models.Invalid("amount", "金额无效", "amount must not be negative")
		}
		msg := &inbox.Notification{OwnerID: f.owner.ID, Kind: "TEST", Title: p.Title}
		if _, err := (&inbox.Service{DB: f.w.DB}).CreateNotification(ctx, msg); err != nil {
			return receipt{}, err
		}
		return receipt{NotificationID: msg.ID, Title: p.Title, At: msg.CreatedAt}, nil
	})
}

func (f *idemFixture) effects(title string) int64 {
	var n int64
	must(f.w.T, f.w.DB.Conn(f.w.Ctx).Model(&inbox.Notification{}).Where("title = ?", title).Count(&n).Error)
	return n
}

func TestIdempotentSequentialRetryReplays(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	scope := models.IdempotencyScope(f.w.SZManager)
	first, err := f.send(f.w.Ctx, scope, "k-1", sendParams{Title: "a", Amount: 5}, true)
	must(t, err)
	for range 3 {
		again, err := f.send(f.w.Ctx, scope, "k-1", sendParams{Title: "a", Amount: 5}, true)
		must(t, err)
		if again.NotificationID != first.NotificationID || !again.At.Equal(first.At) || again.Title != "a" {
			t.Fatalf("retry answered %+v; first %+v", again, first)
		}
	}
	if n := f.effects("a"); n != 1 {
		t.Fatalf("%d effects; want 1", n)
	}
	var row models.IdempotencyKey
	must(t, f.w.DB.Conn(f.w.Ctx).Where("scope = ? AND key = ?", scope, "k-1").Take(&row).Error)
	if row.Operation != "test.send" || len(row.RequestHash) != 64 || row.Response == "" {
		t.Fatalf("stored key %+v", row)
	}
}

func TestIdempotentConcurrentRetries(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	scope := models.IdempotencyScope(f.w.SZManager)
	const n = 20
	results := make([]receipt, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = f.send(f.w.Ctx, scope, "k-race", sendParams{Title: "race", Amount: 1}, true)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		must(t, errs[i])
		if results[i].NotificationID != results[0].NotificationID {
			t.Fatalf("retry %d answered %v; retry 0 %v", i, results[i].NotificationID, results[0].NotificationID)
		}
	}
	if got := f.effects("race"); got != 1 {
		t.Fatalf("%d effects of %d concurrent retries; want 1", got, n)
	}
}

func TestIdempotentKeyReusedForOtherParams(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	scope := models.IdempotencyScope(f.w.SZManager)
	_, err := f.send(f.w.Ctx, scope, "k-2", sendParams{Title: "b", Amount: 5}, true)
	must(t, err)
	_, err = f.send(f.w.Ctx, scope, "k-2", sendParams{Title: "b", Amount: 6}, true)
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
	if !errors.Is(err, models.ErrIdempotencyKeyReused) {
		t.Fatal("errors.Is does not match IDEMPOTENCY_KEY_REUSED")
	}
	// Another operation with the same key and params is another request.
	_, err = models.Idempotent(f.w.Ctx, f.w.DB, scope, "k-2", "test.other", sendParams{Title: "b", Amount: 5}, true,
		func(context.Context) (int, error) { return 1, nil })
	wantCode(t, err, models.CodeIdempotencyKeyReused, "idempotencyKey")
	if n := f.effects("b"); n != 1 {
		t.Fatalf("%d effects; want 1", n)
	}
}

func TestIdempotentScopesIsolateCallers(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	a, err := f.send(f.w.Ctx, models.IdempotencyScope(f.w.SZManager), "same", sendParams{Title: "c"}, true)
	must(t, err)
	b, err := f.send(f.w.Ctx, models.IdempotencyScope(f.w.GZManager), "same", sendParams{Title: "c"}, true)
	must(t, err)
	if a.NotificationID == b.NotificationID || f.effects("c") != 2 {
		t.Fatalf("two callers with one key: %v, %v, %d effects; want two effects", a, b, f.effects("c"))
	}
	owner := ownerPrincipal(f.owner)
	if got := models.IdempotencyScope(owner); got != "OWNER:"+f.owner.ID.String() {
		t.Errorf("owner scope %q", got)
	}
	if models.IdempotencyScope(nil) != "" {
		t.Error("no caller has a scope")
	}
}

func TestIdempotentRefusalKeepsKeyFree(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	scope := models.IdempotencyScope(f.w.SZManager)
	_, err := f.send(f.w.Ctx, scope, "k-3", sendParams{Title: "d", Amount: -1}, true)
	wantCode(t, err, models.CodeInvalidArgument, "amount")
	if f.w.Count(&models.IdempotencyKey{}) != 0 {
		t.Fatal("a refused request kept its key")
	}
	// The corrected retry (other params) runs, once.
	r, err := f.send(f.w.Ctx, scope, "k-3", sendParams{Title: "d", Amount: 1}, true)
	must(t, err)
	again, err := f.send(f.w.Ctx, scope, "k-3", sendParams{Title: "d", Amount: 1}, true)
	must(t, err)
	if r != again || f.effects("d") != 1 {
		t.Fatalf("corrected retry: %v then %v, %d effects", r, again, f.effects("d"))
	}
}

func TestIdempotentKeyRules(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	scope := models.IdempotencyScope(f.w.SZManager)
	_, err := f.send(f.w.Ctx, scope, " ", sendParams{Title: "e"}, true)
	wantCode(t, err, models.CodeInvalidArgument, "idempotencyKey")
	long := make([]byte, models.MaxIdempotencyKeyLen+1)
	for i := range long {
		long[i] = 'k'
	}
	_, err = f.send(f.w.Ctx, scope, string(long), sendParams{Title: "e"}, true)
	wantCode(t, err, models.CodeInvalidArgument, "idempotencyKey")
	_, err = f.send(f.w.Ctx, scope, "k\x00", sendParams{Title: "e"}, true)
	wantCode(t, err, models.CodeInvalidArgument, "idempotencyKey")
	// Optional and absent: the operation runs every time, in a transaction.
	for range 2 {
		_, err = f.send(f.w.Ctx, scope, "", sendParams{Title: "e"}, false)
		must(t, err)
	}
	if n := f.effects("e"); n != 2 {
		t.Fatalf("%d effects without a key; want 2", n)
	}
	if f.w.Count(&models.IdempotencyKey{}) != 0 {
		t.Fatal("a request without a key stored one")
	}
	// A request inside a transaction joins it: rolled back with it.
	boom := errors.New("boom")
	err = f.w.DB.WithTx(f.w.Ctx, func(ctx context.Context) error {
		if _, err := f.send(ctx, scope, "k-tx", sendParams{Title: "f"}, true); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || f.effects("f") != 0 || f.w.Count(&models.IdempotencyKey{}) != 0 {
		t.Fatalf("outer rollback: %v, %d effects", err, f.effects("f"))
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	t.Parallel()
	f := newIdemFixture(t)
	ctx := f.w.Ctx
	scope := models.IdempotencyScope(f.w.SZManager)
	_, err := f.send(ctx, scope, "fresh", sendParams{Title: "g"}, true)
	must(t, err)
	old := models.IdempotencyKey{Scope: scope, Key: "old", Operation: "test.send", RequestHash: "x", Response: "{}",
		CreatedAt: testdb.Now().Add(-25 * time.Hour)}
	must(t, f.w.DB.Conn(ctx).Create(&old).Error)
	// Asking to prune everything still keeps the last 24 hours.
	n, err := f.w.DB.PruneIdempotencyKeys(ctx, testdb.Now().Add(time.Hour))
	must(t, err)
	if n != 1 || f.w.Count(&models.IdempotencyKey{}) != 1 {
		t.Fatalf("pruned %d, %d left; want the old one gone, the fresh one kept", n, f.w.Count(&models.IdempotencyKey{}))
	}
	// The fresh key still replays.
	_, err = f.send(ctx, scope, "fresh", sendParams{Title: "g"}, true)
	must(t, err)
	if f.effects("g") != 1 {
		t.Fatal("a kept key ran its request again")
	}
}

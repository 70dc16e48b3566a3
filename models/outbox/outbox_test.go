package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

func TestSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &outbox.Delivery{})
}

// fast is the test configuration: short polls and backoff, few workers.
// Each test with workers has a database of its own (another test's workers
// would take its deliveries) and runs alone, so that the package holds few
// connections.
var fast = outbox.Config{PollInterval: 10 * time.Millisecond, Backoff: 30 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 4, Workers: 4}

// recorder is a channel that counts the sends of each delivery and answers
// what script says for its n-th attempt (nil: success).
type recorder struct {
	mu     sync.Mutex
	sends  map[uuid.UUID]int
	at     map[uuid.UUID][]time.Time
	script func(d outbox.Delivery, n int) error
	total  atomic.Int64
}

func newRecorder(script func(outbox.Delivery, int) error) *recorder {
	return &recorder{sends: map[uuid.UUID]int{}, at: map[uuid.UUID][]time.Time{}, script: script}
}

func (r *recorder) Send(_ context.Context, d outbox.Delivery) (string, error) {
	r.mu.Lock()
	r.sends[d.ID]++
	n := r.sends[d.ID]
	r.at[d.ID] = append(r.at[d.ID], time.Now())
	r.mu.Unlock()
	r.total.Add(1)
	if r.script != nil {
		if err := r.script(d, n); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("p-%s-%d", d.ID, n), nil
}

func (r *recorder) count(id uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sends[id]
}

// start runs an outbox over db sending through ch until the test ends.
func start(t *testing.T, db *models.DB, ch outbox.Channel) *outbox.Outbox {
	t.Helper()
	o := newOutbox(t, db, ch)
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = o.Stop(ctx)
	})
	return o
}

func newOutbox(t *testing.T, db *models.DB, ch outbox.Channel) *outbox.Outbox {
	t.Helper()
	o, err := outbox.New(db, map[string]outbox.Channel{outbox.ChannelSMS: ch}, fast, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var serial atomic.Int64

func message() outbox.Message {
	n := serial.Add(1)
	return outbox.Message{Kind: "TEST", DedupeKey: fmt.Sprintf("test-%d-%d", time.Now().UnixNano(), n),
		Payload: map[string]string{"n": fmt.Sprintf("%06d", n)},
		To:      []outbox.Recipient{{Channel: outbox.ChannelSMS, Address: fmt.Sprintf("+86138%08d", n)}}}
}

func enqueue(t *testing.T, o *outbox.Outbox, m outbox.Message) outbox.Delivery {
	t.Helper()
	ds, err := o.Enqueue(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("enqueued %d deliveries; want 1", len(ds))
	}
	return ds[0]
}

// waitStatus waits until the delivery has the status, and returns it.
func waitStatus(t *testing.T, o *outbox.Outbox, id uuid.UUID, status string) *outbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := o.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after %d attempts (%q); want %s", id, d.Status, d.Attempts, d.LastError, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRolledBackTransactionSendsNothing(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(nil)
	o := start(t, db, rec)
	var rolledBack []outbox.Delivery
	errRollback := errors.New("rolled back")
	err := db.WithTx(context.Background(), func(ctx context.Context) error {
		var err error
		rolledBack, err = o.Enqueue(ctx, message())
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) || len(rolledBack) != 1 {
		t.Fatalf("WithTx = %v with %d deliveries", err, len(rolledBack))
	}
	// A delivery committed after it is sent: by then the rolled-back one
	// would have been too.
	after := enqueue(t, o, message())
	waitStatus(t, o, after.ID, outbox.Sent)
	time.Sleep(5 * fast.PollInterval)
	if n := rec.count(rolledBack[0].ID); n != 0 {
		t.Fatalf("rolled-back delivery sent %d times", n)
	}
	if _, err := o.Get(context.Background(), rolledBack[0].ID); err == nil {
		t.Fatal("rolled-back delivery is in the table")
	}
}

func TestCommittedWhileNoWorkerRunsIsSentOnceAWorkerStarts(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(nil)
	// The instance that committed dies before sending: it never started.
	dead := newOutbox(t, db, rec)
	d := enqueue(t, dead, message())
	time.Sleep(10 * fast.PollInterval)
	if got, _ := dead.Get(context.Background(), d.ID); got.Status != outbox.Pending || rec.count(d.ID) != 0 {
		t.Fatalf("delivery %s with no worker: %+v, sent %d", d.ID, got, rec.count(d.ID))
	}
	o := start(t, db, rec)
	got := waitStatus(t, o, d.ID, outbox.Sent)
	time.Sleep(10 * fast.PollInterval)
	if n := rec.count(d.ID); n != 1 || got.Attempts != 1 || got.ProviderMessageID == "" {
		t.Fatalf("sent %d times, attempts %d, provider id %q; want once", n, got.Attempts, got.ProviderMessageID)
	}
}

func TestSameDedupeKeyIsEnqueuedOnce(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(nil)
	o := start(t, db, rec)
	m := message()
	first := enqueue(t, o, m)
	again, err := o.Enqueue(context.Background(), m)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Enqueue = %d deliveries, %v; want none", len(again), err)
	}
	waitStatus(t, o, first.ID, outbox.Sent)
	if n := rec.count(first.ID); n != 1 {
		t.Fatalf("sent %d times", n)
	}
}

// Push fans out: one message to several devices is one delivery per device,
// each enqueued once however often the message is; on SMS a second
// recipient of one message is the same delivery.
func TestPushFansOutOneDeliveryPerDevice(t *testing.T) {
	db := testdb.Open(t)
	o := newOutbox(t, db, newRecorder(nil)) // not started: enqueue only
	m := message()
	m.To = []outbox.Recipient{{Channel: outbox.ChannelPush, Address: models.NewID().String()},
		{Channel: outbox.ChannelPush, Address: models.NewID().String()}}
	ds, err := o.Enqueue(context.Background(), m)
	if err != nil || len(ds) != 2 || ds[0].DedupeKey == ds[1].DedupeKey {
		t.Fatalf("Enqueue to two devices = %+v, %v; want two deliveries with their own keys", ds, err)
	}
	m.To = append(m.To, outbox.Recipient{Channel: outbox.ChannelPush, Address: models.NewID().String()})
	ds, err = o.Enqueue(context.Background(), m)
	if err != nil || len(ds) != 1 || ds[0].Recipient != m.To[2].Address {
		t.Fatalf("Enqueue again with a third device = %+v, %v; want the third only", ds, err)
	}
	sms := message()
	sms.To = append(sms.To, outbox.Recipient{Channel: outbox.ChannelSMS, Address: "+8613900000000"})
	if ds, err := o.Enqueue(context.Background(), sms); err != nil || len(ds) != 1 {
		t.Fatalf("Enqueue to two phones = %+v, %v; want one delivery", ds, err)
	}
}

func TestThrottledDeliveryRetriesWithBackoffThenSends(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(func(_ outbox.Delivery, n int) error {
		if n < 3 {
			return errors.New("throttled")
		}
		return nil
	})
	o := start(t, db, rec)
	d := enqueue(t, o, message())
	got := waitStatus(t, o, d.ID, outbox.Sent)
	if got.Attempts != 3 || rec.count(d.ID) != 3 {
		t.Fatalf("attempts %d, sends %d; want 3", got.Attempts, rec.count(d.ID))
	}
	rec.mu.Lock()
	at := rec.at[d.ID]
	rec.mu.Unlock()
	// The second wait is at least twice the first backoff.
	if gap := at[1].Sub(at[0]); gap < fast.Backoff {
		t.Errorf("first retry after %v; want at least %v", gap, fast.Backoff)
	}
	if gap := at[2].Sub(at[1]); gap < 2*fast.Backoff {
		t.Errorf("second retry after %v; want at least %v", gap, 2*fast.Backoff)
	}
}

func TestPermanentRefusalEndsFailedWithoutRetrying(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(func(d outbox.Delivery, _ int) error {
		return outbox.Permanent(fmt.Errorf("invalid number for payload %s", d.Payload))
	})
	o := start(t, db, rec)
	m := message()
	d := enqueue(t, o, m)
	got := waitStatus(t, o, d.ID, outbox.Failed)
	time.Sleep(5 * fast.Backoff)
	if n := rec.count(d.ID); n != 1 || got.Attempts != 1 {
		t.Fatalf("sent %d times, attempts %d; want 1", n, got.Attempts)
	}
	if got.LastError == "" || strings.Contains(got.LastError, m.Payload["n"]) {
		t.Fatalf("last_error %q: want the refusal without the payload", got.LastError)
	}
}

func TestRetriesEndDead(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(func(outbox.Delivery, int) error { return errors.New("gateway down") })
	o := start(t, db, rec)
	d := enqueue(t, o, message())
	got := waitStatus(t, o, d.ID, outbox.Dead)
	if got.Attempts != fast.MaxAttempts || rec.count(d.ID) != fast.MaxAttempts {
		t.Fatalf("attempts %d, sends %d; want %d", got.Attempts, rec.count(d.ID), fast.MaxAttempts)
	}
}

// A delivery claimed after its NotAfter (its instance was down until then)
// ends EXPIRED without reaching the channel, and a login code's payload is
// erased with it.
func TestDeliveryPastItsNotAfterExpiresUnsent(t *testing.T) {
	db := testdb.Open(t) // alone: another test's workers would take its deliveries
	rec := newRecorder(nil)
	down := newOutbox(t, db, rec)
	m := message()
	m.Kind = outbox.KindLoginCode
	m.NotAfter = time.Now().Add(50 * time.Millisecond)
	d := enqueue(t, down, m)
	if d.NotAfter == nil || !d.NotAfter.Equal(m.NotAfter) {
		t.Fatalf("delivery not_after %v; want %v", d.NotAfter, m.NotAfter)
	}
	time.Sleep(100 * time.Millisecond)
	o := start(t, db, rec)
	got := waitStatus(t, o, d.ID, outbox.Expired)
	time.Sleep(5 * fast.PollInterval)
	if n := rec.count(d.ID); n != 0 || got.Attempts != 0 || got.Payload != "{}" {
		t.Fatalf("expired delivery: sent %d times, attempts %d, payload %q; want unsent and erased", n, got.Attempts, got.Payload)
	}
	// One with time left is sent as before.
	m = message()
	m.NotAfter = time.Now().Add(time.Hour)
	live := enqueue(t, o, m)
	waitStatus(t, o, live.ID, outbox.Sent)
}

// A delivery throttled until after its NotAfter is not retried: the retry's
// claim ends it EXPIRED.
func TestThrottledPastItsNotAfterExpires(t *testing.T) {
	db := testdb.Open(t)                        // alone: another test's workers would take its deliveries
	notAfter := time.Now().Add(3 * time.Second) // the first attempt comes well before
	rec := newRecorder(func(outbox.Delivery, int) error {
		time.Sleep(time.Until(notAfter) + 10*time.Millisecond)
		return errors.New("throttled")
	})
	o := start(t, db, rec)
	m := message()
	m.NotAfter = notAfter
	d := enqueue(t, o, m)
	got := waitStatus(t, o, d.ID, outbox.Expired)
	time.Sleep(5 * fast.Backoff)
	if n := rec.count(d.ID); n != 1 || got.Attempts != 1 || got.Payload == "{}" {
		t.Fatalf("sent %d times, attempts %d, payload %q; want one throttled attempt, payload kept", n, got.Attempts, got.Payload)
	}
}

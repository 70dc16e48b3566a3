package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// A value read through CachedUntilAnnounced is read again after its topic
// is announced, after the maximum age, and always inside a transaction;
// otherwise it is served from memory.
func TestCachedUntilAnnounced(t *testing.T) {
	dbURL, drop, err := testdb.URL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	const maxAge = 400 * time.Millisecond
	db, err := models.OpenPool(dbURL, t.TempDir(), nil, models.Pool{LiveCacheMaxAge: maxAge})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	select {
	case <-db.LiveReady():
	case <-time.After(10 * time.Second):
		t.Fatal("listener not ready")
	}
	ctx := context.Background()
	reads := 0
	get := func(ctx context.Context) int {
		t.Helper()
		v, err := models.CachedUntilAnnounced(ctx, db, "test:1", func(context.Context) (int, error) {
			reads++
			return reads, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for range 2 {
		if get(ctx) != 1 {
			t.Fatalf("not kept: %d reads", reads)
		}
	}
	if err := db.Publish(ctx, "test:2"); err != nil {
		t.Fatal(err)
	}
	if get(ctx) != 1 {
		t.Fatal("another topic's announcement dropped the value")
	}
	// Wait for the announcement to come back (on PostgreSQL, this
	// instance's own notification drops the entry a second time).
	heard, stop := db.Subscribe("test:1")
	defer stop()
	start := time.Now()
	if err := db.Publish(ctx, "test:1"); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, heard, true, "the announcement")
	for range 2 {
		if get(ctx) != 2 {
			t.Fatalf("after the announcement: %d reads", reads)
		}
	}
	err = db.WithTx(ctx, func(ctx context.Context) error {
		if get(ctx) != 3 {
			t.Errorf("a transaction was served from memory (%d reads)", reads)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := get(ctx); v != 2 && time.Since(start) < maxAge {
		t.Fatalf("a transaction's read was kept: %d", v)
	}
	time.Sleep(maxAge + 50*time.Millisecond)
	if v := get(ctx); v != 4 {
		t.Fatalf("after the maximum age: %d (%d reads)", v, reads)
	}
}

package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

func waitSignal(t *testing.T, ch <-chan struct{}, want bool, what string) {
	t.Helper()
	wait := 200 * time.Millisecond
	if want {
		wait = 5 * time.Second
	}
	select {
	case <-ch:
		if !want {
			t.Fatalf("%s: got a signal, want none", what)
		}
	case <-time.After(wait):
		if want {
			t.Fatalf("%s: no signal", what)
		}
	}
}

func TestPublishDeliversOnlyAfterCommit(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	<-db.LiveReady()
	ch, stop := db.Subscribe("board:1")
	defer stop()
	other, stopOther := db.Subscribe("board:2")
	defer stopOther()

	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.WithTx(ctx, func(ctx context.Context) error {
			if err := db.Publish(ctx, "board:1"); err != nil {
				return err
			}
			<-release
			return nil
		})
	}()
	waitSignal(t, ch, false, "before commit")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, true, "after commit")
	waitSignal(t, other, false, "another topic")

	rollback := errors.New("roll back")
	err := db.WithTx(ctx, func(ctx context.Context) error {
		if err := db.Publish(ctx, "board:1"); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	waitSignal(t, ch, false, "after rollback")

	stop()
	if err := db.Publish(ctx, "board:1"); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, false, "after unsubscribe")
}

// Two server instances on one PostgreSQL: a change committed on one reaches
// subscribers on the other.
func TestPublishReachesOtherInstances(t *testing.T) {
	dbs := testdb.Instances(t, 2, nil)
	if dbs == nil {
		t.Skip("several instances share a database only on PostgreSQL (set TEST_DATABASE_URL)")
	}
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	for _, db := range []*models.DB{a, b} {
		select {
		case <-db.LiveReady():
		case <-time.After(10 * time.Second):
			t.Fatal("listener not ready")
		}
	}
	onB, stop := b.Subscribe("order:42")
	defer stop()
	onA, stopA := a.Subscribe("order:42")
	defer stopA()
	if err := a.WithTx(ctx, func(ctx context.Context) error { return a.Publish(ctx, "order:42") }); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, onB, true, "other instance")
	waitSignal(t, onA, true, "same instance")
}

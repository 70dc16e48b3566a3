package graph

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// Retry is how a subscription reads again after a read failed on a passing
// database condition (models.DatabaseFailure): at most Attempts reads in
// all, waiting First after the first failure and twice as long after each
// next one, up to Max.
type Retry struct {
	Attempts   int
	First, Max time.Duration
}

// DefaultRetry rides out a database restart or a failover of about 15 s.
var DefaultRetry = Retry{Attempts: 8, First: 250 * time.Millisecond, Max: 4 * time.Second}

func (r Retry) orDefault() Retry {
	if r.Attempts <= 0 {
		return DefaultRetry
	}
	return r
}

// follow sends first, then re-reads and sends again after every committed
// change announced on topic, until the subscriber leaves. A re-read that
// fails on a passing database condition is tried again with backoff; one
// that still fails, or fails otherwise (the caller lost access, the order
// is gone), ends the subscription with that error, never silently.
func follow[T any](ctx context.Context, db *models.DB, topic string, first *T, read func(context.Context) (*T, error)) <-chan *T {
	signals, stop := db.Subscribe(topic)
	out := make(chan *T, 1)
	out <- first
	op := operationOf(ctx)
	go func() {
		defer close(out)
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-signals:
			}
			v, err := reread(ctx, op, read)
			if err != nil {
				if ctx.Err() == nil {
					op.endWith(err)
				}
				return
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// reread runs read, again after a passing database failure, as op's retry
// policy allows.
func reread[T any](ctx context.Context, op *operation, read func(context.Context) (*T, error)) (*T, error) {
	policy := op.retry.orDefault()
	wait := policy.First
	for attempt := 1; ; attempt++ {
		v, err := read(ctx)
		if err == nil || ctx.Err() != nil || attempt >= policy.Attempts || models.DatabaseFailure(err) == nil {
			return v, err
		}
		op.log.WarnContext(ctx, "live update: read failed; retrying", "err", err, "attempt", attempt, "wait", wait.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, policy.Max)
	}
}

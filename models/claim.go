package models

import (
	"context"

	"github.com/google/uuid"
)

// EachClaimed is the loop of a scheduled job that claims rows one at a time
// (a reminder sent once per coupon or package): it reads the rows due a
// batch at a time in id order (next, after the last id of the batch before,
// uuid.Nil first; a batch shorter than size is the last), and runs claim on
// each in a transaction of its own at clock's time, so that a row claimed by
// another instance meanwhile (claim's conditional update finds nothing) or
// one failure does not hold the others back. It returns how many rows claim
// reported done, and stops at the first error.
func EachClaimed[T any](ctx context.Context, db *DB, clock Clock, size int, next func(after uuid.UUID) ([]T, error),
	key func(T) uuid.UUID, claim func(ctx context.Context, row T) (bool, error)) (int64, error) {
	var done int64
	after := uuid.Nil
	for {
		rows, err := next(after)
		if err != nil {
			return done, err
		}
		for _, row := range rows {
			var ok bool
			err := db.WithClock(clock).WithTx(ctx, func(ctx context.Context) error {
				var err error
				ok, err = claim(ctx, row)
				return err
			})
			if err != nil {
				return done, err
			}
			if ok {
				done++
			}
		}
		if len(rows) < size {
			return done, nil
		}
		after = key(rows[len(rows)-1])
	}
}

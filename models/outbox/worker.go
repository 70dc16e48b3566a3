package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
)

// worker sends one delivery per job.
type worker struct {
	river.WorkerDefaults[deliverArgs]
	o *Outbox
}

// Work claims the delivery, sends it through its channel and records the
// outcome. A delivery that is no longer claimable (sent, ended, or being
// sent by another worker within its lease) is left alone: that is how one
// dedupe key is sent once however many workers hold its job.
func (w *worker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	o := w.o
	d, ok, err := o.claim(ctx, job)
	if err != nil || !ok {
		return err
	}
	ch := o.channels[d.Channel]
	if ch == nil {
		ch = LogChannel{Log: o.log}
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	providerID, sendErr := ch.Send(sctx, *d)
	cancel()
	// The outcome is recorded even if the job's context ended meanwhile:
	// the message may have left.
	rctx := context.WithoutCancel(ctx)
	switch {
	case sendErr == nil:
		return o.finish(rctx, d, Sent, providerID, "")
	case IsPermanent(sendErr):
		msg := clean(sendErr, d)
		if err := o.finish(rctx, d, Failed, "", msg); err != nil {
			return err
		}
		o.log.WarnContext(ctx, "outbox: delivery refused", "delivery", d.ID.String(), "kind", d.Kind, "channel", d.Channel, "err", msg)
		return river.JobCancel(errors.New(msg))
	case job.Attempt >= job.MaxAttempts:
		msg := clean(sendErr, d)
		if err := o.finish(rctx, d, Dead, "", msg); err != nil {
			return err
		}
		o.log.ErrorContext(ctx, "outbox: delivery given up", "delivery", d.ID.String(), "kind", d.Kind, "channel", d.Channel, "attempts", d.Attempts, "err", msg)
		return river.JobCancel(errors.New(msg))
	default:
		msg := clean(sendErr, d)
		if err := o.retryLater(rctx, d, job.Attempt, msg); err != nil {
			return err
		}
		return errors.New(msg) // River retries with NextRetry
	}
}

// claim moves the delivery from PENDING (or a SENDING whose lease lapsed:
// its worker died mid-send) to SENDING, and returns it; ok is false when
// another worker has it or it has ended. A claimable delivery past its
// NotAfter is ended EXPIRED instead (ok false): it is not sent, and a
// secret payload is erased.
func (o *Outbox) claim(ctx context.Context, job *river.Job[deliverArgs]) (*Delivery, bool, error) {
	var d Delivery
	ok, expired := false, false
	err := o.db.WithTx(ctx, func(ctx context.Context) error {
		conn := o.db.Conn(ctx)
		now := models.Clock(nil).Now(ctx)
		claimable := func() *gorm.DB {
			return conn.Model(&Delivery{}).
				Where("id = ? AND (status = ? OR (status = ? AND updated_at < ?))", job.Args.ID, Pending, Sending, now.Add(-claimLease))
		}
		res := claimable().Where("not_after IS NOT NULL AND not_after <= ?", now).
			Updates(map[string]any{"status": Expired, "last_error": "expired before it was sent", "updated_at": now,
				"payload": gorm.Expr("CASE WHEN kind = ? THEN '{}' ELSE payload END", KindLoginCode)})
		if res.Error != nil {
			return fmt.Errorf("outbox: expire delivery: %w", res.Error)
		}
		if expired = res.RowsAffected == 1; expired {
			return nil
		}
		res = claimable().Updates(map[string]any{"status": Sending, "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("outbox: claim delivery: %w", res.Error)
		}
		if ok = res.RowsAffected == 1; !ok {
			return nil
		}
		return conn.Take(&d, "id = ?", job.Args.ID).Error
	})
	if err != nil {
		return nil, false, err
	}
	if expired {
		o.log.InfoContext(ctx, "outbox: delivery expired before it was sent", "delivery", job.Args.ID.String())
	}
	return &d, ok, nil
}

// finish records a final outcome of the claim held on d. A secret payload
// (a login code) is erased: it is of no use once the delivery has ended.
func (o *Outbox) finish(ctx context.Context, d *Delivery, status, providerID, lastError string) error {
	set := map[string]any{"status": status, "provider_message_id": providerID, "last_error": lastError,
		"updated_at": models.Clock(nil).Now(ctx)}
	if d.secret() {
		set["payload"] = "{}"
	}
	return o.record(ctx, d, set)
}

// retryLater puts d back to PENDING until its next attempt.
func (o *Outbox) retryLater(ctx context.Context, d *Delivery, attempt int, lastError string) error {
	now := models.Clock(nil).Now(ctx)
	return o.record(ctx, d, map[string]any{"status": Pending, "last_error": lastError,
		"next_attempt_at": now.Add(o.backoff(attempt)), "updated_at": now})
}

// record updates d if this worker's claim still holds (SENDING, with the
// attempts it claimed).
func (o *Outbox) record(ctx context.Context, d *Delivery, set map[string]any) error {
	err := o.db.WithTx(ctx, func(ctx context.Context) error {
		return o.db.Conn(ctx).Model(&Delivery{}).
			Where("id = ? AND status = ? AND attempts = ?", d.ID, Sending, d.Attempts).
			Updates(set).Error
	})
	if err != nil {
		return fmt.Errorf("outbox: record delivery %s: %w", d.ID, err)
	}
	return nil
}

// Get returns the delivery with id, for operators and tests.
func (o *Outbox) Get(ctx context.Context, id any) (*Delivery, error) {
	var d Delivery
	if err := o.db.Conn(ctx).Take(&d, "id = ?", id).Error; err != nil {
		return nil, err
	}
	return &d, nil
}

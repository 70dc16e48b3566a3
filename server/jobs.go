package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// housekeepingEvery is how often the upkeep jobs run. Each is safe to run
// twice and on several instances at once, so no instance needs to be
// elected; running hourly makes a missed day impossible.
const housekeepingEvery = time.Hour

// idempotencyKeyTTL is how long a request's idempotency key is honoured.
const idempotencyKeyTTL = 48 * time.Hour

// housekeeping runs the upkeep jobs until ctx ends: points expire 24 months
// after they were earned, tiers follow the trailing 12 months' spend,
// tomorrow's appointments are reminded (once each), and old idempotency keys
// are dropped; delivered orders get their survey and follow-up calls, and
// passed complaint deadlines are marked missed.
func housekeeping(ctx context.Context, db *models.DB, wl *wallet.Service, bk *booking.Service, cr *care.Service, log *slog.Logger) {
	run := func() {
		now := models.Now()
		if n, err := wl.ExpirePoints(ctx, now); err != nil {
			log.Error("points expiry", "err", err)
		} else if n > 0 {
			log.Info("points expired", "lots", n)
		}
		if n, err := wl.RecomputeTiers(ctx, now); err != nil {
			log.Error("tier recompute", "err", err)
		} else if n > 0 {
			log.Info("tiers changed", "accounts", n)
		}
		if n, err := bk.SendReminders(ctx, now); err != nil {
			log.Error("appointment reminders", "err", err)
		} else if n > 0 {
			log.Info("appointment reminders sent", "count", n)
		}
		for _, j := range []struct {
			name string
			run  func(context.Context, time.Time) (int64, error)
		}{{"survey invitations", cr.InviteSurveys}, {"follow-up tasks", cr.CreateFollowUps}, {"complaint deadlines missed", cr.MarkMissedDeadlines}} {
			if n, err := j.run(ctx, now); err != nil {
				log.Error(j.name, "err", err)
			} else if n > 0 {
				log.Info(j.name, "count", n)
			}
		}
		if _, err := db.PruneIdempotencyKeys(ctx, now.Add(-idempotencyKeyTTL)); err != nil {
			log.Error("idempotency key pruning", "err", err)
		}
	}
	run()
	t := time.NewTicker(housekeepingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			run()
		}
	}
}

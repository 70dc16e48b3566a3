package main

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// jobRunsKept is how long the record of a job's run is kept.
const jobRunsKept = 90 * 24 * time.Hour

// scheduled is what the scheduled jobs work on.
type scheduled struct {
	DB        *models.DB
	SignIn    *signin.Service
	Wallet    *wallet.Service
	Booking   *booking.Service
	Reminders *reminders.Service
	Events    *events.Service
	Care      *care.Service
	Payments  *payments.Service
	CRM       *crm.Service
	Coupons   *coupons.Service
	Packages  *packages.Service
}

// scheduledJobs lists every scheduled job of r: adding one is one line.
// Each runs on River once per period (see models/jobs): hourly jobs catch
// up within the hour whatever was missed; daily ones run once per Shanghai
// day.
func scheduledJobs(r *jobs.Runner, s scheduled) []jobs.Job {
	return []jobs.Job{
		// Points expire 24 months after they were earned.
		{Name: "points-expiry", Period: time.Hour, Run: s.Wallet.ExpirePoints},
		// Tiers follow the trailing 12 months' spend.
		{Name: "tier-recompute", Period: time.Hour, Run: s.Wallet.RecomputeTiers},
		// Tomorrow's appointments, once each (hourly: bookings made today
		// for tomorrow are reminded too).
		{Name: "appointment-reminders", Period: time.Hour, Run: counted(s.Booking.SendReminders)},
		// The care loop's reminders (maintenance, insurance, birthdays, ...),
		// once per due item, daily from 09:00 Shanghai time; never at night:
		// a run that failed or was missed waits for 09:00 rather than
		// messaging owners after 21:00.
		{Name: "care-reminders", Period: 24 * time.Hour, Offset: 9 * time.Hour, NotBefore: 9 * time.Hour, NotAfter: 21 * time.Hour,
			Run: s.Reminders.SendReminders},
		// Classes and trips starting within a day, once per registration.
		{Name: "event-reminders", Period: time.Hour, Run: s.Events.SendReminders},
		// Delivered orders get their survey and their 3-day call, new cars
		// their 3- and 7-day calls; passed complaint deadlines are marked
		// missed (hourly: a 2-hour deadline is not left open for a day).
		{Name: "survey-invitations", Period: time.Hour, Run: s.Care.InviteSurveys},
		{Name: "follow-up-tasks", Period: time.Hour, Run: s.Care.CreateFollowUps},
		{Name: "complaint-deadlines", Period: time.Hour, Run: s.Care.MarkMissedDeadlines},
		// Every owner's segment and churn risk, nightly from 02:00 Shanghai
		// time (before the stores open; the reports read last night's).
		{Name: "segments", Period: 24 * time.Hour, Offset: 2 * time.Hour, Run: s.CRM.ComputeSegments},
		// Campaigns whose send time has come go out within five minutes
		// (the outbox holds marketing messages through the quiet hours).
		{Name: "campaign-dispatch", Period: 5 * time.Minute, Run: s.CRM.DispatchCampaigns},
		// Payments whose notification did not arrive are asked about, and
		// unpaid ones past their hold closed (every five minutes).
		{Name: "payment-sweep", Period: 5 * time.Minute, Run: s.Payments.SweepPending},
		// Yesterday's WeChat Pay trade bill against our payments, refunds
		// and top-ups, from 10:00 (WeChat Pay makes it from 09:00); a bill
		// not made yet fails the run, which is tried again.
		{Name: "payment-reconciliation", Period: 24 * time.Hour, Offset: 10 * time.Hour, Run: s.Payments.ReconcileDue},
		// Seats held for a WeChat Pay payment that did not come are
		// released to the waitlist once the hold ends (those with a payment
		// still pending are the sweep's: it closes the payment first).
		{Name: "event-hold-release", Period: 5 * time.Minute, Run: s.Events.ReleaseExpiredHolds},
		// Coupons reserved for registrations still waitlisted when their
		// event started go back to their owners (docs/coupons.md).
		{Name: "event-waitlist-coupons", Period: time.Hour, Run: s.Events.ReleaseWaitlistCoupons},
		// Refunds whose send failed are sent again, and those whose
		// notification is late asked about (every five minutes).
		{Name: "coupon-expiry", Period: time.Hour, Run: s.Coupons.Expire},
		{Name: "coupon-reminders", Period: time.Hour, Run: s.Coupons.Remind},
		// Packages with visits left ending within a week: their owners are
		// told once (docs/packages.md).
		{Name: "package-reminders", Period: time.Hour, Run: s.Packages.Remind},
		{Name: "refund-sweep", Period: 5 * time.Minute, Run: s.Payments.SweepRefunds},
		{Name: "idempotency-key-pruning", Period: time.Hour, Run: func(ctx context.Context, now time.Time) (int64, error) {
			return s.DB.PruneIdempotencyKeys(ctx, now.Add(-models.IdempotencyRetention))
		}},
		// Staff networks not signed in from for 90 days are no longer
		// known (see signin.StaffNetworkKept).
		{Name: "staff-network-pruning", Period: 24 * time.Hour, Run: s.SignIn.PruneStaffNetworks},
		// Login codes and failed sign-ins outlive every limit that counts
		// them after two days (see signin.SignInRecordsKept).
		{Name: "sign-in-record-pruning", Period: 24 * time.Hour, Run: s.SignIn.PruneSignInRecords},
		{Name: "job-run-pruning", Period: 24 * time.Hour, Run: func(ctx context.Context, now time.Time) (int64, error) {
			return r.Prune(ctx, now.Add(-jobRunsKept))
		}},
	}
}

// counted adapts a job that counts in int.
func counted(f func(context.Context, time.Time) (int, error)) func(context.Context, time.Time) (int64, error) {
	return func(ctx context.Context, now time.Time) (int64, error) {
		n, err := f(ctx, now)
		return int64(n), err
	}
}

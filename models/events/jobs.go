package events

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/coupons"
)

// ReminderWindow is how long before its start an event is reminded.
const ReminderWindow = 24 * time.Hour

// reminderBatch bounds the registrations one statement reads.
const reminderBatch = 500

// SendReminders puts an EVENT_REMINDER into the inbox of every owner with
// a confirmed seat at a published event starting within ReminderWindow of
// now, once per registration (a dedupe key per registration), so running it
// twice, late or on several instances at once reminds each owner once. It
// returns how many reminders it created.
func (s *Service) SendReminders(ctx context.Context, now time.Time) (int64, error) {
	var created int64
	after := uuid.Nil
	zones := map[uuid.UUID]*time.Location{}
	for {
		var rows []struct {
			ID, OwnerID, EventID uuid.UUID
			Title, Location      string
			StartsAt             time.Time
			StoreID              uuid.UUID
		}
		err := s.DB.Conn(ctx).Table("registrations r").
			Select("r.id, r.owner_id, r.event_id, e.title, e.location, e.starts_at, e.store_id").
			Joins("JOIN events e ON e.id = r.event_id").
			Where("e.status = ? AND e.starts_at > ? AND e.starts_at <= ? AND r.status = ? AND r.id > ?",
				Published, now, now.Add(ReminderWindow), Confirmed, after).
			Order("r.id").Limit(reminderBatch).Scan(&rows).Error
		if err != nil {
			return created, err
		}
		for _, r := range rows {
			loc, ok := zones[r.StoreID]
			if !ok {
				loc = s.storeLocation(ctx, r.StoreID)
				zones[r.StoreID] = loc
			}
			ok, err := s.remind(ctx, r.OwnerID, r.StoreID, "event-reminder:"+r.ID.String(), "活动提醒："+r.Title,
				"活动将于 "+r.StartsAt.In(loc).Format("01-02 15:04")+" 在「"+r.Location+"」开始，请准时到场并出示签到码。",
				EventLink(r.EventID))
			if err != nil {
				return created, err
			}
			if ok {
				created++
			}
		}
		if len(rows) < reminderBatch {
			return created, nil
		}
		after = rows[len(rows)-1].ID
	}
}

// couponBatch bounds the reserved coupons one run of ReleaseWaitlistCoupons
// looks at.
const couponBatch = 500

// ReleaseWaitlistCoupons gives back the coupons reserved for registrations
// still WAITLISTED when their event started (they can no longer be
// promoted, nor cancelled), one registration per transaction (event and
// registration locked, checked again). It returns how many it gave back;
// running it twice or on several instances gives each back once.
func (s *Service) ReleaseWaitlistCoupons(ctx context.Context, now time.Time) (int64, error) {
	refs, err := s.coupons().ReservedRefs(ctx, coupons.RefRegistration, couponBatch)
	if err != nil || len(refs) == 0 {
		return 0, err
	}
	var due []uuid.UUID
	if err := s.DB.Conn(ctx).Table("registrations r").Joins("JOIN events e ON e.id = r.event_id").
		Where("r.id IN ? AND r.status = ? AND e.starts_at <= ?", refs, Waitlisted, now).Order("r.id").Pluck("r.id", &due).Error; err != nil {
		return 0, err
	}
	var released int64
	for _, id := range due {
		err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
			e, r, err := s.lockForPayment(ctx, id)
			if err != nil || r == nil || r.Status != Waitlisted || now.Before(e.StartsAt) {
				return err
			}
			ok, err := s.coupons().Release(ctx, coupons.RefRegistration, r.ID)
			if ok {
				released++
			}
			return err
		})
		if err != nil {
			return released, err
		}
	}
	return released, nil
}

package coupons

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// Scheduled jobs. Both are safe to run twice and on several instances at
// once: every write is conditional on the state it changes.

// NotifyExpiring is the kind of the reminder of a coupon about to expire:
// marketing (docs/notifications.md).
const NotifyExpiring = outbox.KindCouponExpiring

// jobBatch is how many coupons the reminder reads per statement.
const jobBatch = 200

// Expire marks EXPIRED the available coupons whose end has passed at now,
// in one statement, and returns how many it marked. Readers already see
// such coupons as EXPIRED (Coupon.StatusAt); the job makes the stored
// status say so too.
func (s *Service) Expire(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	res := s.DB.Conn(ctx).Model(&Coupon{}).Where("status = ? AND valid_until <= ?", Available, now).
		Updates(map[string]any{"status": Expired, "updated_at": now})
	return res.RowsAffected, res.Error
}

// Remind tells the owner of every available coupon ending within
// RemindBefore of now, once per coupon: the coupon's reminded_at is set by
// a conditional update in the same transaction as the inbox item
// (COUPON_EXPIRING, deduplicated by the coupon's id), so a second run, or
// another instance at once, adds nothing. It returns the number of owners
// told.
func (s *Service) Remind(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	return models.EachClaimed(ctx, s.DB, s.Clock, jobBatch, func(after uuid.UUID) ([]*Coupon, error) {
		var due []*Coupon
		err := s.DB.Conn(ctx).Where("status = ? AND reminded_at IS NULL AND valid_until > ? AND valid_until <= ? AND id > ?",
			Available, now, now.Add(RemindBefore), after).Order("id").Limit(jobBatch).Find(&due).Error
		return due, err
	}, func(c *Coupon) uuid.UUID { return c.ID }, func(ctx context.Context, c *Coupon) (bool, error) { return s.remind(ctx, c, now) })
}

func (s *Service) remind(ctx context.Context, c *Coupon, now time.Time) (bool, error) {
	res := s.DB.Conn(ctx).Model(&Coupon{}).Where("id = ? AND status = ? AND reminded_at IS NULL", c.ID, Available).
		Updates(map[string]any{"reminded_at": now, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	t, err := s.template(ctx, c.TemplateID)
	if err != nil {
		return false, err
	}
	key := "coupon-expiring:" + c.ID.String()
	return s.inbox().CreateNotification(ctx, &inbox.Notification{
		OwnerID: c.OwnerID, Kind: NotifyExpiring, Title: "优惠券即将到期",
		Body: fmt.Sprintf("您的优惠券「%s」将于 %s 到期，请尽快使用。", t.Name, c.ValidUntil.In(models.ChinaTime).Format("2006-01-02 15:04")),
		Link: models.LinkTo(models.RefTo(models.RefCoupon, c.ID)), DedupeKey: &key, CreatedAt: now, StoreID: c.StoreID,
	})
}

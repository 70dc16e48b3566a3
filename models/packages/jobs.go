package packages

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// The expiry reminder (the package-reminders job). Safe to run twice and on
// several instances at once: the write that claims a package is conditional
// on the package not having been reminded.

// NotifyExpiring is the kind of the reminder of a package about to end with
// visits left: transactional (docs/notifications.md).
const NotifyExpiring = outbox.KindPackageExpiring

// RemindBefore is how long before its end an owner is reminded of a package
// with visits left: a week, time to book a visit (docs/packages.md).
const RemindBefore = 7 * 24 * time.Hour

// jobBatch is how many packages the reminder reads per statement.
const jobBatch = 200

func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// Remind tells the owner of every ACTIVE package with visits left ending
// within RemindBefore of now, once per package: its reminded_at is set by a
// conditional update in the same transaction as the inbox item
// (PACKAGE_EXPIRING, deduplicated by the package's id), so a second run, or
// another instance at once, adds nothing. Refunded and used-up packages are
// not ACTIVE and are never reminded. It returns the number of owners told.
func (s *Service) Remind(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	return models.EachClaimed(ctx, s.DB, s.Clock, jobBatch, func(after uuid.UUID) ([]*Package, error) {
		var due []*Package
		err := s.DB.Conn(ctx).Where("status = ? AND uses_left > 0 AND reminded_at IS NULL AND valid_until > ? AND valid_until <= ? AND id > ?",
			Active, now, now.Add(RemindBefore), after).Order("id").Limit(jobBatch).Find(&due).Error
		return due, err
	}, func(p *Package) uuid.UUID { return p.ID }, func(ctx context.Context, p *Package) (bool, error) { return s.remind(ctx, p, now) })
}

// remind claims one package (still ACTIVE with visits left and not
// reminded) and writes its reminder, in the transaction in ctx.
func (s *Service) remind(ctx context.Context, p *Package, now time.Time) (bool, error) {
	res := s.DB.Conn(ctx).Model(&Package{}).Where("id = ? AND status = ? AND uses_left > 0 AND reminded_at IS NULL", p.ID, Active).
		Updates(map[string]any{"reminded_at": now, "updated_at": now})
	if res.Error != nil || res.RowsAffected != 1 {
		return false, res.Error
	}
	prod, err := s.product(ctx, p.ProductID)
	if err != nil {
		return false, err
	}
	key := "package-expiring:" + p.ID.String()
	store := p.StoreID
	return s.inbox().CreateNotification(ctx, &inbox.Notification{
		OwnerID: p.OwnerID, Kind: NotifyExpiring, Title: "服务套餐即将到期",
		Body: fmt.Sprintf("您的服务套餐「%s」还剩 %d 次，将于 %s 到期，请尽快预约到店使用。", prod.Name, p.UsesLeft,
			p.ValidUntil.In(models.ChinaTime).Format("2006-01-02 15:04")),
		Link: models.LinkTo(models.RefTo(models.RefOwnerPackage, p.ID)), DedupeKey: &key, CreatedAt: now, StoreID: &store,
	})
}

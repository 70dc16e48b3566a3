package outbox

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// What other capabilities need of the deliveries: the inbox's marketing
// cap, and an owner's data rights (models/privacy through models/inbox).
// The outbox alone names its table.

// SentSince counts the messages (notifications) of the given kinds that
// went to the owner after since, in one statement: a message pushed to
// several devices is several deliveries and counts once.
func (o *Outbox) SentSince(ctx context.Context, ownerID uuid.UUID, kinds []string, since time.Time) (int, error) {
	var n int64
	err := o.db.Conn(ctx).Model(&Delivery{}).Distinct("notification_id").
		Where("owner_id = ? AND kind IN ? AND created_at > ?", ownerID, kinds, since).Count(&n).Error
	return int(n), err
}

// OwnerDeliveries reads every delivery to the owner, oldest first, in one
// statement (an owner's data export).
func OwnerDeliveries(ctx context.Context, db *models.DB, ownerID uuid.UUID) ([]*Delivery, error) {
	rows := []*Delivery{}
	err := db.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&rows).Error
	return rows, err
}

// EraseOwner deletes the deliveries to the owner and those sent to the
// phone before the owner was known (login codes), in the transaction of
// ctx (an account's deletion), in one statement.
func EraseOwner(ctx context.Context, db *models.DB, ownerID uuid.UUID, phone string) error {
	return db.Conn(ctx).Where("owner_id = ? OR recipient = ?", ownerID, phone).Delete(&Delivery{}).Error
}

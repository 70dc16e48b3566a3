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
	sent, err := o.SentSinceAll(ctx, []uuid.UUID{ownerID}, kinds, since)
	return sent[ownerID], err
}

// SentSinceAll is SentSince for many owners (a batch of messages), in one
// statement; an owner sent none is not in the map.
func (o *Outbox) SentSinceAll(ctx context.Context, owners []uuid.UUID, kinds []string, since time.Time) (map[uuid.UUID]int, error) {
	out := map[uuid.UUID]int{}
	if len(owners) == 0 {
		return out, nil
	}
	var rows []struct {
		OwnerID uuid.UUID
		N       int
	}
	err := o.db.Conn(ctx).Model(&Delivery{}).Select("owner_id, COUNT(DISTINCT notification_id) AS n").
		Where("owner_id IN ? AND kind IN ? AND created_at > ?", owners, kinds, since).Group("owner_id").Scan(&rows).Error
	for _, r := range rows {
		out[r.OwnerID] = r.N
	}
	return out, err
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

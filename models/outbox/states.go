package outbox

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// StatesOf reads the states of the deliveries of the given notifications,
// by notification, oldest first, in one statement. It reads from db (it
// needs no running outbox: an instance without providers still shows what
// others sent).
func StatesOf(ctx context.Context, db *models.DB, notifications []uuid.UUID) (map[uuid.UUID][]State, error) {
	out := map[uuid.UUID][]State{}
	if len(notifications) == 0 {
		return out, nil
	}
	var ds []Delivery
	err := db.Conn(ctx).Select("id", "notification_id", "channel", "status", "attempts", "last_error", "created_at", "updated_at").
		Where("notification_id IN ?", notifications).Order("created_at, id").Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("outbox: delivery states: %w", err)
	}
	for _, d := range ds {
		st := State{ID: d.ID, NotificationID: *d.NotificationID, Channel: d.Channel, Status: d.Status,
			Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt}
		if d.Status == Sent {
			// The outcome's update is the last write of a SENT delivery
			// (see worker.go), so its time is the sending time.
			t := d.UpdatedAt
			st.SentAt = &t
		}
		out[*d.NotificationID] = append(out[*d.NotificationID], st)
	}
	return out, nil
}

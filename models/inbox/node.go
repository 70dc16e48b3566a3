package inbox

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

var errNotificationNotFound = models.E(models.CodeNotFound, "未找到该消息", "notification not found")

// NotificationFor reads one notification by id, as Notifications lists it:
// only the owner whose inbox holds it.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (none, or
// another owner's).
func (s *Service) NotificationFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Notification, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if err := inboxOf(actor, actor.ID); err != nil {
		return nil, err
	}
	return models.Take[Notification](s.DB.Conn(ctx).Where("owner_id = ?", actor.ID), id, errNotificationNotFound)
}

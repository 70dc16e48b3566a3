package inbox

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/outbox"
)

// An owner's data rights (models/privacy): what the inbox holds about an
// owner, and its erasure. No authorization: privacy has checked the caller.

// OwnerNotifications reads every notification of the owner, oldest first,
// in one statement.
func (s *Service) OwnerNotifications(ctx context.Context, ownerID uuid.UUID) ([]*Notification, error) {
	rows := []*Notification{}
	err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&rows).Error
	return rows, err
}

// OwnerSettings reads the channels the owner chose, by kind, in one
// statement (kinds never set have no row).
func (s *Service) OwnerSettings(ctx context.Context, ownerID uuid.UUID) ([]*SettingRow, error) {
	rows := []*SettingRow{}
	err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("kind ASC").Find(&rows).Error
	return rows, err
}

// EraseOwner deletes the owner's messages (the outbox's deliveries, also
// those sent to phone before the owner was known), then the notifications
// they carried and the owner's settings, in the transaction of ctx.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID, phone string) error {
	if err := outbox.EraseOwner(ctx, s.DB, ownerID, phone); err != nil {
		return err
	}
	conn := s.DB.Conn(ctx)
	if err := conn.Where("owner_id = ?", ownerID).Delete(&Notification{}).Error; err != nil {
		return err
	}
	return conn.Where("owner_id = ?", ownerID).Delete(&SettingRow{}).Error
}

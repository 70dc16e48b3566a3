package directory

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// DeletedOwner marks an owner who deleted the account. The mark is the
// directory's (docs/architecture.md): its feeds for scheduled work leave
// these owners out in the same statement as their reads, and every
// capability that acts on an owner for staff asks OwnerDeleted. Package
// privacy decides the deletion and sets the mark through MarkOwnerDeleted.
type DeletedOwner struct {
	OwnerID   uuid.UUID `gorm:"primaryKey"`
	DeletedAt time.Time
}

// MarkOwnerDeleted marks the owner deleted at the given time, in the
// transaction of ctx. The caller (privacy's DeleteAccount) holds the
// owner's row lock and has checked OwnerDeleted: a second mark fails on
// the primary key.
func (s *Service) MarkOwnerDeleted(ctx context.Context, ownerID uuid.UUID, at time.Time) error {
	return s.DB.Conn(ctx).Create(&DeletedOwner{OwnerID: ownerID, DeletedAt: at}).Error
}

// OwnerDeleted reports whether the owner deleted the account: one
// primary-key read. Callers that must not race a deletion hold a lock the
// deletion also takes (the owner's row, the membership account) first.
func (s *Service) OwnerDeleted(ctx context.Context, ownerID uuid.UUID) (bool, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&DeletedOwner{}).Where("owner_id = ?", ownerID).Limit(1).Count(&n).Error
	return n > 0, err
}

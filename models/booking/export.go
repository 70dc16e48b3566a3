package booking

import (
	"context"

	"github.com/google/uuid"
)

// ExportOwner lists the owner's appointments, oldest first, for their data
// export.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	rows := []*Appointment{}
	err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&rows).Error
	return rows, err
}

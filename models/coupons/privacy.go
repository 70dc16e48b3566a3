package coupons

import (
	"context"

	"github.com/google/uuid"
)

// What coupons hold about an owner, for the owner's data rights (PIPL).

// ExportOwner lists the owner's coupons with their templates, oldest
// first, in two statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var cs []*Coupon
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id").Find(&cs).Error; err != nil {
		return nil, err
	}
	if err := s.prepare(ctx, cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// EraseOwner runs inside an account deletion: the owner's coupons go. A
// settled bill keeps its COUPON payment line (the store's record of what
// was taken off), whose reference is the coupon's id and names nobody.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	return s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Delete(&Coupon{}).Error
}

package packages

import (
	"context"

	"github.com/google/uuid"
)

// What packages hold about an owner, for the owner's data rights (PIPL).

// ownerExport is the packages section of an owner's export.
type ownerExport struct {
	Packages []*Package
	Uses     []*Use
}

// ExportOwner lists the owner's packages with their products and every
// use, oldest first, in three statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var out ownerExport
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id").Find(&out.Packages).Error; err != nil {
		return nil, err
	}
	if err := s.prepare(ctx, out.Packages); err != nil {
		return nil, err
	}
	err := s.DB.Conn(ctx).Where("owner_package_id IN (SELECT id FROM owner_packages WHERE owner_id = ?)", ownerID).
		Order("id").Find(&out.Uses).Error
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EraseOwner runs inside an account deletion: the owner's packages and
// their uses go. A settled bill keeps its PACKAGE payment line (the
// store's record of what was covered), whose reference is the package's
// id and names nobody; the wallet's entries go with the wallet's section.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	err := s.DB.Conn(ctx).Where("owner_package_id IN (SELECT id FROM owner_packages WHERE owner_id = ?)", ownerID).
		Delete(&Use{}).Error
	if err != nil {
		return err
	}
	return s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Delete(&Package{}).Error
}

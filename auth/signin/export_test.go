package signin

import (
	"context"

	"github.com/ownerhub/ownerhub/models"
)

// FindOrCreateOwner exposes first sign-in's owner creation to the race test.
// Through VerifyCode sign-ins of one phone are serialized (one code, one
// winner), so the race it guards against, with another writer creating the
// same phone, cannot be staged from outside.
func (s *Service) FindOrCreateOwner(ctx context.Context, phone string) (*models.Owner, error) {
	var o *models.Owner
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		var err error
		o, _, err = s.findOrCreateOwner(ctx, phone, s.Clock.Now(ctx))
		return err
	})
	return o, err
}

package directory

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// The consent history (models.ConsentEvent, the proof PIPL asks for) is the
// directory's, next to the owner's consent it records: every change of the
// consent, whichever operation makes it (UpdateProfile here, privacy's
// SetMarketingConsent and account deletion), appends one event in the
// change's transaction.

// RecordConsent appends a change of the owner's marketing consent to its
// history, given (or withdrawn) at at for the reason source, in the
// transaction of ctx. The caller changed the consent (or, loading history,
// set it) in the same transaction.
func (s *Service) RecordConsent(ctx context.Context, ownerID uuid.UUID, given bool, source models.ConsentSource, at time.Time) error {
	return s.DB.Conn(ctx).Create(&models.ConsentEvent{ID: models.NewID(), OwnerID: ownerID, Purpose: models.ConsentMarketing,
		Given: given, Source: source, CreatedAt: at}).Error
}

// ConsentHistory reads every change of the owner's consent, oldest first,
// in one statement.
func (s *Service) ConsentHistory(ctx context.Context, ownerID uuid.UUID) ([]*models.ConsentEvent, error) {
	rows := []*models.ConsentEvent{}
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, e := range rows {
		e.CreatedAt = e.CreatedAt.UTC()
	}
	return rows, nil
}

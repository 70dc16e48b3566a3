package demo

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/privacy"
)

// seedConsents records, for every demo owner who consented to marketing
// messages, the consent in their history (given in the app when the owner
// signed up). The reminders of the demo owners (insurance, inspection,
// maintenance, ...) arrive with the first run of the daily reminders job
// when the server starts.
func (g *group) seedConsents(ctx context.Context, db *models.DB) error {
	for _, o := range g.owners {
		if !o.MarketingConsent {
			continue
		}
		at := o.CreatedAt
		if o.MarketingConsentAt != nil {
			at = *o.MarketingConsentAt
		}
		ev := &privacy.ConsentEvent{ID: models.NewID(), OwnerID: o.ID, Purpose: privacy.PurposeMarketing, Given: true,
			Source: privacy.ByOwner, CreatedAt: at.UTC().Truncate(time.Microsecond)}
		if err := db.Conn(ctx).Create(ev).Error; err != nil {
			return err
		}
	}
	return nil
}

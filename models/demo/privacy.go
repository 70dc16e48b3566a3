package demo

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// seedConsents records, for every demo owner who consented to marketing
// messages, the consent in their history (given in the app when the owner
// signed up). The reminders of the demo owners (insurance, inspection,
// maintenance, ...) arrive with the first run of the daily reminders job
// when the server starts.
func (g *group) seedConsents(ctx context.Context, db *models.DB) error {
	dir := &directory.Service{DB: db}
	for _, o := range g.owners {
		if !o.MarketingConsent {
			continue
		}
		at := o.CreatedAt
		if o.MarketingConsentAt != nil {
			at = *o.MarketingConsentAt
		}
		if err := dir.RecordConsent(ctx, o.ID, true, models.ConsentByOwner, at.UTC().Truncate(time.Microsecond)); err != nil {
			return err
		}
	}
	return nil
}

package demo

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// seedSegments runs the nightly segments job once over the demo history, so
// that staff see every demo owner's segment and churn risk at once.
func (g *group) seedSegments(ctx context.Context, db *models.DB, now time.Time) error {
	dir := &directory.Service{DB: db}
	svc := &crm.Service{DB: db, Directory: dir, Workshop: &workshop.Service{DB: db, Directory: dir}}
	_, err := svc.ComputeSegments(ctx, now)
	return err
}

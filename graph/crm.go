package graph

import (
	"context"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
)

// typeAudience is the global ID type of a saved audience.
const typeAudience = "Audience"

// segmentOf is an owner's row of the segments job, batched per request
// (a page of owners costs one statement); nil before the job saw them.
func (r *Resolver) segmentOf(ctx context.Context, ownerID uuid.UUID) (*crm.OwnerSegment, error) {
	l := loaders(ctx)
	l.segmentsOnce.Do(func() {
		l.segments = dataloadgen.NewMappedLoader(r.CRM.SegmentsOf, dataloadgen.WithWait(loaderWait))
	})
	return optional(l.segments.Load(ctx, ownerID))
}

// segmentReport lists every segment and risk, zero counts included, in the
// programme's order.
func segmentReport(rep *crm.Report, store *models.Store) *model.SegmentReport {
	out := &model.SegmentReport{Store: store, Owners: rep.Owners, ComputedAt: rep.ComputedAt}
	for _, s := range crm.Segments {
		c := rep.Segments[s]
		out.Segments = append(out.Segments, &model.SegmentCount{Segment: s, Owners: c.Owners, HighChurnRisk: c.HighRisk})
	}
	for _, r := range crm.Risks() {
		out.ChurnRisks = append(out.ChurnRisks, &model.ChurnRiskCount{Risk: r, Owners: rep.Risks[r]})
	}
	return out
}

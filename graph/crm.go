package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
)

// Global ID types of the CRM's objects.
const (
	typeAudience   = "Audience"
	typeCampaign   = "Campaign"
	typeInvitation = "CampaignInvitation"
)

// segmentOf is an owner's row of the segments job, batched per request
// (a page of owners costs one statement); nil before the job saw them.
func (r *Resolver) segmentOf(ctx context.Context, ownerID uuid.UUID) (*crm.OwnerSegment, error) {
	l := loaders(ctx)
	l.segmentsOnce.Do(func() { l.segments = newLoader(r.CRM.SegmentsOf, l.cache) })
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

// campaignReport lists every response and segment, zero counts included.
func campaignReport(rep *crm.CampaignReport) *model.CampaignReport {
	out := &model.CampaignReport{Invited: rep.Invited, Uncalled: rep.Uncalled}
	for _, r := range crm.Responses {
		out.Responses = append(out.Responses, &model.ResponseCount{Response: r, Invitations: rep.Responses[r]})
	}
	for _, s := range crm.Segments {
		out.Segments = append(out.Segments, &model.InvitedSegmentCount{Segment: s, Invitations: rep.Segments[s]})
	}
	return out
}

// conversionReport lists every segment and every response, zero counts
// included, and the stores where invited owners came (loaded together).
func conversionReport(ctx context.Context, rep *crm.ConversionReport) (*model.CampaignConversionReport, error) {
	out := &model.CampaignConversionReport{Campaign: rep.Campaign, ConversionDays: rep.Days, Totals: campaignFigures(rep.Totals)}
	for _, s := range crm.Segments {
		f := rep.Segments[s]
		if f == nil {
			f = &crm.Figures{}
		}
		out.Segments = append(out.Segments, &model.SegmentCampaignFigures{Segment: s, Figures: campaignFigures(f)})
	}
	ids := make([]uuid.UUID, len(rep.Stores))
	for i, v := range rep.Stores {
		ids[i] = v.StoreID
	}
	stores, err := loaders(ctx).Store.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, v := range rep.Stores {
		out.Stores = append(out.Stores, &model.StoreCampaignVisits{Store: stores[i], Visited: v.Visited, Revenue: money(v.RevenueFen)})
	}
	return out, nil
}

func campaignFigures(f *crm.Figures) *model.CampaignFigures {
	out := &model.CampaignFigures{Sent: f.Sent, Delivered: f.Delivered, Opened: f.Opened, Uncalled: f.Uncalled,
		Registered: f.Registered, Booked: f.Booked, Visited: f.Visited, Converted: f.Converted, Redeemed: f.Redeemed,
		Revenue: money(f.RevenueFen)}
	for _, r := range crm.Responses {
		out.Responses = append(out.Responses, &model.ResponseCount{Response: r, Invitations: f.Responses[r]})
	}
	return out
}

func campaignPayload(ctx context.Context, c *crm.Campaign, err error) (*model.CampaignPayload, error) {
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	if len(ues) > 0 {
		c = nil
	}
	return &model.CampaignPayload{Campaign: c, UserErrors: ues}, nil
}

package demo

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// seedSegments runs the nightly segments job once over the demo history, so
// that staff see every demo owner's segment and churn risk at once; then
// SZ01's CRM invites its customers to book a winter service (an audience
// and a campaign sent campaignDaysAgo days ago, calls made to up to three
// invitees the next day): the finished campaign the README's tour reports
// on. What the owners did since (the visits and bookings of the demo
// history after it went out) are its conversions.
func (g *group) seedSegments(ctx context.Context, db *models.DB, now time.Time) error {
	dir := &directory.Service{DB: db}
	svc := &crm.Service{DB: db, Directory: dir, Workshop: &workshop.Service{DB: db, Directory: dir},
		Events: &events.Service{DB: db, Directory: dir}, Inbox: &inbox.Service{DB: db, Clock: func() time.Time { return now }},
		Coupons: &coupons.Service{DB: db, Directory: dir}}
	if _, err := svc.ComputeSegments(ctx, now); err != nil {
		return err
	}
	var sz models.Store
	for _, s := range g.stores {
		if s.Code == "SZ01" {
			sz = s
		}
	}
	crmStaff := g.principal("crm.sz01")
	if _, err := svc.SaveAudience(ctx, crmStaff, nil, &sz.ID, "逾期未回店的车主", crm.Filter{ChurnRisks: []crm.Risk{crm.RiskMedium, crm.RiskHigh}}); err != nil {
		return err
	}
	sent := now.AddDate(0, 0, -campaignDaysAgo)
	sentCtx := models.AtTime(ctx, sent)
	a, err := svc.SaveAudience(sentCtx, crmStaff, nil, &sz.ID, "深圳一店的车主", crm.Filter{})
	if err != nil {
		return err
	}
	kind := workshop.Maintenance
	c, err := svc.CreateCampaign(sentCtx, crmStaff, crm.CampaignInput{StoreID: sz.ID, AudienceID: a.ID, Name: "冬季保养回店邀约",
		Kind: crm.InviteToBooking, ServiceKind: &kind, Title: "冬季保养季", Body: "本月到店保养享工时八折"})
	if err != nil {
		return err
	}
	if _, err := svc.DispatchCampaigns(sentCtx, sent); err != nil {
		return err
	}
	// The demo owner has read the invitation: his one unread message is
	// the approval request the tour starts from.
	if err := readInvitation(ctx, svc.Inbox, g.ownerID(DemoOwnerPhone)); err != nil {
		return err
	}
	invs, _, err := svc.Invitations(ctx, crmStaff, c.ID, nil, false, models.Page{First: 3})
	if err != nil {
		return err
	}
	answers := []crm.Response{crm.Coming, crm.NotSure, crm.NotReached}
	for i, inv := range invs[:min(len(invs), len(answers))] {
		if _, err := svc.RecordResponse(models.AtTime(ctx, sent.AddDate(0, 0, 1)), crmStaff, inv.ID, answers[i], "电话回访"); err != nil {
			return err
		}
	}
	return nil
}

// campaignDaysAgo is how long ago the demo campaign went out: within the
// default conversion window, after the demo owner's last visit started
// (recentVisitDays), so that his visit counts.
const campaignDaysAgo = 20

// principal is a demo staff member as a signed-in caller.
func (g *group) principal(username string) *auth.Principal {
	var stores []uuid.UUID
	for i, st := range g.staff {
		if st.Username != username {
			continue
		}
		for _, ss := range g.staffStore {
			if ss.StaffID == st.ID {
				stores = append(stores, ss.StoreID)
			}
		}
		return &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.Role(g.roles[i].Role)}, StoreIDs: stores}
	}
	return nil
}

// readInvitation marks the owner's campaign invitations read, as the owner.
func readInvitation(ctx context.Context, ib *inbox.Service, ownerID uuid.UUID) error {
	owner := &auth.Principal{Kind: auth.KindOwner, ID: ownerID}
	notes, _, err := ib.Notifications(ctx, owner, ownerID, models.Page{First: 50}, true)
	if err != nil {
		return err
	}
	var ids []uuid.UUID
	for _, n := range notes {
		if n.Kind == crm.KindCampaignInvitation {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = ib.MarkNotificationsRead(ctx, owner, ids, false)
	return err
}

package demo_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every demo owner has a segment after the seed, and the demo history puts
// them in more than one segment and at more than one churn risk, so the
// README's segmentReport shows something to read.
func TestSeedSegments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	sum, err := demo.Seed(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	var rows []crm.OwnerSegment
	if err := db.Conn(ctx).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != sum.Owners {
		t.Fatalf("%d segment rows for %d demo owners", len(rows), sum.Owners)
	}
	segments, risks := map[crm.Segment]int{}, map[crm.Risk]int{}
	for _, r := range rows {
		segments[r.Segment]++
		if r.ChurnRisk != nil {
			risks[*r.ChurnRisk]++
		}
	}
	t.Logf("demo segments %v, risks %v", segments, risks)
	if len(segments) < 2 || len(risks) < 2 {
		t.Errorf("the demo owners fall in %v and %v: one segment or one risk tells a reader nothing", segments, risks)
	}
}

// The demo's finished campaign: sent to SZ01's overdue customers who
// consent, calls made to (up to) three of them.
func TestSeedCampaign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	if _, err := demo.Seed(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	var c crm.Campaign
	if err := db.Conn(ctx).Take(&c).Error; err != nil {
		t.Fatal(err)
	}
	var invs []crm.Invitation
	if err := db.Conn(ctx).Where("campaign_id = ?", c.ID).Find(&invs).Error; err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, inv := range invs {
		if inv.Response != nil {
			answered++
		}
	}
	if c.Status != crm.CampaignSent || c.Invited != len(invs) || len(invs) < 2 || answered != min(3, len(invs)) {
		t.Fatalf("demo campaign %s invited %d (%d rows), %d answered", c.Status, c.Invited, len(invs), answered)
	}
	// Its report has conversions to read: owners came and spent, booked,
	// opened the invitation.
	svc := &crm.Service{DB: db}
	rep, err := svc.ConversionReport(ctx, &auth.Principal{Kind: auth.KindStaff, ID: c.CreatedBy, Roles: []auth.Role{auth.RoleCRM},
		StoreIDs: []uuid.UUID{c.StoreID}}, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	t.Logf("demo campaign: %d sent, %d opened, %d booked, %d visited, %d converted, %d fen, %d stores", tot.Sent, tot.Opened, tot.Booked,
		tot.Visited, tot.Converted, tot.RevenueFen, len(rep.Stores))
	if tot.Visited == 0 || tot.RevenueFen == 0 || tot.Opened == 0 || tot.Converted == tot.Sent {
		t.Errorf("the demo campaign's report is trivial: %+v", tot)
	}
}

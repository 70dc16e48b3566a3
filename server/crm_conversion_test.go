package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Campaign conversions: coupon campaigns issue one coupon per invited
// owner whatever the racing runs, within the template's limit; the report
// agrees with a plain Go count of generated behaviour and costs the same
// statements for 3 invitations as for 30.

const cvReportDoc = `query($id: ID!, $days: Int) { campaignReport(campaignId: $id, conversionDays: $days) {
	conversionDays campaign { id }
	totals { ...F }
	segments { segment figures { ...F } }
	stores { store { id code } visited revenue { amountFen } }
} }
fragment F on CampaignFigures { sent delivered opened uncalled responses { response invitations }
	registered booked visited converted redeemed revenue { amountFen } }`

// cvCampaign saves an audience of every owner of the store and creates a
// campaign of it (extra: kind and its fields), as the store's CRM staff.
func cvCampaign(t *testing.T, f *wkFixture, tok string, store *models.Store, extra map[string]any) string {
	t.Helper()
	sid := e2eGlobalID("Store", store.ID)
	d := f.gql(t, tok, `mutation($in: SaveAudienceInput!) { saveAudience(input: $in) { audience { id } } }`,
		map[string]any{"in": map[string]any{"storeId": sid, "name": "全部车主", "filter": map[string]any{}}})
	in := map[string]any{"storeId": sid, "audienceId": dig(d, "saveAudience", "audience", "id"), "name": "转化测试", "title": "到店有礼", "body": "本月到店有礼"}
	for k, v := range extra {
		in[k] = v
	}
	c := f.gql(t, tok, `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { campaign { id } userErrors { code field message } } }`,
		map[string]any{"in": in})
	id, _ := dig(c, "createCampaign", "campaign", "id").(string)
	if id == "" {
		t.Fatalf("createCampaign: %v", c)
	}
	return id
}

// cvStaff is a CRM member of the store: their token and their id.
func cvStaff(t *testing.T, f *wkFixture, store *models.Store) (string, uuid.UUID) {
	t.Helper()
	name := e2eInsertStaff(t, f.testServer, "pw-conversion-1", true, []string{store.Code}, "CRM")
	var st models.Staff
	must(t, f.DB.Conn(context.Background()).Where("username = ?", name).Take(&st).Error)
	return e2eStaffToken(t, f.testServer, name), st.ID
}

func TestCouponCampaign(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	store, owners := auWorld(t, f, 30, rand.New(rand.NewPCG(5, 6)))
	tok, staffID := cvStaff(t, f, store)
	crmStaff := &auth.Principal{Kind: auth.KindStaff, ID: staffID, Roles: []auth.Role{auth.RoleCRM}, StoreIDs: []uuid.UUID{store.ID}}
	tpl, err := f.App.Coupons.CreateTemplate(ctx, crmStaff, coupons.TemplateInput{StoreID: &store.ID, Name: "保养立减 50 元",
		Kind: coupons.FixedOff, AmountFen: 5000, OrderKinds: []string{"MAINTENANCE"}, ValidDays: 30, PerOwnerLimit: 1})
	must(t, err)
	var consenting []*auOwner
	for _, o := range owners {
		if o.consent {
			consenting = append(consenting, o)
		}
	}
	if len(consenting) < 3 {
		t.Fatalf("%d consenting owners", len(consenting))
	}
	// One owner holds the template's one coupon already: invited, no second coupon.
	var ownerIDs []uuid.UUID
	must(t, f.DB.Conn(ctx).Table("owners").Where("home_store_id = ? AND marketing_consent = ?", store.ID, true).Order("id").Pluck("id", &ownerIDs).Error)
	holder := ownerIDs[0]
	_, err = f.App.Coupons.Issue(ctx, coupons.IssueRequest{TemplateID: tpl.ID, OwnerID: holder, Source: coupons.SourceStaff, IssuedBy: &staffID})
	must(t, err)

	// Refusals: no template, another store's template.
	const create = `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { campaign { id } userErrors { code field message } } }`
	sid := e2eGlobalID("Store", store.ID)
	aud := dig(f.gql(t, tok, `mutation($in: SaveAudienceInput!) { saveAudience(input: $in) { audience { id } } }`,
		map[string]any{"in": map[string]any{"storeId": sid, "name": "券", "filter": map[string]any{}}}), "saveAudience", "audience", "id")
	in := map[string]any{"storeId": sid, "audienceId": aud, "name": "送券", "kind": "COUPON", "title": "保养券", "body": "送您保养立减券"}
	e2eWantUserError(t, f.gql(t, tok, create, map[string]any{"in": in})["createCampaign"], "INVALID_ARGUMENT", "input", "couponTemplateId")

	id := cvCampaign(t, f, tok, store, map[string]any{"kind": "COUPON", "couponTemplateId": e2eGlobalID("CouponTemplate", tpl.ID)})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.App.CRM.DispatchCampaigns(ctx, time.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var held []struct {
		OwnerID uuid.UUID
		N       int
	}
	must(t, f.DB.Conn(ctx).Model(&coupons.Coupon{}).Select("owner_id, COUNT(*) AS n").Where("template_id = ?", tpl.ID).Group("owner_id").Scan(&held).Error)
	if len(held) != len(consenting) {
		t.Errorf("%d owners hold the campaign's coupon, want the %d invited", len(held), len(consenting))
	}
	for _, h := range held {
		if h.N != 1 {
			t.Errorf("owner %s holds %d coupons of a one-per-owner template", h.OwnerID, h.N)
		}
	}
	var invs []crm.Invitation
	must(t, f.DB.Conn(ctx).Where("campaign_id = ?", mustGlobalKey(t, id)).Find(&invs).Error)
	issued := 0
	for _, inv := range invs {
		switch {
		case inv.OwnerID == holder && inv.CouponID != nil:
			t.Errorf("the owner at the limit got a coupon with the invitation")
		case inv.OwnerID != holder && inv.CouponID == nil:
			t.Errorf("invitation %s carries no coupon", inv.ID)
		case inv.CouponID != nil:
			issued++
			var c coupons.Coupon
			must(t, f.DB.Conn(ctx).Where("id = ?", *inv.CouponID).Take(&c).Error)
			if c.Source != coupons.SourceCampaign || c.OwnerID != inv.OwnerID {
				t.Errorf("coupon %s: source %s, owner %s", c.ID, c.Source, c.OwnerID)
			}
		}
	}
	// The coupon used: redeemed, on the invitation and in the report.
	used := invs[1]
	if used.OwnerID == holder {
		used = invs[0]
	}
	must(t, f.DB.Conn(ctx).Model(&coupons.Coupon{}).Where("id = ?", *used.CouponID).Updates(map[string]any{"status": coupons.Used,
		"used_at": time.Now(), "used_ref_type": coupons.RefRepairOrder, "used_ref_id": models.NewID(), "discount_fen": 5000}).Error)
	d := f.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on Campaign { kind couponTemplate { id } invitations(first: 100) { edges { node { owner { id } actions { redeemed opened } } } } } } }`,
		map[string]any{"id": id})
	redeemed := 0
	for _, e := range dig(d, "node", "invitations", "edges").([]any) {
		if dig(e, "node", "actions", "redeemed") == true {
			redeemed++
		}
	}
	if dig(d, "node", "kind") != "COUPON" || dig(d, "node", "couponTemplate", "id") != e2eGlobalID("CouponTemplate", tpl.ID) || redeemed != 1 {
		t.Errorf("coupon campaign: %v", d)
	}
	rep := f.gql(t, tok, cvReportDoc, map[string]any{"id": id})
	if dig(rep, "campaignReport", "totals", "redeemed") != 1.0 || dig(rep, "campaignReport", "totals", "sent") != float64(len(consenting)) ||
		issued != len(consenting)-1 {
		t.Errorf("report: %v (%d coupons issued)", rep, issued)
	}
}

// cvGenerated is one invitation's generated behaviour, as the brute force
// counts it.
type cvGenerated struct {
	inv                                   crm.Invitation
	delivered, opened, registered, booked bool
	visits                                map[uuid.UUID]int64 // store: payable of settled visits in the window
	response                              *crm.Response
}

func TestCampaignReportMatchesBruteForce(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	conn := f.DB.Conn(ctx)
	rng := rand.New(rand.NewPCG(7, 8))
	store, _ := auWorld(t, f, 60, rng)
	other, _ := auWorld(t, f, 1, rng)
	tok, staffID := cvStaff(t, f, store)
	now := time.Now().UTC()
	ev := &events.Event{ID: models.NewID(), StoreID: store.ID, Kind: "CLASS", Status: events.Published, Title: "养车课堂", Itinerary: "[]",
		StartsAt: now.AddDate(0, 0, 60), EndsAt: now.AddDate(0, 0, 60).Add(2 * time.Hour), RegistrationOpensAt: now.Add(-time.Hour),
		RegistrationClosesAt: now.AddDate(0, 0, 59), CancellationDeadline: now.AddDate(0, 0, 58), Capacity: 100, MinTier: "BASIC",
		MaxPartySize: 1, Version: 1, CreatedAt: now, UpdatedAt: now}
	must(t, conn.Create(ev).Error)
	id := cvCampaign(t, f, tok, store, map[string]any{"kind": "EVENT", "eventId": e2eGlobalID("Event", ev.ID)})
	if _, err := f.App.CRM.DispatchCampaigns(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	var invs []crm.Invitation
	must(t, conn.Where("campaign_id = ?", mustGlobalKey(t, id)).Order("id").Find(&invs).Error)
	if len(invs) < 10 {
		t.Fatalf("%d invitations", len(invs))
	}
	const days = 10
	// at is an offset from the invitation in hours and a half (never on a
	// window's edge): some before it, a half within the window, some after.
	at := func(inv crm.Invitation) (time.Time, float64) {
		h := float64(rng.IntN(20*24+48)-48) + 0.5
		return inv.CreatedAt.Add(time.Duration(h * float64(time.Hour))), h
	}
	within := func(h float64, d int) bool { return h >= 0 && h < float64(d*24) }
	gen := make([]*cvGenerated, len(invs))
	seq := e2eNext()
	for i, inv := range invs {
		g := &cvGenerated{inv: inv, visits: map[uuid.UUID]int64{}}
		gen[i] = g
		if rng.IntN(3) > 0 {
			r := crm.Responses[rng.IntN(len(crm.Responses))]
			g.response = &r
			must(t, conn.Model(&crm.Invitation{}).Where("id = ?", inv.ID).Updates(map[string]any{"response": r, "responded_by": staffID, "responded_at": now}).Error)
		}
		if rng.IntN(2) == 0 {
			g.opened = true
			must(t, conn.Table("notifications").Where("id = ?", *inv.NotificationID).Update("read_at", now).Error)
		}
		for c, status := range []string{outbox.Sent, outbox.Failed, outbox.Pending}[:rng.IntN(3)+1] {
			if rng.IntN(2) == 0 {
				continue
			}
			g.delivered = g.delivered || status == outbox.Sent
			must(t, conn.Create(&outbox.Delivery{ID: models.NewID(), OwnerID: &inv.OwnerID, NotificationID: inv.NotificationID,
				Kind: crm.KindCampaignInvitation, Channel: []string{"SMS", "PUSH", "WECHAT"}[c], Recipient: "x", Template: "t", Payload: "{}",
				DedupeKey: fmt.Sprintf("cv:%s:%d", inv.ID, c), Status: status, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}).Error)
		}
		car := func() uuid.UUID {
			plate := e2ePlate()
			v := &models.Vehicle{ID: models.NewID(), OwnerID: inv.OwnerID, VIN: e2eVIN(t), Plate: &plate, Brand: "Toyota", Model: "Camry",
				ModelYear: 2020, Colour: "白", MileageKm: 1000}
			must(t, conn.Create(v).Error)
			return v.ID
		}
		live := false // one registration not cancelled per owner and event
		for range rng.IntN(3) {
			t0, h := at(inv)
			status := []events.RegStatus{events.Confirmed, events.Withdrawn}[rng.IntN(2)]
			if live {
				status = events.Withdrawn
			}
			live = live || status == events.Confirmed
			g.registered = g.registered || status != events.Withdrawn && within(h, days)
			must(t, conn.Create(&events.Registration{ID: models.NewID(), EventID: ev.ID, OwnerID: inv.OwnerID, PartySize: 1, Status: status,
				CheckInCode: models.NewID().String(), CreatedAt: t0}).Error)
		}
		for range rng.IntN(3) {
			t0, h := at(inv)
			where := []*models.Store{store, other}[rng.IntN(2)]
			status := []booking.Status{booking.Arrived, booking.Cancelled, booking.NoShow}[rng.IntN(3)]
			g.booked = g.booked || where == store && status != booking.Cancelled && within(h, days)
			must(t, conn.Create(&booking.Appointment{ID: models.NewID(), StoreID: where.ID, VehicleID: car(), OwnerID: inv.OwnerID, Kind: "MAINTENANCE",
				SlotStart: t0.Add(48 * time.Hour), SlotEnd: t0.Add(49 * time.Hour), Status: status, Source: "APP", CreatedAt: t0, UpdatedAt: t0}).Error)
		}
		for range rng.IntN(4) {
			t0, h := at(inv)
			where := []*models.Store{store, other}[rng.IntN(2)]
			payable := int64(rng.IntN(500000))
			o := &workshop.RepairOrder{ID: models.NewID(), Number: fmt.Sprintf("CV-%d-%s", seq, models.NewID()), StoreID: where.ID, VehicleID: car(),
				OwnerID: inv.OwnerID, AdvisorID: staffID, Kind: workshop.Maintenance, Status: workshop.Cancelled, StatusChangedAt: t0, Version: 1,
				CreatedAt: t0, UpdatedAt: t0}
			if rng.IntN(4) > 0 {
				settled := t0.Add(3 * time.Hour)
				o.Status, o.SettledAt, o.TotalFen, o.PayableFen = workshop.Delivered, &settled, payable, payable
				if within(h, days) {
					g.visits[where.ID] += payable
				}
			}
			must(t, conn.Create(o).Error)
		}
	}

	d := f.gql(t, tok, cvReportDoc, map[string]any{"id": id, "days": days})
	rep := d["campaignReport"].(map[string]any)
	if rep["conversionDays"] != float64(days) {
		t.Fatalf("report: %v", rep)
	}
	type figures struct {
		sent, delivered, opened, uncalled, registered, booked, visited, converted int
		revenue                                                                   int64
		responses                                                                 map[string]int
	}
	want := map[string]*figures{}
	stores := map[string][2]int64{}
	codes := map[uuid.UUID]string{store.ID: store.Code, other.ID: other.Code}
	add := func(key string, g *cvGenerated) {
		w := want[key]
		if w == nil {
			w = &figures{responses: map[string]int{}}
			want[key] = w
		}
		w.sent++
		count := func(n *int, yes bool) {
			if yes {
				*n++
			}
		}
		count(&w.delivered, g.delivered)
		count(&w.opened, g.opened)
		count(&w.registered, g.registered)
		count(&w.booked, g.booked)
		count(&w.visited, len(g.visits) > 0)
		count(&w.converted, g.registered || g.booked || len(g.visits) > 0)
		if g.response == nil {
			w.uncalled++
		} else {
			w.responses[string(*g.response)]++
		}
		for _, fen := range g.visits {
			w.revenue += fen
		}
	}
	for _, g := range gen {
		add("", g)
		add(string(g.inv.Segment), g)
		for s, fen := range g.visits {
			v := stores[codes[s]]
			stores[codes[s]] = [2]int64{v[0] + 1, v[1] + fen}
		}
	}
	check := func(name string, got any, w *figures) {
		if w == nil {
			w = &figures{responses: map[string]int{}}
		}
		for field, n := range map[string]int{"sent": w.sent, "delivered": w.delivered, "opened": w.opened, "uncalled": w.uncalled,
			"registered": w.registered, "booked": w.booked, "visited": w.visited, "converted": w.converted, "redeemed": 0} {
			if dig(got, field) != float64(n) {
				t.Errorf("%s %s: %v, brute force %d", name, field, dig(got, field), n)
			}
		}
		if dig(got, "revenue", "amountFen") != float64(w.revenue) {
			t.Errorf("%s revenue: %v, brute force %d", name, dig(got, "revenue", "amountFen"), w.revenue)
		}
		for _, r := range dig(got, "responses").([]any) {
			if n := w.responses[dig(r, "response").(string)]; dig(r, "invitations") != float64(n) {
				t.Errorf("%s %v: brute force %d", name, r, n)
			}
		}
	}
	check("totals", rep["totals"], want[""])
	for _, s := range rep["segments"].([]any) {
		check(dig(s, "segment").(string), dig(s, "figures"), want[dig(s, "segment").(string)])
	}
	gotStores := rep["stores"].([]any)
	if len(gotStores) != len(stores) {
		t.Errorf("stores %v, brute force %v", gotStores, stores)
	}
	for _, s := range gotStores {
		w := stores[dig(s, "store", "code").(string)]
		if dig(s, "visited") != float64(w[0]) || dig(s, "revenue", "amountFen") != float64(w[1]) {
			t.Errorf("store %v, brute force %v", s, w)
		}
	}
	w := want[""]
	t.Logf("%d invitations: %d delivered, %d opened, %d registered, %d booked, %d visited, %d converted, ¥%d; stores %v",
		w.sent, w.delivered, w.opened, w.registered, w.booked, w.visited, w.converted, w.revenue/100, stores)
	if w.registered == 0 || w.booked == 0 || w.visited == 0 || w.visited == w.sent || w.delivered == 0 || w.opened == 0 {
		t.Errorf("the generated data leaves a figure trivial: %+v", w)
	}

	// The invitations carry the same flags (the configured window).
	inv := f.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on Campaign { invitations(first: 100) { edges { node { id actions { delivered opened registered booked visited revenue { amountFen } } } } } } } }`,
		map[string]any{"id": id})
	byID := map[string]*cvGenerated{}
	for _, g := range gen {
		byID[g.inv.ID.String()] = g
	}
	for _, e := range dig(inv, "node", "invitations", "edges").([]any) {
		g := byID[mustGlobalKey(t, dig(e, "node", "id").(string))]
		a := dig(e, "node", "actions")
		if dig(a, "delivered") != g.delivered || dig(a, "opened") != g.opened {
			t.Errorf("invitation %s: %v, generated delivered %v opened %v", g.inv.ID, a, g.delivered, g.opened)
		}
	}

	// Refusals: a window out of range; another store's CRM; an owner.
	e2eWantGQLError(t, f.do(t, req{Query: cvReportDoc, Token: tok, Vars: map[string]any{"id": id, "days": 400}}), "INVALID_ARGUMENT")
	e2eWantGQLError(t, f.do(t, req{Query: cvReportDoc, Token: f.staff(t, "crm.sz01"), Vars: map[string]any{"id": id}}), "NOT_FOUND")
	e2eWantGQLError(t, f.do(t, req{Query: cvReportDoc, Token: f.ownerToken(t, invs[0].OwnerID), Vars: map[string]any{"id": id}}), "FORBIDDEN")
}

// The report costs the same statements for 3 invitations as for 30.
func TestBudgetCampaignReport(t *testing.T) {
	f := newWorkshop(t)
	counts := []int64{}
	invited := []float64{}
	for i, n := range []int{6, 60} {
		store, _ := auWorld(t, f, n, rand.New(rand.NewPCG(uint64(i), 9)))
		tok, _ := cvStaff(t, f, store)
		id := cvCampaign(t, f, tok, store, map[string]any{"kind": "BOOKING", "serviceKind": "MAINTENANCE"})
		if _, err := f.App.CRM.DispatchCampaigns(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		st, d := minStatements(t, f.testServer, tok, cvReportDoc, map[string]any{"id": id})
		counts = append(counts, st)
		invited = append(invited, dig(d, "campaignReport", "totals", "sent").(float64))
	}
	t.Logf("campaignReport: %d statements for %v invitations, %d for %v", counts[0], invited[0], counts[1], invited[1])
	if invited[0] == 0 || invited[1] <= invited[0]*3 {
		t.Fatalf("invitations: %v", invited)
	}
	if counts[0] != counts[1] {
		t.Fatalf("the report's statements grew with its invitations: %d -> %d", counts[0], counts[1])
	}
}

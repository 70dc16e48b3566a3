package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
)

// Campaigns: scheduled, sent once to each consenting owner of the audience
// however many runs race, cancellable before they go out, followed up by
// calls and counted.

const cpCampaignFields = `id status invited sentAt kind title serviceKind audience { id } store { code }
	report { invited uncalled responses { response invitations } segments { segment invitations } }`

func TestCampaignFlow(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	store, owners := auWorld(t, f, 40, rand.New(rand.NewPCG(3, 4)))
	tok := e2eStaffToken(t, f.testServer, e2eInsertStaff(t, f.testServer, "pw-campaign-1", true, []string{store.Code}, "CRM"))
	sid := e2eGlobalID("Store", store.ID)
	d := f.gql(t, tok, `mutation($in: SaveAudienceInput!) { saveAudience(input: $in) { audience { id size } } }`,
		map[string]any{"in": map[string]any{"storeId": sid, "name": "全部车主", "filter": map[string]any{}}})
	audience := dig(d, "saveAudience", "audience", "id").(string)
	consenting := 0
	for _, o := range owners {
		if o.consent {
			consenting++
		}
	}
	if consenting == 0 || consenting == len(owners) {
		t.Fatalf("%d of %d owners consent: the test needs both kinds", consenting, len(owners))
	}

	const create = `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { campaign { ` + cpCampaignFields + ` } userErrors { code field message } } }`
	input := func(extra map[string]any) map[string]any {
		in := map[string]any{"storeId": sid, "audienceId": audience, "name": "冬季保养邀约", "kind": "BOOKING",
			"serviceKind": "MAINTENANCE", "title": "冬季保养季", "body": "本周到店保养享工时八折"}
		for k, v := range extra {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	// Refusals change nothing.
	for field, extra := range map[string]map[string]any{
		"title":       {"title": "一二三四五六七八九十一二三四五六七八九十一"},
		"body":        {"body": ""},
		"sendAt":      {"sendAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
		"serviceKind": {"serviceKind": nil},
		"eventId":     {"kind": "EVENT"},
	} {
		e2eWantUserError(t, f.gql(t, tok, create, input(extra))["createCampaign"], "INVALID_ARGUMENT", "input", field)
	}
	var campaigns int64
	must(t, f.DB.Conn(ctx).Model(&crm.Campaign{}).Where("store_id = ?", store.ID).Count(&campaigns).Error)
	if campaigns != 0 {
		t.Fatalf("refused campaigns wrote %d rows", campaigns)
	}

	now := f.gql(t, tok, create, input(nil))
	c := dig(now, "createCampaign", "campaign").(map[string]any)
	if c["status"] != "SCHEDULED" || c["invited"] != 0.0 || dig(c, "store", "code") != store.Code {
		t.Fatalf("created: %v", now)
	}
	later := dig(f.gql(t, tok, create, input(map[string]any{"name": "下月邀约", "sendAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})),
		"createCampaign", "campaign", "id").(string)

	// Four dispatch runs at once, as instances would: each owner once.
	made := cpRaceDispatch(t, f, f, f, f)
	if made != int64(consenting) {
		t.Errorf("four racing runs invited %d owners, want the %d who consent", made, consenting)
	}
	if n, err := f.App.CRM.DispatchCampaigns(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("a later run invited %d more (%v)", n, err)
	}
	var notes int64
	must(t, f.DB.Conn(ctx).Table("notifications").Where("kind = ? AND dedupe_key = ?", crm.KindCampaignInvitation, "campaign:"+mustGlobalKey(t, c["id"].(string))).Count(&notes).Error)
	if notes != int64(consenting) {
		t.Errorf("%d notifications for %d invitations", notes, consenting)
	}
	cd := f.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on Campaign { `+cpCampaignFields+` invitations(first: 100) { edges { node { id response owner { id } } } } } } }`,
		map[string]any{"id": c["id"]})
	node := cd["node"].(map[string]any)
	if node["status"] != "SENT" || node["invited"] != float64(consenting) || node["sentAt"] == nil || dig(node, "report", "invited") != float64(consenting) ||
		dig(node, "report", "uncalled") != float64(consenting) {
		t.Fatalf("sent campaign: %v", node)
	}
	// The later one waits for its time, and is cancelled before it.
	const cancel = `mutation($id: ID!) { cancelCampaign(campaignId: $id) { campaign { status } userErrors { code message } } }`
	if d := f.gql(t, tok, cancel, map[string]any{"id": later}); dig(d, "cancelCampaign", "campaign", "status") != "CANCELLED" {
		t.Fatalf("cancel: %v", d)
	}
	if n, _ := f.App.CRM.DispatchCampaigns(ctx, time.Now().Add(2*time.Hour)); n != 0 {
		t.Errorf("a cancelled campaign invited %d owners", n)
	}
	expectUserError(t, f.gql(t, tok, cancel, map[string]any{"id": later})["cancelCampaign"], "CAMPAIGN_NOT_CANCELLABLE")
	expectUserError(t, f.gql(t, tok, cancel, map[string]any{"id": c["id"]})["cancelCampaign"], "CAMPAIGN_NOT_CANCELLABLE")

	// Follow-up calls.
	edges := dig(node, "invitations", "edges").([]any)
	const respond = `mutation($in: RecordInvitationResponseInput!) { recordInvitationResponse(input: $in) { invitation { response note } userErrors { code field message } } }`
	for i, answer := range []string{"COMING", "COMING", "NOT_COMING"} {
		in := map[string]any{"invitationId": dig(edges[i], "node", "id"), "response": answer, "note": "周六上午到店"}
		if d := f.gql(t, tok, respond, map[string]any{"in": in}); dig(d, "recordInvitationResponse", "invitation", "response") != answer {
			t.Fatalf("respond: %v", d)
		}
	}
	other := f.staff(t, "crm.sz01")
	e2eWantGQLError(t, f.do(t, req{Query: respond, Token: other, Vars: map[string]any{"in": map[string]any{"invitationId": dig(edges[3], "node", "id"), "response": "COMING"}}}), "NOT_FOUND")
	rep := dig(f.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on Campaign { report { uncalled responses { response invitations } } } } }`,
		map[string]any{"id": c["id"]}), "node", "report").(map[string]any)
	counts := map[string]float64{}
	for _, r := range rep["responses"].([]any) {
		counts[dig(r, "response").(string)] = dig(r, "invitations").(float64)
	}
	if counts["COMING"] != 2 || counts["NOT_COMING"] != 1 || counts["NOT_SURE"] != 0 || rep["uncalled"] != float64(consenting-3) {
		t.Errorf("report: %v", rep)
	}
	// Owners: neither the campaign nor the call's record, even their own
	// invitation's, whatever the path (node, or the service itself).
	var inv crm.Invitation
	must(t, f.DB.Conn(ctx).Where("id = ?", mustGlobalKey(t, dig(edges[3], "node", "id").(string))).Take(&inv).Error)
	invitee := f.ownerToken(t, inv.OwnerID)
	if d := f.gql(t, invitee, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": c["id"]}); d["node"] != nil {
		t.Errorf("an invited owner reads the campaign: %v", d)
	}
	if _, err := f.App.CRM.RecordResponse(ctx, &auth.Principal{Kind: auth.KindOwner, ID: inv.OwnerID}, inv.ID, crm.Coming, ""); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the invited owner recorded their own call's outcome: %v", err)
	}
	// Another store's staff: not their campaign; owners: not staff.
	if d := f.gql(t, other, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": c["id"]}); d["node"] != nil {
		t.Errorf("another store's CRM reads the campaign: %v", d)
	}
	e2eWantGQLError(t, f.do(t, req{Query: create, Token: other, Vars: input(nil)}), "FORBIDDEN")
}

// mustGlobalKey is the uuid inside a global ID.
func mustGlobalKey(t *testing.T, gid string) string {
	t.Helper()
	_, id, ok := bkParseID(gid)
	if !ok {
		t.Fatalf("not a global id: %s", gid)
	}
	return id.String()
}

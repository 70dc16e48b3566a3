package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// The campaign fan-out at the group's size (docs/crm.md, "Campaigns"): a
// batch of owners costs the same statements whatever its size, and
// dispatchers racing on two instances reach each owner once.

// cpSendCampaign creates an audience of every owner of the store and a
// BOOKING campaign to it, due now, through the API.
func cpSendCampaign(t *testing.T, f *wkFixture, storeCode string, storeID uuid.UUID, name string) uuid.UUID {
	t.Helper()
	tok := e2eStaffToken(t, f.testServer, e2eInsertStaff(t, f.testServer, "pw-dispatch", true, []string{storeCode}, "CRM"))
	sid := e2eGlobalID("Store", storeID)
	d := f.gql(t, tok, `mutation($in: SaveAudienceInput!) { saveAudience(input: $in) { audience { id } } }`,
		map[string]any{"in": map[string]any{"storeId": sid, "name": name, "filter": map[string]any{}}})
	audience := dig(d, "saveAudience", "audience", "id").(string)
	d = f.gql(t, tok, `mutation($in: CreateCampaignInput!) { createCampaign(input: $in) { campaign { id } userErrors { code field message } } }`,
		map[string]any{"in": map[string]any{"storeId": sid, "audienceId": audience, "name": name, "kind": "BOOKING",
			"serviceKind": "MAINTENANCE", "title": "冬季保养季", "body": "本周到店保养享工时八折"}})
	id, err := uuid.Parse(mustGlobalKey(t, dig(d, "createCampaign", "campaign", "id").(string)))
	must(t, err)
	return id
}

// cpReached counts, per owner of the store, the campaign's invitations,
// notifications and deliveries, and fails unless every consenting owner has
// one of each (no delivery for the silent ones: inbox only, or at the
// weekly cap) and the others none.
func cpReached(t *testing.T, f *wkFixture, campaign uuid.UUID, owners []*auOwner, silent map[uuid.UUID]bool) (invited, delivered int) {
	t.Helper()
	ctx := context.Background()
	conn := f.DB.Conn(ctx)
	for _, o := range owners {
		var inv, notes, dels int64
		must(t, conn.Model(&crm.Invitation{}).Where("campaign_id = ? AND owner_id = ?", campaign, o.id).Count(&inv).Error)
		must(t, conn.Model(&inbox.Notification{}).Where("owner_id = ? AND dedupe_key = ?", o.id, "campaign:"+campaign.String()).Count(&notes).Error)
		must(t, conn.Model(&outbox.Delivery{}).Where("owner_id = ? AND notification_id IN (?)", o.id,
			conn.Model(&inbox.Notification{}).Select("id").Where("owner_id = ? AND dedupe_key = ?", o.id, "campaign:"+campaign.String())).
			Count(&dels).Error)
		want, wantDels := int64(0), int64(0)
		if o.consent {
			want = 1
			if !silent[o.id] {
				wantDels = 1
			}
		}
		if inv != want || notes != want || dels != wantDels {
			t.Errorf("owner %s (consent %v): %d invitations, %d notifications, %d deliveries", o.id, o.consent, inv, notes, dels)
		}
		invited += int(inv)
		delivered += int(dels)
	}
	return invited, delivered
}

// cpChannels sends campaign invitations by SMS (a fake gateway with the
// template), with a weekly marketing cap of 2.
func cpChannels(t *testing.T) func(*Config, *Deps) {
	sms := authtest.NewAliyunSMS(t, "LTAI-dispatch-test", "dispatch-test-secret-0123456789")
	return func(c *Config, _ *Deps) {
		c.SMSProvider = "aliyun"
		c.AliyunSMS = outbox.AliyunConfig{AccessKeyID: sms.AccessKeyID, AccessKeySecret: sms.KeySecret, SignName: "车主之家",
			Endpoint: sms.URL, Templates: map[string]string{outbox.KindCampaignInvitation: "SMS_465000188"}}
		c.MarketingWeeklyCap = 2
	}
}

// cpSilence makes some consenting owners unreachable beyond the inbox: a
// third chose the inbox only for invitations, a third had two marketing
// messages this week (the cap). It returns them.
func cpSilence(t *testing.T, f *wkFixture, owners []*auOwner, rng *rand.Rand) map[uuid.UUID]bool {
	t.Helper()
	conn := f.DB.Conn(context.Background())
	now := time.Now()
	silent := map[uuid.UUID]bool{}
	for _, o := range owners {
		switch rng.IntN(3) {
		case 0:
			must(t, conn.Create(&inbox.SettingRow{OwnerID: o.id, Kind: outbox.KindCampaignInvitation, Channels: "", UpdatedAt: now}).Error)
		case 1:
			for i := range 2 {
				n := &inbox.Notification{ID: models.NewID(), OwnerID: o.id, Kind: outbox.KindBirthday, Title: "生日快乐", CreatedAt: now}
				must(t, conn.Create(n).Error)
				must(t, conn.Create(&outbox.Delivery{ID: models.NewID(), OwnerID: &o.id, NotificationID: &n.ID, Kind: outbox.KindBirthday,
					Channel: outbox.ChannelSMS, Recipient: "x", Template: "t", Payload: "{}", DedupeKey: fmt.Sprintf("cp:%s:%d", n.ID, i),
					Status: outbox.Sent, NextAttemptAt: now, CreatedAt: now.Add(-time.Hour), UpdatedAt: now}).Error)
			}
		default:
			continue
		}
		silent[o.id] = true
	}
	return silent
}

// cpRaceDispatch runs the dispatch job on each instance given at once, as
// instances would, and returns the invitations they say they made.
func cpRaceDispatch(t *testing.T, instances ...*wkFixture) int64 {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var made int64
	for _, f := range instances {
		wg.Go(func() {
			n, err := f.App.CRM.DispatchCampaigns(context.Background(), time.Now())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			made += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return made
}

// TestCampaignDispatchBatchStatements dispatches a campaign to a few owners
// and one to many more, each one batch: the same statements (the
// deliveries' routing reads and writes the batch at once: docs/crm.md).
func TestCampaignDispatchBatchStatements(t *testing.T) {
	f := newWorkshop(t, cpChannels(t))
	ctx := context.Background()
	// Campaigns other tests left due go out first.
	if _, err := f.App.CRM.DispatchCampaigns(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	measure := func(n int, seed uint64) (int64, int, int) {
		store, owners := auWorld(t, f, n, rand.New(rand.NewPCG(seed, 2)))
		id := cpSendCampaign(t, f, store.Code, store.ID, "批量派发")
		silent := cpSilence(t, f, owners, rand.New(rand.NewPCG(seed, 3)))
		before := f.DB.Statements()
		made, err := f.App.CRM.DispatchCampaigns(ctx, time.Now())
		statements := f.DB.Statements() - before
		if err != nil {
			t.Fatal(err)
		}
		invited, delivered := cpReached(t, f, id, owners, silent)
		if made != int64(invited) {
			t.Errorf("dispatch says %d invited, the table %d", made, invited)
		}
		return statements, invited, delivered
	}
	few, fewInvited, fewDelivered := measure(8, 21)
	many, manyInvited, manyDelivered := measure(150, 22)
	if fewInvited == 0 || manyInvited < 10*fewInvited/2 || manyDelivered == 0 || fewDelivered == 0 {
		t.Fatalf("invited %d then %d, delivered %d then %d: the check is too weak", fewInvited, manyInvited, fewDelivered, manyDelivered)
	}
	t.Logf("dispatch of %d owners (%d delivered): %d statements; of %d (%d delivered): %d", fewInvited, fewDelivered, few, manyInvited, manyDelivered, many)
	if few != many || many > 25 {
		t.Errorf("a batch of %d owners took %d statements, one of %d took %d", fewInvited, few, manyInvited, many)
	}
}

// TestCampaignDispatchConcurrentInstances races dispatchers on two server
// instances (two pools on one PostgreSQL database; on SQLite, one process,
// two dispatchers of one instance): every consenting owner gets one
// invitation, one notification and at most one delivery, whoever wins.
func TestCampaignDispatchConcurrentInstances(t *testing.T) {
	ctx := context.Background()
	var f1, f2 *wkFixture
	if onPostgres() {
		db1, db2 := demoInstances(t)
		f1 = newWorkshop(t, cpChannels(t), func(_ *Config, d *Deps) { d.DB = db1 })
		f2 = newWorkshop(t, cpChannels(t), func(_ *Config, d *Deps) { d.DB = db2 })
	} else {
		f1 = newWorkshop(t, cpChannels(t))
		f2 = f1
	}
	if _, err := f1.App.CRM.DispatchCampaigns(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	store, owners := auWorld(t, f1, 250, rand.New(rand.NewPCG(23, 24))) // two batches
	id := cpSendCampaign(t, f1, store.Code, store.ID, "两个实例")
	silent := cpSilence(t, f1, owners, rand.New(rand.NewPCG(25, 26)))
	second := f2.DB.Statements()
	made := cpRaceDispatch(t, f1, f2, f1, f2)
	invited, delivered := cpReached(t, f1, id, owners, silent)
	if made != int64(invited) || invited < 100 || delivered == 0 {
		t.Errorf("the racing runs say %d invited; the tables: %d invitations, %d deliveries", made, invited, delivered)
	}
	if f2 != f1 && f2.DB.Statements() == second {
		t.Error("the second instance's dispatchers ran no statement")
	}
}

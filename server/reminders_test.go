package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/reminders"
)

const inboxDoc = `{ me { notifications(first: 100) { edges { node { kind title body link } } } } }`

// TestCareReminders runs the scheduled jobs on the River clients of two
// instances at once on the demo group (with a consenting and a
// non-consenting owner whose birthday it is): each owner's reminders
// arrive once, marketing ones only with consent, and their links open
// what they are about.
func TestCareReminders(t *testing.T) {
	own := onOwnDB(t)
	a, b := newTestServer(t, own), newTestServer(t, own)
	ctx := context.Background()
	now := daytime() // the care reminders start only by day
	today := models.DateOf(now.In(models.ChinaTime))
	// 张伟 (consented) and 王芳 (did not) were born on this day.
	zhang := a.ownerByPhone(t, demo.DemoOwnerPhone)
	var wang models.Owner
	if err := a.DB.Conn(ctx).Where("name = ?", "王芳").Take(&wang).Error; err != nil {
		t.Fatal(err)
	}
	if !zhang.MarketingConsent || wang.MarketingConsent {
		t.Fatal("demo consents changed")
	}
	for _, o := range []*models.Owner{zhang, &wang} {
		bd := models.Date{Year: 1985, Month: today.Month, Day: today.Day}
		if today.Month == time.February && today.Day == 29 {
			bd = models.Date{Year: 1984, Month: time.February, Day: 29}
		}
		if err := a.DB.Conn(ctx).Model(&models.Owner{}).Where("id = ?", o.ID).Update("birthday", bd).Error; err != nil {
			t.Fatal(err)
		}
	}
	startJobs(t, a, now)
	startJobs(t, b, now)
	var wg sync.WaitGroup
	for round := 0; round < 2; round++ {
		for _, s := range []*testServer{a, b} {
			wg.Add(1)
			go func(s *testServer) {
				defer wg.Done()
				if err := s.App.Jobs.EnqueueDue(ctx); err != nil {
					t.Error(err)
				}
			}(s)
		}
		wg.Wait()
	}
	waitJobRuns(t, a.DB, int64(len(a.App.Jobs.Jobs)))

	inboxOf := func(token string) map[string][]map[string]any {
		d := a.gql(t, token, inboxDoc, nil)
		out := map[string][]map[string]any{}
		for _, e := range dig(d, "me", "notifications", "edges").([]any) {
			n := dig(e, "node").(map[string]any)
			out[n["kind"].(string)] = append(out[n["kind"].(string)], n)
		}
		return out
	}
	zt := a.ownerToken(t, zhang.ID)
	got := inboxOf(zt)
	if len(got[reminders.KindBirthday]) != 1 || dig(got[reminders.KindBirthday][0], "link") != string(reminders.MembershipLink) {
		t.Fatalf("张伟's birthday: %v", got[reminders.KindBirthday])
	}
	// The Camry's insurance expires in 21 days (demo data): one reminder,
	// linking the car.
	ins := got[reminders.KindInsuranceExpiring]
	if len(ins) != 1 {
		t.Fatalf("insurance reminders: %v", ins)
	}
	node := a.gql(t, zt, `query($id: ID!) { node(id: $id) { ... on Vehicle { plate } } }`, map[string]any{"id": dig(ins[0], "link")})
	if dig(node, "node", "plate") != "粤B6R8M2" {
		t.Fatalf("the insurance reminder links %v", node)
	}
	wt := a.ownerToken(t, wang.ID)
	got = inboxOf(wt)
	for _, kind := range []string{reminders.KindBirthday, reminders.KindPurchaseAnniversary} {
		if len(got[kind]) != 0 {
			t.Fatalf("王芳 did not consent but got %s: %v", kind, got[kind])
		}
	}
	// A third run on either instance adds nothing.
	var before int64
	a.DB.Conn(ctx).Model(&inbox.Notification{}).Count(&before)
	n, err := a.App.Jobs.Jobs[indexOf(t, a, "care-reminders")].Run(ctx, now)
	if err != nil || n != 0 {
		t.Fatalf("a rerun created %d, %v", n, err)
	}
	var after int64
	a.DB.Conn(ctx).Model(&inbox.Notification{}).Count(&after)
	if after != before {
		t.Fatalf("%d notifications after a rerun; %d before", after, before)
	}
}

func indexOf(t *testing.T, s *testServer, name string) int {
	t.Helper()
	for i, j := range s.App.Jobs.Jobs {
		if j.Name == name {
			return i
		}
	}
	t.Fatalf("no job %s", name)
	return -1
}

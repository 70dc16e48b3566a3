package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// Owner messages through the outbox, on the real app: the workshop's
// approval request reaches the (fake) Alibaba Cloud gateway once and its
// delivery links the inbox item; marketing waits for the morning, stays
// under the weekly cap however many are sent at once, and without consent
// stays in the inbox. One server and one gateway for all: the outbox's
// workers of any app on the shared database send any delivery, so these
// steps run in sequence, not in parallel with each other.
func TestOwnerMessagesThroughTheOutbox(t *testing.T) {
	fake := authtest.NewAliyunSMS(t, "LTAI-notify-test", "notify-test-secret-0123456789")
	withSMS := func(c *Config, d *Deps) {
		c.SMSProvider = "aliyun"
		c.AliyunSMS = outbox.AliyunConfig{AccessKeyID: fake.AccessKeyID, AccessKeySecret: fake.KeySecret, SignName: "车主之家",
			Endpoint: fake.URL, Templates: map[string]string{
				outbox.KindLoginCode:      "SMS_465000001",
				outbox.KindApprovalNeeded: "SMS_465000002",
				outbox.KindBirthday:       "SMS_465000003",
			}}
		c.MarketingWeeklyCap = 2
		d.Outbox = outbox.Config{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond}
	}
	v := newVisit(t, withSMS)
	startOutbox(t, v.App.Outbox)
	conn := v.DB.Conn(context.Background())

	t.Run("approval request by SMS once, linked to the inbox item", func(t *testing.T) {
		v.through(t, "diagnose")
		v.o = v.ok(t, v.tech1, "addRepairOrderItem", wkAdd(v.id, wkItem("PART", "BRK-PAD-F", "前刹车片更换（含工时）", 1, 68000, false), true))
		phone := strings.TrimPrefix(v.car.Owner.Phone, "+86")
		waitSent(t, fake, phone, 1)
		time.Sleep(200 * time.Millisecond) // a second send would have come by now
		msgs := fake.Sent(phone)
		if len(msgs) != 1 || msgs[0].TemplateCode != "SMS_465000002" {
			t.Fatalf("the gateway received %+v; rejected %v", msgs, fake.Rejected())
		}
		if name := msgs[0].Params["name"]; name != v.car.Owner.Name {
			t.Fatalf("params %v, want the owner's name %q", msgs[0].Params, v.car.Owner.Name)
		}
		var n inbox.Notification
		if err := conn.Take(&n, "owner_id = ? AND kind = ?", v.car.Owner.ID, outbox.KindApprovalNeeded).Error; err != nil {
			t.Fatal(err)
		}
		var ds []outbox.Delivery
		if err := conn.Find(&ds, "owner_id = ?", v.car.Owner.ID).Error; err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].NotificationID == nil || *ds[0].NotificationID != n.ID || ds[0].Channel != outbox.ChannelSMS {
			t.Fatalf("deliveries %+v for notification %s", ds, n.ID)
		}
		waitStatus(t, v.App.Outbox, ds[0].ID, outbox.Sent)
	})

	// birthday writes a birthday greeting to owner at the given time, as
	// the reminders job does: in a transaction on the service's clock.
	birthday := func(t *testing.T, owner *models.Owner, at time.Time) error {
		t.Helper()
		return v.DB.WithClock(func() time.Time { return at }).WithTx(context.Background(), func(ctx context.Context) error {
			_, err := v.App.Inbox.CreateNotification(ctx, &inbox.Notification{OwnerID: owner.ID, Kind: outbox.KindBirthday,
				Title: "生日快乐，" + owner.Name, Body: "祝您生日快乐！"})
			return err
		})
	}
	consenting := func(t *testing.T) *models.Owner {
		t.Helper()
		o := e2eInsertOwner(t, v.testServer, "欧阳娜娜", "SZ01")
		if err := conn.Model(o).Update("marketing_consent", true).Error; err != nil {
			t.Fatal(err)
		}
		return o
	}
	deliveries := func(t *testing.T, owner *models.Owner) []outbox.Delivery {
		t.Helper()
		var ds []outbox.Delivery
		if err := conn.Order("created_at").Find(&ds, "owner_id = ?", owner.ID).Error; err != nil {
			t.Fatal(err)
		}
		return ds
	}

	t.Run("marketing at 22:00 Shanghai waits until 09:00", func(t *testing.T) {
		o := consenting(t)
		at := time.Date(2026, 3, 10, 22, 0, 0, 0, shanghaiZone)
		if err := birthday(t, o, at); err != nil {
			t.Fatal(err)
		}
		ds := deliveries(t, o)
		want := time.Date(2026, 3, 11, 9, 0, 0, 0, shanghaiZone)
		if len(ds) != 1 || !ds[0].NextAttemptAt.Equal(want) {
			t.Fatalf("deliveries %+v, want one at %v", ds, want)
		}
		byID := "args->>'id' = ?"
		if v.DB.Dialect == models.SQLite {
			byID = "json_extract(args, '$.id') = ?"
		}
		var scheduled time.Time
		if err := conn.Raw("SELECT scheduled_at FROM river_job WHERE "+byID, ds[0].ID.String()).Row().Scan(&scheduled); err != nil {
			t.Fatal(err)
		}
		if !scheduled.Equal(want) {
			t.Fatalf("River job scheduled at %v, want %v", scheduled, want)
		}
	})

	t.Run("weekly marketing cap under concurrency", func(t *testing.T) {
		o := consenting(t)
		noon := time.Now().In(shanghaiZone)
		noon = time.Date(noon.Year(), noon.Month(), noon.Day(), 12, 0, 0, 0, shanghaiZone)
		const sends = 8
		var wg sync.WaitGroup
		errs := make(chan error, sends)
		for range sends {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- birthday(t, o, noon)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var items int64
		if err := conn.Model(&inbox.Notification{}).Where("owner_id = ? AND kind = ?", o.ID, outbox.KindBirthday).Count(&items).Error; err != nil {
			t.Fatal(err)
		}
		if ds := deliveries(t, o); items != sends || len(ds) != 2 {
			t.Fatalf("%d inbox items and %d deliveries, want %d and the cap of 2", items, len(ds), sends)
		}
	})

	t.Run("no consent: the inbox only", func(t *testing.T) {
		o := e2eInsertOwner(t, v.testServer, "林小雨", "SZ01")
		if err := birthday(t, o, time.Now()); err != nil {
			t.Fatal(err)
		}
		var items int64
		if err := conn.Model(&inbox.Notification{}).Where("owner_id = ?", o.ID).Count(&items).Error; err != nil {
			t.Fatal(err)
		}
		if ds := deliveries(t, o); items != 1 || len(ds) != 0 {
			t.Fatalf("%d inbox items, deliveries %+v", items, ds)
		}
	})
}

// startOutbox starts o's workers until the test ends.
func startOutbox(t *testing.T, o *outbox.Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = o.Stop(stop)
		cancel()
	})
}

var shanghaiZone = time.FixedZone("Asia/Shanghai", 8*60*60)

// waitSent waits until the gateway has n messages for phone.
func waitSent(t *testing.T, fake *authtest.AliyunSMS, phone string, n int) []authtest.AliyunSMSMessage {
	t.Helper()
	var msgs []authtest.AliyunSMSMessage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if msgs = fake.Sent(phone); len(msgs) >= n {
			return msgs
		}
	}
	t.Fatalf("the gateway received %d messages for %s, want %d; rejected %v", len(msgs), phone, n, fake.Rejected())
	return nil
}

// waitStatus waits until the delivery id has status.
func waitStatus(t *testing.T, o *outbox.Outbox, id any, status string) {
	t.Helper()
	var d *outbox.Delivery
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if d, err = o.Get(context.Background(), id); err == nil && d.Status == status {
			return
		}
	}
	t.Fatalf("delivery %v: %+v, %v; want %s", id, d, err, status)
}

// The owner reads and sets the channels of each kind; a transactional kind
// cannot lose its last channel (nothing changes, not even the other kinds
// of the same request); another owner and staff can neither read nor set
// them.
func TestNotificationSettings(t *testing.T) {
	t.Parallel()
	f := newWorkshop(t)
	a, b := f.quickCar(t, "SZ01"), f.quickCar(t, "SZ01")
	const read = `{ me { notificationSettings { kind class channels } } }`
	setting := func(me map[string]any, kind string) map[string]any {
		for _, s := range dig(me, "me", "notificationSettings").([]any) {
			if s.(map[string]any)["kind"] == kind {
				return s.(map[string]any)
			}
		}
		t.Fatalf("no setting for %s in %v", kind, me)
		return nil
	}
	me := f.gql(t, a.OwnerToken, read, nil)
	if s := setting(me, "APPROVAL_NEEDED"); s["class"] != "TRANSACTIONAL" || fmt.Sprint(s["channels"]) != "[PUSH WECHAT SMS]" {
		t.Fatalf("default: %v", s)
	}
	if s := setting(me, "BIRTHDAY"); s["class"] != "MARKETING" {
		t.Fatalf("default: %v", s)
	}
	const update = `mutation($in: [NotificationSettingInput!]!) { updateNotificationSettings(input: $in) {
		notificationSettings { kind channels } userErrors { code field } } }`
	r := f.do(t, req{Query: update, Token: a.OwnerToken, Vars: map[string]any{"in": []any{
		map[string]any{"kind": "BIRTHDAY", "channels": []string{}},
		map[string]any{"kind": "READY_FOR_PICKUP", "channels": []string{}},
	}}})
	if dig(r.Data, "updateNotificationSettings", "userErrors", 0, "code") != "TRANSACTIONAL_NEEDS_CHANNEL" {
		t.Fatalf("removing the last channel of a transactional kind: %s", r.Raw)
	}
	if s := setting(f.gql(t, a.OwnerToken, read, nil), "BIRTHDAY"); fmt.Sprint(s["channels"]) != "[PUSH WECHAT SMS]" {
		t.Fatalf("a refused update changed the settings: %v", s)
	}
	r = f.do(t, req{Query: update, Token: a.OwnerToken, Vars: map[string]any{"in": []any{
		map[string]any{"kind": "BIRTHDAY", "channels": []string{}},
	}}})
	if len(dig(r.Data, "updateNotificationSettings", "userErrors").([]any)) != 0 {
		t.Fatalf("opting out of a marketing kind: %s", r.Raw)
	}
	if s := setting(f.gql(t, a.OwnerToken, read, nil), "BIRTHDAY"); len(s["channels"].([]any)) != 0 {
		t.Fatalf("after opting out: %v", s)
	}
	// The other owner's settings are their own.
	if s := setting(f.gql(t, b.OwnerToken, read, nil), "BIRTHDAY"); fmt.Sprint(s["channels"]) != "[PUSH WECHAT SMS]" {
		t.Fatalf("another owner's settings changed: %v", s)
	}
	// Staff read an owner through the owners search, but not the settings.
	staff := f.staff(t, "advisor.sz01")
	r = f.do(t, req{Query: `query($q: String!) { owners(search: $q) { edges { node { notificationSettings { kind } } } } }`,
		Token: staff, Vars: map[string]any{"q": a.Owner.Phone}})
	if r.Code() != "FORBIDDEN" {
		t.Fatalf("staff reading an owner's settings: %s", r.Raw)
	}
}

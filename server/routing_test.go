package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/push"
)

const (
	approvalDeliveriesDoc = `query($id: ID!) { node(id: $id) { ... on RepairOrder {
		approvalDeliveries { channel status attempts lastError sentAt createdAt } } } }`
	updateSettingsDoc = `mutation($in: [NotificationSettingInput!]!) { updateNotificationSettings(input: $in) {
		notificationSettings { kind channels } userErrors { code field } } }`
)

// An approval request reaches the owner's phone through the real app, the
// outbox's workers and the fake providers: by push on each live device when
// the owner has one, by SMS when not or when they turned push off, only in
// the inbox when no channel they allow can reach them; a dead token drops
// its device and the next request falls back to SMS. Staff of the store
// see each delivery's state; the owner and a technician are refused it. One
// server and one set of fakes, in sequence (the outbox's workers of any app
// on the shared database send any delivery).
func TestApprovalRequestsReachTheOwnersPhone(t *testing.T) {
	sms := authtest.NewAliyunSMS(t, "LTAI-routing-test", "routing-test-secret-0123456789")
	apns := authtest.NewAPNs(t, "cn.ownerhub.app")
	v := newVisit(t, func(c *Config, d *Deps) {
		c.SMSProvider = "aliyun"
		c.AliyunSMS = outbox.AliyunConfig{AccessKeyID: sms.AccessKeyID, AccessKeySecret: sms.KeySecret, SignName: "车主之家",
			Endpoint: sms.URL, Templates: map[string]string{outbox.KindApprovalNeeded: "SMS_465000102"}}
		c.APNs = &push.APNsConfig{Key: apns.KeyPEM, KeyID: apns.KeyID, TeamID: apns.TeamID, Topic: apns.Topic,
			Endpoint: apns.URL}
		d.APNsClient = apns.Client
		c.MarketingWeeklyCap = 2
		d.Outbox = outbox.Config{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond}
	})
	startOutbox(t, v.App.Outbox)
	ctx := context.Background()
	owner := v.car.Owner
	phone := strings.TrimPrefix(owner.Phone, "+86")
	tokens := []string{pushToken(), pushToken()}
	for _, tok := range tokens {
		p := e2ePayload(t, v.do(t, req{Query: registerDeviceDoc, Token: v.car.OwnerToken,
			Vars: map[string]any{"in": map[string]any{"platform": "IOS", "token": tok}}}), "registerDevice")
		if dig(p, "device", "provider") != "APNS" {
			t.Fatalf("registerDevice: %v", p)
		}
	}
	pushed := func(tok string) []authtest.APNsMessage {
		var out []authtest.APNsMessage
		for _, m := range apns.Sent() {
			if m.Token == tok {
				out = append(out, m)
			}
		}
		return out
	}
	// ask adds an item needing approval: one more approval request.
	round := 0
	ask := func(t *testing.T) {
		t.Helper()
		round++
		v.o = v.ok(t, v.tech1, "addRepairOrderItem", wkAdd(v.id, wkItem("PART", fmt.Sprintf("EXTRA-%d", round), "追加检查", 1, 5000, false), true))
	}
	// states reads the order's approval deliveries as the advisor, waiting
	// until none is PENDING or SENDING and there are want of them.
	states := func(t *testing.T, want int) []any {
		t.Helper()
		var ds []any
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			ds, _ = dig(v.gql(t, v.advisor, approvalDeliveriesDoc, map[string]any{"id": v.id}), "node", "approvalDeliveries").([]any)
			settled := len(ds) == want
			for _, d := range ds {
				if s := dig(d, "status"); s == "PENDING" || s == "SENDING" {
					settled = false
				}
			}
			if settled {
				return ds
			}
		}
		t.Fatalf("approval deliveries %v; want %d settled", ds, want)
		return nil
	}
	setChannels := func(t *testing.T, channels ...string) {
		t.Helper()
		r := v.do(t, req{Query: updateSettingsDoc, Token: v.car.OwnerToken, Vars: map[string]any{"in": []any{
			map[string]any{"kind": "APPROVAL_NEEDED", "channels": channels}}}})
		if es, _ := dig(r.Data, "updateNotificationSettings", "userErrors").([]any); len(es) != 0 || len(r.Errors) != 0 {
			t.Fatalf("updateNotificationSettings %v: %s", channels, r.Raw)
		}
	}

	v.through(t, "diagnose")
	t.Run("push on each live device, in Chinese with the car and the store", func(t *testing.T) {
		ask(t)
		ds := states(t, 2)
		for _, d := range ds {
			if dig(d, "channel") != "PUSH" || dig(d, "status") != "SENT" || dig(d, "attempts") != float64(1) || dig(d, "sentAt") == nil {
				t.Fatalf("approval deliveries %v; want two PUSH SENT", ds)
			}
		}
		for _, tok := range tokens {
			ms := pushed(tok)
			if len(ms) != 1 {
				t.Fatalf("device %s got %d notifications; rejected %v", tok[:8], len(ms), apns.Rejected())
			}
			if ms[0].Title != "需要您确认追加项目" || !strings.Contains(ms[0].Body, v.car.Plate) || !strings.Contains(ms[0].Body, "深圳") {
				t.Fatalf("push %q / %q; want the title and a body naming the plate %s and the store", ms[0].Title, ms[0].Body, v.car.Plate)
			}
		}
		if got := sms.Sent(phone); len(got) != 0 {
			t.Fatalf("an owner with live devices was sent SMS too: %+v", got)
		}
	})

	t.Run("push turned off: SMS, with the name, the car and the store", func(t *testing.T) {
		setChannels(t, "SMS")
		ask(t)
		msgs := waitSent(t, sms, phone, 1)
		p := msgs[0].Params
		if msgs[0].TemplateCode != "SMS_465000102" || p["name"] != owner.Name || !strings.HasPrefix(p["car"], v.car.Plate) || !strings.Contains(p["store"], "深圳") {
			t.Fatalf("SMS %+v", msgs[0])
		}
		if ds := states(t, 3); dig(ds, 2, "channel") != "SMS" || dig(ds, 2, "status") != "SENT" {
			t.Fatalf("approval deliveries %v; want the third by SMS, SENT", ds)
		}
		if n := len(apns.Sent()); n != 2 {
			t.Fatalf("APNs got %d notifications; want still 2", n)
		}
	})

	t.Run("dead tokens fail, their devices are dropped, the next request goes by SMS", func(t *testing.T) {
		setChannels(t, "PUSH", "SMS")
		apns.Script(func(int, authtest.APNsMessage) authtest.PushAnswer { return authtest.PushDeadToken })
		ask(t)
		ds := states(t, 5)
		for _, d := range ds[3:] {
			if dig(d, "channel") != "PUSH" || dig(d, "status") != "FAILED" || dig(d, "lastError") == nil || dig(d, "sentAt") != nil {
				t.Fatalf("approval deliveries %v; want the last two PUSH FAILED with their error", ds)
			}
		}
		if n := e2eCount(t, v.testServer, &push.Device{}, "owner_id = ?", owner.ID); n != 0 {
			t.Fatalf("%d devices left after their tokens died", n)
		}
		apns.Script(nil)
		ask(t)
		waitSent(t, sms, phone, 2)
		if ds := states(t, 6); dig(ds, 5, "channel") != "SMS" || dig(ds, 5, "status") != "SENT" {
			t.Fatalf("approval deliveries %v; want the sixth by SMS", ds)
		}
	})

	t.Run("only push allowed and no live device: the inbox only", func(t *testing.T) {
		setChannels(t, "PUSH")
		ask(t)
		var items int64
		if err := v.DB.Conn(ctx).Table("notifications").Where("owner_id = ? AND kind = ?", owner.ID, "APPROVAL_NEEDED").Count(&items).Error; err != nil {
			t.Fatal(err)
		}
		if items != int64(round) {
			t.Fatalf("%d approval requests in the inbox; want %d", items, round)
		}
		time.Sleep(200 * time.Millisecond) // a delivery would have been written with the request
		if ds := states(t, 6); len(ds) != 6 || len(sms.Sent(phone)) != 2 {
			t.Fatalf("approval deliveries %v, SMS %d; want no new delivery", ds, len(sms.Sent(phone)))
		}
	})

	t.Run("only staff of the store in the roles see the deliveries", func(t *testing.T) {
		for who, tok := range map[string]string{"the owner": v.car.OwnerToken, "a technician": v.tech1, "a cashier": v.cashier} {
			r := v.do(t, req{Query: approvalDeliveriesDoc, Token: tok, Vars: map[string]any{"id": v.id}})
			if r.Code() != "FORBIDDEN" {
				t.Fatalf("%s reading approvalDeliveries: %s", who, r.Raw)
			}
		}
		if strings.Contains(fmt.Sprint(states(t, 6)), phone) {
			t.Fatal("the deliveries show the owner's phone")
		}
	})

	// A list of orders with their approval deliveries costs the same
	// statements whatever its length: one owner with three cars in the
	// workshop, each waiting for approval, against v's owner with one.
	t.Run("a list of orders reads its approval deliveries in a batch", func(t *testing.T) {
		const q = `query($q: String!) { owners(search: $q, first: 5) { edges { node { vehicles(first: 5) { edges { node {
			activeRepairOrder { number approvalDeliveries { channel status attempts } } } } } } } } }`
		const without = `query($q: String!) { owners(search: $q, first: 5) { edges { node { vehicles(first: 5) { edges { node {
			activeRepairOrder { number } } } } } } } }`
		first := v.newCar(t, "")
		cars := []wkCar{first, v.newCar(t, first.Owner.Phone), v.newCar(t, first.Owner.Phone)}
		for i, c := range cars {
			o := v.open(t, v.advisor, v.sz, c.Plate, 3000+i, "REPAIR", nil, wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false))
			v.move(t, v.advisor, wkStr(o["id"]), "DIAGNOSING", "")
			v.ok(t, v.advisor, "addRepairOrderItem", wkAdd(wkStr(o["id"]), wkItem("PART", "BRK-PAD", "前刹车片", 1, 68000, false), true))
		}
		waitSent(t, sms, strings.TrimPrefix(first.Owner.Phone, "+86"), 3)
		deliveries := func(d map[string]any) (orders, ds int, unsettled bool) {
			for _, o := range dig(d, "owners", "edges").([]any) {
				for _, c := range dig(o, "node", "vehicles", "edges").([]any) {
					if ar := dig(c, "node", "activeRepairOrder"); ar != nil {
						orders++
						l, _ := dig(ar, "approvalDeliveries").([]any)
						ds += len(l)
						for _, x := range l {
							if st := dig(x, "status"); st == "PENDING" || st == "SENDING" {
								unsettled = true
							}
						}
					}
				}
			}
			return
		}
		// The outbox's workers write a delivery's outcome after the gateway
		// has the message, through the database the counts below read:
		// wait for them, so that those counts are the queries' own.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			d := v.gql(t, v.advisor, q, map[string]any{"q": first.Owner.Phone})
			if _, n, unsettled := deliveries(d); n == 3 && !unsettled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the three approval deliveries did not settle: %v", d)
			}
		}
		one, d1 := minStatements(t, v.testServer, v.advisor, q, map[string]any{"q": owner.Phone})
		if o, n, _ := deliveries(d1); o != 1 || n != 6 {
			t.Fatalf("one order: %d orders, %d deliveries: %v", o, n, d1)
		}
		three, d3 := minStatements(t, v.testServer, v.advisor, q, map[string]any{"q": first.Owner.Phone})
		if o, n, _ := deliveries(d3); o != 3 || n != 3 {
			t.Fatalf("three orders: %d orders, %d deliveries: %v", o, n, d3)
		}
		bare, _ := minStatements(t, v.testServer, v.advisor, without, map[string]any{"q": first.Owner.Phone})
		t.Logf("statements: 1 order %d; 3 orders %d; 3 orders without approvalDeliveries %d", one, three, bare)
		if three > one || three-bare > 2 {
			t.Errorf("approvalDeliveries grows with the orders: 1 order %d, 3 orders %d, 3 without the field %d", one, three, bare)
		}
	})

	// The weekly marketing cap counts messages, not deliveries: a greeting
	// pushed to two devices is one of the two a week.
	t.Run("a message pushed to several devices counts once towards the marketing cap", func(t *testing.T) {
		o := e2eInsertOwner(t, v.testServer, "欧阳推送", "SZ01")
		if err := v.DB.Conn(ctx).Model(o).Update("marketing_consent", true).Error; err != nil {
			t.Fatal(err)
		}
		tok := v.ownerToken(t, o.ID)
		for range 2 {
			e2ePayload(t, v.do(t, req{Query: registerDeviceDoc, Token: tok,
				Vars: map[string]any{"in": map[string]any{"platform": "IOS", "token": pushToken()}}}), "registerDevice")
		}
		for range 3 {
			if _, err := v.App.Inbox.CreateNotification(ctx, &inbox.Notification{OwnerID: o.ID, Kind: outbox.KindBirthday,
				Title: "生日快乐", Body: "祝您生日快乐！"}); err != nil {
				t.Fatal(err)
			}
		}
		var ds []outbox.Delivery
		if err := v.DB.Conn(ctx).Find(&ds, "owner_id = ?", o.ID).Error; err != nil {
			t.Fatal(err)
		}
		messages := map[string]int{}
		for _, d := range ds {
			if d.Channel != outbox.ChannelPush {
				t.Fatalf("delivery on %s", d.Channel)
			}
			messages[d.NotificationID.String()]++
		}
		if len(ds) != 4 || len(messages) != 2 {
			t.Fatalf("%d deliveries of %d messages; want the cap's 2 messages on both devices", len(ds), len(messages))
		}
	})
}

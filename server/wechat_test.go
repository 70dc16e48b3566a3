package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/wechat"
)

// WeChat subscription messages and sign-in with WeChat's verified phone, on
// the real app against the fake WeChat (auth/authtest).

const (
	wxSecret    = "wx-server-secret"
	wxTmplReady = "tmpl-ready-for-pickup"
	wxTmplBday  = "tmpl-birthday"
	wxTmplAppr  = "tmpl-approval"
	wxTemplDoc  = `{ wechatSubscriptionTemplates { kind templateId } }`
	wxAcceptDoc = `mutation($ids: [String!]!) { acceptSubscriptionMessages(input: {templateIds: $ids}) {
		permissions { kind templateId remaining } userErrors { code field message } } }`
	wxPhoneDoc = `mutation($c: String!, $p: String) { loginWithWeChat(input: {code: $c, phoneCode: $p}) {
		session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
		owner { id phone weChatBound } bindingTicket
		userErrors { code field message } } }`
)

// withWeChat configures the mini-program app appID with two templates.
func withWeChat(appID string) func(*Config, *Deps) {
	return func(c *Config, _ *Deps) {
		c.WeChatAppID, c.WeChatAppSecret = appID, wxSecret
		c.WeChatTemplates = map[string]wechat.Template{
			outbox.KindReadyForPickup: {Kind: outbox.KindReadyForPickup, ID: wxTmplReady,
				Fields: []wechat.Field{{Key: "thing1", Param: "title"}, {Key: "name2", Param: "name"}}},
			outbox.KindBirthday: {Kind: outbox.KindBirthday, ID: wxTmplBday, Fields: []wechat.Field{{Key: "thing1", Param: "title"}}},
			// Sent at any hour (not held through quiet hours).
			outbox.KindApprovalNeeded: {Kind: outbox.KindApprovalNeeded, ID: wxTmplAppr,
				Fields: []wechat.Field{{Key: "thing1", Param: "title"}, {Key: "name2", Param: "name"}}},
		}
	}
}

// wxServer is an app with WeChat configured for an app id of its own (its
// token row is its own on the shared database).
func wxServer(t *testing.T, tweak ...func(*Config, *Deps)) (*e2eServer, string) {
	appID := "wx-" + uuid.NewString()[:8]
	s := newE2EServer(t, append([]func(*Config, *Deps){withWeChat(appID)}, tweak...)...)
	s.WeChat.AddApp(appID, wxSecret)
	s.WeChat.AddTemplate(wxTmplReady, "thing1", "name2")
	s.WeChat.AddTemplate(wxTmplBday, "thing1")
	s.WeChat.AddTemplate(wxTmplAppr, "thing1", "name2")
	return s, appID
}

func (s *e2eServer) weChatPhone(t testing.TB, code string, phoneCode any) map[string]any {
	t.Helper()
	return e2ePayload(t, s.call(t, "", wxPhoneDoc, map[string]any{"c": code, "p": phoneCode}), "loginWithWeChat")
}

// bindByPhone signs a new WeChat user in with a verified phone: their
// session, openid and phone.
func (s *e2eServer) bindByPhone(t testing.TB) (e2eSession, string, string) {
	t.Helper()
	openid, phone := "o-"+uuid.NewString(), e2ePhone()
	code, phoneCode := "wx-"+uuid.NewString(), "ph-"+uuid.NewString()
	s.WeChat.AddCode(code, openid, "")
	s.WeChat.AddPhoneCode(phoneCode, phone[3:], "86")
	return e2eSessionOf(t, s.weChatPhone(t, code, phoneCode)), openid, phone
}

func TestWeChatSignInWithVerifiedPhone(t *testing.T) {
	s, _ := wxServer(t)

	// A new phone: the owner is created, bound and signed in, no SMS.
	sess, openid, phone := s.bindByPhone(t)
	o := s.ownerByPhone(t, phone)
	if o.WeChatOpenID == nil || *o.WeChatOpenID != openid || sess.OwnerID == "" {
		t.Fatalf("owner %+v, session %+v", o, sess)
	}
	me := s.call(t, sess.Access, `{ me { phone weChatBound } }`, nil)
	if dig(me.Data, "me", "phone") != phone || dig(me.Data, "me", "weChatBound") != true {
		t.Fatalf("me: %s", me.Raw)
	}
	if n := s.SMS.Count(phone); n != 0 {
		t.Fatalf("%d SMS sent", n)
	}

	// A phone that signed in by SMS before: its owner is bound.
	known := e2ePhone()
	smsSess := s.signIn(t, known)
	openid2 := "o-" + uuid.NewString()
	s.WeChat.AddCode("wx-known", openid2, "u-"+openid2)
	s.WeChat.AddPhoneCode("ph-known", known[3:], "86")
	p := s.weChatPhone(t, "wx-known", "ph-known")
	if e2eSessionOf(t, p).OwnerID != smsSess.OwnerID {
		t.Fatalf("bound another owner: %v", p)
	}
	if o := s.ownerByPhone(t, known); o.WeChatOpenID == nil || *o.WeChatOpenID != openid2 || *o.WeChatUnionID != "u-"+openid2 {
		t.Fatalf("owner %+v", o)
	}

	// Bound already: signs in at once, the phone code is not used.
	s.WeChat.AddCode("wx-again", openid2, "")
	s.WeChat.AddPhoneCode("ph-unused", e2ePhone()[3:], "86")
	if e2eSessionOf(t, s.weChatPhone(t, "wx-again", "ph-unused")).OwnerID != smsSess.OwnerID {
		t.Fatal("bound account signed in as someone else")
	}

	// Refusals change nothing: no owner, no binding.
	owners := e2eCount(t, s.testServer, &models.Owner{}, "1 = 1")
	for _, c := range []struct {
		phoneCode, code string
		add             func(openid string)
	}{
		{"ph-never-issued", "WECHAT_PHONE_CODE_INVALID", nil},
		{"ph-used", "WECHAT_PHONE_CODE_INVALID", func(string) {}},
		{"bad code", "WECHAT_PHONE_CODE_INVALID", nil},
		{"ph-hk", "WECHAT_PHONE_NOT_MAINLAND", func(string) { s.WeChat.AddPhoneCode("ph-hk", "61234567", "852") }},
	} {
		openid := "o-" + uuid.NewString()
		code := "wx-" + uuid.NewString()
		s.WeChat.AddCode(code, openid, "")
		if c.add != nil {
			c.add(openid)
		}
		e2eWantUserError(t, s.weChatPhone(t, code, c.phoneCode), c.code, "input", "phoneCode")
		if n := e2eCount(t, s.testServer, &models.Owner{}, "wechat_openid = ?", openid); n != 0 {
			t.Fatalf("%s: openid bound", c.phoneCode)
		}
		// The account can still bind by SMS.
		s.WeChat.AddCode(code+"-2", openid, "")
		if dig(s.weChat(t, code+"-2"), "bindingTicket") == nil {
			t.Fatalf("%s: no binding ticket afterwards", c.phoneCode)
		}
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "1 = 1"); n != owners {
		t.Fatalf("refusals created %d owners", n-owners)
	}

	// The phone's owner is bound to another account of the same WeChat
	// user: refused, nothing created.
	s.WeChat.AddCode("wx-same-user", "o-"+uuid.NewString(), "u-"+openid2)
	fresh := e2ePhone()
	s.WeChat.AddPhoneCode("ph-fresh", fresh[3:], "86")
	e2eWantUserError(t, s.weChatPhone(t, "wx-same-user", "ph-fresh"), "WECHAT_ALREADY_BOUND", "input", "phoneCode")
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", fresh); n != 0 {
		t.Fatal("refused binding created the owner")
	}

	// Without the mini-program's credentials the phone code is refused.
	plain := newE2EServer(t)
	plain.WeChat.AddCode("wx-plain", "o-"+uuid.NewString(), "")
	e2eWantUserError(t, plain.weChatPhone(t, "wx-plain", "ph-any"), "WECHAT_NOT_CONFIGURED")
}

func TestAcceptSubscriptionMessages(t *testing.T) {
	s, _ := wxServer(t)
	sess, _, _ := s.bindByPhone(t)

	r := s.call(t, sess.Access, wxTemplDoc, nil)
	if fmt.Sprint(dig(r.Data, "wechatSubscriptionTemplates")) !=
		fmt.Sprint([]any{map[string]any{"kind": "APPROVAL_NEEDED", "templateId": wxTmplAppr},
			map[string]any{"kind": "BIRTHDAY", "templateId": wxTmplBday},
			map[string]any{"kind": "READY_FOR_PICKUP", "templateId": wxTmplReady}}) {
		t.Fatalf("templates: %s", r.Raw)
	}
	accept := func(token string, ids ...string) map[string]any {
		t.Helper()
		if ids == nil {
			ids = []string{}
		}
		return e2ePayload(t, s.call(t, token, wxAcceptDoc, map[string]any{"ids": ids}), "acceptSubscriptionMessages")
	}
	left := func(p map[string]any, kind string) any {
		for _, x := range dig(p, "permissions").([]any) {
			if dig(x, "kind") == kind {
				return dig(x, "remaining")
			}
		}
		return nil
	}
	if p := accept(sess.Access, wxTmplReady); left(p, "READY_FOR_PICKUP") != float64(1) || left(p, "BIRTHDAY") != float64(0) {
		t.Fatalf("after one acceptance: %v", p)
	}
	p := accept(sess.Access, wxTmplReady, wxTmplBday)
	if left(p, "READY_FOR_PICKUP") != float64(2) || left(p, "BIRTHDAY") != float64(1) || len(userErrorCodes(p)) != 0 {
		t.Fatalf("after two acceptances: %v", p)
	}
	// An unknown id: refused, nothing recorded.
	e2eWantUserError(t, accept(sess.Access, wxTmplReady, "tmpl-unknown"), "INVALID_ARGUMENT", "input", "templateIds")
	e2eWantUserError(t, accept(sess.Access), "INVALID_ARGUMENT", "input", "templateIds")
	if p = accept(sess.Access, wxTmplBday); left(p, "READY_FOR_PICKUP") != float64(2) || left(p, "BIRTHDAY") != float64(2) {
		t.Fatalf("refusals changed permissions: %v", p)
	}
	// An owner without WeChat.
	e2eWantUserError(t, accept(s.signIn(t, e2ePhone()).Access, wxTmplReady), "WECHAT_NOT_BOUND")
	// Staff and strangers.
	staff := e2eStaffToken(t, s.testServer, e2eInsertStaff(t, s.testServer, "pw-staff-123456", true, []string{"SZ01"}, "MANAGER"))
	e2eWantGQLError(t, s.call(t, staff, wxAcceptDoc, map[string]any{"ids": []string{wxTmplReady}}), "FORBIDDEN")
	e2eWantGQLError(t, s.call(t, staff, wxTemplDoc, nil), "FORBIDDEN")
	e2eWantGQLError(t, s.call(t, "", wxAcceptDoc, map[string]any{"ids": []string{wxTmplReady}}), "UNAUTHENTICATED")

	// The owner's export holds the permissions; deleting the account
	// erases them.
	exp := s.call(t, sess.Access, `{ exportMyData { document } }`, nil)
	var doc struct {
		Sections map[string]json.RawMessage `json:"sections"`
	}
	if err := json.Unmarshal([]byte(dig(exp.Data, "exportMyData", "document").(string)), &doc); err != nil {
		t.Fatal(err)
	}
	var subs []map[string]any
	if err := json.Unmarshal(doc.Sections["wechatSubscriptions"], &subs); err != nil || len(subs) != 2 || subs[0]["remaining"] != float64(2) {
		t.Fatalf("export: %s (%v)", doc.Sections["wechatSubscriptions"], err)
	}
	ownerID := s.ownerOf(t, sess)
	del := s.call(t, sess.Access, `mutation { deleteMyAccount(input: {confirm: true}) { deleted userErrors { code } } }`, nil)
	if dig(del.Data, "deleteMyAccount", "deleted") != true {
		t.Fatalf("delete: %s", del.Raw)
	}
	if n := e2eCount(t, s.testServer, &wechat.Subscription{}, "owner_id = ?", ownerID); n != 0 {
		t.Fatalf("%d subscriptions left after deletion", n)
	}
}

// ownerOf is the id of a session's owner.
func (s *e2eServer) ownerOf(t testing.TB, sess e2eSession) uuid.UUID {
	t.Helper()
	claims, err := e2eClaims(sess.Access)
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(claims["sub"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Notifications to an owner with k WeChat permissions: N of them written at
// once on two instances take exactly k by WeChat and the rest go by SMS;
// the instances share one access token.
func TestWeChatMessagesThroughTheOutbox(t *testing.T) {
	sms := authtest.NewAliyunSMS(t, "LTAI-wechat-test", "wechat-test-secret-0123456789")
	var appID string
	var fake *authtest.FakeWeChat
	shared := func(c *Config, d *Deps) {
		c.SMSProvider = "aliyun"
		c.AliyunSMS = outbox.AliyunConfig{AccessKeyID: sms.AccessKeyID, AccessKeySecret: sms.KeySecret, SignName: "车主之家",
			Endpoint: sms.URL, Templates: map[string]string{outbox.KindLoginCode: "SMS_465000001", outbox.KindApprovalNeeded: "SMS_465000004"}}
		d.Outbox = outbox.Config{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond}
		if fake != nil {
			c.WeChatAppID, c.WeChatAPIBase = appID, fake.URL()
		}
	}
	a, id := wxServer(t, shared)
	appID, fake = id, a.WeChat
	b := newE2EServer(t, withWeChat(appID), shared) // the second instance, same app and WeChat
	for _, s := range []*e2eServer{a, b} {
		ctx, cancel := context.WithCancel(context.Background())
		if err := s.App.Outbox.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = s.App.Outbox.Stop(stop)
			cancel()
		})
	}
	sess, openid, phone := a.bindByPhone(t)
	ownerID := a.ownerOf(t, sess)
	const k, n = 3, 8
	for range k {
		p := e2ePayload(t, a.call(t, sess.Access, wxAcceptDoc, map[string]any{"ids": []string{wxTmplAppr}}), "acceptSubscriptionMessages")
		if len(userErrorCodes(p)) != 0 {
			t.Fatal(p)
		}
	}
	fake.Accept(openid, wxTmplAppr, k)

	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ib := []*inbox.Service{a.App.Inbox, b.App.Inbox}[i%2]
			if _, err := ib.CreateNotification(context.Background(), &inbox.Notification{OwnerID: ownerID,
				Kind: outbox.KindApprovalNeeded, Title: fmt.Sprintf("维修项目待您确认 %d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var ds []outbox.Delivery
	if err := a.DB.Conn(context.Background()).Find(&ds, "owner_id = ?", ownerID).Error; err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, d := range ds {
		by[d.Channel]++
		if d.Channel == outbox.ChannelWeChat && d.Recipient != openid {
			t.Fatalf("WeChat delivery to %q", d.Recipient)
		}
	}
	if by[outbox.ChannelWeChat] != k || by[outbox.ChannelSMS] != n-k || len(ds) != n {
		t.Fatalf("deliveries by channel %v, want %d WeChat and %d SMS", by, k, n-k)
	}
	var left int
	if err := a.DB.Conn(context.Background()).Model(&wechat.Subscription{}).Where("owner_id = ?", ownerID).
		Select("remaining").Scan(&left).Error; err != nil || left != 0 {
		t.Fatalf("remaining %d (%v), want 0", left, err)
	}
	for _, d := range ds {
		waitStatus(t, a.App.Outbox, d.ID, outbox.Sent)
	}
	if got := len(fake.Sent()); got != k {
		t.Fatalf("WeChat received %d messages, want %d", got, k)
	}
	if got := len(sms.Sent(phone[3:])); got != n-k {
		t.Fatalf("the SMS gateway received %d messages, want %d", got, n-k)
	}
	if calls, _ := fake.TokenCalls(); calls != 1 {
		t.Fatalf("stable_token called %d times by two instances, want 1", calls)
	}
}

package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wechat"
)

func TestSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &wechat.Token{}, &wechat.Subscription{})
}

const (
	appID, secret = "wx-pkg-app", "wx-pkg-secret"
	tmplReady     = "tmpl-ready"
	tmplBirthday  = "tmpl-birthday"
)

// env is a database with an owner bound to WeChat, the fake WeChat, and the
// service on them.
type env struct {
	w    *testdb.World
	fake *authtest.FakeWeChat
	svc  *wechat.Service
	a    *models.Owner
	ctx  context.Context
}

func config(base string) wechat.Config {
	return wechat.Config{BaseURL: base, AppID: appID, Secret: secret, Templates: map[string]wechat.Template{
		outbox.KindReadyForPickup: {Kind: outbox.KindReadyForPickup, ID: tmplReady,
			Fields: []wechat.Field{{Key: "thing1", Param: "title"}, {Key: "name2", Param: "name"}, {Key: "car_number3", Param: "plate"}}},
		outbox.KindBirthday: {Kind: outbox.KindBirthday, ID: tmplBirthday, Fields: []wechat.Field{{Key: "thing1", Param: "title"}}},
	}}
}

func newEnv(t *testing.T) *env {
	w := testdb.NewWorld(t)
	fake := authtest.NewFakeWeChat()
	t.Cleanup(fake.Close)
	fake.AddApp(appID, secret)
	fake.AddTemplate(tmplReady, "thing1", "name2", "car_number3")
	fake.AddTemplate(tmplBirthday, "thing1")
	e := &env{w: w, fake: fake, ctx: context.Background()}
	e.svc = e.service(w.DB)
	e.a = e.bound(t, 1, "张三")
	return e
}

func (e *env) service(db *models.DB) *wechat.Service {
	return &wechat.Service{DB: db, Directory: &directory.Service{DB: db}, Config: config(e.fake.URL()), Log: slog.New(slog.DiscardHandler)}
}

// bound is a new owner whose WeChat account is bound (openid "o-<n>").
func (e *env) bound(t *testing.T, n int, name string) *models.Owner {
	o := e.w.Owner(n, name, e.w.SZ)
	openid := fmt.Sprintf("o-%d", n)
	testdb.Must(t, e.w.DB.Conn(e.ctx).Model(o).Update("wechat_openid", openid).Error)
	o.WeChatOpenID = &openid
	return o
}

// accept records n acceptances of template for owner, in the service and
// in the fake.
func (e *env) accept(t *testing.T, o *models.Owner, template string, n int) {
	t.Helper()
	for range n {
		if _, err := e.svc.Accept(e.ctx, testdb.OwnerPrincipal(o), []string{template}); err != nil {
			t.Fatal(err)
		}
	}
	e.fake.Accept(*o.WeChatOpenID, template, n)
}

func delivery(o *models.Owner, kind string, payload string) outbox.Delivery {
	return outbox.Delivery{ID: models.NewID(), OwnerID: &o.ID, Kind: kind, Channel: outbox.ChannelWeChat,
		Recipient: *o.WeChatOpenID, Template: kind, Payload: payload}
}

const readyPayload = `{"title":"您的爱车已完成保养，可以取车了，欢迎再次光临","name":"张三","plate":"粤B12345"}`

// Many sends, from two instances on one database, fetch the token once.
func TestTokenFetchedOnceForManySendsAndInstances(t *testing.T) {
	e := newEnv(t)
	other := e.service(e.w.DB) // a second instance
	if dbs := testdb.Instances(t, 2, nil); dbs != nil {
		// PostgreSQL: two pools, as two servers have, on a database of
		// their own.
		w := &testdb.World{T: t, DB: dbs[0], Ctx: e.ctx}
		w.SZ = w.Store("SZ", "深圳福田店")
		e.w, e.svc, other = w, e.service(dbs[0]), e.service(dbs[1])
		e.a = e.bound(t, 1, "张三")
	}
	const n = 40
	e.accept(t, e.a, tmplReady, n)
	ch := []*wechat.Channel{{Service: e.svc}, {Service: other}}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ch[i%2].Send(e.ctx, delivery(e.a, outbox.KindReadyForPickup, readyPayload)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if calls, _ := e.fake.TokenCalls(); calls != 1 {
		t.Fatalf("stable_token called %d times for %d sends on two instances, want 1", calls, n)
	}
	sent := e.fake.Sent()
	if len(sent) != n {
		t.Fatalf("%d messages sent, want %d", len(sent), n)
	}
	m := sent[0]
	if m.ToUser != "o-1" || m.TemplateID != tmplReady || m.State != "formal" || m.Data["name2"] != "张三" ||
		m.Data["car_number3"] != "粤B12345" || utf8.RuneCountInString(m.Data["thing1"]) != 20 || !strings.HasSuffix(m.Data["thing1"], "…") {
		t.Fatalf("message %+v", m)
	}
}

// A token with less than 5 minutes left is replaced before it is used; a
// token WeChat refuses is replaced once, forced, and the message sent.
func TestTokenRefresh(t *testing.T) {
	e := newEnv(t)
	e.accept(t, e.a, tmplBirthday, 10)
	ch := &wechat.Channel{Service: e.svc}
	send := func() {
		t.Helper()
		if _, err := ch.Send(e.ctx, delivery(e.a, outbox.KindBirthday, `{"title":"生日快乐"}`)); err != nil {
			t.Fatal(err)
		}
	}
	calls := func(want, wantForced int) {
		t.Helper()
		if c, f := e.fake.TokenCalls(); c != want || f != wantForced {
			t.Fatalf("stable_token calls %d (forced %d), want %d (%d)", c, f, want, wantForced)
		}
	}
	e.fake.SetTokenTTL(4 * time.Minute)
	send()
	calls(1, 0)
	send() // the stored token has less than 5 minutes: fetched again
	calls(2, 0)
	e.fake.SetTokenTTL(2 * time.Hour)
	e.fake.ExpireTokens()
	send()
	send()
	calls(3, 0)
	e.fake.ExpireTokens() // WeChat refuses the stored token (42001)
	send()
	calls(4, 1)
	send()
	calls(4, 1)
	if got := len(e.fake.Sent()); got != 6 {
		t.Fatalf("%d messages sent, want 6", got)
	}
}

// runOutbox starts an outbox whose WeChat channel is e's.
func (e *env) runOutbox(t *testing.T) *outbox.Outbox {
	o, err := outbox.New(e.w.DB, map[string]outbox.Channel{outbox.ChannelWeChat: &wechat.Channel{Service: e.svc}},
		outbox.Config{PollInterval: 10 * time.Millisecond, Backoff: 30 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			MaxAttempts: 6, Workers: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = o.Stop(ctx)
	})
	return o
}

func (e *env) enqueue(t *testing.T, o *outbox.Outbox, owner *models.Owner, kind, payload string) uuid.UUID {
	t.Helper()
	var params map[string]string
	testdb.Must(t, jsonUnmarshal(payload, &params))
	ds, err := o.Enqueue(e.ctx, outbox.Message{OwnerID: &owner.ID, Kind: kind, DedupeKey: "wx-" + models.NewID().String(),
		Payload: params, To: []outbox.Recipient{{Channel: outbox.ChannelWeChat, Address: *owner.WeChatOpenID}}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Enqueue = %d, %v", len(ds), err)
	}
	return ds[0].ID
}

func wait(t *testing.T, o *outbox.Outbox, id uuid.UUID, status string) *outbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := o.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery is %s after %d attempts (%q); want %s", d.Status, d.Attempts, d.LastError, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) remaining(t *testing.T, o *models.Owner, kind string) int {
	t.Helper()
	ps, err := e.svc.Permissions(e.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Kind == kind {
			return p.Remaining
		}
	}
	t.Fatalf("no permission for %s in %+v", kind, ps)
	return 0
}

// The owner refused the template in WeChat (43101): FAILED, and the
// permissions stored for it are zeroed; the other template's are kept.
func TestRefusedByTheOwner(t *testing.T) {
	e := newEnv(t)
	o := e.runOutbox(t)
	e.accept(t, e.a, tmplBirthday, 2)
	for range 3 {
		if _, err := e.svc.Accept(e.ctx, testdb.OwnerPrincipal(e.a), []string{tmplReady}); err != nil {
			t.Fatal(err)
		}
	}
	// WeChat knows the openid but has no permission for tmplReady.
	d := wait(t, o, e.enqueue(t, o, e.a, outbox.KindReadyForPickup, readyPayload), outbox.Failed)
	if d.Attempts != 1 || !strings.Contains(d.LastError, "43101") {
		t.Fatalf("delivery %+v", d)
	}
	if n := e.remaining(t, e.a, outbox.KindReadyForPickup); n != 0 {
		t.Fatalf("%d permissions left after 43101, want 0", n)
	}
	if n := e.remaining(t, e.a, outbox.KindBirthday); n != 2 {
		t.Fatalf("%d birthday permissions left, want 2", n)
	}
}

// Throttling (45009), WeChat busy (-1) and an outage are retried until
// WeChat takes the message; bad data and unknown openids fail at once.
func TestRetriesAndRefusals(t *testing.T) {
	e := newEnv(t)
	o := e.runOutbox(t)
	e.accept(t, e.a, tmplBirthday, 5)

	e.fake.FailSends(45009, -1)
	d := wait(t, o, e.enqueue(t, o, e.a, outbox.KindBirthday, `{"title":"生日快乐"}`), outbox.Sent)
	if d.Attempts != 3 {
		t.Fatalf("sent after %d attempts, want 3", d.Attempts)
	}

	e.fake.SetOutage(true)
	id := e.enqueue(t, o, e.a, outbox.KindBirthday, `{"title":"生日快乐"}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := o.Get(e.ctx, id)
		testdb.Must(t, err)
		if d.Attempts >= 2 {
			if d.Status == outbox.Failed || d.Status == outbox.Sent || !strings.Contains(d.LastError, "503") {
				t.Fatalf("during the outage: %+v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not retried during the outage: %+v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.fake.SetOutage(false)
	wait(t, o, id, outbox.Sent)

	stranger := e.w.Owner(9, "王五", e.w.SZ)
	openid := "o-unknown"
	testdb.Must(t, e.w.DB.Conn(e.ctx).Model(stranger).Update("wechat_openid", openid).Error)
	stranger.WeChatOpenID = &openid
	d = wait(t, o, e.enqueue(t, o, stranger, outbox.KindBirthday, `{"title":"生日快乐"}`), outbox.Failed)
	if d.Attempts != 1 || !strings.Contains(d.LastError, "40003") {
		t.Fatalf("unknown openid: %+v", d)
	}
	if got := len(e.fake.Sent()); got != 2 {
		t.Fatalf("%d messages sent, want 2", got)
	}
}

func TestAccept(t *testing.T) {
	e := newEnv(t)
	who := testdb.OwnerPrincipal(e.a)
	_, err := e.svc.Accept(e.ctx, who, []string{tmplReady, "tmpl-nope"})
	testdb.WantCode(t, err, models.CodeInvalidArgument, "templateIds")
	_, err = e.svc.Accept(e.ctx, who, nil)
	testdb.WantCode(t, err, models.CodeInvalidArgument, "templateIds")
	if n := e.w.Count(&wechat.Subscription{}); n != 0 {
		t.Fatalf("refused acceptances stored %d rows", n)
	}
	_, err = e.svc.Accept(e.ctx, e.w.SZManager, []string{tmplReady})
	if !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("staff: %v", err)
	}
	unbound := e.w.Owner(2, "李四", e.w.SZ)
	_, err = e.svc.Accept(e.ctx, testdb.OwnerPrincipal(unbound), []string{tmplReady})
	testdb.WantCode(t, err, wechat.CodeWeChatNotBound, "")

	for range wechat.MaxPermissions + 5 {
		if _, err := e.svc.Accept(e.ctx, who, []string{tmplReady, tmplReady}); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := e.svc.Accept(e.ctx, who, []string{tmplBirthday})
	if err != nil {
		t.Fatal(err)
	}
	want := []wechat.Permission{{Kind: outbox.KindBirthday, TemplateID: tmplBirthday, Remaining: 1},
		{Kind: outbox.KindReadyForPickup, TemplateID: tmplReady, Remaining: wechat.MaxPermissions}}
	if fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Fatalf("permissions %+v, want %+v", ps, want)
	}

	// Export and erasure.
	x, err := e.svc.ExportOwner(e.ctx, e.a.ID)
	testdb.Must(t, err)
	if s := fmt.Sprint(x); !strings.Contains(s, tmplReady) || !strings.Contains(s, tmplBirthday) {
		t.Fatalf("export %s", s)
	}
	testdb.Must(t, e.svc.EraseOwner(e.ctx, e.a.ID))
	if n := e.w.Count(&wechat.Subscription{}); n != 0 {
		t.Fatalf("%d subscriptions left after erasure", n)
	}
}

// Take spends permissions with a conditional decrement: concurrent takes
// get exactly what there is, and the rest the next channel.
func TestTakeUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	const k, n = 3, 12
	e.accept(t, e.a, tmplReady, k)
	reach := outbox.Reach{WeChatPermission: true, Phone: true, SMSTemplate: true}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ch string
			err := e.w.DB.WithTx(e.ctx, func(ctx context.Context) error {
				var err error
				ch, err = e.svc.Take(ctx, e.a.ID, outbox.KindReadyForPickup, reach)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[ch]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[outbox.ChannelWeChat] != k || got[outbox.ChannelSMS] != n-k {
		t.Fatalf("channels %v, want %d WeChat and %d SMS", got, k, n-k)
	}
	if r := e.remaining(t, e.a, outbox.KindReadyForPickup); r != 0 {
		t.Fatalf("%d left", r)
	}
}

func TestValue(t *testing.T) {
	for _, c := range []struct{ typ, in, want string }{
		{"thing", "", "-"},
		{"thing", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"},
		{"thing", "一二三四五六七八九十一二三四五六七八九十一", "一二三四五六七八九十一二三四五六七八九…"},
		{"phrase", "已完成保养作业", "已完成保…"},
		{"car_number", "粤B·D123456", "粤B·D123…"},
		{"character_string", "SZ01-20261205-0007 订单", "SZ01-20261205-0007"},
		{"character_string", strings.Repeat("a", 40), strings.Repeat("a", 32)},
		{"number", "12,345.6 km", "12345.6"},
		{"time", "2026-12-05T02:30:00Z", "2026-12-05 10:30"},
		{"date", "2026-12-05T20:30:00Z", "2026-12-06"},
		{"time", "", "-"},
		{"name", "欧阳娜娜娜娜娜娜娜娜娜", "欧阳娜娜娜娜娜娜娜…"},
	} {
		if got := wechat.Value(c.typ, c.in); got != c.want {
			t.Errorf("Value(%s, %q) = %q, want %q", c.typ, c.in, got, c.want)
		}
		if n := utf8.RuneCountInString(wechat.Value(c.typ, c.in)); n > wechat.MaxRunes(c.typ) {
			t.Errorf("Value(%s, %q) has %d characters", c.typ, c.in, n)
		}
	}
}

func TestPhoneNumber(t *testing.T) {
	e := newEnv(t)
	e.fake.AddPhoneCode("ph-1", "13912345678", "86")
	e.fake.AddPhoneCode("ph-hk", "61234567", "852")
	if p, err := e.svc.PhoneNumber(e.ctx, "ph-1"); err != nil || p != "+8613912345678" {
		t.Fatalf("PhoneNumber = %q, %v", p, err)
	}
	if _, err := e.svc.PhoneNumber(e.ctx, "ph-1"); !errors.Is(err, wechat.ErrPhoneCodeInvalid) {
		t.Fatalf("used code: %v", err)
	}
	if _, err := e.svc.PhoneNumber(e.ctx, "bad code\n"); !errors.Is(err, wechat.ErrPhoneCodeInvalid) {
		t.Fatalf("malformed code: %v", err)
	}
	if _, err := e.svc.PhoneNumber(e.ctx, "ph-hk"); !errors.Is(err, wechat.ErrPhoneNotMainland) {
		t.Fatalf("Hong Kong number: %v", err)
	}
	e.fake.SetOutage(true)
	e.fake.AddPhoneCode("ph-2", "13912345679", "86")
	_, err := e.svc.PhoneNumber(e.ctx, "ph-2")
	if err == nil || errors.Is(err, wechat.ErrPhoneCodeInvalid) || strings.Contains(err.Error(), "access_token") {
		t.Fatalf("outage: %v", err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

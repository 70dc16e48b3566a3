package push_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/testdb"
)

func TestSchema(t *testing.T) {
	testdb.CheckSchema(t, testdb.Open(t), &push.Device{}, &outbox.Delivery{})
}

const topic = "cn.ownerhub.app"

func apnsToken(n int) string { return fmt.Sprintf("%064x", n) }

// env is a database with two owners, the fake providers, and an outbox
// whose push channel sends to them.
type env struct {
	w      *testdb.World
	reg    *push.Registry
	apns   *authtest.APNs
	jpush  *authtest.JPush
	o      *outbox.Outbox
	a, b   *models.Owner
	ctx    context.Context
	config outbox.Config
}

func newEnv(t *testing.T) *env {
	w := testdb.NewWorld(t)
	e := &env{w: w, reg: &push.Registry{DB: w.DB}, apns: authtest.NewAPNs(t, topic), jpush: authtest.NewJPush(t), ctx: context.Background()}
	e.a, e.b = w.Owner(1, "张三", w.SZ), w.Owner(2, "李四", w.SZ)
	apns, err := push.NewAPNs(push.APNsConfig{Key: e.apns.KeyPEM, KeyID: e.apns.KeyID, TeamID: e.apns.TeamID, Topic: topic,
		Endpoint: e.apns.URL, Client: e.apns.Client})
	if err != nil {
		t.Fatal(err)
	}
	jp, err := push.NewJPush(push.JPushConfig{AppKey: e.jpush.AppKey, MasterSecret: e.jpush.MasterSecret, Endpoint: e.jpush.URL})
	if err != nil {
		t.Fatal(err)
	}
	ch := &push.Channel{Registry: e.reg, Providers: map[string]push.Provider{push.ProviderAPNs: apns, push.ProviderJPush: jp},
		Log: slog.New(slog.DiscardHandler)}
	e.config = outbox.Config{PollInterval: 10 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 5, Workers: 2}
	e.o, err = outbox.New(w.DB, map[string]outbox.Channel{outbox.ChannelPush: ch}, e.config, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.o.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.o.Stop(ctx)
	})
	return e
}

func (e *env) register(t *testing.T, owner *models.Owner, platform, token string) *push.Device {
	t.Helper()
	d, err := e.reg.Register(e.ctx, owner.ID, platform, token, "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) send(t *testing.T, owner *models.Owner, d *push.Device) outbox.Delivery {
	t.Helper()
	ds, err := e.o.Enqueue(e.ctx, outbox.Message{OwnerID: &owner.ID, Kind: "TEST", DedupeKey: "push-" + models.NewID().String(),
		Payload: map[string]string{"title": "保养提醒", "body": "您的爱车该保养了"},
		To:      []outbox.Recipient{{Channel: outbox.ChannelPush, Address: d.ID.String()}}})
	if err != nil || len(ds) != 1 {
		t.Fatalf("Enqueue = %d, %v", len(ds), err)
	}
	return ds[0]
}

func (e *env) wait(t *testing.T, id uuid.UUID, status string) *outbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := e.o.Get(e.ctx, id)
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

func (e *env) devices(t *testing.T, owner *models.Owner) []push.Device {
	t.Helper()
	ds, err := e.reg.Devices(e.ctx, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestRegisterValidatesTokensPerPlatform(t *testing.T) {
	w := testdb.NewWorld(t)
	reg := &push.Registry{DB: w.DB}
	a := w.Owner(1, "张三", nil)
	for _, c := range []struct{ platform, token, provider, field string }{
		{push.PlatformIOS, "abc", "", "token"},
		{push.PlatformIOS, strings.ToUpper(apnsToken(0xabcdef)), "", "token"},
		{push.PlatformIOS, strings.Repeat("a", 201), "", "token"},
		{push.PlatformAndroid, "not a regid!", "", "token"},
		{push.PlatformAndroid, strings.Repeat("1", 65), "", "token"},
		{push.PlatformIOS, apnsToken(1), push.ProviderJPush, "provider"},
		{"WINDOWS", apnsToken(1), "", "platform"},
	} {
		_, err := reg.Register(context.Background(), a.ID, c.platform, c.token, c.provider)
		testdb.WantCode(t, err, models.CodeInvalidArgument, c.field)
	}
	if _, err := reg.Register(context.Background(), a.ID, push.PlatformAndroid, "1a0018970a5c4e2bf6a", ""); err != nil {
		t.Fatal(err)
	}
}

func TestReRegisteringMovesTheTokenAndTheCapDropsTheOldest(t *testing.T) {
	w := testdb.NewWorld(t)
	reg := &push.Registry{DB: w.DB}
	ctx := context.Background()
	a, b := w.Owner(1, "张三", nil), w.Owner(2, "李四", nil)
	first, err := reg.Register(ctx, a.ID, push.PlatformIOS, apnsToken(1), "")
	if err != nil {
		t.Fatal(err)
	}
	again, err := reg.Register(ctx, a.ID, push.PlatformIOS, apnsToken(1), "")
	if err != nil || again.ID != first.ID {
		t.Fatalf("re-registering for the same owner: %v, %v; want the same device", again, err)
	}
	moved, err := reg.Register(ctx, b.ID, push.PlatformIOS, apnsToken(1), "")
	if err != nil || moved.ID == first.ID || moved.OwnerID != b.ID {
		t.Fatalf("registering on another owner: %+v, %v; want a new device of b", moved, err)
	}
	if ds, _ := reg.Devices(ctx, a.ID); len(ds) != 0 {
		t.Fatalf("a keeps %d devices after the token moved", len(ds))
	}
	// a cannot remove b's device.
	if ok, err := reg.Unregister(ctx, a.ID, apnsToken(1)); ok || err != nil {
		t.Fatalf("a unregistered b's token: %v, %v", ok, err)
	}
	if ok, err := reg.Unregister(ctx, b.ID, apnsToken(1)); !ok || err != nil {
		t.Fatalf("b unregistering its token: %v, %v", ok, err)
	}
	for i := range push.MaxDevicesPerOwner + 2 {
		// Registered a minute apart.
		err := w.DB.WithTx(ctx, func(ctx context.Context) error {
			_, err := reg.Register(models.AtTime(ctx, time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)), a.ID, push.PlatformIOS, apnsToken(100+i), "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ds, _ := reg.Devices(ctx, a.ID)
	if len(ds) != push.MaxDevicesPerOwner || ds[0].Token != apnsToken(100+push.MaxDevicesPerOwner+1) || ds[len(ds)-1].Token != apnsToken(102) {
		t.Fatalf("%d devices, newest %s; want the %d newest", len(ds), ds[0].Token, push.MaxDevicesPerOwner)
	}
}

func TestAPNsDeliveryReachesTheDeviceOnceWithAValidToken(t *testing.T) {
	e := newEnv(t)
	dev := e.register(t, e.a, push.PlatformIOS, apnsToken(7))
	d := e.send(t, e.a, dev)
	got := e.wait(t, d.ID, outbox.Sent)
	time.Sleep(5 * e.config.PollInterval)
	sent := e.apns.Sent()
	if len(sent) != 1 || e.apns.Calls() != 1 || len(e.apns.Rejected()) != 0 {
		t.Fatalf("APNs got %d calls, accepted %v, rejected %v; want one", e.apns.Calls(), sent, e.apns.Rejected())
	}
	m := sent[0]
	if m.Token != apnsToken(7) || m.ID != d.ID.String() || m.Body != "您的爱车该保养了" || m.Title != "保养提醒" || got.ProviderMessageID != d.ID.String() {
		t.Fatalf("APNs message %+v, provider id %q", m, got.ProviderMessageID)
	}
	// A second delivery reuses the provider token.
	d2 := e.send(t, e.a, dev)
	e.wait(t, d2.ID, outbox.Sent)
	if s := e.apns.Sent(); len(s) != 2 || s[1].JWT != m.JWT {
		t.Fatal("the provider token was not reused")
	}
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(m.JWT, &claims); err != nil || claims["iss"] != e.apns.TeamID {
		t.Fatalf("JWT claims %v, %v", claims, err)
	}
}

func TestDeadTokenIsDroppedAndNotRetried(t *testing.T) {
	e := newEnv(t)
	e.apns.Script(func(int, authtest.APNsMessage) authtest.PushAnswer { return authtest.PushDeadToken })
	e.jpush.Script(func(int, authtest.JPushMessage) authtest.PushAnswer { return authtest.PushDeadToken })
	ios := e.register(t, e.a, push.PlatformIOS, apnsToken(8))
	android := e.register(t, e.a, push.PlatformAndroid, "1a0018970a5c4e2bf6a")
	keep := e.register(t, e.b, push.PlatformIOS, apnsToken(9))
	d1, d2 := e.send(t, e.a, ios), e.send(t, e.a, android)
	e.wait(t, d1.ID, outbox.Failed)
	e.wait(t, d2.ID, outbox.Failed)
	time.Sleep(3 * e.config.Backoff)
	if e.apns.Calls() != 1 || e.jpush.Calls() != 1 {
		t.Fatalf("APNs %d calls, JPush %d; want one each", e.apns.Calls(), e.jpush.Calls())
	}
	if ds := e.devices(t, e.a); len(ds) != 0 {
		t.Fatalf("dead devices kept: %+v", ds)
	}
	if ds := e.devices(t, e.b); len(ds) != 1 || ds[0].ID != keep.ID {
		t.Fatalf("b's devices %+v; want its own kept", ds)
	}
}

func TestThrottlingAndOutagesAreRetriedWithBackoff(t *testing.T) {
	e := newEnv(t)
	var at []time.Time
	e.apns.Script(func(call int, _ authtest.APNsMessage) authtest.PushAnswer {
		at = append(at, time.Now())
		switch call {
		case 1:
			return authtest.PushThrottled
		case 2:
			return authtest.PushOutage
		}
		return authtest.PushOK
	})
	e.jpush.Script(func(call int, _ authtest.JPushMessage) authtest.PushAnswer {
		switch call {
		case 1:
			return authtest.PushThrottled
		case 2:
			return authtest.PushOutage
		}
		return authtest.PushOK
	})
	ios := e.register(t, e.a, push.PlatformIOS, apnsToken(10))
	android := e.register(t, e.a, push.PlatformAndroid, "1a0018970a5c4e2bf6b")
	d1, d2 := e.send(t, e.a, ios), e.send(t, e.a, android)
	g1, g2 := e.wait(t, d1.ID, outbox.Sent), e.wait(t, d2.ID, outbox.Sent)
	if g1.Attempts != 3 || g2.Attempts != 3 || len(e.apns.Sent()) != 1 || len(e.jpush.Sent()) != 1 {
		t.Fatalf("attempts %d and %d, APNs sent %d, JPush sent %d; want 3, 3, 1, 1", g1.Attempts, g2.Attempts, len(e.apns.Sent()), len(e.jpush.Sent()))
	}
	if gap := at[1].Sub(at[0]); gap < e.config.Backoff {
		t.Errorf("APNs retried after %v; want at least %v", gap, e.config.Backoff)
	}
	if gap := at[2].Sub(at[1]); gap < 2*e.config.Backoff {
		t.Errorf("APNs second retry after %v; want at least %v", gap, 2*e.config.Backoff)
	}
	m := e.jpush.Sent()[0]
	if m.RegistrationID != "1a0018970a5c4e2bf6b" || m.Alert != "您的爱车该保养了" || m.Title != "保养提醒" || m.TimeToLive <= 0 ||
		!strings.HasPrefix(g2.ProviderMessageID, "jpush:") || len(e.jpush.Rejected()) != 0 {
		t.Fatalf("JPush message %+v, provider id %q, rejected %v", m, g2.ProviderMessageID, e.jpush.Rejected())
	}
}

func TestDeliveryToADeviceThatMovedOwnersIsNotSent(t *testing.T) {
	e := newEnv(t)
	dev := e.register(t, e.a, push.PlatformIOS, apnsToken(11))
	e.register(t, e.b, push.PlatformIOS, apnsToken(11))
	d := e.send(t, e.a, dev)
	e.wait(t, d.ID, outbox.Failed)
	if e.apns.Calls() != 0 {
		t.Fatal("a's message reached the device now b's")
	}
}

// LiveDevices: one statement for any number of owners; a device unseen for
// LiveWithin is not live, nor one unregistered; the latest seen first.
func TestLiveDevicesOfManyOwnersInOneStatement(t *testing.T) {
	w := testdb.NewWorld(t)
	reg := &push.Registry{DB: w.DB}
	ctx := context.Background()
	a, b, c := w.Owner(1, "张三", nil), w.Owner(2, "李四", nil), w.Owner(3, "王五", nil)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(t *testing.T, owner uuid.UUID, token string, seen time.Time) *push.Device {
		t.Helper()
		var d *push.Device
		err := w.DB.WithTx(ctx, func(ctx context.Context) error {
			var err error
			d, err = reg.Register(models.AtTime(ctx, seen), owner, push.PlatformIOS, token, "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	older := at(t, a.ID, apnsToken(1), now.Add(-push.LiveWithin+time.Hour))
	newer := at(t, a.ID, apnsToken(2), now.Add(-time.Hour))
	at(t, b.ID, apnsToken(3), now.Add(-push.LiveWithin-time.Hour)) // stale
	at(t, c.ID, apnsToken(4), now)
	if _, err := reg.Unregister(ctx, c.ID, apnsToken(4)); err != nil {
		t.Fatal(err)
	}
	before := w.DB.Statements()
	live, err := reg.LiveDevices(ctx, []uuid.UUID{a.ID, b.ID, c.ID}, now)
	if n := w.DB.Statements() - before; err != nil || n != 1 {
		t.Fatalf("LiveDevices: %v, %d statements", err, n)
	}
	if len(live) != 1 || len(live[a.ID]) != 2 || live[a.ID][0] != newer.ID || live[a.ID][1] != older.ID {
		t.Fatalf("live devices %v; want a's two, %s first", live, newer.ID)
	}
	// A device of a provider this server does not send through is not
	// live: a message chosen for it would reach nobody.
	onlyJPush := &push.Registry{DB: w.DB, Providers: []string{push.ProviderJPush}}
	if live, err := onlyJPush.LiveDevices(ctx, []uuid.UUID{a.ID}, now); err != nil || len(live) != 0 {
		t.Fatalf("live APNs devices with only JPush configured: %v, %v", live, err)
	}
	onlyAPNs := &push.Registry{DB: w.DB, Providers: []string{push.ProviderAPNs}}
	if live, err := onlyAPNs.LiveDevices(ctx, []uuid.UUID{a.ID}, now); err != nil || len(live[a.ID]) != 2 {
		t.Fatalf("live APNs devices with APNs configured: %v, %v", live, err)
	}
}

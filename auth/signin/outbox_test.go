package signin_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// codeChannel is an SMS channel that keeps the codes it sends, by phone.
type codeChannel struct {
	mu    sync.Mutex
	codes map[string][]string
}

func (c *codeChannel) Send(_ context.Context, d outbox.Delivery) (string, error) {
	var p map[string]string
	if err := json.Unmarshal([]byte(d.Payload), &p); err != nil {
		return "", outbox.Permanent(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[d.Recipient] = append(c.codes[d.Recipient], p["code"])
	return "ok", nil
}

func (c *codeChannel) sent(phone string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.codes[phone]...)
}

// With an Outbox, a code's SMS is a delivery written with the code's row
// (nothing goes through Service.SMS), sent once the outbox's workers run,
// and the code it carries signs in. A refused request and a test number
// enqueue nothing.
func TestRequestCodeEnqueuesTheSMSWithTheCode(t *testing.T) {
	e := newEnv(t)
	ch := &codeChannel{codes: map[string][]string{}}
	o, err := outbox.New(e.db, map[string]outbox.Channel{outbox.ChannelSMS: ch},
		outbox.Config{PollInterval: 10 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Outbox = o
	e.svc.SMS = nil
	if _, err := e.svc.RequestCode(ctx, phone, ip); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RequestCode(ctx, phone, ip); err == nil {
		t.Fatal("a second code within the minute was not refused")
	}
	if _, err := e.svc.RequestCode(ctx, testPhone, ip); err != nil {
		t.Fatal(err)
	}
	var ds []outbox.Delivery
	if err := e.db.Conn(ctx).Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Kind != outbox.KindLoginCode || ds[0].Recipient != phone || ds[0].Status != outbox.Pending ||
		ds[0].OwnerID != nil || ds[0].Channel != outbox.ChannelSMS {
		t.Fatalf("deliveries %+v; want one pending LOGIN_CODE SMS to %s", ds, phone)
	}
	var codes int64
	e.db.Conn(ctx).Model(&models.LoginCode{}).Where("phone = ?", phone).Count(&codes)
	if codes != 1 {
		t.Fatalf("%d login codes; want 1", codes)
	}
	var lc models.LoginCode
	if err := e.db.Conn(ctx).Take(&lc, "phone = ?", phone).Error; err != nil {
		t.Fatal(err)
	}
	if ds[0].NotAfter == nil || !ds[0].NotAfter.Equal(lc.ExpiresAt) {
		t.Fatalf("delivery not_after %v; want the code's expiry %v", ds[0].NotAfter, lc.ExpiresAt)
	}
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	deadline := time.Now().Add(10 * time.Second)
	for len(ch.sent(phone)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sent := ch.sent(phone)
	if len(sent) != 1 {
		t.Fatalf("SMS sent %d times", len(sent))
	}
	if _, _, err := e.svc.VerifyCode(ctx, phone, sent[0], "", ip); err != nil {
		t.Fatalf("VerifyCode with the code sent: %v", err)
	}
	for {
		got, err := o.Get(ctx, ds[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == outbox.Sent {
			if got.Payload != "{}" {
				t.Fatalf("sent delivery keeps its payload %q", got.Payload)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %+v not recorded sent", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package outbox_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

const (
	testKeyID     = "LTAI-test-key"
	testKeySecret = "test-secret-0123456789"
	testTemplate  = "SMS_000000001"
)

// aliyun is the SMS channel pointed at a fresh fake gateway.
func aliyun(t *testing.T) (*outbox.AliyunSMS, *authtest.AliyunSMS) {
	t.Helper()
	return aliyunFor(t)
}

func aliyunFor(t testing.TB) (*outbox.AliyunSMS, *authtest.AliyunSMS) {
	t.Helper()
	fake := authtest.NewAliyunSMS(t, testKeyID, testKeySecret)
	ch, err := outbox.NewAliyunSMS(outbox.AliyunConfig{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret,
		SignName: "车主之家", Templates: map[string]string{outbox.KindLoginCode: testTemplate, "TEST": testTemplate},
		Endpoint: fake.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r := fake.Rejected(); len(r) > 0 {
			t.Errorf("the gateway refused requests: %v", r)
		}
	})
	return ch, fake
}

func TestAliyunSendsASignedSendSms(t *testing.T) {
	t.Parallel()
	ch, fake := aliyun(t)
	d := outbox.Delivery{ID: models.NewID(), Kind: outbox.KindLoginCode, Channel: outbox.ChannelSMS, Recipient: "+8613800138000",
		Template: outbox.KindLoginCode, Payload: `{"code":"123456"}`}
	id, err := ch.Send(context.Background(), d)
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	sent := fake.Sent("13800138000")
	if len(sent) != 1 || sent[0].Params["code"] != "123456" || sent[0].TemplateCode != testTemplate ||
		sent[0].SignName != "车主之家" || sent[0].OutID != d.ID.String() {
		t.Fatalf("gateway got %+v", sent)
	}
}

func TestAliyunRefusesAWrongSecret(t *testing.T) {
	t.Parallel()
	fake := authtest.NewAliyunSMS(t, testKeyID, testKeySecret)
	ch, err := outbox.NewAliyunSMS(outbox.AliyunConfig{AccessKeyID: testKeyID, AccessKeySecret: "not-the-secret",
		SignName: "车主之家", Templates: map[string]string{"TEST": testTemplate}, Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), outbox.Delivery{ID: models.NewID(), Recipient: "+8613800138000", Template: "TEST", Payload: "{}"})
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("Send with a wrong secret = %v; want a permanent SignatureDoesNotMatch", err)
	}
	if fake.Accepted() != 0 || len(fake.Rejected()) != 1 {
		t.Fatalf("accepted %d, rejected %v", fake.Accepted(), fake.Rejected())
	}
}

func TestAliyunRefusalsMapToRetryOrPermanent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		answer    authtest.AliyunAnswer
		permanent bool
	}{
		{authtest.AliyunThrottled, false},
		{authtest.AliyunOutage, false},
		{authtest.AliyunInvalidNumber, true},
		{authtest.AliyunBadTemplate, true},
		{authtest.AliyunBlacklisted, true},
	} {
		ch, fake := aliyun(t)
		fake.Script(func(int, authtest.AliyunSMSMessage) authtest.AliyunAnswer { return c.answer })
		_, err := ch.Send(context.Background(), outbox.Delivery{ID: models.NewID(), Recipient: "+8613800138000", Template: "TEST", Payload: `{"code":"987654"}`})
		if err == nil || outbox.IsPermanent(err) != c.permanent {
			t.Errorf("answer %d: err %v, permanent %v; want permanent %v", c.answer, err, outbox.IsPermanent(err), c.permanent)
		}
		if err != nil && strings.Contains(err.Error(), "987654") {
			t.Errorf("answer %d: the error carries the code: %v", c.answer, err)
		}
	}
}

// smsMessage is a test message to a phone of its own.
func smsMessage() (outbox.Message, string) {
	m := message()
	return m, strings.TrimPrefix(m.To[0].Address, "+86")
}

// sendSMS enqueues one SMS on a database of its own (another test's workers
// would take its deliveries) to the fake gateway answering by script, waits
// for the delivery to reach status, and returns it with the gateway and the
// phone as the gateway sees it.
func sendSMS(t *testing.T, status string, script func(int, authtest.AliyunSMSMessage) authtest.AliyunAnswer) (*outbox.Delivery, *authtest.AliyunSMS, string) {
	t.Helper()
	ch, fake := aliyun(t)
	fake.Script(script)
	o := start(t, testdb.Open(t), ch)
	m, phone := smsMessage()
	d := enqueue(t, o, m)
	return waitStatus(t, o, d.ID, status), fake, phone
}

func TestSMSThrottledThenSent(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	got, fake, phone := sendSMS(t, outbox.Sent, func(call int, _ authtest.AliyunSMSMessage) authtest.AliyunAnswer {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if call <= 2 {
			return authtest.AliyunThrottled
		}
		return authtest.AliyunOK
	})
	if got.Attempts != 3 || fake.Calls() != 3 || len(fake.Sent(phone)) != 1 || got.ProviderMessageID != "biz-3" {
		t.Fatalf("attempts %d, calls %d, sent %d, provider id %q", got.Attempts, fake.Calls(), len(fake.Sent(phone)), got.ProviderMessageID)
	}
	mu.Lock()
	defer mu.Unlock()
	if a, b := at[1].Sub(at[0]), at[2].Sub(at[1]); a < fast.Backoff || b < 2*fast.Backoff {
		t.Errorf("retries after %v and %v; want at least %v and %v", a, b, fast.Backoff, 2*fast.Backoff)
	}
}

func TestSMSInvalidNumberFailsWithoutRetrying(t *testing.T) {
	got, fake, _ := sendSMS(t, outbox.Failed, func(int, authtest.AliyunSMSMessage) authtest.AliyunAnswer {
		return authtest.AliyunInvalidNumber
	})
	time.Sleep(5 * fast.Backoff)
	if fake.Calls() != 1 || got.Attempts != 1 || !strings.Contains(got.LastError, "isv.MOBILE_NUMBER_ILLEGAL") {
		t.Fatalf("calls %d, attempts %d, last_error %q", fake.Calls(), got.Attempts, got.LastError)
	}
}

func TestSMSOutageThenSent(t *testing.T) {
	got, fake, phone := sendSMS(t, outbox.Sent, func(call int, _ authtest.AliyunSMSMessage) authtest.AliyunAnswer {
		if call == 1 {
			return authtest.AliyunOutage
		}
		return authtest.AliyunOK
	})
	if got.Attempts != 2 || len(fake.Sent(phone)) != 1 {
		t.Fatalf("attempts %d, sent %d", got.Attempts, len(fake.Sent(phone)))
	}
}

// Two instances (two pools on PostgreSQL, two River clients on SQLite's one
// process) work one queue under load: the gateway receives every delivery
// exactly once.
func TestTwoInstancesNeverSendOneDeliveryTwice(t *testing.T) {
	dbs := testdb.Instances(t, 2, nil)
	if dbs == nil {
		db := testdb.Open(t)
		dbs = []*models.DB{db, db}
	}
	ch, fake := aliyun(t)
	a, b := start(t, dbs[0], ch), start(t, dbs[1], ch)
	const n = 200
	ids := make([]uuid.UUID, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			o := a
			if i%2 == 1 {
				o = b
			}
			ids[i] = enqueue(t, o, message()).ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		waitStatus(t, a, id, outbox.Sent)
	}
	time.Sleep(10 * fast.PollInterval)
	if got := fake.Accepted(); got != n {
		t.Errorf("the gateway accepted %d messages for %d deliveries", got, n)
	}
	seen := map[string]int{}
	for _, id := range ids {
		seen[id.String()] = 0
	}
	// Each delivery's id travels as OutId.
	for _, id := range ids {
		d, err := a.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range fake.Sent(strings.TrimPrefix(d.Recipient, "+86")) {
			seen[s.OutID]++
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("delivery %s reached the gateway %d times", id, c)
		}
	}
}

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// aliyunEnv is the configuration of a production instance sending SMS
// through Alibaba Cloud, here the fake gateway.
func aliyunEnv(t *testing.T, fake *authtest.AliyunSMS) map[string]string {
	t.Helper()
	return freshEnv(t, map[string]string{
		"APP_ENV": "production", "JWT_SECRET": strings.Repeat("p", 32),
		"SMS_PROVIDER": "aliyun", "ALIYUN_SMS_ACCESS_KEY_ID": fake.AccessKeyID, "ALIYUN_SMS_ACCESS_KEY_SECRET": fake.KeySecret,
		"ALIYUN_SMS_SIGN_NAME": "车主之家", "ALIYUN_SMS_TEMPLATE_LOGIN": "SMS_465000001", "ALIYUN_SMS_ENDPOINT": fake.URL,
	})
}

// In production with SMS_PROVIDER=aliyun, a phone that is no test number
// signs in with the code the gateway received in a correctly signed
// SendSms; the code is in no log and, once sent, not in the database.
func TestProductionSignsInWithACodeSentByAliyun(t *testing.T) {
	fake := authtest.NewAliyunSMS(t, "LTAI-prod-test", "prod-test-secret-0123456789")
	env := aliyunEnv(t, fake)
	s := startServe(t, env)
	const phone = "13912345678"
	sent := s.post(t, "", `mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent userErrors { code } } }`,
		map[string]any{"p": phone})
	if dig(sent, "requestLoginCode", "sent") != true {
		t.Fatalf("requestLoginCode: %v", sent)
	}
	// Sent at once: no poll of the gateway's inbox waits long.
	var msgs []authtest.AliyunSMSMessage
	deadline := time.Now().Add(5 * time.Second)
	for len(msgs) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		msgs = fake.Sent(phone)
	}
	if len(msgs) != 1 {
		t.Fatalf("the gateway received %d messages for %s; rejected %v", len(msgs), phone, fake.Rejected())
	}
	m := msgs[0]
	code := m.Params["code"]
	if len(code) != 6 || m.TemplateCode != "SMS_465000001" || m.SignName != "车主之家" {
		t.Fatalf("gateway got %+v", m)
	}
	if r := fake.Rejected(); len(r) != 0 {
		t.Fatalf("the gateway refused requests: %v", r)
	}
	in := s.post(t, "", `mutation($p: String!, $c: String!) { verifyLoginCode(input: {phone: $p, code: $c}) { session { accessToken } userErrors { code } } }`,
		map[string]any{"p": phone, "c": code})
	if dig(in, "verifyLoginCode", "session", "accessToken") == nil {
		t.Fatalf("verifyLoginCode with the code sent: %v", in)
	}
	for _, out := range []string{s.stdout.String(), s.stderr.String()} {
		if strings.Contains(out, code) {
			t.Fatalf("the login code reached the output:\n%s", out)
		}
	}
	// The delivery is recorded sent, with the gateway's receipt and
	// without the code.
	db, err := models.Open(env["DATABASE_URL"], env["DATA_DIR"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var d outbox.Delivery
	if err := db.Conn(context.Background()).Take(&d, "recipient = ? AND kind = ?", "+86"+phone, outbox.KindLoginCode).Error; err != nil {
		t.Fatal(err)
	}
	if d.Status != outbox.Sent || d.Attempts != 1 || d.ProviderMessageID == "" || strings.Contains(d.Payload, code) {
		t.Fatalf("delivery %+v", d)
	}
}

package signin_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
)

// ticketFor gets a binding ticket for an unbound WeChat account.
func (e *env) ticketFor(code, openid, unionid string) string {
	e.t.Helper()
	e.wechat.AddCode(code, openid, unionid)
	sess, owner, ticket, err := e.svc.LoginWithWeChat(ctx, code)
	if err != nil {
		e.t.Fatal(err)
	}
	if sess != nil || owner != nil || ticket == "" {
		e.t.Fatalf("unbound account: session %v, owner %v, ticket %q", sess, owner, ticket)
	}
	return ticket
}

func (e *env) ownerByPhone(phone string) models.Owner {
	e.t.Helper()
	var o models.Owner
	if err := e.db.Conn(ctx).Where("phone = ?", phone).Take(&o).Error; err != nil {
		e.t.Fatal(err)
	}
	return o
}

func TestWeChatBindThenSignIn(t *testing.T) {
	e := newEnv(t)
	ticket := e.ticketFor("wx-1", "openid-1", "unionid-1")

	// Binding on first sign-in with the phone.
	code := e.requestCode(phone, ip)
	sess, owner, err := e.svc.VerifyCode(ctx, phone, code, ticket, ip)
	if err != nil {
		t.Fatal(err)
	}
	if sess == nil || owner.WeChatOpenID == nil || *owner.WeChatOpenID != "openid-1" ||
		owner.WeChatUnionID == nil || *owner.WeChatUnionID != "unionid-1" {
		t.Fatalf("owner %+v not bound", owner)
	}
	if stored := e.ownerByPhone(phone); stored.WeChatOpenID == nil || *stored.WeChatOpenID != "openid-1" {
		t.Fatal("binding not stored")
	}

	// Next time WeChat alone signs in.
	e.wechat.AddCode("wx-2", "openid-1", "unionid-1")
	sess, again, ticket, err := e.svc.LoginWithWeChat(ctx, "wx-2")
	if err != nil {
		t.Fatal(err)
	}
	if sess == nil || again == nil || again.ID != owner.ID || ticket != "" {
		t.Fatalf("bound account: session %v, owner %v, ticket %q", sess, again, ticket)
	}
	if p := e.principal(sess.AccessToken); p.Kind != auth.KindOwner || p.ID != owner.ID {
		t.Errorf("principal %+v", p)
	}
	if _, _, err := e.svc.Refresh(ctx, sess.RefreshToken); err != nil {
		t.Errorf("refresh a WeChat session: %v", err)
	}
}

func TestWeChatBindingReplacesOldAccount(t *testing.T) {
	e := newEnv(t)
	t1 := e.ticketFor("wx-1", "openid-1", "unionid-1")
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), t1, ip); err != nil {
		t.Fatal(err)
	}
	t2 := e.ticketFor("wx-2", "openid-2", "")
	e.clock.Advance(time.Minute)
	_, owner, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), t2, ip)
	if err != nil {
		t.Fatal(err)
	}
	stored := e.ownerByPhone(phone)
	if *owner.WeChatOpenID != "openid-2" || *stored.WeChatOpenID != "openid-2" || stored.WeChatUnionID != nil {
		t.Errorf("owner %+v", stored)
	}
}

func TestWeChatAlreadyBound(t *testing.T) {
	e := newEnv(t)
	// Two tickets for one account; A binds it first.
	tA := e.ticketFor("wx-1", "openid-1", "unionid-1")
	tB := e.ticketFor("wx-2", "openid-1", "unionid-1")
	if _, _, err := e.svc.VerifyCode(ctx, phone, e.requestCode(phone, ip), tA, ip); err != nil {
		t.Fatal(err)
	}
	phoneB := "+8613900139000"
	codeB := e.requestCode(phoneB, ip)
	_, _, err := e.svc.VerifyCode(ctx, phoneB, codeB, tB, ip)
	wantCode(t, err, signin.CodeWeChatAlreadyBound, "weChatBindingTicket")
	// Nothing changed: no owner B, and the code still signs in without the ticket.
	if n := e.count("owners", ""); n != 1 {
		t.Errorf("%d owners, want 1", n)
	}
	_, ownerB, err := e.svc.VerifyCode(ctx, phoneB, codeB, "", ip)
	if err != nil {
		t.Fatal(err)
	}
	if ownerB.WeChatOpenID != nil {
		t.Error("B got the account")
	}

	// Another openid with A's unionid is the same person's account elsewhere.
	tC := e.ticketFor("wx-3", "openid-3", "unionid-1")
	e.clock.Advance(time.Minute)
	_, _, err = e.svc.VerifyCode(ctx, phoneB, e.requestCode(phoneB, ip), tC, ip)
	wantCode(t, err, signin.CodeWeChatAlreadyBound)
}

func TestWeChatCodeInvalid(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"", "  ", "never-issued"} {
		_, _, _, err := e.svc.LoginWithWeChat(ctx, code)
		wantCode(t, err, signin.CodeWeChatCodeInvalid, "code")
	}
	e.ticketFor("wx-1", "openid-1", "")
	_, _, _, err := e.svc.LoginWithWeChat(ctx, "wx-1") // used twice
	wantCode(t, err, signin.CodeWeChatCodeInvalid)
}

func TestWeChatOutageIsInternal(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"errcode":-1,"errmsg":"system busy"}`))
	}))
	defer srv.Close()
	e.svc.WeChat = &auth.WeChatClient{BaseURL: srv.URL, AppID: "a", Secret: "s"}
	_, _, _, err := e.svc.LoginWithWeChat(ctx, "code")
	if err == nil || isModelsError(err) {
		t.Fatalf("got %v; want an internal error", err)
	}
}

func TestBindingTicketRefused(t *testing.T) {
	e := newEnv(t)
	good := e.ticketFor("wx-1", "openid-1", "")

	// Signed with another key.
	other := *e.svc
	other.Config.CodeSecret = bytes.Repeat([]byte("x"), 32)
	e.wechat.AddCode("wx-2", "openid-2", "")
	_, _, foreign, err := other.LoginWithWeChat(ctx, "wx-2")
	if err != nil {
		t.Fatal(err)
	}
	// Unsigned (alg none) and an access token (other audience).
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": auth.Issuer, "sub": "openid-3", "aud": "ownerhub-wechat-binding",
		"iat": e.clock.Now().Unix(), "exp": e.clock.Now().Add(time.Minute).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	access, _, err := e.tokens.Issue(auth.Principal{Kind: auth.KindOwner, ID: models.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(good)
	tampered[len(tampered)/2] ^= 1

	code := e.requestCode(phone, ip)
	for name, ticket := range map[string]string{
		"garbage":     "not-a-ticket",
		"tampered":    string(tampered),
		"foreign key": foreign,
		"alg none":    none,
		"access":      access,
	} {
		_, _, err := e.svc.VerifyCode(ctx, phone, code, ticket, ip)
		if me, ok := models.AsError(err); !ok || me.Code != signin.CodeInvalidBindingTicket || me.Field != "weChatBindingTicket" {
			t.Errorf("%s: got %v", name, err)
		}
	}

	// Expired after 10 minutes.
	e.clock.Advance(10*time.Minute + time.Second)
	code = e.requestCode(phone, ip)
	_, _, err = e.svc.VerifyCode(ctx, phone, code, good, ip)
	wantCode(t, err, signin.CodeInvalidBindingTicket)

	// Refusing the ticket changed nothing: the code still signs in.
	if _, owner, err := e.svc.VerifyCode(ctx, phone, code, "", ip); err != nil || owner.WeChatOpenID != nil {
		t.Fatalf("owner %+v, %v", owner, err)
	}
}

// Without WeChat credentials the answer is typed, and WeChat is not asked.
func TestWeChatNotConfigured(t *testing.T) {
	e := newEnv(t)
	for name, wx := range map[string]auth.WeChat{
		"no client":   nil,
		"no app id":   &auth.WeChatClient{BaseURL: e.wechat.URL(), Secret: "wx-secret"},
		"no secret":   &auth.WeChatClient{BaseURL: e.wechat.URL(), AppID: "wx-app"},
		"no settings": &auth.WeChatClient{BaseURL: e.wechat.URL()},
	} {
		e.svc.WeChat = wx
		_, _, _, err := e.svc.LoginWithWeChat(ctx, "wx-code")
		if me := wantCode(t, err, signin.CodeWeChatNotConfigured); me.Field != "" {
			t.Errorf("%s: field %q", name, me.Field)
		}
	}
	if n := e.wechat.Requests(); n != 0 {
		t.Errorf("%d calls reached WeChat", n)
	}
}

// A string that cannot be a wx.login code is refused without asking WeChat.
func TestWeChatMalformedCode(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"wx\x00", "\x00", "wx code", "wx\u00e9", "wx\x7f", strings.Repeat("w", 129)} {
		_, _, _, err := e.svc.LoginWithWeChat(ctx, code)
		wantCode(t, err, signin.CodeWeChatCodeInvalid, "code")
	}
	if n := e.wechat.Requests(); n != 0 {
		t.Errorf("%d malformed codes reached WeChat", n)
	}
	e.wechat.AddCode(strings.Repeat("w", 128), "openid-long", "")
	if _, _, ticket, err := e.svc.LoginWithWeChat(ctx, " "+strings.Repeat("w", 128)+" "); err != nil || ticket == "" {
		t.Fatalf("a 128-character code: %v", err)
	}
}

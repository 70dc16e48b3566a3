package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Signing in from the WeChat mini-program: binding a WeChat account to an
// owner, then signing in with it; WeChat unreachable or refusing the code;
// accounts bound elsewhere, bad binding tickets, rebinding.

func TestWeChatBindThenSignIn(t *testing.T) {
	s := newE2EServer(t)
	openid, unionid := "o-"+uuid.NewString(), "u-"+uuid.NewString()
	s.WeChat.AddCode("wx-1", openid, unionid)

	// Unbound: a binding ticket, no session.
	p := s.weChat(t, "wx-1")
	ticket, _ := dig(p, "bindingTicket").(string)
	if ticket == "" || dig(p, "session") != nil || dig(p, "owner") != nil || len(userErrorCodes(p)) != 0 {
		t.Fatalf("unbound WeChat login: %v", p)
	}

	// Phone sign-in with the ticket binds the account.
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)
	v := s.verify(t, phone, code, &ticket)
	bound := e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != true {
		t.Fatalf("owner after binding: %v", dig(v, "owner"))
	}
	o := s.ownerByPhone(t, phone)
	if o.WeChatOpenID == nil || *o.WeChatOpenID != openid || o.WeChatUnionID == nil || *o.WeChatUnionID != unionid {
		t.Fatalf("stored binding: openid %v unionid %v", o.WeChatOpenID, o.WeChatUnionID)
	}

	// The next WeChat login signs that owner in directly.
	s.WeChat.AddCode("wx-2", openid, unionid)
	p = s.weChat(t, "wx-2")
	sess := e2eSessionOf(t, p)
	if dig(p, "bindingTicket") != nil || dig(p, "owner", "id") != bound.OwnerID || dig(p, "owner", "weChatBound") != true {
		t.Fatalf("bound WeChat login: %v", p)
	}
	me := s.call(t, sess.Access, `{ me { id phone weChatBound } }`, nil)
	if dig(me.Data, "me", "phone") != phone || dig(me.Data, "me", "weChatBound") != true {
		t.Fatalf("me after WeChat login: %s", me.Raw)
	}
	// A WeChat session refreshes like any other.
	e2eSessionOf(t, s.refresh(t, sess.Refresh))
}

// A WeChat outage is an internal error, with nothing of WeChat's answer.
func TestWeChatUnreachable(t *testing.T) {
	s := newE2EServer(t)
	s.WeChat.Close()
	r := s.call(t, "", e2eWeChatDoc, map[string]any{"c": "wx-any"})
	e2eWantGQLError(t, r, "INTERNAL")
	if strings.Contains(r.Raw, "127.0.0.1") || strings.Contains(r.Raw, "jscode2session") {
		t.Fatalf("internal error leaks its cause: %s", r.Raw)
	}
}

func TestWeChatInvalidCode(t *testing.T) {
	s := newE2EServer(t)
	e2eWantUserError(t, s.weChat(t, "never-issued"), "WECHAT_CODE_INVALID", "input", "code")
	e2eWantUserError(t, s.weChat(t, "   "), "WECHAT_CODE_INVALID", "input", "code")
	// Codes work once, as in WeChat.
	s.WeChat.AddCode("wx-once", "o-"+uuid.NewString(), "")
	if p := s.weChat(t, "wx-once"); dig(p, "bindingTicket") == nil {
		t.Fatalf("first use: %v", p)
	}
	e2eWantUserError(t, s.weChat(t, "wx-once"), "WECHAT_CODE_INVALID", "input", "code")
}

func TestWeChatAlreadyBoundToAnotherOwner(t *testing.T) {
	s := newE2EServer(t)
	openid := "o-" + uuid.NewString()
	// Two tickets for the same WeChat account, both issued while unbound.
	s.WeChat.AddCode("wx-a", openid, "")
	s.WeChat.AddCode("wx-b", openid, "")
	ticketA, _ := dig(s.weChat(t, "wx-a"), "bindingTicket").(string)
	ticketB, _ := dig(s.weChat(t, "wx-b"), "bindingTicket").(string)
	if ticketA == "" || ticketB == "" {
		t.Fatal("no binding tickets")
	}
	ownerA := e2ePhone()
	codeA := s.requestCodeSMS(t, ownerA)
	e2eSessionOf(t, s.verify(t, ownerA, codeA, &ticketA))

	// Owner B presents the other ticket: refused, nothing changed.
	ownerB := e2ePhone()
	codeB := s.requestCodeSMS(t, ownerB)
	v := s.verify(t, ownerB, codeB, &ticketB)
	e2eWantUserError(t, v, "WECHAT_ALREADY_BOUND", "input", "weChatBindingTicket")
	if dig(v, "session") != nil {
		t.Fatal("refused binding returned a session")
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", ownerB); n != 0 {
		t.Fatalf("refused binding created owner B (%d rows)", n)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "wechat_openid = ?", openid); n != 1 {
		t.Fatalf("%d owners bound to the openid, want 1", n)
	}
	// Another openid of the same WeChat user (same unionid) is bound too.
	s.WeChat.AddCode("wx-c", "o-"+uuid.NewString(), "u-shared-"+openid)
	s.WeChat.AddCode("wx-d", "o-"+uuid.NewString(), "u-shared-"+openid)
	ticketC, _ := dig(s.weChat(t, "wx-c"), "bindingTicket").(string)
	ticketD, _ := dig(s.weChat(t, "wx-d"), "bindingTicket").(string)
	ownerC := e2ePhone()
	e2eSessionOf(t, s.verify(t, ownerC, s.requestCodeSMS(t, ownerC), &ticketC))
	v = s.verify(t, ownerB, codeB, &ticketD)
	e2eWantUserError(t, v, "WECHAT_ALREADY_BOUND", "input", "weChatBindingTicket")

	// B's code is still good without the ticket.
	v = s.verify(t, ownerB, codeB, nil)
	e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != false {
		t.Fatalf("owner B is bound: %v", dig(v, "owner"))
	}
}

func TestWeChatBadBindingTicket(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	code := s.requestCodeSMS(t, phone)

	s.WeChat.AddCode("wx-t", "o-"+uuid.NewString(), "")
	good, _ := dig(s.weChat(t, "wx-t"), "bindingTicket").(string)
	parts := strings.Split(good, ".")
	if len(parts) != 3 {
		t.Fatalf("ticket %q is not a JWT", good)
	}
	tampered := parts[0] + "." + parts[1] + "." + e2eFlip(parts[2])
	// A ticket is not an access token, nor the other way round.
	access, _, err := s.App.Tokens.Issue(auth.Principal{Kind: auth.KindOwner, ID: models.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	s.setClock(-11 * time.Minute) // tickets last 10 minutes
	s.WeChat.AddCode("wx-old", "o-"+uuid.NewString(), "")
	expired, _ := dig(s.weChat(t, "wx-old"), "bindingTicket").(string)
	s.setClock(0)
	for name, ticket := range map[string]string{
		"garbage": "not-a-ticket", "tampered": tampered, "access token": access, "huge": strings.Repeat("a", 5000),
		"expired": expired,
	} {
		v := s.verify(t, phone, code, &ticket)
		if codes := userErrorCodes(v); len(codes) != 1 || codes[0] != "INVALID_BINDING_TICKET" {
			t.Fatalf("%s ticket: %v", name, v)
		}
		e2eWantUserError(t, v, "INVALID_BINDING_TICKET", "input", "weChatBindingTicket")
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 0 {
		t.Fatalf("bad tickets created an owner")
	}
	if n := e2eOTPFailures(t, s.testServer, phone); n != 0 {
		t.Fatalf("bad tickets cost %d tries of the code", n)
	}
	// The code is still usable.
	v := s.verify(t, phone, code, nil)
	e2eSessionOf(t, v)
	if dig(v, "owner", "weChatBound") != false {
		t.Fatal("owner bound by a bad ticket")
	}
}

// Binding a new WeChat account replaces the one bound before: the owner just
// proved the phone.
func TestWeChatRebindReplacesAccount(t *testing.T) {
	s := newE2EServer(t)
	oldID, newID := "o-"+uuid.NewString(), "o-"+uuid.NewString()
	s.WeChat.AddCode("wx-old-1", oldID, "")
	s.WeChat.AddCode("wx-new-1", newID, "")
	phone := e2ePhone()
	s.setClock(-2 * time.Minute)
	oldTicket, _ := dig(s.weChat(t, "wx-old-1"), "bindingTicket").(string)
	first := e2eSessionOf(t, s.verify(t, phone, s.requestCodeSMS(t, phone), &oldTicket))
	s.setClock(0)
	newTicket, _ := dig(s.weChat(t, "wx-new-1"), "bindingTicket").(string)
	e2eSessionOf(t, s.verify(t, phone, s.requestCodeSMS(t, phone), &newTicket))

	s.WeChat.AddCode("wx-old-2", oldID, "")
	if p := s.weChat(t, "wx-old-2"); dig(p, "session") != nil || dig(p, "bindingTicket") == nil {
		t.Fatalf("the replaced account still signs in: %v", p)
	}
	s.WeChat.AddCode("wx-new-2", newID, "")
	if p := s.weChat(t, "wx-new-2"); dig(p, "owner", "id") != first.OwnerID {
		t.Fatalf("the new account does not sign the owner in: %v", p)
	}
}

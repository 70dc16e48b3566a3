package main

import (
	"fmt"
	"testing"

	"github.com/ownerhub/ownerhub/models/push"
)

const (
	registerDeviceDoc = `mutation($in: RegisterDeviceInput!) { registerDevice(input: $in) {
		device { platform provider registeredAt lastSeenAt } userErrors { code field message } } }`
	unregisterDeviceDoc = `mutation($t: String!) { unregisterDevice(token: $t) { removed userErrors { code field message } } }`
	myDevicesDoc        = `{ me { devices { platform provider registeredAt lastSeenAt } } }`
)

// pushToken is a distinct APNs token per call.
func pushToken() string { return fmt.Sprintf("%064x", e2eNext()) }

func TestOwnersRegisterAndUnregisterTheirDevices(t *testing.T) {
	s := newTestServer(t)
	a := e2eInsertOwner(t, s, "推送甲", "SZ01")
	b := e2eInsertOwner(t, s, "推送乙", "SZ01")
	aTok, bTok := s.ownerToken(t, a.ID), s.ownerToken(t, b.ID)
	register := func(tok, platform, token string) map[string]any {
		t.Helper()
		return e2ePayload(t, s.do(t, req{Query: registerDeviceDoc, Token: tok,
			Vars: map[string]any{"in": map[string]any{"platform": platform, "token": token}}}), "registerDevice")
	}
	devices := func(tok string) []any {
		t.Helper()
		ds, _ := dig(s.gql(t, tok, myDevicesDoc, nil), "me", "devices").([]any)
		return ds
	}

	ios, android := pushToken(), fmt.Sprintf("1a%017d", e2eNext())
	if p := register(aTok, "IOS", ios); dig(p, "device", "provider") != "APNS" || len(dig(p, "userErrors").([]any)) != 0 {
		t.Fatalf("registerDevice iOS: %v", p)
	}
	if p := register(aTok, "ANDROID", android); dig(p, "device", "provider") != "JPUSH" {
		t.Fatalf("registerDevice Android: %v", p)
	}
	if ds := devices(aTok); len(ds) != 2 || dig(ds, 0, "platform") != "ANDROID" {
		t.Fatalf("a's devices %v; want Android then iOS", ds)
	}
	// Typed refusals: the token's format per platform, its length.
	e2eWantUserError(t, register(aTok, "IOS", "not-hex"), "INVALID_ARGUMENT", "input", "token")
	e2eWantUserError(t, register(aTok, "ANDROID", "has spaces in it"), "INVALID_ARGUMENT", "input", "token")
	e2eWantUserError(t, register(aTok, "IOS", fmt.Sprintf("%0300x", 1)), "INVALID_ARGUMENT", "input", "token")
	e2eWantUserError(t, e2ePayload(t, s.do(t, req{Query: registerDeviceDoc, Token: aTok,
		Vars: map[string]any{"in": map[string]any{"platform": "IOS", "token": pushToken(), "provider": "JPUSH"}}}), "registerDevice"),
		"INVALID_ARGUMENT", "input", "provider")

	// b cannot remove a's device, nor see it.
	if p := e2ePayload(t, s.do(t, req{Query: unregisterDeviceDoc, Token: bTok, Vars: map[string]any{"t": ios}}), "unregisterDevice"); p["removed"] != false {
		t.Fatalf("b unregistered a's device: %v", p)
	}
	if ds := devices(bTok); len(ds) != 0 {
		t.Fatalf("b sees devices %v", ds)
	}
	if n := e2eCount(t, s, &push.Device{}, "owner_id = ?", a.ID); n != 2 {
		t.Fatalf("a has %d devices after b's calls; want 2", n)
	}
	// Staff and anonymous callers cannot register.
	advisor := s.staffToken(t, "advisor.sz01")
	e2eWantGQLError(t, s.do(t, req{Query: registerDeviceDoc, Token: advisor,
		Vars: map[string]any{"in": map[string]any{"platform": "IOS", "token": pushToken()}}}), "FORBIDDEN")
	e2eWantGQLError(t, s.do(t, req{Query: registerDeviceDoc,
		Vars: map[string]any{"in": map[string]any{"platform": "IOS", "token": pushToken()}}}), "UNAUTHENTICATED")

	// The phone changes hands: registering its token on b moves it.
	register(bTok, "IOS", ios)
	if ds := devices(aTok); len(ds) != 1 || dig(ds, 0, "platform") != "ANDROID" {
		t.Fatalf("a's devices after the move %v; want the Android one", ds)
	}
	if ds := devices(bTok); len(ds) != 1 {
		t.Fatalf("b's devices %v; want the moved one", ds)
	}
	if p := e2ePayload(t, s.do(t, req{Query: unregisterDeviceDoc, Token: bTok, Vars: map[string]any{"t": ios}}), "unregisterDevice"); p["removed"] != true {
		t.Fatalf("b unregistering its device: %v", p)
	}
	if ds := devices(bTok); len(ds) != 0 {
		t.Fatalf("b's devices after unregistering %v", ds)
	}

	// The cap: the oldest registered goes.
	for range push.MaxDevicesPerOwner + 1 {
		register(aTok, "IOS", pushToken())
	}
	if n := e2eCount(t, s, &push.Device{}, "owner_id = ?", a.ID); n != push.MaxDevicesPerOwner {
		t.Fatalf("a has %d devices; want %d", n, push.MaxDevicesPerOwner)
	}
	if n := e2eCount(t, s, &push.Device{}, "token = ?", android); n != 0 {
		t.Fatal("the oldest device was kept past the cap")
	}
}

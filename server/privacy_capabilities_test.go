package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// The capabilities above privacy (events, care, roadside) take part in the
// owners' data rights through the sections and erasers wired in app.go.

const (
	pcCreateDoc = `mutation($in: CreateEventInput!) { createEvent(input: $in) { event { id } userErrors { code message } } }`
	pcPublish   = `mutation($id: ID!) { publishEvent(input: {eventId: $id}) { event { id status } userErrors { code } } }`
	pcRegister  = `mutation($id: ID!) { registerForEvent(input: {eventId: $id}) { registration { id status } userErrors { code } } }`
	pcAssist    = `mutation($v: ID!) { requestAssistance(input: {vehicleId: $v, latitude: 22.54, longitude: 114.06,
		address: "福田区深南大道 1 号", problem: BATTERY}) { assistanceRequest { id status } userErrors { code message } } }`
)

// pcEvent publishes a class at SZ01 three days ahead (fee in fen, 0: free).
func pcEvent(t *testing.T, s *e2eServer, capacity int, feeFen int) string {
	t.Helper()
	staff := s.staffToken(t, "events.sz01")
	start := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Hour)
	in := map[string]any{"storeId": pvGID("Store", e2eStoreID(t, s.testServer, "SZ01")), "kind": "CLASS",
		"title": "保养讲堂", "location": "福田店二楼", "startsAt": start, "endsAt": start.Add(2 * time.Hour),
		"registrationOpensAt": time.Now().UTC().Add(-time.Hour), "registrationClosesAt": start.Add(-time.Hour),
		"cancellationDeadline": start.Add(-24 * time.Hour), "capacity": capacity, "feeFen": feeFen}
	d := s.gql(t, staff, pcCreateDoc, map[string]any{"in": in})
	id, _ := dig(d, "createEvent", "event", "id").(string)
	if id == "" {
		t.Fatalf("createEvent: %v", d)
	}
	if p := s.gql(t, staff, pcPublish, map[string]any{"id": id}); dig(p, "publishEvent", "event", "status") != "PUBLISHED" {
		t.Fatalf("publish: %v", p)
	}
	return id
}

func pcRegisterAs(t *testing.T, s *e2eServer, token, event, want string) string {
	t.Helper()
	d := s.gql(t, token, pcRegister, map[string]any{"id": event})
	if dig(d, "registerForEvent", "registration", "status") != want {
		t.Fatalf("register: %v, want %s", d, want)
	}
	return dig(d, "registerForEvent", "registration", "id").(string)
}

// TestPrivacyExportHasEveryCapability: the demo owner's export carries his
// registrations, care records and roadside requests.
func TestPrivacyExportHasEveryCapability(t *testing.T) {
	s := newE2EServer(t)
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	d := s.gql(t, s.ownerToken(t, owner.ID), pvExportDoc, nil)
	var doc struct {
		Sections map[string]json.RawMessage `json:"sections"`
	}
	if err := json.Unmarshal([]byte(dig(d, "exportMyData", "document").(string)), &doc); err != nil {
		t.Fatal(err)
	}
	var regs []map[string]any
	if err := json.Unmarshal(doc.Sections["eventRegistrations"], &regs); err != nil || len(regs) == 0 || regs[0]["eventTitle"] == "" {
		t.Fatalf("eventRegistrations: %s (%v)", doc.Sections["eventRegistrations"], err)
	}
	var care map[string][]any
	if err := json.Unmarshal(doc.Sections["care"], &care); err != nil || len(care["complaints"]) == 0 {
		t.Fatalf("care: %s (%v)", doc.Sections["care"], err)
	}
	if _, ok := doc.Sections["roadsideAssistance"]; !ok {
		t.Fatal("no roadsideAssistance section")
	}
}

// TestPrivacyDeleteAccountAcrossCapabilities: deleting an account gives its
// event seat to the waitlist and cancels its open roadside request, and is
// refused while an event fee is still refundable.
func TestPrivacyDeleteAccountAcrossCapabilities(t *testing.T) {
	s := newE2EServer(t)
	ctx := context.Background()
	a, aID, _ := pvOwner(t, s)
	b, _, _ := pvOwner(t, s)
	event := pcEvent(t, s, 1, 0)
	regA := pcRegisterAs(t, s, a.Access, event, "CONFIRMED")
	regB := pcRegisterAs(t, s, b.Access, event, "WAITLISTED")
	var cars []uuid.UUID
	if err := s.DB.Conn(ctx).Table("vehicles").Where("owner_id = ?", aID).Pluck("id", &cars).Error; err != nil || len(cars) != 1 {
		t.Fatalf("cars %v: %v", cars, err)
	}
	as := s.gql(t, a.Access, pcAssist, map[string]any{"v": pvGID("Vehicle", cars[0])})
	if dig(as, "requestAssistance", "assistanceRequest", "status") != "REQUESTED" {
		t.Fatalf("requestAssistance: %v", as)
	}

	d := s.gql(t, a.Access, pvDeleteDoc, map[string]any{"c": true})
	if dig(d, "deleteMyAccount", "deleted") != true {
		t.Fatalf("delete: %v", d)
	}
	status := func(gid string) events.RegStatus {
		_, id, _ := bkParseID(gid)
		var st []events.RegStatus
		s.DB.Conn(ctx).Model(&events.Registration{}).Where("id = ?", id).Pluck("status", &st)
		return st[0]
	}
	if status(regA) != events.Withdrawn || status(regB) != events.Confirmed {
		t.Fatalf("after deletion: A's registration %s, B's %s", status(regA), status(regB))
	}
	var help roadside.Request
	if err := s.DB.Conn(ctx).Where("owner_id = ?", aID).Take(&help).Error; err != nil {
		t.Fatal(err)
	}
	if help.Status != roadside.Cancelled || help.Address == "福田区深南大道 1 号" || help.Latitude != 0 {
		t.Fatalf("roadside request after deletion: %+v", help)
	}

	// No money goes into a deleted account.
	r := s.do(t, req{Query: fmt.Sprintf(pvMoneyDoc, "topUpWallet", ""), Token: s.staffToken(t, "cashier.sz01"),
		Vars: map[string]any{"o": pvGID("Owner", aID), "s": pvGID("Store", e2eStoreID(t, s.testServer, "SZ01")), "k": "pc-deleted"}})
	if r.Code() != "NOT_FOUND" {
		t.Fatalf("top-up of a deleted account: %s", r.Raw)
	}

	// A fee that would still be refunded must reach the owner first.
	c, cID, phone := pvOwner(t, s)
	top := s.gql(t, s.staffToken(t, "cashier.sz01"), fmt.Sprintf(pvMoneyDoc, "topUpWallet", ""),
		map[string]any{"o": pvGID("Owner", cID), "s": pvGID("Store", e2eStoreID(t, s.testServer, "SZ01")), "k": "pc-" + phone})
	if len(userErrorCodes(dig(top, "topUpWallet"))) != 0 {
		t.Fatalf("top-up: %v", top)
	}
	// 10000 topped up: two fees of 5000 empty the wallet.
	pcRegisterAs(t, s, c.Access, pcEvent(t, s, 5, 5000), "CONFIRMED")
	pcRegisterAs(t, s, c.Access, pcEvent(t, s, 5, 5000), "CONFIRMED")
	d = s.gql(t, c.Access, pvDeleteDoc, map[string]any{"c": true})
	if dig(d, "deleteMyAccount", "deleted") != false {
		t.Fatalf("deleted with a refundable fee: %v", d)
	}
	expectUserError(t, dig(d, "deleteMyAccount"), string(events.CodeRefundPending))
}

// TestPrivacyConsentFromProfile: a consent changed through updateMyProfile
// is in the consent history too.
func TestPrivacyConsentFromProfile(t *testing.T) {
	s := newE2EServer(t)
	sess, _, _ := pvOwner(t, s)
	const upd = `mutation($g: Boolean!) { updateMyProfile(input: {marketingConsent: $g}) { owner { id } userErrors { code } } }`
	for _, g := range []bool{true, true, false} {
		s.gql(t, sess.Access, upd, map[string]any{"g": g})
	}
	h := dig(s.gql(t, sess.Access, pvPrivacyDoc, nil), "me", "privacy", "history").([]any)
	if len(h) != 2 || dig(h[0], "given") != true || dig(h[1], "given") != false || dig(h[1], "source") != "OWNER" {
		t.Fatalf("history after profile changes: %v", h)
	}
}

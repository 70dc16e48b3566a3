package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/testdb"
)

const (
	pvPrivacyDoc = `{ me { id privacy { marketingConsent marketingConsentAt history { given source at } } } }`
	pvConsentDoc = `mutation($g: Boolean!) { setMarketingConsent(input: {given: $g}) {
		privacy { marketingConsent marketingConsentAt history { given source at } } userErrors { code field message } } }`
	pvExportDoc = `{ exportMyData { generatedAt document } }`
	pvDeleteDoc = `mutation($c: Boolean!) { deleteMyAccount(input: {confirm: $c}) { deleted userErrors { code field message } } }`
	pvMoneyDoc  = `mutation($o: ID!, $s: ID!, $k: String!) { %s(input: {ownerId: $o, storeId: $s, amountFen: 10000, method: CASH, %s idempotencyKey: $k}) {
		entries { id } userErrors { code message } } }`
)

func pvGID(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// pvOwner signs a new owner in by SMS and gives them a car.
func pvOwner(t *testing.T, s *e2eServer) (e2eSession, uuid.UUID, string) {
	t.Helper()
	phone := e2ePhone()
	sess := s.signIn(t, phone)
	o := s.ownerByPhone(t, phone)
	plate := e2ePlate()
	v := &models.Vehicle{ID: models.NewID(), OwnerID: o.ID, VIN: e2eVIN(t), Plate: &plate, Brand: "丰田", Model: "卡罗拉", ModelYear: 2030,
		CreatedAt: testdb.Now(), UpdatedAt: testdb.Now()}
	if err := s.DB.Conn(context.Background()).Create(v).Error; err != nil {
		t.Fatal(err)
	}
	return sess, o.ID, phone
}

func TestPrivacyConsent(t *testing.T) {
	s := newE2EServer(t)
	sess, _, _ := pvOwner(t, s)
	d := s.gql(t, sess.Access, pvPrivacyDoc, nil)
	if dig(d, "me", "privacy", "marketingConsent") != false || len(dig(d, "me", "privacy", "history").([]any)) != 0 {
		t.Fatalf("new owner's privacy: %v", d)
	}
	for i, g := range []bool{true, true, false} {
		d := s.gql(t, sess.Access, pvConsentDoc, map[string]any{"g": g})
		p := dig(d, "setMarketingConsent", "privacy")
		if dig(p, "marketingConsent") != g || dig(p, "marketingConsentAt") == nil {
			t.Fatalf("step %d: %v", i, d)
		}
	}
	h := dig(s.gql(t, sess.Access, pvPrivacyDoc, nil), "me", "privacy", "history").([]any)
	if len(h) != 2 || dig(h[0], "given") != true || dig(h[1], "given") != false || dig(h[1], "source") != "OWNER" {
		t.Fatalf("history %v", h)
	}
	// Staff see owners, not their privacy settings; anonymous callers nothing.
	staff := s.staffToken(t, "advisor.sz01")
	r := s.do(t, req{Query: `{ owners(search: "+8613800000001") { edges { node { name privacy { marketingConsent } } } } }`, Token: staff})
	if r.Code() != "FORBIDDEN" {
		t.Fatalf("staff read an owner's privacy: %s", r.Raw)
	}
	for _, tok := range []string{staff, ""} {
		r := s.do(t, req{Query: pvConsentDoc, Vars: map[string]any{"g": true}, Token: tok})
		if want := map[bool]string{true: "FORBIDDEN", false: "UNAUTHENTICATED"}[tok != ""]; r.Code() != want {
			t.Fatalf("setMarketingConsent by %q: %s", tok, r.Raw)
		}
	}
}

// TestPrivacyExport: the GraphQL and REST exports are the same document
// with every section; only the owner gets it.
func TestPrivacyExport(t *testing.T) {
	s := newE2EServer(t)
	owner := s.ownerByPhone(t, demo.DemoOwnerPhone)
	tok := s.ownerToken(t, owner.ID)
	d := s.gql(t, tok, pvExportDoc, nil)
	var doc map[string]any
	if err := json.Unmarshal([]byte(dig(d, "exportMyData", "document").(string)), &doc); err != nil {
		t.Fatal(err)
	}
	sections, _ := doc["sections"].(map[string]any)
	for _, name := range []string{"owner", "consent", "vehicles", "repairOrders", "wallet", "appointments", "notifications", "sessions"} {
		if _, ok := sections[name]; !ok {
			t.Errorf("section %s missing", name)
		}
	}
	if dig(sections, "owner", "phone") != demo.DemoOwnerPhone || len(sections["vehicles"].([]any)) != 2 ||
		len(sections["repairOrders"].([]any)) == 0 || len(dig(sections, "wallet", "ledger").([]any)) == 0 {
		t.Fatalf("demo owner's export is missing data: owner %v", sections["owner"])
	}
	if len(sections["consent"].([]any)) != 1 {
		t.Fatalf("demo owner's consent history: %v", sections["consent"])
	}

	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil, map[string]string{"Authorization": "Bearer " + tok})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("REST export: %d %v", resp.StatusCode, resp.Header)
	}
	var rest map[string]any
	if err := json.Unmarshal(raw, &rest); err != nil {
		t.Fatal(err)
	}
	delete(rest, "generatedAt")
	delete(doc, "generatedAt")
	a, _ := json.Marshal(rest)
	b, _ := json.Marshal(doc)
	if string(a) != string(b) {
		t.Fatal("the REST and GraphQL exports differ")
	}

	for _, c := range []struct {
		token  string
		status int
		code   string
	}{{"", 401, "UNAUTHENTICATED"}, {s.staffToken(t, "manager.sz01"), 403, "FORBIDDEN"}, {"not-a-token", 401, "UNAUTHENTICATED"}} {
		hdr := map[string]string{}
		if c.token != "" {
			hdr["Authorization"] = "Bearer " + c.token
		}
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil, hdr)
		if resp.StatusCode != c.status || !strings.Contains(string(raw), c.code) {
			t.Fatalf("export with %q: %d %s", c.token, resp.StatusCode, raw)
		}
	}
	if r := s.do(t, req{Query: pvExportDoc, Token: s.staffToken(t, "manager.sz01")}); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff exportMyData: %s", r.Raw)
	}
}

// TestPrivacyDeleteAccount: refused while stored value remains; after the
// refund the account is deleted: the access token stops working at once,
// the refresh token too, and the phone signs up as a new, empty account.
func TestPrivacyDeleteAccount(t *testing.T) {
	s := newE2EServer(t)
	sess, ownerID, phone := pvOwner(t, s)
	store := pvGID("Store", e2eStoreID(t, s.testServer, "SZ01"))
	owner := pvGID("Owner", ownerID)

	expectUserErrorOf := func(d map[string]any, code string) {
		t.Helper()
		p := dig(d, "deleteMyAccount")
		if dig(p, "deleted") != false {
			t.Fatalf("deleted despite %s: %v", code, p)
		}
		expectUserError(t, p, code)
	}
	expectUserErrorOf(s.gql(t, sess.Access, pvDeleteDoc, map[string]any{"c": false}), "INVALID_ARGUMENT")

	cashier, manager := s.staffToken(t, "cashier.sz01"), s.staffToken(t, demo.AdminUsername)
	top := s.gql(t, cashier, fmt.Sprintf(pvMoneyDoc, "topUpWallet", ""), map[string]any{"o": owner, "s": store, "k": "pv-top-" + phone})
	if len(userErrorCodes(dig(top, "topUpWallet"))) != 0 || len(dig(top, "topUpWallet", "entries").([]any)) != 1 {
		t.Fatalf("top-up: %v", top)
	}
	expectUserErrorOf(s.gql(t, sess.Access, pvDeleteDoc, map[string]any{"c": true}), "WALLET_NOT_EMPTY")
	if r := s.call(t, sess.Access, e2eMeDoc, nil); len(r.Errors) > 0 || dig(r.Data, "me", "phone") != phone {
		t.Fatalf("a refused deletion changed the account: %s", r.Raw)
	}
	ref := s.gql(t, manager, fmt.Sprintf(pvMoneyDoc, "refundWallet", `reason: "注销前退款",`), map[string]any{"o": owner, "s": store, "k": "pv-refund-" + phone})
	if len(userErrorCodes(dig(ref, "refundWallet"))) != 0 || len(dig(ref, "refundWallet", "entries").([]any)) != 1 {
		t.Fatalf("refund: %v", ref)
	}

	// Staff and anonymous callers cannot delete anyone's account.
	if r := s.do(t, req{Query: pvDeleteDoc, Vars: map[string]any{"c": true}, Token: manager}); r.Code() != "FORBIDDEN" {
		t.Fatalf("staff deleteMyAccount: %s", r.Raw)
	}
	if r := s.do(t, req{Query: pvDeleteDoc, Vars: map[string]any{"c": true}}); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("anonymous deleteMyAccount: %s", r.Raw)
	}

	d := s.gql(t, sess.Access, pvDeleteDoc, map[string]any{"c": true})
	if dig(d, "deleteMyAccount", "deleted") != true || len(userErrorCodes(dig(d, "deleteMyAccount"))) != 0 {
		t.Fatalf("delete: %v", d)
	}
	// The access token, still within its 15 minutes, no longer works.
	if r := s.call(t, sess.Access, e2eMeDoc, nil); r.Code() != "UNAUTHENTICATED" || r.Errors[0].Extensions["reason"] != "ACCOUNT_DELETED" || r.Data["me"] != nil {
		t.Fatalf("me after deletion: %d %s", r.Status, r.Raw)
	}
	resp, _ := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil, map[string]string{"Authorization": "Bearer " + sess.Access})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("REST export after deletion: %d", resp.StatusCode)
	}
	// Signed out everywhere: the refresh token is dead.
	r := s.call(t, "", e2eRefreshDoc, map[string]any{"t": sess.Refresh})
	if dig(r.Data, "refreshSession", "session") != nil || len(userErrorCodes(dig(r.Data, "refreshSession"))) == 0 {
		t.Fatalf("refresh after deletion: %s", r.Raw)
	}
	// The person is gone from the row; the ledger stays with it.
	var o models.Owner
	if err := s.DB.Conn(context.Background()).Where("id = ?", ownerID).Take(&o).Error; err != nil {
		t.Fatal(err)
	}
	if o.Phone == phone || !strings.HasPrefix(o.Phone, privacy.PlaceholderPrefix) || o.Name != "" {
		t.Fatalf("owner row after deletion: %+v", o)
	}
	var entries int64
	s.DB.Conn(context.Background()).Table("ledger_entries").Where("owner_id = ?", ownerID).Count(&entries)
	if entries != 2 {
		t.Fatalf("%d ledger entries after deletion; want the top-up and refund", entries)
	}
	// The phone is free again: signing in makes a new, empty account.
	again := s.signIn(t, phone)
	if again.OwnerID == pvGID("Owner", ownerID) || again.OwnerID == "" {
		t.Fatalf("signed in as the deleted owner %s", again.OwnerID)
	}
	me := s.call(t, again.Access, e2eMeDoc, nil)
	if dig(me.Data, "me", "vehicles", "totalCount") != float64(0) {
		t.Fatalf("the new account has the old one's cars: %s", me.Raw)
	}
}

// TestPublicSurfacesMaskOwners: the workshop board (shown in the service
// bay) carries no full phone number or plate of any owner.
func TestPublicSurfacesMaskOwners(t *testing.T) {
	s := newTestServer(t)
	var plates, phones []string
	ctx := context.Background()
	s.DB.Conn(ctx).Model(&models.Vehicle{}).Where("plate IS NOT NULL").Pluck("plate", &plates)
	s.DB.Conn(ctx).Model(&models.Owner{}).Pluck("phone", &phones)
	if len(plates) == 0 || len(phones) == 0 {
		t.Fatal("no demo data")
	}
	tok := s.staffToken(t, demo.AdminUsername)
	for _, store := range []string{"SZ01", "GZ01"} {
		resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/stores/"+store+"/board", nil,
			map[string]string{"Authorization": "Bearer " + s.staffToken(t, demo.AdminUsername)})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "·") {
			t.Fatalf("board %s: %d %s", store, resp.StatusCode, raw)
		}
		gq := s.gql(t, tok, `query($s: ID!) { workshopBoard(storeId: $s) { columns { cards { maskedPlate ownerSurname } } } }`,
			map[string]any{"s": pvGID("Store", e2eStoreID(t, s, store))})
		both := string(raw) + mustJSON(t, gq)
		for _, p := range append(plates, phones...) {
			if strings.Contains(both, p) || strings.Contains(both, strings.TrimPrefix(p, "+86")) {
				t.Fatalf("board %s shows %s", store, p)
			}
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

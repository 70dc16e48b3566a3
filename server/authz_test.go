package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// End-to-end tests of who may do what: tokens refused at the HTTP edge, the
// @auth directive, owners confined to their own data (node(id:) included),
// staff confined to their stores and roles; and the public store list and
// staffMe.

// e2eGlobalID builds a well-formed global id for a row that may not exist.
// Clients treat ids as opaque; a test needs one that names nothing.
func e2eGlobalID(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

func TestTokensRefusedAtHTTPEdge(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, "+8613800000002")
	p := auth.Principal{Kind: auth.KindOwner, ID: owner.ID}
	secret := []byte(testSecret)
	other := []byte("another-secret-another-secret-0123456789")

	issue := func(key []byte, ttl time.Duration, at time.Time) string {
		t.Helper()
		tokens, err := auth.NewTokens(key, ttl)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := tokens.WithClock(func() time.Time { return at }).Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": auth.Issuer, "aud": []string{auth.Audience}, "sub": owner.ID.String(), "knd": "OWNER",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": uuid.NewString(),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := issue(secret, 15*time.Minute, now)
	parts := strings.Split(valid, ".")

	// Controls: a token the server issued, and one built here by hand the
	// same way, are accepted; so each refusal below is about its one fault.
	for name, tok := range map[string]string{
		"issued":     valid,
		"hand-built": sign(jwt.SigningMethodHS256, secret, claims(nil)),
	} {
		r := s.do(t, req{Query: `{ me { id phone } }`, Token: tok})
		if r.Status != http.StatusOK || len(r.Errors) > 0 || dig(r.Data, "me", "phone") != owner.Phone {
			t.Fatalf("%s token refused: (%d) %s", name, r.Status, r.Raw)
		}
	}
	if r := s.do(t, req{Query: `{ me { id } }`, Headers: map[string]string{"Authorization": "bearer " + valid}}); len(r.Errors) > 0 {
		t.Fatalf("lower-case scheme: %s", r.Raw)
	}

	forged := func() string {
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		c["knd"], c["rol"] = "STAFF", []string{"GROUP_ADMIN"}
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Hour
	cases := []struct {
		name, header, reason string
	}{
		{"expired", "Bearer " + issue(secret, time.Minute, now.Add(-hour)), "TOKEN_EXPIRED"},
		{"expired, hand-built", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-hour).Unix(), now.Add(-hour).Unix(), now.Add(-hour/2).Unix()
		})), "TOKEN_EXPIRED"},
		{"expired and signed with another secret", "Bearer " + issue(other, time.Minute, now.Add(-hour)), "INVALID_TOKEN"},
		{"tampered signature", "Bearer " + parts[0] + "." + parts[1] + "." + e2eFlip(parts[2]), "INVALID_TOKEN"},
		{"tampered claims", "Bearer " + forged, "INVALID_TOKEN"},
		{"no signature", "Bearer " + parts[0] + "." + parts[1] + ".", "INVALID_TOKEN"},
		{"alg none", "Bearer " + none, "INVALID_TOKEN"},
		{"HS512", "Bearer " + sign(jwt.SigningMethodHS512, secret, claims(nil)), "INVALID_TOKEN"},
		{"wrong audience", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["aud"] = "ownerhub-wechat-binding" })), "INVALID_TOKEN"},
		{"no audience", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "aud") })), "INVALID_TOKEN"},
		{"wrong issuer", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["iss"] = "someone-else" })), "INVALID_TOKEN"},
		{"no expiry", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "INVALID_TOKEN"},
		{"issued in the future", "Bearer " + issue(secret, 15*time.Minute, now.Add(hour)), "INVALID_TOKEN"},
		{"owner carrying roles", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["rol"] = []string{"GROUP_ADMIN"} })), "INVALID_TOKEN"},
		{"unknown kind", "Bearer " + sign(jwt.SigningMethodHS256, secret, claims(func(c jwt.MapClaims) { c["knd"] = "ROOT" })), "INVALID_TOKEN"},
		{"another secret", "Bearer " + issue(other, 15*time.Minute, now), "INVALID_TOKEN"},
		{"garbage", "Bearer garbage", "INVALID_TOKEN"},
		{"oversized", "Bearer " + strings.Repeat("a", 9000), "INVALID_TOKEN"},
		{"Basic", "Basic dXNlcjpwYXNz", "INVALID_TOKEN"},
		{"scheme only", "Bearer", "INVALID_TOKEN"},
		{"token without scheme", valid, "INVALID_TOKEN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A public field too: a bad token is refused, not ignored, so
			// the app knows to refresh or sign in again.
			for _, q := range []string{`{ me { id } }`, `{ stores(first: 1) { totalCount } }`} {
				r := s.do(t, req{Query: q, Headers: map[string]string{"Authorization": c.header}})
				if r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" || r.Data != nil {
					t.Fatalf("%s: want 401 UNAUTHENTICATED, got (%d) %s", q, r.Status, r.Raw)
				}
				if reason := r.Errors[0].Extensions["reason"]; reason != c.reason {
					t.Fatalf("reason %v, want %s", reason, c.reason)
				}
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

// The @auth directive: who the caller is decides which fields they reach.
func TestAuthDirectiveKinds(t *testing.T) {
	s := newTestServer(t)
	owner := s.ownerByPhone(t, "+8613800000003")
	ownerTok := s.ownerToken(t, owner.ID)
	staffTok := e2eStaffToken(t, s, "advisor.sz01")
	reg := e2eRegistration(t)

	for _, c := range []struct {
		name, token, query, code string
		vars                     map[string]any
	}{
		{"me without a token", "", `{ me { id } }`, "UNAUTHENTICATED", nil},
		{"staffMe without a token", "", `{ staffMe { id } }`, "UNAUTHENTICATED", nil},
		{"owners without a token", "", `{ owners(search: "张伟") { edges { node { id } } } }`, "UNAUTHENTICATED", nil},
		{"updateMyProfile without a token", "", `mutation { updateMyProfile(input: {name: "x"}) { owner { id } } }`, "UNAUTHENTICATED", nil},
		{"registerVehicle without a token", "", e2eRegisterDoc, "UNAUTHENTICATED", map[string]any{"in": reg}},
		{"owner on owners(search)", ownerTok, `{ owners(search: "+8613800000001") { edges { node { id } } } }`, "FORBIDDEN", nil},
		{"owner on staffMe", ownerTok, `{ staffMe { id } }`, "FORBIDDEN", nil},
		{"owner registers a vehicle", ownerTok, e2eRegisterDoc, "FORBIDDEN", map[string]any{"in": reg}},
		{"staff on me", staffTok, `{ me { id } }`, "FORBIDDEN", nil},
		{"staff updates a profile", staffTok, `mutation { updateMyProfile(input: {name: "x"}) { owner { id } } }`, "FORBIDDEN", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, req{Query: c.query, Vars: c.vars, Token: c.token})
			e2eWantGQLError(t, r, c.code)
			if r.Data != nil {
				for k, v := range r.Data {
					if v != nil {
						t.Fatalf("%s returned data: %s", k, r.Raw)
					}
				}
			}
		})
	}
	e2eNothingWritten(t, s, reg)
	if o := e2eStoredOwner(t, s, owner.ID); o.Name != owner.Name {
		t.Fatalf("a refused updateMyProfile renamed the owner to %q", o.Name)
	}
	// Public: the store list needs no token.
	if d := s.gql(t, "", `{ stores { totalCount } }`, nil); dig(d, "stores", "totalCount") != float64(2) {
		t.Fatalf("stores: %v", d)
	}
}

// Owner A never reads or changes owner B's data, whatever id A sends.
func TestOwnerCannotReachAnotherOwner(t *testing.T) {
	s := newTestServer(t)
	a := e2eInsertOwner(t, s, "甲车主", "SZ01")
	b := e2eInsertOwner(t, s, "乙车主", "SZ01")
	aCars := []string{e2eInsertVehicle(t, s, a.ID, "SZ01").VIN, e2eInsertVehicle(t, s, a.ID, "SZ01").VIN}
	bCar := e2eInsertVehicle(t, s, b.ID, "SZ01")
	tokA, tokB := s.ownerToken(t, a.ID), s.ownerToken(t, b.ID)

	const meIDs = `{ me { id vehicles { edges { node { id vin } } } } }`
	dB := s.gql(t, tokB, meIDs, nil)
	bID := dig(dB, "me", "id").(string)
	bVehicleID := dig(dB, "me", "vehicles", "edges", 0, "node", "id").(string)
	dA := s.gql(t, tokA, meIDs, nil)
	aID := dig(dA, "me", "id").(string)
	aVehicleID := dig(dA, "me", "vehicles", "edges", 0, "node", "id").(string)
	staffID := dig(s.gql(t, e2eStaffToken(t, s, "advisor.sz01"), `{ staffMe { id } }`, nil), "staffMe", "id").(string)

	// A's own objects are there...
	const nodeQ = `query($id: ID!) { node(id: $id) { id ... on Owner { phone } ... on Vehicle { vin owner { id } } ... on Staff { username } } }`
	if d := s.gql(t, tokA, nodeQ, map[string]any{"id": aID}); dig(d, "node", "phone") != a.Phone {
		t.Fatalf("node(own id): %v", d)
	}
	if d := s.gql(t, tokA, nodeQ, map[string]any{"id": aVehicleID}); dig(d, "node", "owner", "id") != aID {
		t.Fatalf("node(own vehicle): %v", d)
	}
	// ...B's are not, nor staff, nor ids that name nothing: null, no error.
	for name, id := range map[string]string{
		"B's owner id":    bID,
		"B's vehicle id":  bVehicleID,
		"a staff id":      staffID,
		"a missing id":    e2eGlobalID("Owner", models.NewID()),
		"a malformed id":  "not-an-id",
		"an unknown type": e2eGlobalID("Wallet", b.ID),
	} {
		r := s.do(t, req{Query: nodeQ, Vars: map[string]any{"id": id}, Token: tokA})
		if len(r.Errors) > 0 || r.Data == nil || r.Data["node"] != nil {
			t.Fatalf("node(%s) as owner A: %s", name, r.Raw)
		}
	}
	// Anonymous callers see no owner either.
	if r := s.do(t, req{Query: nodeQ, Vars: map[string]any{"id": bID}}); r.Data["node"] != nil {
		t.Fatalf("node(B) anonymously: %s", r.Raw)
	}

	// A's vehicles are A's only.
	var vins []string
	for _, e := range dig(dA, "me", "vehicles", "edges").([]any) {
		vins = append(vins, dig(e, "node", "vin").(string))
	}
	if !slices.Equal(vins, aCars) {
		t.Fatalf("A's vehicles %v, want %v", vins, aCars)
	}

	// A changes A's profile, never B's.
	bBefore := e2eStoredOwner(t, s, b.ID)
	d := s.gql(t, tokA, `mutation { updateMyProfile(input: {name: "甲新名", marketingConsent: true}) { owner { id name } userErrors { code } } }`, nil)
	if dig(d, "updateMyProfile", "owner", "id") != aID || dig(d, "updateMyProfile", "owner", "name") != "甲新名" {
		t.Fatalf("A's update: %v", d)
	}
	if bAfter := e2eStoredOwner(t, s, b.ID); bAfter.Name != "乙车主" || bAfter.MarketingConsent || !bAfter.UpdatedAt.Equal(bBefore.UpdatedAt) {
		t.Fatalf("A's update changed B: %+v", bAfter)
	}
	// A cannot update B's car (a staff mutation) nor search owners.
	r := s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": map[string]any{"vehicleId": bVehicleID, "mileageKm": 999999}}, Token: tokA})
	e2eWantGQLError(t, r, "FORBIDDEN")
	var stored models.Vehicle
	if err := s.DB.Conn(t.Context()).Where("id = ?", bCar.ID).Take(&stored).Error; err != nil || stored.MileageKm != bCar.MileageKm {
		t.Fatalf("B's car after A's update attempt: %+v, %v", stored, err)
	}
	r = s.do(t, req{Query: `query($q: String!) { owners(search: $q) { edges { node { id } } } }`, Vars: map[string]any{"q": b.Phone}, Token: tokA})
	e2eWantGQLError(t, r, "FORBIDDEN")
}

// azScope is a server with the demo staff the store-scope tests act as,
// and 朱琳, a GZ01 customer (home store and selling store GZ01).
type azScope struct {
	*testServer
	advSZ, advGZ, admin string // tokens
}

const (
	azZhuPhone, azZhuPlate = "+8613800000014", "粤A3M8B6"
	azSearchDoc            = `query($q: String!) { owners(search: $q) { edges { node { id phone name
		vehicles { edges { node { id plate } } } } } pageInfo { hasNextPage } } }`
	azNodeDoc = `query($id: ID!) { node(id: $id) { id ... on Owner { phone } ... on Vehicle { plate } ... on Staff { username } } }`
)

func newAzScope(t *testing.T) *azScope {
	t.Helper()
	s := newTestServer(t)
	return &azScope{testServer: s, advSZ: e2eStaffToken(t, s, "advisor.sz01"), advGZ: e2eStaffToken(t, s, "advisor.gz01"),
		admin: e2eStaffToken(t, s, "admin")}
}

// search runs owners(search: q) as tok's holder.
func (s *azScope) search(t *testing.T, tok, q string) []any {
	t.Helper()
	edges, _ := dig(s.gql(t, tok, azSearchDoc, map[string]any{"q": q}), "owners", "edges").([]any)
	return edges
}

// azHas reports whether search results hold the owner with phone.
func azHas(edges []any, phone string) bool {
	for _, e := range edges {
		if dig(e, "node", "phone") == phone {
			return true
		}
	}
	return false
}

// ownerAndCar finds an owner by phone as the admin: the owner's and the
// first car's global ids.
func (s *azScope) ownerAndCar(t *testing.T, phone string) (owner, car string) {
	t.Helper()
	found := s.search(t, s.admin, phone)
	if len(found) != 1 {
		t.Fatalf("admin by phone %s: %v", phone, found)
	}
	return dig(found, 0, "node", "id").(string), dig(found, 0, "node", "vehicles", "edges", 0, "node", "id").(string)
}

// node reads node(id) as tok's holder.
func (s *azScope) node(t *testing.T, tok, id string) any {
	t.Helper()
	r := s.do(t, req{Query: azNodeDoc, Vars: map[string]any{"id": id}, Token: tok})
	if len(r.Errors) > 0 {
		t.Fatalf("node: %s", r.Raw)
	}
	return r.Data["node"]
}

// Staff search the customers of their stores by name, and find any walk-in
// by exact phone or plate; a store's customers include those who bought
// there and live elsewhere.
func TestStaffStoreScopeSearch(t *testing.T) {
	s := newAzScope(t)
	advSZ, advGZ, admin := s.advSZ, s.advGZ, s.admin
	found := s.search(t, admin, azZhuPhone)
	if len(found) != 1 || dig(found, 0, "node", "name") != "朱琳" {
		t.Fatalf("admin by phone: %v", found)
	}
	zhuID := dig(found, 0, "node", "id").(string)

	for _, q := range []string{azZhuPhone, "138 0000 0014", azZhuPlate, "粤a·3m8b6"} {
		if got := s.search(t, advSZ, q); len(got) != 1 || dig(got, 0, "node", "id") != zhuID {
			t.Fatalf("advisor.sz01 search %q (walk-in, exact): %v", q, got)
		}
	}
	for _, q := range []string{"朱琳", "朱"} {
		if azHas(s.search(t, advSZ, q), azZhuPhone) {
			t.Fatalf("advisor.sz01 found a GZ01 customer by name %q", q)
		}
	}
	if !azHas(s.search(t, advSZ, "张伟"), "+8613800000001") {
		t.Fatal("advisor.sz01 does not find their own customer 张伟 by name")
	}
	for name, tok := range map[string]string{"admin": admin, "advisor.gz01": advGZ} {
		if !azHas(s.search(t, tok, "朱琳"), azZhuPhone) {
			t.Fatalf("%s does not find 朱琳 by name", name)
		}
	}
	// A store's customers include those who bought there and live elsewhere:
	// 罗霞 (home GZ01, car sold at SZ01) and 黄强 (home SZ01, car sold at GZ01).
	if !azHas(s.search(t, advSZ, "罗霞"), "+8613800000020") || !azHas(s.search(t, advGZ, "罗霞"), "+8613800000020") {
		t.Fatal("罗霞 is a customer of both stores")
	}
	if !azHas(s.search(t, advGZ, "黄强"), "+8613800000008") {
		t.Fatal("黄强 bought at GZ01")
	}
	for _, q := range []string{"", "   ", strings.Repeat("张", 41)} {
		r := s.do(t, req{Query: azSearchDoc, Vars: map[string]any{"q": q}, Token: advSZ})
		if r.Code() != "INVALID_ARGUMENT" || r.Errors[0].Extensions["reason"] != nil {
			t.Fatalf("search %q: %s", q, r.Raw)
		}
	}
}

// node(id:) follows the store scope: owners and cars of the home store or
// the selling store; another store's car is not there to update either.
func TestStaffStoreScopeNode(t *testing.T) {
	s := newAzScope(t)
	advSZ, advGZ, admin := s.advSZ, s.advGZ, s.admin
	zhuID, zhuCar := s.ownerAndCar(t, azZhuPhone)
	if s.node(t, advSZ, zhuID) != nil || s.node(t, advSZ, zhuCar) != nil {
		t.Fatal("advisor.sz01 reads a GZ01-only owner or car by id")
	}
	huangID, huangCar := s.ownerAndCar(t, "+8613800000008")
	for name, tok := range map[string]string{"advisor.sz01 (home store)": advSZ, "advisor.gz01 (selling store)": advGZ} {
		if dig(s.node(t, tok, huangID), "phone") != "+8613800000008" || dig(s.node(t, tok, huangCar), "plate") != "粤A6P2K9" {
			t.Fatalf("%s cannot read 黄强 or his car", name)
		}
	}
	for name, tok := range map[string]string{"advisor.gz01": advGZ, "admin": admin} {
		if dig(s.node(t, tok, zhuID), "phone") != azZhuPhone || dig(s.node(t, tok, zhuCar), "plate") != azZhuPlate {
			t.Fatalf("%s cannot read 朱琳 or her car by id", name)
		}
	}

	// Writes follow it too: another store's car is not there to update.
	var before models.Vehicle
	if err := s.DB.Conn(t.Context()).Where("plate = ?", azZhuPlate).Take(&before).Error; err != nil {
		t.Fatal(err)
	}
	r := s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": map[string]any{"vehicleId": zhuCar, "mileageKm": before.MileageKm + 100}}, Token: advSZ})
	e2eWantGQLError(t, r, "NOT_FOUND")
	var after models.Vehicle
	if err := s.DB.Conn(t.Context()).Where("plate = ?", azZhuPlate).Take(&after).Error; err != nil || after.MileageKm != before.MileageKm {
		t.Fatalf("another store's car changed: %d -> %d (%v)", before.MileageKm, after.MileageKm, err)
	}
}

// Registering and updating cars follows roles (a technician cannot register,
// CRM cannot update, the foreman may) and stores (an advisor registers sales
// at their own store; the group admin must say which).
func TestStaffStoreScopeWrites(t *testing.T) {
	s := newAzScope(t)
	advSZ, admin := s.advSZ, s.admin
	in := e2eRegistration(t)
	r := s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: e2eStaffToken(t, s.testServer, "technician1.sz01")})
	e2eWantGQLError(t, r, "FORBIDDEN")
	e2eNothingWritten(t, s.testServer, in)
	szCar := dig(e2eRegister(t, s.testServer, advSZ, e2eRegistration(t)), "vehicle", "id").(string)
	r = s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": map[string]any{"vehicleId": szCar, "mileageKm": 5000}}, Token: e2eStaffToken(t, s.testServer, "crm.sz01")})
	e2eWantGQLError(t, r, "FORBIDDEN")
	// The foreman may.
	p := e2ePayload(t, s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": map[string]any{"vehicleId": szCar, "mileageKm": 5000}},
		Token: e2eStaffToken(t, s.testServer, "foreman.sz01")}), "updateVehicle")
	if len(userErrorCodes(p)) != 0 || dig(p, "vehicle", "mileageKm") != float64(5000) {
		t.Fatalf("foreman.sz01 update: %v", p)
	}

	// Stores: an advisor of SZ01 cannot register a sale at GZ01.
	gz, sz := e2eStoreNodeID(t, s.testServer, "GZ01"), e2eStoreNodeID(t, s.testServer, "SZ01")
	in = e2eRegistration(t)
	in["sellingStoreId"] = gz
	r = s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: advSZ})
	e2eWantGQLError(t, r, "FORBIDDEN")
	e2eNothingWritten(t, s.testServer, in)
	in["sellingStoreId"] = sz
	if p := e2eRegister(t, s.testServer, advSZ, in); dig(p, "vehicle", "sellingStore", "code") != "SZ01" {
		t.Fatalf("explicit own store: %v", p)
	}
	// The group admin works for both stores, so must say which.
	in = e2eRegistration(t)
	p = e2ePayload(t, s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: admin}), "registerVehicle")
	e2eWantUserError(t, p, "INVALID_ARGUMENT", "input", "sellingStoreId")
	e2eNothingWritten(t, s.testServer, in)
	in["sellingStoreId"] = gz
	if p := e2eRegister(t, s.testServer, admin, in); dig(p, "vehicle", "sellingStore", "code") != "GZ01" {
		t.Fatalf("admin at GZ01: %v", p)
	}
}

// Staff records: oneself, a manager of a shared store, the admin.
func TestStaffStoreScopeStaffRecords(t *testing.T) {
	s := newAzScope(t)
	staffID := func(tok string) string {
		return dig(s.gql(t, tok, `{ staffMe { id } }`, nil), "staffMe", "id").(string)
	}
	advSZID, advGZID := staffID(s.advSZ), staffID(s.advGZ)
	mgrSZ := e2eStaffToken(t, s.testServer, "manager.sz01")
	for _, c := range []struct {
		who, tok, id string
		visible      bool
	}{
		{"advisor.sz01 on itself", s.advSZ, advSZID, true},
		{"advisor.sz01 on advisor.gz01", s.advSZ, advGZID, false},
		{"manager.sz01 on advisor.sz01", mgrSZ, advSZID, true},
		{"manager.sz01 on advisor.gz01", mgrSZ, advGZID, false},
		{"admin on advisor.gz01", s.admin, advGZID, true},
	} {
		if got := s.node(t, c.tok, c.id); (got != nil) != c.visible {
			t.Fatalf("%s: node = %v, want visible %v", c.who, got, c.visible)
		}
	}
}

func TestStoresConnection(t *testing.T) {
	s := newTestServer(t)
	const q = `query($first: Int, $after: String) { stores(first: $first, after: $after) {
		totalCount edges { cursor node { id code name city timezone serviceBays slotMinutes
			openingHours { weekday opens closes } } }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
	first := dig(s.gql(t, "", q, map[string]any{"first": 1}), "stores")
	edges, _ := dig(first, "edges").([]any)
	if len(edges) != 1 || dig(first, "totalCount") != float64(2) ||
		dig(first, "pageInfo", "hasNextPage") != true || dig(first, "pageInfo", "hasPreviousPage") != false {
		t.Fatalf("first page: %v", first)
	}
	second := dig(s.gql(t, "", q, map[string]any{"first": 1, "after": dig(first, "pageInfo", "endCursor")}), "stores")
	edges2, _ := dig(second, "edges").([]any)
	if len(edges2) != 1 || dig(second, "pageInfo", "hasNextPage") != false || dig(second, "pageInfo", "hasPreviousPage") != true {
		t.Fatalf("second page: %v", second)
	}
	codes := []string{dig(edges, 0, "node", "code").(string), dig(edges2, 0, "node", "code").(string)}
	slices.Sort(codes)
	if !slices.Equal(codes, []string{"GZ01", "SZ01"}) {
		t.Fatalf("stores %v, want GZ01 and SZ01", codes)
	}
	for _, e := range []any{edges[0], edges2[0]} {
		n := dig(e, "node")
		hours, _ := dig(n, "openingHours").([]any)
		if dig(n, "timezone") != "Asia/Shanghai" || len(hours) != 7 {
			t.Fatalf("store %v", n)
		}
		for i, h := range hours {
			if dig(h, "weekday") != float64(i) {
				t.Fatalf("opening hours out of order: %v", hours)
			}
		}
		// A store's id works with node(id:), for anyone.
		d := s.gql(t, "", `query($id: ID!) { node(id: $id) { ... on Store { code } } }`, map[string]any{"id": dig(n, "id")})
		if dig(d, "node", "code") != dig(n, "code") {
			t.Fatalf("node(store): %v", d)
		}
	}
}

func TestStaffMe(t *testing.T) {
	s := newTestServer(t)
	const q = `{ staffMe { id username name roles stores { code } } }`
	for _, c := range []struct {
		username string
		roles    []string
		stores   []string
	}{
		{"advisor.sz01", []string{"ADVISOR"}, []string{"SZ01"}},
		{"technician1.gz01", []string{"TECHNICIAN"}, []string{"GZ01"}},
		{"admin", []string{"GROUP_ADMIN"}, []string{"GZ01", "SZ01"}},
	} {
		d := s.gql(t, e2eStaffToken(t, s, c.username), q, nil)
		stores := e2eStrings(dig(d, "staffMe", "stores"), "code")
		slices.Sort(stores)
		if dig(d, "staffMe", "username") != c.username || dig(d, "staffMe", "name") == "" ||
			!slices.Equal(e2eStrings(dig(d, "staffMe", "roles")), c.roles) || !slices.Equal(stores, c.stores) {
			t.Fatalf("staffMe for %s: %v", c.username, d)
		}
	}
}

// One rule decides who sees a customer (models.SeesCustomer): owner A, a
// customer of SZ01 only, is seen through every path by SZ01's advisor and
// CRM (complaints by CRM only: advisors do not handle them) and the group
// admin; by an
// SZ01 technician (even the one working on A's car) and GZ01's staff
// through none, except that an exact phone number finds a walk-in anywhere
// in the group. A screen's token reaches no path at all.
func TestCustomerVisibleByOneRule(t *testing.T) {
	f := newSweepFixture(t)
	const who = `id phone name`
	sees := func(extra ...string) []string { return append([]string{"admin"}, extra...) }
	paths := []struct {
		name, query string
		vars        map[string]any
		seenBy      []string
	}{
		{"node(id:) of the owner", `query($id: ID!) { node(id: $id) { ... on Owner { ` + who + ` } } }`,
			map[string]any{"id": e2eGlobalID("Owner", f.a.ID)}, sees("advisor.sz01", "crm.sz01")},
		{"owners(search:) by name", `query($q: String!) { owners(search: $q) { edges { node { ` + who + ` } } } }`,
			map[string]any{"q": f.a.Name}, sees("advisor.sz01", "crm.sz01")},
		{"owners(search:) by phone (walk-ins)", `query($q: String!) { owners(search: $q) { edges { node { ` + who + ` } } } }`,
			map[string]any{"q": f.a.Phone}, sees("advisor.sz01", "crm.sz01", "advisor.gz01", "manager.gz01")},
		{"Vehicle.owner", `query($id: ID!) { node(id: $id) { ... on Vehicle { owner { ` + who + ` } } } }`,
			map[string]any{"id": f.cars[0].ID}, sees("advisor.sz01", "crm.sz01")},
		{"RepairOrder.vehicle.owner", `query($id: ID!) { repairOrder(id: $id) { vehicle { owner { ` + who + ` } } } }`,
			map[string]any{"id": f.order}, sees("advisor.sz01", "crm.sz01")},
		{"Appointment.owner", `query($id: ID!) { node(id: $id) { ... on Appointment { owner { ` + who + ` } } } }`,
			map[string]any{"id": f.appointment}, sees("advisor.sz01", "crm.sz01")},
		{"the day's schedule", `query($s: ID!, $d: Date!) { appointments(storeId: $s, date: $d) { slots { appointments { owner { ` + who + ` } } } } }`,
			map[string]any{"s": f.sz, "d": f.apptDay}, sees("advisor.sz01", "crm.sz01")},
		{"AssistanceRequest.owner", `query($id: ID!) { node(id: $id) { ... on AssistanceRequest { owner { ` + who + ` } } } }`,
			map[string]any{"id": f.request}, sees("advisor.sz01", "crm.sz01")},
		{"Complaint.owner", `query($id: ID!) { node(id: $id) { ... on Complaint { owner { ` + who + ` } } } }`,
			map[string]any{"id": f.complaint}, sees("crm.sz01")},
		{"the owner's decision on an order's timeline", `query($id: ID!) { repairOrder(id: $id) { timeline { actorName } } }`,
			map[string]any{"id": f.delivered}, sees("advisor.sz01", "crm.sz01")},
	}
	callers := []string{"admin", "advisor.sz01", "crm.sz01", "technician1.sz01", "technician2.sz01", "advisor.gz01", "manager.gz01"}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			for _, c := range callers {
				r := f.do(t, req{Query: p.query, Vars: p.vars, Token: f.staff(t, c)})
				data := mustJSON(t, r.Data)
				got := strings.Contains(data, f.a.Phone) || strings.Contains(data, f.a.Name)
				if want := slices.Contains(p.seenBy, c); got != want {
					t.Errorf("%s: sees A = %v, want %v: %s", c, got, want, r.Raw)
				}
			}
			r := f.do(t, req{Query: p.query, Vars: p.vars, Token: f.screen})
			if r.Status != http.StatusUnauthorized || r.Data != nil {
				t.Errorf("screen token: (%d) %s", r.Status, r.Raw)
			}
		})
	}
}

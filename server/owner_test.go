package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// End-to-end tests of what an owner does with their own profile: read it
// (me, with vehicles paged) and change it (updateMyProfile), including every
// refusal, which must change nothing.

const (
	e2eProfileFields      = `id phone name birthday gender homeStore { code } marketingConsent weChatBound createdAt updatedAt`
	e2eUpdateMyProfileDoc = `mutation($in: UpdateMyProfileInput!) { updateMyProfile(input: $in) {
		owner { ` + e2eProfileFields + ` } userErrors { code field message } } }`
	e2eMyVehiclesDoc = `query($first: Int, $after: String) { me { vehicles(first: $first, after: $after) {
		totalCount edges { cursor node { id vin owner { phone } } }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`
)

// e2eInsertOwner adds an owner directly, as sign-in would, with a home store
// (by code; "" for none).
func e2eInsertOwner(t testing.TB, s *testServer, name, home string) *models.Owner {
	t.Helper()
	o := &models.Owner{ID: models.NewID(), Phone: e2ePhone(), Name: name}
	if home != "" {
		id := e2eStoreID(t, s, home)
		o.HomeStoreID = &id
	}
	if err := s.DB.Conn(context.Background()).Create(o).Error; err != nil {
		t.Fatal(err)
	}
	return o
}

// e2eInsertVehicle adds a vehicle of owner sold at store (by code).
func e2eInsertVehicle(t testing.TB, s *testServer, ownerID uuid.UUID, store string) *models.Vehicle {
	t.Helper()
	plate := e2ePlate()
	sold := e2eStoreID(t, s, store)
	v := &models.Vehicle{ID: models.NewID(), OwnerID: ownerID, VIN: e2eVIN(t), Plate: &plate, Brand: "Toyota",
		Model: "Corolla", ModelYear: 2024, Colour: "珍珠白", SellingStoreID: &sold, MileageKm: 1000}
	if err := s.DB.Conn(context.Background()).Create(v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

// e2eStoredOwner rereads an owner.
func e2eStoredOwner(t testing.TB, s *testServer, id uuid.UUID) models.Owner {
	t.Helper()
	var o models.Owner
	if err := s.DB.Conn(context.Background()).Where("id = ?", id).Take(&o).Error; err != nil {
		t.Fatal(err)
	}
	return o
}

func TestUpdateMyProfile(t *testing.T) {
	s := newTestServer(t)
	o := e2eInsertOwner(t, s, "", "SZ01")
	tok := s.ownerToken(t, o.ID)
	gz := e2eStoreNodeID(t, s, "GZ01")

	update := func(in map[string]any) map[string]any {
		t.Helper()
		p := e2ePayload(t, s.do(t, req{Query: e2eUpdateMyProfileDoc, Vars: map[string]any{"in": in}, Token: tok}), "updateMyProfile")
		if len(userErrorCodes(p)) != 0 {
			t.Fatalf("updateMyProfile(%v) refused: %v", in, p)
		}
		return dig(p, "owner").(map[string]any)
	}

	got := update(map[string]any{"name": "  王小明 ", "birthday": "1990-05-06", "gender": "FEMALE",
		"homeStoreId": gz, "marketingConsent": true})
	want := map[string]any{"name": "王小明", "birthday": "1990-05-06", "gender": "FEMALE", "marketingConsent": true, "phone": o.Phone}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("owner.%s = %v, want %v", k, got[k], w)
		}
	}
	if dig(got, "homeStore", "code") != "GZ01" {
		t.Errorf("homeStore = %v, want GZ01", dig(got, "homeStore"))
	}
	stored := e2eStoredOwner(t, s, o.ID)
	if !stored.MarketingConsent || stored.MarketingConsentAt == nil {
		t.Fatalf("consent stored as %v at %v", stored.MarketingConsent, stored.MarketingConsentAt)
	}

	// me shows the same profile.
	me := s.gql(t, tok, `{ me { `+e2eProfileFields+` } }`, nil)
	for k, w := range want {
		if dig(me, "me", k) != w {
			t.Errorf("me.%s = %v, want %v", k, dig(me, "me", k), w)
		}
	}

	// Omitted fields stay as they are.
	got = update(map[string]any{"gender": "MALE"})
	if got["name"] != "王小明" || got["birthday"] != "1990-05-06" || got["gender"] != "MALE" ||
		dig(got, "homeStore", "code") != "GZ01" || got["marketingConsent"] != true {
		t.Fatalf("partial update: %v", got)
	}
	got = update(map[string]any{"marketingConsent": false})
	if got["marketingConsent"] != false || got["name"] != "王小明" {
		t.Fatalf("withdrawing consent: %v", got)
	}
	if stored := e2eStoredOwner(t, s, o.ID); stored.MarketingConsent {
		t.Fatal("consent still stored")
	}
}

// Every refusal of updateMyProfile is typed, names its field and changes
// nothing.
func TestUpdateMyProfileValidation(t *testing.T) {
	s := newTestServer(t)
	o := e2eInsertOwner(t, s, "李雷", "SZ01")
	tok := s.ownerToken(t, o.ID)
	before := e2eStoredOwner(t, s, o.ID)
	unchanged := func(t *testing.T) {
		t.Helper()
		after := e2eStoredOwner(t, s, o.ID)
		if after.Name != before.Name || after.Birthday != nil || after.Gender != nil ||
			*after.HomeStoreID != *before.HomeStoreID || after.MarketingConsent || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("refused update changed the owner: %+v -> %+v", before, after)
		}
	}
	missingStore := e2eGlobalID("Store", models.NewID())
	myID := dig(s.gql(t, tok, `{ me { id } }`, nil), "me", "id")

	for _, c := range []struct {
		name, field string
		in          map[string]any
	}{
		{"birthday in the future", "birthday", map[string]any{"birthday": testdb.Today().AddDate(0, 0, 2).String(), "name": "韩梅梅"}},
		{"birthday before 1900", "birthday", map[string]any{"birthday": "1899-12-31"}},
		{"empty name", "name", map[string]any{"name": "   ", "marketingConsent": true}},
		{"name too long", "name", map[string]any{"name": strings.Repeat("名", 41)}},
		{"name with control characters", "name", map[string]any{"name": "李\x07雷"}},
		{"no such store", "homeStoreId", map[string]any{"homeStoreId": missingStore, "gender": "MALE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, req{Query: e2eUpdateMyProfileDoc, Vars: map[string]any{"in": c.in}, Token: tok})
			p := e2ePayload(t, r, "updateMyProfile")
			e2eWantUserError(t, p, "INVALID_ARGUMENT", "input", c.field)
			if dig(p, "owner") != nil {
				t.Fatalf("refused update returned the owner: %v", p)
			}
			unchanged(t)
		})
	}
	for _, c := range []struct {
		name string
		in   map[string]any
	}{
		{"Date 2024-13-01", map[string]any{"birthday": "2024-13-01", "name": "韩梅梅"}},
		{"Date 1990-02-30", map[string]any{"birthday": "1990-02-30"}},
		{"malformed store id", map[string]any{"homeStoreId": "bm90LWFuLWlk", "name": "韩梅梅"}},
		{"an owner's id as store id", map[string]any{"homeStoreId": myID}},
		{"unknown gender", map[string]any{"gender": "OTHER"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, req{Query: e2eUpdateMyProfileDoc, Vars: map[string]any{"in": c.in}, Token: tok})
			want := "INVALID_ARGUMENT"
			if c.name == "unknown gender" {
				want = "GRAPHQL_VALIDATION_FAILED" // an enum value is checked with the variables, before execution
			}
			if r.Code() != want {
				t.Fatalf("want %s, got (%d) %s", want, r.Status, r.Raw)
			}
			if dig(r.Data, "updateMyProfile") != nil {
				t.Fatalf("payload despite the error: %s", r.Raw)
			}
			unchanged(t)
		})
	}
	// The Date scalar refuses a bad literal in the document too.
	r := s.do(t, req{Query: `mutation { updateMyProfile(input: {birthday: "2024-13-01"}) { owner { id } } }`, Token: tok})
	e2eWantGQLError(t, r, "INVALID_ARGUMENT")
	unchanged(t)
}

func TestMeVehiclesPaging(t *testing.T) {
	s := newTestServer(t)
	o := e2eInsertOwner(t, s, "韩梅梅", "GZ01")
	var want []string
	for range 3 {
		want = append(want, e2eInsertVehicle(t, s, o.ID, "GZ01").VIN)
	}
	e2eInsertVehicle(t, s, e2eInsertOwner(t, s, "别人", "GZ01").ID, "GZ01") // not hers
	tok := s.ownerToken(t, o.ID)

	var got []string
	var after any
	for page := 0; ; page++ {
		d := s.gql(t, tok, e2eMyVehiclesDoc, map[string]any{"first": 1, "after": after})
		conn := dig(d, "me", "vehicles")
		edges, _ := dig(conn, "edges").([]any)
		if len(edges) != 1 || dig(conn, "totalCount") != float64(3) {
			t.Fatalf("page %d: %v", page, conn)
		}
		if dig(conn, "pageInfo", "hasPreviousPage") != (page > 0) ||
			dig(conn, "pageInfo", "endCursor") != dig(edges, 0, "cursor") {
			t.Fatalf("page %d pageInfo: %v", page, dig(conn, "pageInfo"))
		}
		if dig(edges, 0, "node", "owner", "phone") != o.Phone {
			t.Fatalf("page %d: another owner's vehicle %v", page, edges[0])
		}
		got = append(got, dig(edges, 0, "node", "vin").(string))
		after = dig(conn, "pageInfo", "endCursor")
		if dig(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged VINs %v, want %v (in registration order)", got, want)
	}

	// The default page holds them all; past the end is an empty page.
	d := s.gql(t, tok, e2eMyVehiclesDoc, nil)
	if edges, _ := dig(d, "me", "vehicles", "edges").([]any); len(edges) != 3 ||
		dig(d, "me", "vehicles", "pageInfo", "hasNextPage") != false {
		t.Fatalf("default page: %v", dig(d, "me", "vehicles"))
	}
	vehicleID := dig(d, "me", "vehicles", "edges", 0, "node", "id")
	d = s.gql(t, tok, e2eMyVehiclesDoc, map[string]any{"first": 5, "after": after})
	if edges, _ := dig(d, "me", "vehicles", "edges").([]any); len(edges) != 0 ||
		dig(d, "me", "vehicles", "pageInfo", "hasNextPage") != false {
		t.Fatalf("after the last: %v", dig(d, "me", "vehicles"))
	}

	for name, vars := range map[string]map[string]any{
		"first 0":          {"first": 0},
		"first 101":        {"first": 101},
		"malformed cursor": {"first": 1, "after": "nope"},
		"an id as cursor":  {"first": 1, "after": vehicleID},
	} {
		r := s.do(t, req{Query: e2eMyVehiclesDoc, Vars: vars, Token: tok})
		if r.Code() != "INVALID_ARGUMENT" {
			t.Fatalf("%s: want INVALID_ARGUMENT, got (%d) %s", name, r.Status, r.Raw)
		}
	}
}

// e2eStoreNodeID finds a store's global id through the public stores list.
func e2eStoreNodeID(t testing.TB, s *testServer, code string) string {
	t.Helper()
	d := s.gql(t, "", `{ stores(first: 100) { edges { node { id code } } } }`, nil)
	for _, e := range dig(d, "stores", "edges").([]any) {
		if dig(e, "node", "code") == code {
			return dig(e, "node", "id").(string)
		}
	}
	t.Fatalf("no store %s", code)
	return ""
}

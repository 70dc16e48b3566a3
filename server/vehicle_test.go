package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// End-to-end tests of vehicles: registration at new-car delivery (which
// creates the owner by phone), updates, validation refusals that write
// nothing, and the VIN's uniqueness under concurrency.

const e2eVehicleFields = `id vin plate brand model modelYear colour purchaseDate
	sellingStore { code } warrantyEndDate warrantyEndKm insuranceExpiry inspectionDue
	mileageKm mileageReadAt owner { id phone name }`

const (
	e2eRegisterDoc = `mutation($in: RegisterVehicleInput!) { registerVehicle(input: $in) {
		vehicle { ` + e2eVehicleFields + ` }
		owner { id phone name homeStore { code } }
		userErrors { code field message } } }`
	e2eUpdateVehicleDoc = `mutation($in: UpdateVehicleInput!) { updateVehicle(input: $in) {
		vehicle { ` + e2eVehicleFields + ` }
		userErrors { code field message } } }`
)

// e2eRegistration is a valid RegisterVehicleInput for a fresh phone, VIN and
// plate; change fields to make it invalid.
func e2eRegistration(t testing.TB) map[string]any {
	t.Helper()
	purchase := testdb.Today().AddDate(0, 0, -1)
	return map[string]any{
		"ownerPhone":      e2ePhone(),
		"ownerName":       "测试车主",
		"vin":             e2eVIN(t),
		"plate":           e2ePlate(),
		"brand":           "Toyota",
		"model":           "Camry",
		"modelYear":       purchase.Year,
		"colour":          "珍珠白",
		"purchaseDate":    purchase.String(),
		"warrantyEndDate": purchase.AddDate(3, 0, 0).String(),
		"warrantyEndKm":   100000,
		"insuranceExpiry": testdb.Today().AddDate(1, 0, 0).String(),
		"inspectionDue":   testdb.Today().AddDate(2, 0, 0).String(),
		"mileageKm":       12,
	}
}

// e2eRegister registers a vehicle that must be accepted and returns the
// payload.
func e2eRegister(t testing.TB, s *testServer, staffToken string, in map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: staffToken}), "registerVehicle")
	if len(userErrorCodes(p)) != 0 || dig(p, "vehicle", "id") == nil {
		t.Fatalf("registerVehicle refused: %v", p)
	}
	return p
}

// e2eNothingWritten checks that a refused registration left no trace: no
// owner for its phone, no vehicle with its VIN or plate.
func e2eNothingWritten(t testing.TB, s *testServer, in map[string]any) {
	t.Helper()
	if phone, err := e2eE164(in["ownerPhone"]); err == nil {
		if n := e2eCount(t, s, &models.Owner{}, "phone = ?", phone); n != 0 {
			t.Fatalf("refused registration created the owner %s", phone)
		}
	}
	if vin, _ := in["vin"].(string); vin != "" {
		if n := e2eCount(t, s, &models.Vehicle{}, "vin = ?", strings.ToUpper(vin)); n != 0 {
			t.Fatalf("refused registration wrote the VIN %s", vin)
		}
	}
	if plate, _ := in["plate"].(string); plate != "" {
		if n := e2eCount(t, s, &models.Vehicle{}, "plate = ?", plate); n != 0 {
			t.Fatalf("refused registration wrote the plate %s", plate)
		}
	}
}

func e2eE164(v any) (string, error) {
	s, _ := v.(string)
	if !strings.HasPrefix(s, "+86139") {
		return "", fmt.Errorf("not a test phone: %q", s)
	}
	return s, nil
}

// At new-car delivery the advisor registers the car with the owner's phone;
// the owner then signs in with that phone and finds the car.
func TestRegisterVehicleCreatesOwnerWhoSignsIn(t *testing.T) {
	s := newE2EServer(t)
	advisor := s.staffToken(t, "advisor.sz01")
	in := e2eRegistration(t)
	phone := in["ownerPhone"].(string)
	plate := in["plate"].(string)
	national := strings.TrimPrefix(phone, "+86")
	in["ownerPhone"] = national[:3] + "-" + national[3:7] + "-" + national[7:] // as typed at the counter
	in["plate"] = e2eSpaced(plate, "·")
	in["vin"] = strings.ToLower(in["vin"].(string))
	in["ownerName"] = "  陈小春 "

	p := e2eRegister(t, s.testServer, advisor, in)
	v := dig(p, "vehicle").(map[string]any)
	want := map[string]any{
		"vin": strings.ToUpper(in["vin"].(string)), "plate": plate, "brand": "Toyota", "model": "Camry",
		"modelYear": float64(in["modelYear"].(int)), "colour": "珍珠白", "purchaseDate": in["purchaseDate"],
		"warrantyEndDate": in["warrantyEndDate"], "warrantyEndKm": float64(100000),
		"insuranceExpiry": in["insuranceExpiry"], "inspectionDue": in["inspectionDue"], "mileageKm": float64(12),
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("vehicle.%s = %v, want %v", k, v[k], w)
		}
	}
	if dig(v, "sellingStore", "code") != "SZ01" || dig(v, "mileageReadAt") == nil {
		t.Errorf("vehicle: %v", v)
	}
	if dig(p, "owner", "phone") != phone || dig(p, "owner", "name") != "陈小春" || dig(p, "owner", "homeStore", "code") != "SZ01" {
		t.Fatalf("new owner: %v", dig(p, "owner"))
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 1 {
		t.Fatalf("%d owners with the phone", n)
	}

	// A second car for the same phone joins the same owner, whose name stays.
	in2 := e2eRegistration(t)
	in2["ownerPhone"], in2["ownerName"] = phone, "别的名字"
	p2 := e2eRegister(t, s.testServer, advisor, in2)
	if dig(p2, "owner", "id") != dig(p, "owner", "id") || dig(p2, "owner", "name") != "陈小春" {
		t.Fatalf("second registration's owner: %v", dig(p2, "owner"))
	}

	// The owner signs in by SMS: the same owner, with both cars.
	sess := s.signIn(t, phone)
	if sess.OwnerID != dig(p, "owner", "id") {
		t.Fatalf("signed in as %s, registered owner is %v", sess.OwnerID, dig(p, "owner", "id"))
	}
	me := s.call(t, sess.Access, e2eMeDoc, nil)
	var got []string
	for _, e := range dig(me.Data, "me", "vehicles", "edges").([]any) {
		got = append(got, dig(e, "node", "vin").(string))
	}
	wantVINs := []string{strings.ToUpper(in["vin"].(string)), in2["vin"].(string)}
	if !slices.Equal(got, wantVINs) || dig(me.Data, "me", "vehicles", "totalCount") != float64(2) {
		t.Fatalf("me.vehicles = %v, want %v: %s", got, wantVINs, me.Raw)
	}
	if n := e2eCount(t, s.testServer, &models.Owner{}, "phone = ?", phone); n != 1 {
		t.Fatalf("signing in created another owner (%d)", n)
	}
}

// Each validation refusal is a typed userError on its input field, and
// nothing is written: not the vehicle, not the new owner.
func TestRegisterVehicleValidation(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")

	taken := e2eRegister(t, s, advisor, e2eRegistration(t))
	takenVIN := dig(taken, "vehicle", "vin").(string)
	takenPlate := dig(taken, "vehicle", "plate").(string)

	swapAt := func(vin string, i int, c byte) string { b := []byte(vin); b[i] = c; return string(b) }
	cases := []struct {
		name, code, field string
		change            func(in map[string]any)
	}{
		{"wrong check digit", "INVALID_VIN", "vin", func(in map[string]any) {
			vin := in["vin"].(string)
			c := byte('0')
			if vin[8] == '0' {
				c = '1'
			}
			in["vin"] = swapAt(vin, 8, c)
		}},
		{"letter I", "INVALID_VIN", "vin", func(in map[string]any) { in["vin"] = swapAt(in["vin"].(string), 3, 'I') }},
		{"letter O", "INVALID_VIN", "vin", func(in map[string]any) { in["vin"] = swapAt(in["vin"].(string), 4, 'O') }},
		{"letter Q", "INVALID_VIN", "vin", func(in map[string]any) { in["vin"] = swapAt(in["vin"].(string), 12, 'Q') }},
		{"16 characters", "INVALID_VIN", "vin", func(in map[string]any) { in["vin"] = in["vin"].(string)[:16] }},
		{"18 characters", "INVALID_VIN", "vin", func(in map[string]any) { in["vin"] = in["vin"].(string) + "1" }},
		{"plate too short", "INVALID_PLATE", "plate", func(in map[string]any) { in["plate"] = "粤B1234" }},
		{"plate province", "INVALID_PLATE", "plate", func(in map[string]any) { in["plate"] = "XB12345" }},
		{"plate letter O", "INVALID_PLATE", "plate", func(in map[string]any) { in["plate"] = "粤O12345" }},
		{"phone", "INVALID_PHONE", "ownerPhone", func(in map[string]any) { in["ownerPhone"] = "12345" }},
		{"landline", "INVALID_PHONE", "ownerPhone", func(in map[string]any) { in["ownerPhone"] = "020-38886600" }},
		{"model year 1900", "INVALID_ARGUMENT", "modelYear", func(in map[string]any) { in["modelYear"] = 1900 }},
		{"model year far ahead", "INVALID_ARGUMENT", "modelYear", func(in map[string]any) { in["modelYear"] = testdb.Today().Year + 5 }},
		{"no brand", "INVALID_ARGUMENT", "brand", func(in map[string]any) { in["brand"] = "  " }},
		{"negative mileage", "INVALID_ARGUMENT", "mileageKm", func(in map[string]any) { in["mileageKm"] = -1 }},
		{"purchase in the future", "INVALID_ARGUMENT", "purchaseDate", func(in map[string]any) {
			in["purchaseDate"] = testdb.Today().AddDate(0, 0, 2).String()
		}},
		{"warranty ends before purchase", "INVALID_ARGUMENT", "warrantyEndDate", func(in map[string]any) {
			in["warrantyEndDate"] = testdb.Today().AddDate(-2, 0, 0).String()
		}},
		{"duplicate VIN", "VIN_ALREADY_REGISTERED", "vin", func(in map[string]any) { in["vin"] = strings.ToLower(takenVIN) }},
		{"duplicate plate", "PLATE_ALREADY_REGISTERED", "plate", func(in map[string]any) {
			in["plate"] = e2eSpaced(takenPlate, " ")
		}},
		{"demo car's plate", "PLATE_ALREADY_REGISTERED", "plate", func(in map[string]any) { in["plate"] = "粤B6R8M2" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := e2eRegistration(t)
			c.change(in)
			r := s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: advisor})
			p := e2ePayload(t, r, "registerVehicle")
			e2eWantUserError(t, p, c.code, "input", c.field)
			if dig(p, "vehicle") != nil || dig(p, "owner") != nil {
				t.Fatalf("refused registration returned objects: %v", p)
			}
			check := in
			switch c.code {
			case "VIN_ALREADY_REGISTERED":
				check = map[string]any{"ownerPhone": in["ownerPhone"], "plate": in["plate"]}
				if n := e2eCount(t, s, &models.Vehicle{}, "vin = ?", takenVIN); n != 1 {
					t.Fatalf("%d vehicles with the VIN", n)
				}
			case "PLATE_ALREADY_REGISTERED":
				check = map[string]any{"ownerPhone": in["ownerPhone"], "vin": in["vin"]}
			}
			e2eNothingWritten(t, s, check)
		})
	}
}

// Bad input the schema's types refuse is an INVALID_ARGUMENT GraphQL error,
// and nothing is written either.
func TestRegisterVehicleRefusedByTheTypes(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")
	for name, change := range map[string]func(map[string]any){
		"month 13":           func(in map[string]any) { in["purchaseDate"] = "2024-13-01" },
		"not a date":         func(in map[string]any) { in["insuranceExpiry"] = "next year" },
		"malformed store id": func(in map[string]any) { in["sellingStoreId"] = "not-an-id" },
	} {
		t.Run(name, func(t *testing.T) {
			in := e2eRegistration(t)
			change(in)
			r := s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: advisor})
			e2eWantGQLError(t, r, "INVALID_ARGUMENT")
			if dig(r.Data, "registerVehicle") != nil {
				t.Fatalf("data with an INVALID_ARGUMENT error: %s", r.Raw)
			}
			e2eNothingWritten(t, s, in)
		})
	}
	// A Date literal in the document is checked the same way.
	in := e2eRegistration(t)
	doc := fmt.Sprintf(`mutation { registerVehicle(input: {ownerPhone: %q, vin: %q, brand: "Toyota", model: "Camry",
		modelYear: %d, purchaseDate: "2024-13-01"}) { vehicle { id } userErrors { code } } }`,
		in["ownerPhone"], in["vin"], in["modelYear"])
	r := s.do(t, req{Query: doc, Token: advisor})
	e2eWantGQLError(t, r, "INVALID_ARGUMENT")
	e2eNothingWritten(t, s, map[string]any{"ownerPhone": in["ownerPhone"], "vin": in["vin"]})
}

func TestUpdateVehicle(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")
	in := e2eRegistration(t)
	in["mileageKm"] = 1000
	reg := e2eRegister(t, s, advisor, in)
	id := dig(reg, "vehicle", "id").(string)
	readAt0 := e2eTime(t, dig(reg, "vehicle", "mileageReadAt"))
	other := e2eRegister(t, s, advisor, e2eRegistration(t))
	otherPlate := dig(other, "vehicle", "plate").(string)

	update := func(t *testing.T, fields map[string]any) map[string]any {
		t.Helper()
		fields["vehicleId"] = id
		return e2ePayload(t, s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": fields}, Token: advisor}), "updateVehicle")
	}
	stored := func(t *testing.T) models.Vehicle {
		t.Helper()
		var v models.Vehicle
		if err := s.DB.Conn(t.Context()).Where("vin = ?", in["vin"]).Take(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}

	time.Sleep(2 * time.Millisecond) // so that a new reading has a later time
	p := update(t, map[string]any{"mileageKm": 1500})
	if len(userErrorCodes(p)) != 0 || dig(p, "vehicle", "mileageKm") != float64(1500) {
		t.Fatalf("mileage forward: %v", p)
	}
	readAt1 := e2eTime(t, dig(p, "vehicle", "mileageReadAt"))
	if !readAt1.After(readAt0) {
		t.Fatalf("mileageReadAt %v did not move past %v", readAt1, readAt0)
	}
	// The same reading again is no decrease.
	if p := update(t, map[string]any{"mileageKm": 1500}); len(userErrorCodes(p)) != 0 {
		t.Fatalf("same reading refused: %v", p)
	}

	newPlate := e2ePlate()
	p = update(t, map[string]any{"plate": e2eSpaced(newPlate, "·"),
		"colour": "极光蓝", "insuranceExpiry": testdb.Today().AddDate(0, 6, 0).String(), "warrantyEndKm": 150000})
	if len(userErrorCodes(p)) != 0 || dig(p, "vehicle", "plate") != newPlate || dig(p, "vehicle", "colour") != "极光蓝" ||
		dig(p, "vehicle", "warrantyEndKm") != float64(150000) || dig(p, "vehicle", "mileageKm") != float64(1500) {
		t.Fatalf("plate change: %v", p)
	}
	if v := stored(t); v.Plate == nil || *v.Plate != newPlate || v.Colour != "极光蓝" {
		t.Fatalf("stored plate %v colour %q", v.Plate, v.Colour)
	}

	// Refusals change nothing.
	before := stored(t)
	for _, c := range []struct {
		name, code, field string
		fields            map[string]any
	}{
		{"mileage backwards", "MILEAGE_DECREASED", "mileageKm", map[string]any{"mileageKm": 1200, "colour": "曜石黑"}},
		{"taken plate", "PLATE_ALREADY_REGISTERED", "plate", map[string]any{"plate": otherPlate, "colour": "曜石黑"}},
		{"bad plate", "INVALID_PLATE", "plate", map[string]any{"plate": "粤B12"}},
		{"absurd mileage", "INVALID_ARGUMENT", "mileageKm", map[string]any{"mileageKm": 2_000_001}},
		{"insurance far ahead", "INVALID_ARGUMENT", "insuranceExpiry", map[string]any{"insuranceExpiry": testdb.Today().AddDate(5, 0, 0).String()}},
		{"warranty before purchase", "INVALID_ARGUMENT", "warrantyEndDate", map[string]any{"warrantyEndDate": "2001-01-01"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := update(t, c.fields)
			e2eWantUserError(t, p, c.code, "input", c.field)
			if dig(p, "vehicle") != nil {
				t.Fatalf("refused update returned the vehicle: %v", p)
			}
			after := stored(t)
			if after.MileageKm != before.MileageKm || !after.MileageReadAt.Equal(*before.MileageReadAt) ||
				*after.Plate != *before.Plate || after.Colour != before.Colour || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("refused update changed the vehicle: %+v -> %+v", before, after)
			}
		})
	}
	if n := e2eCount(t, s, &models.Vehicle{}, "plate = ?", otherPlate); n != 1 {
		t.Fatalf("%d vehicles with the other plate", n)
	}

	for name, fields := range map[string]map[string]any{
		"malformed id":     {"vehicleId": "not-an-id", "mileageKm": 9000},
		"owner id":         {"vehicleId": dig(reg, "owner", "id"), "mileageKm": 9000},
		"Date 2024-13-01":  {"vehicleId": id, "inspectionDue": "2024-13-01"},
		"Date with a time": {"vehicleId": id, "inspectionDue": "2027-01-01T00:00:00Z"},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": fields}, Token: advisor})
			e2eWantGQLError(t, r, "INVALID_ARGUMENT")
			if after := stored(t); after.MileageKm != before.MileageKm || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("refused update changed the vehicle")
			}
		})
	}

	// An empty plate takes the plate off (the car is being re-registered).
	p = update(t, map[string]any{"plate": ""})
	if len(userErrorCodes(p)) != 0 || dig(p, "vehicle") == nil || dig(p, "vehicle", "plate") != nil {
		t.Fatalf("removing the plate: %v", p)
	}
}

// Of 10 concurrent registrations of one VIN exactly one succeeds; the
// others are refused and create no owner.
func TestRegisterVehicleConcurrentSameVIN(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")
	vin := e2eVIN(t)
	const n = 10
	inputs := make([]map[string]any, n)
	for i := range inputs {
		inputs[i] = e2eRegistration(t)
		inputs[i]["vin"] = vin
	}
	results := e2eConcurrently(n, func(i int) *gqlResponse {
		return s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": inputs[i]}, Token: advisor})
	})
	won, dup := -1, 0
	for i, r := range results {
		p := e2ePayload(t, r, "registerVehicle")
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && dig(p, "vehicle", "vin") == vin:
			if won >= 0 {
				t.Fatalf("two registrations of %s succeeded", vin)
			}
			won = i
		case slices.Equal(codes, []string{"VIN_ALREADY_REGISTERED"}):
			dup++
		default:
			t.Fatalf("unexpected result %v", p)
		}
	}
	if won < 0 || dup != n-1 {
		t.Fatalf("winner %d, %d VIN_ALREADY_REGISTERED; want one winner and %d", won, dup, n-1)
	}
	if c := e2eCount(t, s, &models.Vehicle{}, "vin = ?", vin); c != 1 {
		t.Fatalf("%d vehicles with the VIN", c)
	}
	for i, in := range inputs {
		want := int64(0)
		if i == won {
			want = 1
		}
		if c := e2eCount(t, s, &models.Owner{}, "phone = ?", in["ownerPhone"]); c != want {
			t.Fatalf("owner of registration %d: %d rows, want %d", i, c, want)
		}
		if c := e2eCount(t, s, &models.Vehicle{}, "plate = ?", in["plate"]); c != want {
			t.Fatalf("plate of registration %d: %d rows, want %d", i, c, want)
		}
	}
}

// Concurrent registrations of different cars for one new phone create one
// owner with all the cars.
func TestRegisterVehicleConcurrentSameNewOwner(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")
	phone := e2ePhone()
	const n = 8
	inputs := make([]map[string]any, n)
	for i := range inputs {
		inputs[i] = e2eRegistration(t)
		inputs[i]["ownerPhone"] = phone
	}
	results := e2eConcurrently(n, func(i int) *gqlResponse {
		return s.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": inputs[i]}, Token: advisor})
	})
	owners := map[any]bool{}
	for _, r := range results {
		p := e2ePayload(t, r, "registerVehicle")
		if len(userErrorCodes(p)) != 0 {
			t.Fatalf("registration refused: %v", p)
		}
		owners[dig(p, "owner", "id")] = true
	}
	if len(owners) != 1 {
		t.Fatalf("registrations went to %d owners, want 1", len(owners))
	}
	o := s.ownerByPhone(t, phone)
	if c := e2eCount(t, s, &models.Owner{}, "phone = ?", phone); c != 1 {
		t.Fatalf("%d owners with the phone", c)
	}
	if c := e2eCount(t, s, &models.Vehicle{}, "owner_id = ?", o.ID); c != n {
		t.Fatalf("owner has %d vehicles, want %d", c, n)
	}
}

// An owner who signed in before buying gets the name and home store the
// advisor enters; one who has them keeps them.
func TestRegisterVehicleCompletesSignedInOwner(t *testing.T) {
	s := newE2EServer(t)
	phone := e2ePhone()
	sess := s.signIn(t, phone) // created nameless, with no home store
	in := e2eRegistration(t)
	in["ownerPhone"], in["ownerName"] = phone, "周小燕"
	p := e2eRegister(t, s.testServer, e2eStaffToken(t, s.testServer, "advisor.sz01"), in)
	if dig(p, "owner", "id") != sess.OwnerID || dig(p, "owner", "name") != "周小燕" || dig(p, "owner", "homeStore", "code") != "SZ01" {
		t.Fatalf("owner after registration: %v", dig(p, "owner"))
	}
	me := s.call(t, sess.Access, `{ me { name homeStore { code } vehicles { edges { node { vin } } } } }`, nil)
	if dig(me.Data, "me", "name") != "周小燕" || dig(me.Data, "me", "vehicles", "edges", 0, "node", "vin") != in["vin"] {
		t.Fatalf("me after registration: %s", me.Raw)
	}
}

// Concurrent updates of one car are applied one after another: the odometer
// never goes backwards and no change is lost.
func TestUpdateVehicleConcurrentNoLostUpdate(t *testing.T) {
	s := newTestServer(t)
	advisor := e2eStaffToken(t, s, "advisor.sz01")
	in := e2eRegistration(t)
	in["mileageKm"] = 1000
	id := dig(e2eRegister(t, s, advisor, in), "vehicle", "id").(string)
	const n = 10
	results := e2eConcurrently(n+1, func(i int) *gqlResponse {
		fields := map[string]any{"vehicleId": id, "mileageKm": 1100 + i*100}
		if i == n {
			fields = map[string]any{"vehicleId": id, "colour": "极光蓝"}
		}
		return s.do(t, req{Query: e2eUpdateVehicleDoc, Vars: map[string]any{"in": fields}, Token: advisor})
	})
	for i, r := range results {
		p := e2ePayload(t, r, "updateVehicle")
		codes := userErrorCodes(p)
		if len(codes) != 0 && !(i < n && slices.Equal(codes, []string{"MILEAGE_DECREASED"})) {
			t.Fatalf("update %d: %v", i, p)
		}
	}
	var v models.Vehicle
	if err := s.DB.Conn(t.Context()).Where("vin = ?", in["vin"]).Take(&v).Error; err != nil {
		t.Fatal(err)
	}
	if v.MileageKm != 1100+(n-1)*100 || v.Colour != "极光蓝" {
		t.Fatalf("after concurrent updates: mileage %d, colour %q; want %d and 极光蓝", v.MileageKm, v.Colour, 1100+(n-1)*100)
	}
}

// e2eTime parses a DateTime.
func e2eTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("DateTime %v: %v", v, err)
	}
	return at
}

// e2eSpaced writes a plate as printed, with a separator after the issuing
// authority ("粤B·12345").
func e2eSpaced(plate, sep string) string {
	r := []rune(plate)
	return string(r[:2]) + sep + string(r[2:])
}

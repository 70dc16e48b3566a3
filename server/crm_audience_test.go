package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Audiences: counts checked against a brute-force reading of generated
// owners, and saved audiences under the store rule.

// auOwner is a generated owner as the brute force reads them.
type auOwner struct {
	consent   bool
	tier      wallet.Tier
	segment   crm.Segment
	risk      *crm.Risk
	lastVisit *time.Time
	cars      []*models.Vehicle
	id        uuid.UUID
	// deleted: the account was deleted after the segments job wrote the
	// owner's row (the row is still there): in no audience.
	deleted bool
}

var auModels = []string{"Camry", "Corolla", "bZ4X", "RAV4"}

// auWorld makes a store of its own with n generated owners (their segment
// rows written as the job would), and returns the store and the owners.
func auWorld(t *testing.T, f *wkFixture, n int, rng *rand.Rand) (*models.Store, []*auOwner) {
	t.Helper()
	ctx := context.Background()
	conn := f.DB.Conn(ctx)
	seq := e2eNext()
	store := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("AU%d", seq%100000), Name: "受众测试店", City: "深圳",
		Address: "测试路 1 号", Phone: "0755-0000000", Timezone: "Asia/Shanghai", ServiceBays: 2, SlotMinutes: 30}
	must(t, conn.Create(store).Error)
	for wd := range 7 {
		must(t, conn.Create(&models.StoreHours{StoreID: store.ID, Weekday: wd, Opens: "09:00", Closes: "18:00"}).Error)
	}
	today := models.ChinaDate(time.Now())
	day := func(d int) *models.Date { v := today.AddDate(0, 0, d); return &v }
	var out []*auOwner
	for i := range n {
		o := &auOwner{id: models.NewID(), consent: rng.IntN(2) == 0, tier: wallet.Tiers[rng.IntN(len(wallet.Tiers))], segment: crm.Segments[rng.IntN(len(crm.Segments))]}
		owner := &models.Owner{ID: o.id, Phone: e2ePhone(), Name: fmt.Sprintf("受众%d", i), HomeStoreID: &store.ID, MarketingConsent: o.consent}
		must(t, conn.Create(owner).Error)
		must(t, conn.Exec(`UPDATE membership_accounts SET tier = ? WHERE owner_id = ?`, o.tier, owner.ID).Error)
		for range rng.IntN(3) {
			plate := e2ePlate()
			v := &models.Vehicle{ID: models.NewID(), OwnerID: owner.ID, VIN: e2eVIN(t), Plate: &plate, Brand: "Toyota",
				Model: auModels[rng.IntN(len(auModels))], ModelYear: 2014 + rng.IntN(12), Colour: "白", MileageKm: 1000}
			if rng.IntN(4) > 0 {
				v.PurchaseDate = day(-rng.IntN(12 * 365))
			}
			if rng.IntN(3) > 0 {
				v.InsuranceExpiry = day(rng.IntN(500) - 60)
			}
			if rng.IntN(3) > 0 {
				v.InspectionDue = day(rng.IntN(500) - 60)
			}
			must(t, conn.Create(v).Error)
			o.cars = append(o.cars, v)
		}
		row := &crm.OwnerSegment{OwnerID: owner.ID, StoreID: &store.ID, Segment: o.segment, WindowMonths: 24, ComputedAt: time.Now()}
		if len(o.cars) > 0 {
			r := crm.Risks()[rng.IntN(3)]
			o.risk, row.ChurnRisk = &r, &r
			days, due := 120, time.Now()
			row.UsualIntervalDays, row.DueBy = &days, &due
		}
		if rng.IntN(5) > 0 {
			at := time.Now().Add(-time.Duration(rng.IntN(900*24)) * time.Hour)
			o.lastVisit, row.LastVisitAt = &at, &at
		}
		must(t, conn.Create(row).Error)
		out = append(out, o)
	}
	return store, out
}

// auMatches is the filter's meaning, written out plainly.
func auMatches(o *auOwner, f crm.Filter, today models.Date) bool {
	if o.deleted {
		return false
	}
	if len(f.Segments) > 0 && !slices.Contains(f.Segments, o.segment) {
		return false
	}
	if len(f.ChurnRisks) > 0 && (o.risk == nil || !slices.Contains(f.ChurnRisks, *o.risk)) {
		return false
	}
	if len(f.Tiers) > 0 && !slices.Contains(f.Tiers, o.tier) {
		return false
	}
	if f.MarketingConsent != nil && o.consent != *f.MarketingConsent {
		return false
	}
	midnight := func(d models.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, models.ChinaTime) }
	if f.LastVisitBefore != nil && o.lastVisit != nil && !o.lastVisit.Before(midnight(*f.LastVisitBefore)) {
		return false
	}
	if f.LastVisitAfter != nil && (o.lastVisit == nil || o.lastVisit.Before(midnight(*f.LastVisitAfter))) {
		return false
	}
	carConditions := len(f.Models) > 0 || f.ModelYearFrom != nil || f.ModelYearTo != nil || f.CarAgeMinYears != nil ||
		f.CarAgeMaxYears != nil || f.InsuranceDueWithinDays != nil || f.InspectionDueWithinDays != nil
	if !carConditions {
		return true
	}
	within := func(d *models.Date, n *int) bool {
		return n == nil || (d != nil && !d.Before(today) && !today.AddDate(0, 0, *n).Before(*d))
	}
	for _, v := range o.cars {
		age := -1
		if v.PurchaseDate != nil {
			for age = 0; !today.Before(v.PurchaseDate.AddDate(age+1, 0, 0)); age++ {
			}
		}
		if (len(f.Models) == 0 || slices.Contains(f.Models, v.Model)) &&
			(f.ModelYearFrom == nil || v.ModelYear >= *f.ModelYearFrom) && (f.ModelYearTo == nil || v.ModelYear <= *f.ModelYearTo) &&
			(f.CarAgeMinYears == nil || (age >= 0 && age >= *f.CarAgeMinYears)) &&
			(f.CarAgeMaxYears == nil || (age >= 0 && age <= *f.CarAgeMaxYears)) &&
			within(v.InsuranceExpiry, f.InsuranceDueWithinDays) && within(v.InspectionDue, f.InspectionDueWithinDays) {
			return true
		}
	}
	return false
}

// auFilter is a random filter: a few conditions at a time.
func auFilter(rng *rand.Rand, today models.Date) crm.Filter {
	var f crm.Filter
	n := func(lo, hi int) *int { v := lo + rng.IntN(hi-lo+1); return &v }
	for range 1 + rng.IntN(3) {
		switch rng.IntN(10) {
		case 0:
			f.Segments = append(f.Segments, crm.Segments[rng.IntN(8)], crm.Segments[rng.IntN(8)])
		case 1:
			f.ChurnRisks = append(f.ChurnRisks, crm.Risks()[rng.IntN(3)])
		case 2:
			f.Tiers = append(f.Tiers, wallet.Tiers[rng.IntN(4)], wallet.Tiers[rng.IntN(4)])
		case 3:
			f.Models = append(f.Models, auModels[rng.IntN(4)])
		case 4:
			f.ModelYearFrom, f.ModelYearTo = n(2014, 2019), n(2019, 2026)
		case 5:
			f.CarAgeMinYears, f.CarAgeMaxYears = n(0, 3), n(3, 12)
		case 6:
			d := today.AddDate(0, 0, -rng.IntN(900))
			f.LastVisitBefore = &d
		case 7:
			d := today.AddDate(0, 0, -rng.IntN(900))
			f.LastVisitAfter = &d
		case 8:
			f.InsuranceDueWithinDays, f.InspectionDueWithinDays = n(0, 365), nil
			if rng.IntN(2) == 0 {
				f.InsuranceDueWithinDays, f.InspectionDueWithinDays = nil, n(0, 365)
			}
		case 9:
			c := rng.IntN(2) == 0
			f.MarketingConsent = &c
		}
	}
	if f.LastVisitBefore != nil && f.LastVisitAfter != nil && !f.LastVisitAfter.Before(*f.LastVisitBefore) {
		f.LastVisitAfter = nil
	}
	return f
}

// auInput is a filter as GraphQL variables.
func auInput(f crm.Filter) map[string]any {
	in := map[string]any{}
	if len(f.Segments) > 0 {
		in["segments"] = f.Segments
	}
	if len(f.ChurnRisks) > 0 {
		in["churnRisks"] = f.ChurnRisks
	}
	if len(f.Tiers) > 0 {
		in["tiers"] = f.Tiers
	}
	if len(f.Models) > 0 {
		in["models"] = f.Models
	}
	for k, v := range map[string]*int{"modelYearFrom": f.ModelYearFrom, "modelYearTo": f.ModelYearTo, "carAgeMinYears": f.CarAgeMinYears,
		"carAgeMaxYears": f.CarAgeMaxYears, "insuranceDueWithinDays": f.InsuranceDueWithinDays, "inspectionDueWithinDays": f.InspectionDueWithinDays} {
		if v != nil {
			in[k] = *v
		}
	}
	if f.LastVisitBefore != nil {
		in["lastVisitBefore"] = f.LastVisitBefore.String()
	}
	if f.LastVisitAfter != nil {
		in["lastVisitAfter"] = f.LastVisitAfter.String()
	}
	if f.MarketingConsent != nil {
		in["marketingConsent"] = *f.MarketingConsent
	}
	return in
}

const auSizeDoc = `query($s: ID, $f: AudienceFilterInput!) { audienceSize(storeId: $s, filter: $f) }`

func TestAudienceCountsMatchBruteForce(t *testing.T) {
	f := newWorkshop(t)
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	store, owners := auWorld(t, f, 120, rng)
	// Some accounts deleted after the segments job saw them: their rows
	// stay until its next run (or erasure removes them), and no audience
	// counts them.
	for _, o := range owners {
		if rng.IntN(10) == 0 {
			o.deleted = true
			must(t, f.DB.Conn(context.Background()).Exec(`INSERT INTO deleted_owners (owner_id, deleted_at) VALUES (?, ?)`, o.id, time.Now()).Error)
		}
	}
	storeCode := store.Code
	tok := e2eStaffToken(t, f.testServer, e2eInsertStaff(t, f.testServer, "pw-audience-1", true, []string{storeCode}, "CRM"))
	sid := e2eGlobalID("Store", store.ID)
	today := models.ChinaDate(time.Now())
	size := func(flt crm.Filter) int {
		t.Helper()
		d := f.gql(t, tok, auSizeDoc, map[string]any{"s": sid, "f": auInput(flt)})
		return int(d["audienceSize"].(float64))
	}
	live := 0
	for _, o := range owners {
		if !o.deleted {
			live++
		}
	}
	if live == len(owners) {
		t.Fatal("no generated owner deleted the account: the check is too weak")
	}
	if got := size(crm.Filter{}); got != live {
		t.Fatalf("the empty filter keeps %d of the store's %d owners (not deleted)", got, live)
	}
	nonEmpty := 0
	for i := range 60 {
		flt := auFilter(rng, today)
		want := 0
		for _, o := range owners {
			if auMatches(o, flt, today) {
				want++
			}
		}
		if want > 0 {
			nonEmpty++
		}
		if got := size(flt); got != want {
			t.Errorf("filter %d %+v: audienceSize %d, brute force %d", i, auInput(flt), got, want)
		}
	}
	if nonEmpty < 20 {
		t.Errorf("only %d of 60 filters kept anyone: the check is too weak", nonEmpty)
	}
	// Without a store: every store the caller works for (only this one).
	d := f.gql(t, tok, `query($f: AudienceFilterInput!) { audienceSize(filter: $f) }`, map[string]any{"f": map[string]any{}})
	if int(d["audienceSize"].(float64)) != live {
		t.Errorf("all the caller's stores: %v", d)
	}
	// One statement whatever the conditions.
	before := f.DB.Statements()
	f.gql(t, tok, auSizeDoc, map[string]any{"s": sid, "f": map[string]any{"segments": []string{"SAFETY"}, "tiers": []string{"GOLD"},
		"models": []string{"Camry"}, "insuranceDueWithinDays": 30, "lastVisitBefore": today.String(), "marketingConsent": true}})
	if n := f.DB.Statements() - before; n > 2 {
		t.Errorf("audienceSize took %d statements", n)
	}
}

func TestSavedAudiences(t *testing.T) {
	f := newWorkshop(t)
	rng := rand.New(rand.NewPCG(11, 12))
	store, owners := auWorld(t, f, 30, rng)
	crmTok := e2eStaffToken(t, f.testServer, e2eInsertStaff(t, f.testServer, "pw-audience-2", true, []string{store.Code}, "CRM"))
	sid := e2eGlobalID("Store", store.ID)
	const save = `mutation($in: SaveAudienceInput!) { saveAudience(input: $in) { audience { id name size store { code }
		filter { segments churnRisks tiers models modelYearFrom lastVisitBefore marketingConsent } } userErrors { code field message } } }`
	consent := 0
	for _, o := range owners {
		if o.consent {
			consent++
		}
	}
	d := f.gql(t, crmTok, save, map[string]any{"in": map[string]any{"storeId": sid, "name": "同意营销的车主",
		"filter": map[string]any{"marketingConsent": true}}})
	a := dig(d, "saveAudience", "audience").(map[string]any)
	if a["size"] != float64(consent) || dig(a, "store", "code") != store.Code || dig(a, "filter", "marketingConsent") != true ||
		len(dig(a, "filter", "segments").([]any)) != 0 {
		t.Fatalf("saved audience: %v (want %d owners)", a, consent)
	}
	id := a["id"].(string)
	// Changed: the same audience, the new conditions.
	d = f.gql(t, crmTok, save, map[string]any{"in": map[string]any{"audienceId": id, "storeId": sid, "name": "安全型车主",
		"filter": map[string]any{"segments": []string{"SAFETY", "HIGH_LOYALTY"}}}})
	if dig(d, "saveAudience", "audience", "id") != id || dig(d, "saveAudience", "audience", "name") != "安全型车主" {
		t.Fatalf("changed audience: %v", d)
	}
	// Bad input: typed refusals, nothing changed.
	for field, in := range map[string]map[string]any{
		"name":                          {"audienceId": id, "storeId": sid, "name": " ", "filter": map[string]any{}},
		"filter.modelYearTo":            {"audienceId": id, "storeId": sid, "name": "x", "filter": map[string]any{"modelYearFrom": 2020, "modelYearTo": 2019}},
		"filter.carAgeMinYears":         {"audienceId": id, "storeId": sid, "name": "x", "filter": map[string]any{"carAgeMinYears": 99}},
		"filter.insuranceDueWithinDays": {"audienceId": id, "storeId": sid, "name": "x", "filter": map[string]any{"insuranceDueWithinDays": -1}},
	} {
		d = f.gql(t, crmTok, save, map[string]any{"in": in})
		e2eWantUserError(t, d["saveAudience"], "INVALID_ARGUMENT", "input", field)
	}
	e2eWantGQLError(t, f.do(t, req{Query: auSizeDoc, Token: crmTok, Vars: map[string]any{"s": sid, "f": map[string]any{"models": []string{""}}}}), "INVALID_ARGUMENT")
	d = f.gql(t, crmTok, `query($id: ID!) { node(id: $id) { ... on Audience { name filter { segments } } } }`, map[string]any{"id": id})
	if dig(d, "node", "name") != "安全型车主" || len(dig(d, "node", "filter", "segments").([]any)) != 2 {
		t.Fatalf("after refusals: %v", d)
	}
	list := f.gql(t, crmTok, `query($s: ID) { audiences(storeId: $s) { edges { node { id } } } }`, map[string]any{"s": sid})
	if edges := dig(list, "audiences", "edges").([]any); len(edges) != 1 || dig(edges[0], "node", "id") != id {
		t.Fatalf("audiences: %v", list)
	}
	// Another store's CRM staff: not their audience, not their store.
	other := f.staff(t, "crm.sz01")
	if d := f.gql(t, other, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}); d["node"] != nil {
		t.Fatalf("another store's CRM reads the audience: %v", d)
	}
	e2eWantGQLError(t, f.do(t, req{Query: save, Token: other, Vars: map[string]any{"in": map[string]any{"audienceId": id, "storeId": sid,
		"name": "x", "filter": map[string]any{}}}}), "FORBIDDEN")
	e2eWantGQLError(t, f.do(t, req{Query: auSizeDoc, Token: other, Vars: map[string]any{"s": sid, "f": map[string]any{}}}), "FORBIDDEN")
	for _, e := range dig(f.gql(t, other, `{ audiences(first: 100) { edges { node { id } } } }`, nil), "audiences", "edges").([]any) {
		if dig(e, "node", "id") == id {
			t.Fatalf("another store's CRM lists the audience")
		}
	}
	// A group audience is GROUP_ADMIN's.
	e2eWantGQLError(t, f.do(t, req{Query: save, Token: crmTok, Vars: map[string]any{"in": map[string]any{"name": "全集团", "filter": map[string]any{}}}}), "FORBIDDEN")
	d = f.gql(t, f.staff(t, "admin"), save, map[string]any{"in": map[string]any{"name": "全集团", "filter": map[string]any{}}})
	if dig(d, "saveAudience", "audience", "store") != nil || dig(d, "saveAudience", "audience", "size").(float64) < float64(len(owners)) {
		t.Fatalf("group audience: %v", d)
	}
}

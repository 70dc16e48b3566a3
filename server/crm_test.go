package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// The aftersales segments: the nightly job over real repair history, read
// by staff on the customer and per store; owners never see the labels.

const smOwnerFields = `id phone
	segment { segment strategy insuranceVisits maintenanceVisits mechanicalVisits windowMonths computedAt }
	churnRisk { risk reasons lastVisitAt usualIntervalDays dueBy computedAt }`

const smReportDoc = `query($s: ID!) { segmentReport(storeId: $s) { store { code } owners computedAt
	segments { segment owners highChurnRisk } churnRisks { risk owners } } }`

// smVisits delivers one order of each kind over the API and moves its
// delivery the given number of days back: the owner's history.
func smVisits(t *testing.T, f *wkFixture, car wkCar, visits map[int]string) {
	t.Helper()
	days := make([]int, 0, len(visits))
	for d := range visits {
		days = append(days, d)
	}
	slices.Sort(days)
	slices.Reverse(days)
	for i, d := range days {
		number := f.wkDeliverVisitOf(t, visits[d], car, 10_000+i*5_000, false)
		at := time.Now().Add(-time.Duration(d) * 24 * time.Hour)
		must(t, f.DB.Conn(context.Background()).Exec(`UPDATE repair_orders SET delivered_at = ? WHERE number = ?`, at, number).Error)
	}
}

// smOwner is the owner as crm.sz01 finds them by phone.
func smOwner(t *testing.T, f *wkFixture, token string, o *models.Owner) map[string]any {
	t.Helper()
	d := f.gql(t, token, `query($p: String!) { owners(search: $p) { edges { node { `+smOwnerFields+` } } } }`, map[string]any{"p": o.Phone})
	edges, _ := dig(d, "owners", "edges").([]any)
	if len(edges) != 1 {
		t.Fatalf("owners(search: %s): %v", o.Phone, d)
	}
	return dig(edges[0], "node").(map[string]any)
}

func smCounts(rep map[string]any) map[string]float64 {
	out := map[string]float64{"owners": rep["owners"].(float64)}
	for _, s := range rep["segments"].([]any) {
		out[s.(map[string]any)["segment"].(string)] = s.(map[string]any)["owners"].(float64)
		out["high:"+s.(map[string]any)["segment"].(string)] = s.(map[string]any)["highChurnRisk"].(float64)
	}
	for _, r := range rep["churnRisks"].([]any) {
		out["risk:"+r.(map[string]any)["risk"].(string)] = r.(map[string]any)["owners"].(float64)
	}
	return out
}

func TestSegmentsAndChurn(t *testing.T) {
	f := newWorkshop(t)
	ctx := context.Background()
	crmTok := f.staff(t, "crm.sz01")
	run := func() int64 {
		t.Helper()
		n, err := f.App.CRM.ComputeSegments(ctx, time.Now())
		must(t, err)
		return n
	}
	run()
	before := smCounts(dig(f.gql(t, crmTok, smReportDoc, map[string]any{"s": f.sz}), "segmentReport").(map[string]any))

	// A loyal owner: maintenance every few months, an accident, two
	// mechanical repairs, the last two months ago: every kind high.
	loyal := f.quickCar(t, "SZ01")
	smVisits(t, f, loyal, map[int]string{500: "MAINTENANCE", 400: "ACCIDENT", 320: "MAINTENANCE", 230: "REPAIR", 140: "DETAILING", 60: "WARRANTY"})
	// One maintenance visit 300 days ago on a car with a six-month
	// interval, in warranty.
	lapsing := f.quickCar(t, "SZ01")
	smVisits(t, f, lapsing, map[int]string{300: "MAINTENANCE"})
	// Never came back: an eight-year-old car out of warranty.
	gone := f.quickCar(t, "SZ01")
	must(t, f.DB.Conn(ctx).Exec(`UPDATE vehicles SET purchase_date = ?, warranty_end_date = ? WHERE owner_id = ?`,
		models.DateOf(time.Now().AddDate(-8, 0, 0)), models.DateOf(time.Now().AddDate(-5, 0, 0)), gone.Owner.ID).Error)
	// No car at all.
	carless := e2eInsertOwner(t, f.testServer, "钱多多", "SZ01")

	if n, m := run(), run(); n != m || n < 4 {
		t.Fatalf("two runs saw %d and %d owners", n, m)
	}
	var rows int64
	must(t, f.DB.Conn(ctx).Table("owner_segments").Where("owner_id IN ?", []any{loyal.Owner.ID, lapsing.Owner.ID, gone.Owner.ID, carless.ID}).Count(&rows).Error)
	if rows != 4 {
		t.Fatalf("%d rows for four owners after two runs", rows)
	}

	o := smOwner(t, f, crmTok, loyal.Owner)
	if dig(o, "segment", "segment") != "HIGH_LOYALTY" || dig(o, "segment", "strategy") != "thank-you rewards" ||
		dig(o, "segment", "insuranceVisits") != 1.0 || dig(o, "segment", "maintenanceVisits") != 3.0 ||
		dig(o, "segment", "mechanicalVisits") != 2.0 || dig(o, "segment", "windowMonths") != 24.0 {
		t.Errorf("loyal owner's segment: %v", o["segment"])
	}
	// Stays 100, 80, 90, 90, 80 days apart: usually every 90 days; back
	// 60 days ago.
	if dig(o, "churnRisk", "risk") != "LOW" || len(dig(o, "churnRisk", "reasons").([]any)) != 0 ||
		dig(o, "churnRisk", "usualIntervalDays") != 90.0 || dig(o, "churnRisk", "lastVisitAt") == nil {
		t.Errorf("loyal owner's churn: %v", o["churnRisk"])
	}

	o = smOwner(t, f, crmTok, lapsing.Owner)
	if dig(o, "segment", "segment") != "LOW_LOYALTY" || dig(o, "segment", "maintenanceVisits") != 1.0 {
		t.Errorf("lapsing owner's segment: %v", o["segment"])
	}
	if dig(o, "churnRisk", "risk") != "MEDIUM" || fmt.Sprint(dig(o, "churnRisk", "reasons")) != "[OVERDUE]" ||
		dig(o, "churnRisk", "usualIntervalDays") != 180.0 {
		t.Errorf("lapsing owner's churn: %v", o["churnRisk"])
	}

	o = smOwner(t, f, crmTok, gone.Owner)
	if dig(o, "segment", "segment") != "LOW_LOYALTY" || dig(o, "churnRisk", "risk") != "HIGH" ||
		fmt.Sprint(dig(o, "churnRisk", "reasons")) != "[NO_VISIT_YET FAR_OVERDUE OUT_OF_WARRANTY OLDER_CAR]" ||
		dig(o, "churnRisk", "lastVisitAt") != nil {
		t.Errorf("gone owner: %v", o)
	}

	o = smOwner(t, f, crmTok, carless)
	if dig(o, "segment", "segment") != "LOW_LOYALTY" || o["churnRisk"] != nil {
		t.Errorf("an owner without a car: %v", o)
	}

	// The store's counts moved by exactly these four owners.
	after := smCounts(dig(f.gql(t, crmTok, smReportDoc, map[string]any{"s": f.sz}), "segmentReport").(map[string]any))
	want := map[string]float64{"owners": 4, "HIGH_LOYALTY": 1, "LOW_LOYALTY": 3, "high:LOW_LOYALTY": 1,
		"risk:LOW": 1, "risk:MEDIUM": 1, "risk:HIGH": 1}
	for k, v := range after {
		if v-before[k] != want[k] {
			t.Errorf("segmentReport %s: %v before, %v after, want %v more", k, before[k], v, want[k])
		}
	}

	// Owners never see the labels; staff outside the roles neither.
	for _, field := range []string{"segment { segment }", "churnRisk { risk }"} {
		e2eWantGQLError(t, f.do(t, req{Query: `{ me { name ` + field + ` } }`, Token: loyal.OwnerToken}), "FORBIDDEN")
		e2eWantGQLError(t, f.do(t, req{Query: `query($p: String!) { owners(search: $p) { edges { node { ` + field + ` } } } }`,
			Vars: map[string]any{"p": loyal.Owner.Phone}, Token: f.staff(t, "cashier.sz01")}), "FORBIDDEN")
	}
	for _, who := range []string{"advisor.sz01", "manager.sz01"} {
		if o := smOwner(t, f, f.staff(t, who), loyal.Owner); dig(o, "segment", "segment") != "HIGH_LOYALTY" {
			t.Errorf("%s sees %v", who, o["segment"])
		}
	}
	// The report: CRM and managers of the store only.
	gz := e2eStoreNodeID(t, f.testServer, "GZ01")
	e2eWantGQLError(t, f.do(t, req{Query: smReportDoc, Vars: map[string]any{"s": gz}, Token: crmTok}), "FORBIDDEN")
	e2eWantGQLError(t, f.do(t, req{Query: smReportDoc, Vars: map[string]any{"s": f.sz}, Token: f.staff(t, "advisor.sz01")}), "FORBIDDEN")
	e2eWantGQLError(t, f.do(t, req{Query: smReportDoc, Vars: map[string]any{"s": f.sz}, Token: loyal.OwnerToken}), "FORBIDDEN")
}

// A page of customers with their segments costs the same statements
// whatever its size.
func TestSegmentsOfAPageInConstantStatements(t *testing.T) {
	f := newWorkshop(t)
	name := fmt.Sprintf("段%d", e2eNext())
	for range 6 {
		o := e2eInsertOwner(t, f.testServer, name, "SZ01")
		e2eInsertVehicle(t, f.testServer, o.ID, "SZ01")
	}
	if _, err := f.App.CRM.ComputeSegments(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	tok := f.staff(t, "crm.sz01")
	count := func(n int) int64 {
		doc := `query($s: String!, $n: Int!) { owners(search: $s, first: $n) { edges { node { ` + smOwnerFields + ` } } } }`
		// The fewest of three runs: on a loaded machine a list element's
		// key can miss its loader's batch (docs/performance.md).
		statements, d := minStatements(t, f.testServer, tok, doc, map[string]any{"s": name, "n": n})
		if got := len(dig(d, "owners", "edges").([]any)); got != n {
			t.Fatalf("%d owners, want %d", got, n)
		}
		for _, e := range dig(d, "owners", "edges").([]any) {
			if dig(e, "node", "segment", "segment") == nil || dig(e, "node", "churnRisk", "risk") == nil {
				t.Fatalf("an owner without segment or risk: %v", e)
			}
		}
		return statements
	}
	if two, six := count(2), count(6); two != six {
		t.Errorf("segments of 2 owners: %d statements, of 6: %d", two, six)
	}
}

package crm

import (
	"slices"
	"testing"
	"time"
)

func TestClassifyIsTheProgrammesTable(t *testing.T) {
	th := Thresholds{WindowMonths: 24, Insurance: 1, Maintenance: 3, Mechanical: 2}
	// The programme's table, row by row: insurance/accident, maintenance,
	// mechanical/warranty, each high or low.
	table := []struct {
		ins, mnt, mec bool
		want          Segment
	}{
		{false, false, false, LowLoyalty},
		{true, false, false, ToDevelop},
		{false, true, false, ValueForMoney},
		{true, true, false, QualityFirst},
		{false, false, true, Appearance},
		{true, false, true, Relationship},
		{false, true, true, Safety},
		{true, true, true, HighLoyalty},
	}
	level := func(high bool, threshold int) int {
		if high {
			return threshold
		}
		return threshold - 1
	}
	seen := map[Segment]bool{}
	for _, row := range table {
		c := Counts{Insurance: level(row.ins, th.Insurance), Maintenance: level(row.mnt, th.Maintenance), Mechanical: level(row.mec, th.Mechanical)}
		if got := Classify(c, th); got != row.want {
			t.Errorf("Classify(%+v) = %s, want %s", c, got, row.want)
		}
		// Far above the threshold is still high.
		far := func(high bool, threshold int) int {
			if high {
				return threshold * 5
			}
			return level(high, threshold)
		}
		c = Counts{Insurance: far(row.ins, th.Insurance), Maintenance: far(row.mnt, th.Maintenance), Mechanical: far(row.mec, th.Mechanical)}
		if got := Classify(c, th); got != row.want {
			t.Errorf("Classify(%+v) = %s, want %s", c, got, row.want)
		}
		seen[row.want] = true
		if row.want.Strategy() == "" {
			t.Errorf("%s has no strategy", row.want)
		}
	}
	if len(seen) != len(Segments) {
		t.Errorf("the table reaches %d segments, the package lists %d", len(seen), len(Segments))
	}
	// Thresholds are configuration: raising one moves owners down.
	c := Counts{Insurance: 1, Maintenance: 3, Mechanical: 2}
	if got := Classify(c, Thresholds{Insurance: 2, Maintenance: 3, Mechanical: 2}); got != Safety {
		t.Errorf("with two accident visits needed: %s, want SAFETY", got)
	}
}

func TestChurnRule(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * day) }
	at := func(days int) *time.Time { v := ago(days); return &v }
	km := func(n int) *int { return &n }
	newCar := Car{PurchaseDate: at(400), WarrantyEndDate: at(-700), IntervalMonths: 6}
	oldCar := Car{PurchaseDate: at(7 * 366), WarrantyEndDate: at(4 * 365), IntervalMonths: 6}
	endedByKm := Car{PurchaseDate: at(400), WarrantyEndDate: at(-700), WarrantyEndKm: km(100_000), MileageKm: 120_000, IntervalMonths: 6}
	every := func(gap, n, lastAgo int) []time.Time {
		var v []time.Time
		for i := 0; i < n; i++ {
			v = append(v, ago(lastAgo+i*gap))
		}
		return v
	}
	cases := []struct {
		name     string
		in       ChurnInput
		risk     Risk
		reasons  []Reason
		interval int // days
	}{
		{"regular, came back on time", ChurnInput{Visits: every(120, 4, 100), Cars: []Car{newCar}}, RiskLow, nil, 120},
		{"regular, a little late", ChurnInput{Visits: every(120, 4, 160), Cars: []Car{newCar}}, RiskMedium, []Reason{Overdue}, 120},
		{"regular, twice the interval", ChurnInput{Visits: every(120, 4, 250), Cars: []Car{newCar}}, RiskHigh, []Reason{FarOverdue}, 120},
		{"late and out of warranty by distance", ChurnInput{Visits: every(120, 4, 160), Cars: []Car{endedByKm}}, RiskHigh, []Reason{Overdue, OutOfWarranty}, 120},
		{"late, old car out of warranty", ChurnInput{Visits: every(120, 4, 160), Cars: []Car{oldCar}}, RiskHigh, []Reason{Overdue, OutOfWarranty, OlderCar}, 120},
		{"on time, old car: age alone is no risk", ChurnInput{Visits: every(120, 4, 30), Cars: []Car{oldCar}}, RiskLow, nil, 120},
		{"one car in warranty keeps the owner covered", ChurnInput{Visits: every(120, 4, 160), Cars: []Car{oldCar, newCar}}, RiskMedium, []Reason{Overdue}, 120},
		{"one visit: the car's interval", ChurnInput{Visits: every(1, 1, 240), Cars: []Car{newCar}}, RiskMedium, []Reason{Overdue}, 180},
		{"no visit: counted from the purchase", ChurnInput{Cars: []Car{newCar}}, RiskHigh, []Reason{NoVisitYet, FarOverdue}, 180},
		{"no visit, bought last month", ChurnInput{Cars: []Car{{PurchaseDate: at(30), IntervalMonths: 6}}}, RiskLow, []Reason{NoVisitYet}, 180},
		{"no visit, no purchase date: from registration", ChurnInput{Cars: []Car{{IntervalMonths: 3}}, Registered: ago(200)}, RiskHigh, []Reason{NoVisitYet, FarOverdue}, 90},
		{"a comeback within two weeks is the same stay", ChurnInput{Visits: append(every(120, 3, 100), ago(105), ago(225)), Cars: []Car{newCar}}, RiskLow, nil, 120},
		{"monthly visits: the interval is at least 60 days", ChurnInput{Visits: every(30, 6, 50), Cars: []Car{newCar}}, RiskLow, nil, 60},
		{"years apart: the interval is at most a year", ChurnInput{Visits: every(800, 3, 500), Cars: []Car{newCar}}, RiskMedium, []Reason{Overdue}, 365},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.Now = now
			got, ok := ChurnOf(c.in)
			if !ok {
				t.Fatal("no churn for an owner with a car")
			}
			if got.Risk != c.risk || !slices.Equal(got.Reasons, c.reasons) {
				t.Errorf("risk %s %v, want %s %v", got.Risk, got.Reasons, c.risk, c.reasons)
			}
			if want := time.Duration(c.interval) * day; got.Interval != want {
				t.Errorf("interval %v, want %v", got.Interval/day, c.interval)
			}
		})
	}
	if _, ok := ChurnOf(ChurnInput{Now: now, Visits: every(120, 3, 10)}); ok {
		t.Error("an owner without a car got a churn risk")
	}
}

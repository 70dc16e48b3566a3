package packages

import (
	"errors"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

func TestRefundFen(t *testing.T) {
	cases := []struct {
		name                string
		price               int64
		total, left, feePct int
		want                int64
	}{
		{"unused, no fee", 160_000, 4, 4, 0, 160_000},
		{"unused, 10% fee", 160_000, 4, 4, 10, 144_000},
		{"three of four left, 10% fee", 160_000, 4, 3, 10, 108_000},
		{"one of four left, default fee", 160_000, 4, 1, DefaultRefundFeePercent, 36_000},
		{"share rounded down", 100_000, 3, 1, 0, 33_333},
		{"fee rounded down: the owner keeps the odd fen", 100_000, 3, 1, 10, 33_333 - 3_333},
		{"whole fee", 160_000, 4, 2, 100, 0},
		{"used up", 160_000, 4, 0, 10, 0},
		{"one fen", 1, 1, 1, 50, 1},
	}
	for _, c := range cases {
		if got := RefundFen(c.price, c.total, c.left, c.feePct); got != c.want {
			t.Errorf("%s: RefundFen(%d, %d, %d, %d) = %d, want %d", c.name, c.price, c.total, c.left, c.feePct, got, c.want)
		}
	}
}

func TestCovered(t *testing.T) {
	lines := []Line{{"OIL", 40_000}, {"LAB-MNT", 15_000}}
	cases := []struct {
		name  string
		lines []Line
		cap   int64
		want  int64
	}{
		{"no cap: the whole bill", lines, 0, 55_000},
		{"under the cap", lines, 60_000, 55_000},
		{"at the cap", lines, 55_000, 55_000},
		{"over the cap", lines, 50_000, 50_000},
		{"nothing billed", nil, 50_000, 0},
		{"nothing billed, no cap", nil, 0, 0},
	}
	for _, c := range cases {
		if got := Covered(c.lines, c.cap); got != c.want {
			t.Errorf("%s: Covered = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestProductInputCheck(t *testing.T) {
	ok := ProductInput{Name: " 保养四次卡 ", OrderKind: "MAINTENANCE", Uses: 4, PriceFen: 160_000, ValidDays: 365}
	got, err := ok.check()
	if err != nil || got.Name != "保养四次卡" {
		t.Fatalf("valid input: %+v %v", got, err)
	}
	bad := []struct {
		field string
		edit  func(*ProductInput)
	}{
		{"name", func(in *ProductInput) { in.Name = "" }},
		{"orderKind", func(in *ProductInput) { in.OrderKind = "WASH" }},
		{"uses", func(in *ProductInput) { in.Uses = 0 }},
		{"uses", func(in *ProductInput) { in.Uses = MaxUses + 1 }},
		{"priceFen", func(in *ProductInput) { in.PriceFen = 0 }},
		{"priceFen", func(in *ProductInput) { in.PriceFen = MaxPriceFen + 1 }},
		{"validDays", func(in *ProductInput) { in.ValidDays = 0 }},
		{"validDays", func(in *ProductInput) { in.ValidDays = MaxValidDays + 1 }},
		{"perVisitCapFen", func(in *ProductInput) { in.PerVisitCapFen = -1 }},
	}
	for _, b := range bad {
		in := ok
		b.edit(&in)
		_, err := in.check()
		var me *models.Error
		if !errors.As(err, &me) || me.Code != models.CodeInvalidArgument || me.Field != b.field {
			t.Errorf("%s: %v", b.field, err)
		}
	}
}

func TestCheckPayment(t *testing.T) {
	cases := []struct {
		m        Method
		ref      string
		wantRef  string
		badField string
	}{
		{Wallet, "ignored", "", ""},
		{Cash, "", "", ""},
		{Card, "POS-1", "POS-1", ""},
		{Card, "", "", "reference"},
		{WeChatPay, "", "", "reference"},
		{"POINTS", "", "", "method"},
	}
	for _, c := range cases {
		ref, err := checkPayment(c.m, c.ref)
		var me *models.Error
		switch {
		case c.badField == "" && (err != nil || ref != c.wantRef):
			t.Errorf("%s %q: %q %v", c.m, c.ref, ref, err)
		case c.badField != "" && (!errors.As(err, &me) || me.Field != c.badField):
			t.Errorf("%s %q: want a refusal on %s, got %v", c.m, c.ref, c.badField, err)
		}
	}
}

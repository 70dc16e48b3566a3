package directory

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

func TestVehicleChangeCheck(t *testing.T) {
	t.Parallel()
	today := models.DateOf(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	day := func(s string) *models.Date {
		d, err := models.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	for _, c := range []struct {
		name   string
		in     VehicleChange
		code   models.Code
		field  string
		plate  *string // wanted after check, when accepted
		colour *string
	}{
		{"nothing", VehicleChange{}, "", "", nil, nil},
		{"plate normalized", VehicleChange{Plate: str(" 沪a12345 ")}, "", "", str("沪A12345"), nil},
		{"blank plate removes", VehicleChange{Plate: str("  ")}, "", "", str(""), nil},
		{"bad plate", VehicleChange{Plate: str("nope")}, models.CodeInvalidPlate, "plate", nil, nil},
		{"colour trimmed", VehicleChange{Colour: str(" 白色 ")}, "", "", nil, str("白色")},
		{"colour too long", VehicleChange{Colour: str(strings.Repeat("红", MaxColourRunes+1))}, models.CodeInvalidArgument, "colour", nil, nil},
		{"negative mileage", VehicleChange{MileageKm: num(-1)}, models.CodeInvalidArgument, "mileageKm", nil, nil},
		{"warranty km too far", VehicleChange{WarrantyEndKm: num(models.MaxMileageKm + 1)}, models.CodeInvalidArgument, "warrantyEndKm", nil, nil},
		{"insurance too far", VehicleChange{InsuranceExpiry: day("2030-01-01")}, models.CodeInvalidArgument, "insuranceExpiry", nil, nil},
		{"inspection ok", VehicleChange{InspectionDue: day("2027-01-01")}, "", "", nil, nil},
	} {
		got, err := c.in.check(today)
		if c.code != "" {
			var e *models.Error
			if !errors.As(err, &e) || e.Code != c.code || e.Field != c.field {
				t.Errorf("%s: got %v, want %s on %s", c.name, err, c.code, c.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
			continue
		}
		if (got.Plate == nil) != (c.plate == nil) || got.Plate != nil && *got.Plate != *c.plate {
			t.Errorf("%s: plate %v, want %v", c.name, got.Plate, c.plate)
		}
		if (got.Colour == nil) != (c.colour == nil) || got.Colour != nil && *got.Colour != *c.colour {
			t.Errorf("%s: colour %v, want %v", c.name, got.Colour, c.colour)
		}
	}
}

func TestVehicleChangeApply(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	purchase, _ := models.ParseDate("2024-05-01")
	before, _ := models.ParseDate("2024-04-30")
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	vehicle := func() *models.Vehicle {
		return &models.Vehicle{MileageKm: 1000, PurchaseDate: &purchase, Plate: str("沪A12345"), Colour: "黑色"}
	}
	for _, c := range []struct {
		name  string
		in    VehicleChange
		code  models.Code
		field string
		check func(v *models.Vehicle) bool
	}{
		{"mileage read", VehicleChange{MileageKm: num(1200)}, "", "",
			func(v *models.Vehicle) bool {
				return v.MileageKm == 1200 && v.MileageReadAt != nil && v.MileageReadAt.Equal(now)
			}},
		{"same mileage", VehicleChange{MileageKm: num(1000)}, "", "",
			func(v *models.Vehicle) bool { return v.MileageKm == 1000 && v.MileageReadAt != nil }},
		{"mileage back", VehicleChange{MileageKm: num(999)}, models.CodeMileageDecreased, "mileageKm", nil},
		{"warranty before purchase", VehicleChange{WarrantyEndDate: &before}, models.CodeInvalidArgument, "warrantyEndDate", nil},
		{"plate removed", VehicleChange{Plate: str("")}, "", "", func(v *models.Vehicle) bool { return v.Plate == nil }},
		{"plate changed, colour kept", VehicleChange{Plate: str("沪B54321")}, "", "",
			func(v *models.Vehicle) bool {
				return *v.Plate == "沪B54321" && v.Colour == "黑色" && v.MileageReadAt == nil
			}},
		{"colour and warranty", VehicleChange{Colour: str("白色"), WarrantyEndDate: &purchase, WarrantyEndKm: num(60000)}, "", "",
			func(v *models.Vehicle) bool {
				return v.Colour == "白色" && *v.WarrantyEndDate == purchase && *v.WarrantyEndKm == 60000 && *v.Plate == "沪A12345"
			}},
	} {
		v := vehicle()
		err := c.in.apply(v, now)
		if c.code != "" {
			var e *models.Error
			if !errors.As(err, &e) || e.Code != c.code || e.Field != c.field {
				t.Errorf("%s: got %v, want %s on %s", c.name, err, c.code, c.field)
			}
			continue
		}
		if err != nil || !c.check(v) {
			t.Errorf("%s: err %v, vehicle %+v", c.name, err, v)
		}
	}
}

package roadside_test

import (
	"math"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/roadside"
)

func TestCheckChange(t *testing.T) {
	t.Parallel()
	R, A, D, C, X := roadside.Requested, roadside.Accepted, roadside.Dispatched, roadside.Closed, roadside.Cancelled
	tests := []struct {
		from    roadside.Status
		change  roadside.Change
		byOwner bool
		to      roadside.Status
		code    models.Code
	}{
		{R, roadside.Accept, false, A, ""},
		{A, roadside.Accept, false, "", roadside.CodeAlreadyAccepted},
		{D, roadside.Accept, false, "", roadside.CodeAlreadyAccepted},
		{R, roadside.Accept, true, "", models.CodeForbidden},
		{A, roadside.Dispatch, false, D, ""},
		{R, roadside.Dispatch, false, "", roadside.CodeWrongStatus},
		{D, roadside.Dispatch, false, "", roadside.CodeWrongStatus},
		{A, roadside.Dispatch, true, "", models.CodeForbidden},
		{A, roadside.Close, false, C, ""},
		{D, roadside.Close, false, C, ""},
		{R, roadside.Close, false, "", roadside.CodeWrongStatus},
		{D, roadside.Close, true, "", models.CodeForbidden},
		{R, roadside.Cancel, true, X, ""},
		{A, roadside.Cancel, true, X, ""},
		{D, roadside.Cancel, true, "", roadside.CodeTooLateToCancel},
		{R, roadside.Cancel, false, X, ""},
		{A, roadside.Cancel, false, X, ""},
		{D, roadside.Cancel, false, X, ""},
	}
	for _, from := range []roadside.Status{C, X} {
		for _, c := range []roadside.Change{roadside.Accept, roadside.Dispatch, roadside.Close, roadside.Cancel} {
			for _, owner := range []bool{false, true} {
				tests = append(tests, struct {
					from    roadside.Status
					change  roadside.Change
					byOwner bool
					to      roadside.Status
					code    models.Code
				}{from, c, owner, "", roadside.CodeFinished})
			}
		}
	}
	for _, tt := range tests {
		to, err := roadside.CheckChange(tt.from, tt.change, tt.byOwner)
		if tt.code == "" {
			if err != nil || to != tt.to {
				t.Errorf("%s change %d (owner %v) = %s, %v; want %s", tt.from, tt.change, tt.byOwner, to, err, tt.to)
			}
			continue
		}
		if me, ok := models.AsError(err); !ok || me.Code != tt.code || to != "" {
			t.Errorf("%s change %d (owner %v) = %s, %v; want %s", tt.from, tt.change, tt.byOwner, to, err, tt.code)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		km, tolerance          float64
	}{
		{"same point", 22.543, 114.058, 22.543, 114.058, 0, 0.001},
		{"Shenzhen to Guangzhou", 22.543, 114.058, 23.129, 113.264, 104.5, 1.5},
		{"a degree of latitude", 0, 0, 1, 0, 111.2, 0.1},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111.2, 0.1},
		{"antipodes", 0, 0, 0, 180, math.Pi * 6371.0088, 0.1},
	}
	for _, tt := range tests {
		got := roadside.DistanceM(tt.lat1, tt.lng1, tt.lat2, tt.lng2) / 1000
		if math.Abs(got-tt.km) > tt.tolerance {
			t.Errorf("%s: %.2f km; want %.1f ± %.1f", tt.name, got, tt.km, tt.tolerance)
		}
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	sz := models.Store{ID: uuid.MustParse("00000000-0000-7000-8000-000000000001"), Latitude: ptr(22.543), Longitude: ptr(114.058)}
	gz := models.Store{ID: uuid.MustParse("00000000-0000-7000-8000-000000000002"), Latitude: ptr(23.129), Longitude: ptr(113.264)}
	nowhere := models.Store{ID: uuid.MustParse("00000000-0000-7000-8000-000000000000")}
	twin := models.Store{ID: uuid.MustParse("00000000-0000-7000-8000-000000000003"), Latitude: ptr(22.543), Longitude: ptr(114.058)}

	if _, _, ok := roadside.Nearest(nil, 22, 114); ok {
		t.Error("a nearest store among none")
	}
	if _, _, ok := roadside.Nearest([]models.Store{nowhere}, 22, 114); ok {
		t.Error("a nearest store without coordinates")
	}
	// Dongguan is nearer Guangzhou; Futian is Shenzhen.
	for _, tt := range []struct {
		lat, lng float64
		want     uuid.UUID
	}{{23.02, 113.75, gz.ID}, {22.54, 114.05, sz.ID}, {23.13, 113.26, gz.ID}} {
		for _, order := range [][]models.Store{{nowhere, sz, gz}, {gz, nowhere, sz}} {
			got, d, ok := roadside.Nearest(order, tt.lat, tt.lng)
			if !ok || got.ID != tt.want || d <= 0 {
				t.Errorf("nearest to %v,%v = %v, %v, %v; want %s", tt.lat, tt.lng, got, d, ok, tt.want)
			}
		}
	}
	// A tie goes to the lower id, whatever the order.
	for _, order := range [][]models.Store{{twin, sz}, {sz, twin}} {
		if got, _, _ := roadside.Nearest(order, 22.6, 114.1); got.ID != sz.ID {
			t.Errorf("tie went to %s", got.ID)
		}
	}
}

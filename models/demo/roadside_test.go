package demo_test

import (
	"context"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// The demo stores have coordinates, and the demo requests stand where the
// README says: one waiting at SZ01, one accepted at GZ01, one closed.
func TestSeedRoadside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	if _, err := demo.Seed(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	var stores []models.Store
	if err := db.Conn(ctx).Find(&stores).Error; err != nil {
		t.Fatal(err)
	}
	code := map[string]string{}
	for _, s := range stores {
		want := demo.StoreCoordinates[s.Code]
		if s.Latitude == nil || s.Longitude == nil || *s.Latitude != want[0] || *s.Longitude != want[1] {
			t.Errorf("store %s at %v,%v; want %v", s.Code, s.Latitude, s.Longitude, want)
		}
		code[s.ID.String()] = s.Code
	}
	var reqs []roadside.Request
	if err := db.Conn(ctx).Order("created_at").Find(&reqs).Error; err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range reqs {
		got = append(got, code[r.StoreID.String()]+" "+string(r.Status))
	}
	want := []string{"SZ01 CLOSED", "GZ01 ACCEPTED", "SZ01 REQUESTED"}
	if len(got) != len(want) {
		t.Fatalf("demo requests = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("demo requests = %v; want %v", got, want)
		}
	}
	var events int64
	if err := db.Conn(ctx).Model(&roadside.Event{}).Count(&events).Error; err != nil || events != 4+2+1 {
		t.Fatalf("demo timeline events = %d (%v); want 7", events, err)
	}
}

package demo_test

import (
	"context"
	"testing"

	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// Every demo owner has a segment after the seed, and the demo history puts
// them in more than one segment and at more than one churn risk, so the
// README's segmentReport shows something to read.
func TestSeedSegments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	sum, err := demo.Seed(ctx, db, "")
	if err != nil {
		t.Fatal(err)
	}
	var rows []crm.OwnerSegment
	if err := db.Conn(ctx).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != sum.Owners {
		t.Fatalf("%d segment rows for %d demo owners", len(rows), sum.Owners)
	}
	segments, risks := map[crm.Segment]int{}, map[crm.Risk]int{}
	for _, r := range rows {
		segments[r.Segment]++
		if r.ChurnRisk != nil {
			risks[*r.ChurnRisk]++
		}
	}
	t.Logf("demo segments %v, risks %v", segments, risks)
	if len(segments) < 2 || len(risks) < 2 {
		t.Errorf("the demo owners fall in %v and %v: one segment or one risk tells a reader nothing", segments, risks)
	}
}

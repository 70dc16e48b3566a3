package demo_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// The demo care loop: surveys offered and all answered but one, calls for CRM staff including low-survey ones, and
// three complaints (one awaiting the demo owner, one overdue, one closed).
func TestSeedCare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	if _, err := demo.Seed(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	var owner models.Owner
	if err := db.Conn(ctx).Where("phone = ?", demo.DemoOwnerPhone).Take(&owner).Error; err != nil {
		t.Fatal(err)
	}
	var surveys []care.Survey
	if err := db.Conn(ctx).Find(&surveys).Error; err != nil {
		t.Fatal(err)
	}
	open, answered := 0, 0
	for _, s := range surveys {
		if s.Answered() {
			answered++
		} else {
			open++
		}
	}
	if open != 1 || answered < 3 {
		t.Errorf("%d open and %d answered surveys", open, answered)
	}
	count := func(model any, where string, args ...any) int64 {
		var n int64
		if err := db.Conn(ctx).Model(model).Where(where, args...).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(&care.FollowUpTask{}, "kind = ?", care.LowSurvey) == 0 || count(&care.FollowUpTask{}, "kind = ?", care.Service3DC) == 0 {
		t.Error("no low-survey or 3-day calls")
	}
	if count(&care.FollowUpTask{}, "assignee_id IS NOT NULL") == 0 {
		t.Error("no call assigned")
	}
	for status, want := range map[care.ComplaintStatus]int64{care.Resolved: 1, care.Submitted: 1, care.Closed: 1} {
		if n := count(&care.Complaint{}, "status = ?", status); n != want {
			t.Errorf("%d %s complaints; want %d", n, status, want)
		}
	}
	if n := count(&care.Complaint{}, "owner_id = ? AND status = ?", owner.ID, care.Resolved); n != 1 {
		t.Error("the demo owner has no resolved complaint to accept")
	}
	svc := &care.Service{DB: db}
	var sz models.Store
	if err := db.Conn(ctx).Where("code = ?", "SZ01").Take(&sz).Error; err != nil {
		t.Fatal(err)
	}
	mgr := &auth.Principal{Kind: auth.KindStaff, Roles: []auth.Role{auth.RoleManager}, StoreIDs: []uuid.UUID{sz.ID}}
	overdue, _, err := svc.Complaints(ctx, mgr, care.ComplaintFilter{Overdue: true}, models.Page{First: 10})
	if err != nil || len(overdue) != 1 || overdue[0].ResponseState != care.DeadlineMissed {
		t.Errorf("SZ01 overdue complaints: %v %v", overdue, err)
	}
}

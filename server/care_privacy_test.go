package main

import (
	"context"
	"testing"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// The car changes hands: its next owner reads the car's past orders, but
// not the previous owner's survey of them (scores and comment); the
// previous owner and the store's CRM still read it.
func TestCareSurveyNotShownToNextOwner(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	f.jobs(t)
	orderID := e2eGlobalID("RepairOrder", order.ID)
	s := crSurveyOf(t, f, car.OwnerToken, orderID)
	if s == nil {
		t.Fatal("the owner does not read the survey")
	}
	f.ok(t, car.OwnerToken, "submitSurvey", map[string]any{"surveyId": s["id"], "overall": 1, "advisor": 1, "quality": 1,
		"timeliness": 1, "cleanliness": 1, "comment": "我是张三 13800000000，师傅态度差"})

	buyer := f.quickCar(t, "SZ01")
	must(t, f.DB.Conn(context.Background()).Model(&models.Vehicle{}).Where("id = ?", order.VehicleID).Update("owner_id", buyer.Owner.ID).Error)
	d := f.gql(t, buyer.OwnerToken, `query($id: ID!) { node(id: $id) { ... on RepairOrder { number survey { id comment } } } }`, map[string]any{"id": orderID})
	if crStr(dig(d, "node", "number")) != order.Number {
		t.Fatalf("the next owner does not read the car's past order: %v", d)
	}
	if got := dig(d, "node", "survey"); got != nil {
		t.Fatalf("the next owner reads the previous owner's survey: %v", got)
	}
	if got := crSurveyOf(t, f, f.staff(t, "crm.sz01"), orderID); got == nil || got["comment"] != "我是张三 13800000000，师傅态度差" {
		t.Fatalf("the store's CRM reads %v", got)
	}
}

// Control characters in free text are a userError INVALID_ARGUMENT on the
// field (NUL used to fail PostgreSQL's insert as INTERNAL), nothing filed.
func TestCareFreeTextControlCharacters(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	f.jobs(t)
	for _, desc := range []string{"空调异味\x07", "空调异味\x1b[2J"} {
		f.refused(t, car.OwnerToken, "fileComplaint", map[string]any{"category": "OTHER", "description": desc,
			"repairOrderId": e2eGlobalID("RepairOrder", order.ID)}, "INVALID_ARGUMENT", "description")
	}
	if n := e2eCount(t, f.testServer, &inbox.Notification{}, "owner_id = ? AND kind = 'COMPLAINT_UPDATE'", car.Owner.ID); n != 0 {
		t.Fatalf("%d complaint notifications", n)
	}
	d := f.gql(t, car.OwnerToken, `{ me { complaints { edges { node { id } } } } }`, nil)
	if ids := crEdgeIDs(dig(d, "me").(map[string]any), "complaints"); len(ids) != 0 {
		t.Fatalf("refused complaints filed: %v", ids)
	}
	s := crSurveyOf(t, f, car.OwnerToken, e2eGlobalID("RepairOrder", order.ID))
	f.refused(t, car.OwnerToken, "submitSurvey", map[string]any{"surveyId": s["id"], "overall": 5, "advisor": 5, "quality": 5,
		"timeliness": 5, "cleanliness": 5, "comment": "很好\x07"}, "INVALID_ARGUMENT", "comment")
	f.ok(t, car.OwnerToken, "submitSurvey", map[string]any{"surveyId": s["id"], "overall": 5, "advisor": 5, "quality": 5,
		"timeliness": 5, "cleanliness": 5, "comment": "很好\n下次还来"})
}

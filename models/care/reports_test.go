package care_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
)

func TestSatisfactionReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	second := e.person("advisor2", []uuidT{e.store.ID}, auth.RoleAdvisor)
	var owners []*customer
	for i := range 4 {
		c := e.customer()
		o := e.delivered(c, now.Add(-time.Hour))
		if i == 3 {
			must(t, e.db.Conn(e.ctx).Model(o).Update("advisor_id", second.ID).Error)
		}
		owners = append(owners, c)
	}
	_, err := e.svc.InviteSurveys(e.ctx, now)
	must(t, err)
	e.advance(time.Hour)
	answer := func(c *customer, sc care.Scores) {
		rows, _, err := e.svc.OwnerSurveys(e.ctx, c.p, c.owner.ID, models.Page{First: 1})
		must(t, err)
		_, err = e.svc.SubmitSurvey(e.ctx, c.p, rows[0].ID, sc, "")
		must(t, err)
	}
	answer(owners[0], care.Scores{Overall: 5, Advisor: 4, Quality: 5, Timeliness: 3, Cleanliness: 5})
	answer(owners[1], care.Scores{Overall: 4, Advisor: 5, Quality: 4, Timeliness: 5, Cleanliness: 4})
	answer(owners[3], care.Scores{Overall: 2, Advisor: 2, Quality: 2, Timeliness: 2, Cleanliness: 2})

	day := models.DateOf(now.In(e.store.Location()))
	before := e.db.Statements()
	r, err := e.svc.Satisfaction(e.ctx, e.who("manager"), e.store.ID, day, day)
	must(t, err)
	if n := e.db.Statements() - before; n != 2 {
		t.Errorf("%d statements; want 2", n)
	}
	if r.Offered != 4 || r.Answered != 3 || r.ResponseRate != 0.75 {
		t.Fatalf("report %+v", r)
	}
	if r.Averages.Overall != 11.0/3 || r.Averages.Timeliness != 10.0/3 {
		t.Fatalf("averages %+v", r.Averages)
	}
	if len(r.Advisors) != 2 || r.Advisors[0].AdvisorID != e.who("advisor").ID || r.Advisors[0].Offered != 3 || r.Advisors[0].Answered != 2 ||
		r.Advisors[0].Averages.Overall != 4.5 || r.Advisors[1].AdvisorID != second.ID || r.Advisors[1].Averages.Cleanliness != 2 {
		t.Fatalf("advisors %+v %+v", r.Advisors[0], r.Advisors[1])
	}
	// The day before: nothing.
	r, err = e.svc.Satisfaction(e.ctx, e.who("admin"), e.store.ID, day.AddDate(0, 0, -1), day.AddDate(0, 0, -1))
	must(t, err)
	if r.Offered != 0 || r.ResponseRate != 0 || len(r.Advisors) != 0 {
		t.Fatalf("empty day %+v", r)
	}
	for _, p := range []string{"crm", "advisor", "manager.other"} {
		_, err = e.svc.Satisfaction(e.ctx, e.who(p), e.store.ID, day, day)
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err = e.svc.Satisfaction(e.ctx, e.who("manager"), e.store.ID, day, day.AddDate(0, 0, -1))
	wantCode(t, err, models.CodeInvalidArgument, "to")
	// At most MaxReportDays days, both ends counted.
	_, err = e.svc.Satisfaction(e.ctx, e.who("manager"), e.store.ID, day, day.AddDate(0, 0, care.MaxReportDays-1))
	must(t, err)
	_, err = e.svc.Satisfaction(e.ctx, e.who("manager"), e.store.ID, day, day.AddDate(0, 0, care.MaxReportDays))
	wantCode(t, err, models.CodeInvalidArgument, "to")
	_, err = e.svc.ComplaintStats(e.ctx, e.who("manager"), nil, day, day.AddDate(0, 0, care.MaxReportDays-1))
	must(t, err)
	_, err = e.svc.ComplaintStats(e.ctx, e.who("manager"), nil, day, day.AddDate(0, 0, care.MaxReportDays))
	wantCode(t, err, models.CodeInvalidArgument, "to")
}

func TestComplaintReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.newStore()
	c := e.customer()
	e.file(c)
	e.file(c, func(in *care.ComplaintInput) { in.Category = care.Price })
	cp := e.file(c, func(in *care.ComplaintInput) { in.Category = care.Price })
	e.file(c, func(in *care.ComplaintInput) { in.StoreID = &other.ID })
	e.advance(3 * time.Hour)
	_, err := e.svc.Step(e.ctx, e.who("crm"), cp.ID, care.StepResolve, "已退差价") // late for the response
	must(t, err)

	day := models.DateOf(e.clock.Now().In(e.store.Location()))
	r, err := e.svc.ComplaintStats(e.ctx, e.who("manager"), nil, day, day)
	must(t, err)
	if r.Total != 3 || len(r.ByStore) != 1 || r.ByStore[0].StoreID != e.store.ID || r.ByStore[0].Finished != 1 || r.ByStore[0].Missed != 1 {
		t.Fatalf("manager's report %+v %+v", r, r.ByStore)
	}
	byCat := map[care.Category]*care.ComplaintCount{}
	for _, x := range r.ByCategory {
		byCat[x.Category] = x
	}
	if len(r.ByCategory) != 5 || byCat[care.Price].Total != 2 || byCat[care.AfterSales].Total != 1 || byCat[care.Sales].Total != 0 {
		t.Fatalf("by category %+v", r.ByCategory)
	}
	// The group admin sees both stores; narrowed to one store, one.
	r, err = e.svc.ComplaintStats(e.ctx, e.who("admin"), &other.ID, day, day)
	must(t, err)
	if r.Total != 1 || len(r.ByStore) != 1 || r.ByStore[0].StoreID != other.ID {
		t.Fatalf("admin's report %+v", r)
	}
	_, err = e.svc.ComplaintStats(e.ctx, e.who("manager"), &other.ID, day, day)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.ComplaintStats(e.ctx, e.who("crm"), nil, day, day)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.ComplaintStats(e.ctx, c.p, nil, day, day)
	wantCode(t, err, models.CodeForbidden, "")
}

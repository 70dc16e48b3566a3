package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// End-to-end tests of the care loop through the real
// server: a visit delivered over the API gets its survey (the invitation
// job), the owner answers it and a low score opens a follow-up; CRM staff
// work their follow-up tasks (3-day calls from the job) through to a
// complaint; complaints run their course against the deadlines on a clock
// the test moves; managers read the reports; who may do what; and the
// statements the lists take. The scheduled jobs run as the upkeep loop
// runs them, with the time passed in.

const (
	crSurveyFields = `id answered editable overall advisorScore quality timeliness cleanliness comment submittedAt editableUntil offeredAt answerBy
		advisor { name } store { code } vehicle { id } repairOrder { id number }`
	crTaskFields = `id kind status outcome attempts note dueAt overdue closedAt store { code } owner { id } vehicle { id }
		repairOrder { id number } survey { id overall } complaint { id status } assignee { id staffId name }`
	crComplaintFields = `id category description status photoUrls proposal resolution overdue reopenCount filedByStaff createdAt closedAt
		store { code } owner { id } repairOrder { id } vehicle { id }
		responseDeadline { dueAt doneAt state } proposalDeadline { dueAt doneAt state } resolutionDeadline { dueAt doneAt state }
		timeline { kind actor staffName note at }`
)

var crDocs = map[string]string{
	"submitSurvey":               `mutation($in: SubmitSurveyInput!) { submitSurvey(input: $in) { survey { ` + crSurveyFields + ` } userErrors { code field message } } }`,
	"assignFollowUpTask":         `mutation($in: AssignFollowUpTaskInput!) { assignFollowUpTask(input: $in) { task { ` + crTaskFields + ` } complaint { id } userErrors { code field message } } }`,
	"recordFollowUpOutcome":      `mutation($in: RecordFollowUpOutcomeInput!) { recordFollowUpOutcome(input: $in) { task { ` + crTaskFields + ` } complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"closeFollowUpTask":          `mutation($in: CloseFollowUpTaskInput!) { closeFollowUpTask(input: $in) { task { ` + crTaskFields + ` } complaint { id } userErrors { code field message } } }`,
	"fileComplaint":              `mutation($in: FileComplaintInput!) { fileComplaint(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"acknowledgeComplaint":       `mutation($in: ComplaintStepInput!) { acknowledgeComplaint(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"proposeComplaintResolution": `mutation($in: ComplaintStepInput!) { proposeComplaintResolution(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"resolveComplaint":           `mutation($in: ComplaintStepInput!) { resolveComplaint(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"acceptComplaintResolution":  `mutation($in: ComplaintStepInput!) { acceptComplaintResolution(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
	"reopenComplaint":            `mutation($in: ComplaintStepInput!) { reopenComplaint(input: $in) { complaint { ` + crComplaintFields + ` } userErrors { code field message } } }`,
}

// crFixture is a workshop fixture whose care clock can be moved.
type crFixture struct {
	*wkFixture
	offset atomic.Int64 // of the care clock, in nanoseconds
}

func newCare(t *testing.T) *crFixture {
	t.Helper()
	f := &crFixture{wkFixture: newWorkshop(t)}
	f.App.Care.Clock = func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	return f
}

// later moves the care clock d further.
func (f *crFixture) later(d time.Duration) { f.offset.Add(int64(d)) }

func (f *crFixture) now() time.Time { return f.App.Care.Clock() }

func (f *crFixture) call(t testing.TB, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc, ok := crDocs[field]
	if !ok {
		t.Fatalf("no document for %s", field)
	}
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// ok runs a mutation that must be accepted and returns its payload.
func (f *crFixture) ok(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return p
}

// refused runs a mutation that must be refused with a userError code on
// the input field (none when on is empty), changing nothing it returns.
func (f *crFixture) refused(t testing.TB, token, field string, input map[string]any, code string, on ...string) {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if len(on) > 0 {
		e2eWantUserError(t, p, code, append([]string{"input"}, on...)...)
	} else {
		e2eWantUserError(t, p, code)
	}
	for _, k := range []string{"survey", "task", "complaint"} {
		if p[k] != nil {
			t.Fatalf("%s refused with %s but returned %s", field, code, k)
		}
	}
}

// denied runs a mutation the API must deny with a GraphQL error code.
func (f *crFixture) denied(t testing.TB, token, field string, input map[string]any, code string) {
	t.Helper()
	r := f.call(t, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Data)
	}
}

// delivered runs a whole visit of a new car at SZ01 over the API and
// returns the car and the order.
func (f *crFixture) delivered(t testing.TB) (wkCar, *workshop.RepairOrder) {
	t.Helper()
	car := f.quickCar(t, "SZ01")
	number := f.wkDeliverVisit(t, car, 12000, false)
	var o workshop.RepairOrder
	must(t, f.DB.Conn(context.Background()).Where("number = ?", number).Take(&o).Error)
	return car, &o
}

// jobs runs the care jobs as the upkeep loop does, at the care clock's time.
func (f *crFixture) jobs(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for _, job := range []func(context.Context, time.Time) (int64, error){f.App.Care.InviteSurveys, f.App.Care.CreateFollowUps, f.App.Care.MarkMissedDeadlines} {
		if _, err := job(ctx, f.now()); err != nil {
			t.Fatal(err)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func crStr(v any) string { s, _ := v.(string); return s }

func crSurveyOf(t testing.TB, f *crFixture, token, orderID string) map[string]any {
	t.Helper()
	d := f.gql(t, token, `query($id: ID!) { node(id: $id) { ... on RepairOrder { survey { `+crSurveyFields+` } } } }`, map[string]any{"id": orderID})
	s, _ := dig(d, "node", "survey").(map[string]any)
	return s
}

func TestCareSurveyFlow(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	orderID := e2eGlobalID("RepairOrder", order.ID)
	if s := crSurveyOf(t, f, car.OwnerToken, orderID); s != nil {
		t.Fatalf("a survey before the job: %v", s)
	}
	f.jobs(t)
	f.jobs(t) // twice: still one survey, one invitation
	s := crSurveyOf(t, f, car.OwnerToken, orderID)
	if s == nil || s["answered"] != false || s["editable"] != true || crStr(dig(s, "repairOrder", "number")) != order.Number ||
		crStr(dig(s, "advisor", "name")) == "" || crStr(dig(s, "store", "code")) != "SZ01" {
		t.Fatalf("survey = %v", s)
	}
	if n := e2eCount(t, f.testServer, &inbox.Notification{}, "owner_id = ? AND kind = ? AND link = ?", car.Owner.ID, care.NotifySurveyInvitation, models.LinkTo(models.RefTo(models.RefRepairOrder, order.ID))); n != 1 {
		t.Fatalf("%d invitations", n)
	}
	id := crStr(s["id"])
	mine := f.gql(t, car.OwnerToken, `{ me { surveys { edges { node { id } } pageInfo { hasNextPage } } } }`, nil)
	if ids := crEdgeIDs(dig(mine, "me").(map[string]any), "surveys"); len(ids) != 1 || ids[0] != id {
		t.Fatalf("me.surveys = %v", mine)
	}
	answer := func(overall, quality int) map[string]any {
		return map[string]any{"surveyId": id, "overall": overall, "advisor": 5, "quality": quality, "timeliness": 5, "cleanliness": 5, "comment": "师傅很专业"}
	}

	// Refusals and who may answer.
	other := f.quickCar(t, "SZ01")
	f.denied(t, other.OwnerToken, "submitSurvey", answer(5, 5), "NOT_FOUND")
	f.denied(t, f.staff(t, "crm.sz01"), "submitSurvey", answer(5, 5), "FORBIDDEN")
	f.denied(t, "", "submitSurvey", answer(5, 5), "UNAUTHENTICATED")
	f.refused(t, car.OwnerToken, "submitSurvey", answer(6, 5), "INVALID_ARGUMENT", "overall")
	f.refused(t, car.OwnerToken, "submitSurvey", answer(5, 0), "INVALID_ARGUMENT", "quality")
	if r := f.do(t, req{Query: crDocs["submitSurvey"], Vars: map[string]any{"in": map[string]any{"surveyId": orderID,
		"overall": 5, "advisor": 5, "quality": 5, "timeliness": 5, "cleanliness": 5}}, Token: car.OwnerToken}); r.Code() != "INVALID_ARGUMENT" {
		t.Fatalf("an order id as survey id: %s", r.Raw)
	}
	// Others do not see it; advisors are not shown their ratings.
	if d := f.gql(t, other.OwnerToken, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}); dig(d, "node") != nil {
		t.Fatal("another owner reads the survey")
	}
	if crSurveyOf(t, f, f.staff(t, "advisor.sz01"), orderID) != nil {
		t.Fatal("the advisor reads the survey")
	}
	if crSurveyOf(t, f, f.staff(t, "crm.sz01"), orderID) == nil {
		t.Fatal("the store's CRM does not read the survey")
	}

	// A good answer, then a low one within 7 days: one follow-up.
	p := f.ok(t, car.OwnerToken, "submitSurvey", answer(5, 5))
	if dig(p, "survey", "answered") != true || dig(p, "survey", "overall") != float64(5) || dig(p, "survey", "comment") != "师傅很专业" {
		t.Fatalf("answered: %v", p)
	}
	f.later(6 * 24 * time.Hour)
	f.ok(t, car.OwnerToken, "submitSurvey", answer(2, 5))
	f.ok(t, car.OwnerToken, "submitSurvey", answer(1, 5))
	var task care.FollowUpTask
	must(t, f.DB.Conn(context.Background()).Where("kind = ? AND repair_order_id = ?", care.LowSurvey, order.ID).Take(&task).Error)
	d := f.gql(t, f.staff(t, "crm.sz01"), `query($id: ID!) { node(id: $id) { ... on FollowUpTask { `+crTaskFields+` } } }`,
		map[string]any{"id": e2eGlobalID("FollowUpTask", task.ID)})
	if dig(d, "node", "kind") != "LOW_SURVEY" || dig(d, "node", "survey", "overall") != float64(1) || crStr(dig(d, "node", "repairOrder", "number")) != order.Number {
		t.Fatalf("low survey task = %v", d)
	}
	// After 7 days the answer is locked.
	f.later(2 * 24 * time.Hour)
	f.refused(t, car.OwnerToken, "submitSurvey", answer(5, 5), "SURVEY_CLOSED")
	if s := crSurveyOf(t, f, car.OwnerToken, orderID); s["editable"] != false || s["overall"] != float64(1) {
		t.Fatalf("locked survey = %v", s)
	}
}

// crTask finds the task of kind about subject, as the job made it.
func crTask(t testing.TB, f *crFixture, kind care.TaskKind, subject uuid.UUID) string {
	t.Helper()
	var task care.FollowUpTask
	must(t, f.DB.Conn(context.Background()).Where("kind = ? AND subject_id = ?", kind, subject).Take(&task).Error)
	return e2eGlobalID("FollowUpTask", task.ID)
}

func TestCareFollowUpFlow(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	f.jobs(t)
	id := crTask(t, f, care.Service3DC, order.ID)
	crm, manager := f.staff(t, "crm.sz01"), f.staff(t, "manager.sz01")
	crmID := f.staffID(t, "crm.sz01")

	// Who may act.
	reached := map[string]any{"taskId": id, "outcome": "REACHED"}
	f.denied(t, f.staff(t, "advisor.sz01"), "recordFollowUpOutcome", reached, "FORBIDDEN")
	f.denied(t, car.OwnerToken, "recordFollowUpOutcome", reached, "FORBIDDEN")
	f.denied(t, f.staff(t, "crm.gz01"), "recordFollowUpOutcome", reached, "NOT_FOUND")
	if r := f.do(t, req{Query: `{ followUpTasks { edges { node { id } } } }`, Token: f.staff(t, "technician1.sz01")}); r.Code() != "FORBIDDEN" {
		t.Fatalf("a technician lists tasks: %s", r.Raw)
	}
	// node(id:) is null for what the caller may not see, whatever the reason.
	for _, tok := range []string{f.staff(t, "advisor.sz01"), f.staff(t, "technician1.sz01"), car.OwnerToken, f.staff(t, "crm.gz01")} {
		r := f.do(t, req{Query: `query($id: ID!) { node(id: $id) { id } }`, Vars: map[string]any{"id": id}, Token: tok})
		if len(r.Errors) != 0 || r.Data["node"] != nil {
			t.Fatalf("node(id:) of a follow-up task for a caller without the role: %s", r.Raw)
		}
	}
	f.refused(t, manager, "assignFollowUpTask", map[string]any{"taskId": id, "assigneeId": f.staffID(t, "advisor.sz01")}, "INVALID_ARGUMENT", "assigneeId")

	// Assigned to the CRM, who lists theirs by due time.
	p := f.ok(t, manager, "assignFollowUpTask", map[string]any{"taskId": id, "assigneeId": crmID})
	if dig(p, "task", "assignee", "staffId") != crmID || dig(p, "task", "kind") != "SERVICE_3DC" || dig(p, "task", "status") != "OPEN" {
		t.Fatalf("assigned: %v", p)
	}
	due := e2eTime(t, dig(p, "task", "dueAt"))
	if !due.Equal(order.DeliveredAt.Add(72 * time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("due %s; delivered %s", due, order.DeliveredAt)
	}
	d := f.gql(t, crm, `{ followUpTasks(assignedToMe: true, status: OPEN) { edges { node { id } } } }`, nil)
	if ids := crEdgeIDs(d, "followUpTasks"); !crHas(ids, id) {
		t.Fatalf("mine = %v", ids)
	}
	d = f.gql(t, f.staff(t, "crm.gz01"), `{ followUpTasks(assignedToMe: true, first: 100) { edges { node { id } } } }`, nil)
	if crHas(crEdgeIDs(d, "followUpTasks"), id) {
		t.Fatal("another CRM's list has the task")
	}

	// Not reached: retry later; overdue for the manager once it passes.
	f.refused(t, crm, "recordFollowUpOutcome", map[string]any{"taskId": id, "outcome": "NOT_REACHED"}, "INVALID_ARGUMENT", "retryAt")
	retry := f.now().Add(4 * 24 * time.Hour).UTC().Truncate(time.Second)
	p = f.ok(t, crm, "recordFollowUpOutcome", map[string]any{"taskId": id, "outcome": "NOT_REACHED", "note": "无人接听", "retryAt": retry.Format(time.RFC3339)})
	if dig(p, "task", "attempts") != float64(1) || !e2eTime(t, dig(p, "task", "dueAt")).Equal(retry) || dig(p, "task", "overdue") != false {
		t.Fatalf("not reached: %v", p)
	}
	f.later(5 * 24 * time.Hour)
	d = f.gql(t, manager, `query($s: ID) { followUpTasks(storeId: $s, overdueOnly: true, first: 100) { edges { node { id overdue } } } }`, map[string]any{"s": f.sz})
	if !crHas(crEdgeIDs(d, "followUpTasks"), id) {
		t.Fatalf("overdue list lacks the task: %v", d)
	}

	// Issue found: a complaint for the owner, the task closed.
	p = f.ok(t, crm, "recordFollowUpOutcome", map[string]any{"taskId": id, "outcome": "ISSUE_FOUND", "note": "车主反映异响",
		"complaint": map[string]any{"category": "AFTER_SALES", "description": "保养后发动机异响"}})
	if dig(p, "task", "status") != "CLOSED" || dig(p, "task", "outcome") != "ISSUE_FOUND" || dig(p, "complaint", "status") != "SUBMITTED" ||
		dig(p, "complaint", "filedByStaff") != true || dig(p, "task", "complaint", "id") != dig(p, "complaint", "id") ||
		crStr(dig(p, "complaint", "store", "code")) != "SZ01" || dig(p, "complaint", "owner", "id") != e2eGlobalID("Owner", car.Owner.ID) {
		t.Fatalf("issue found: %v", p)
	}
	// The owner sees it among theirs.
	d = f.gql(t, car.OwnerToken, `{ me { complaints { edges { node { id status } } } } }`, nil)
	if ids := crEdgeIDs(dig(d, "me").(map[string]any), "complaints"); len(ids) != 1 || ids[0] != dig(p, "complaint", "id") {
		t.Fatalf("owner's complaints = %v", d)
	}
	f.refused(t, crm, "closeFollowUpTask", map[string]any{"taskId": id}, "TASK_CLOSED")
}

func crEdgeIDs(d map[string]any, field string) []string {
	var out []string
	edges, _ := dig(d, field, "edges").([]any)
	for _, e := range edges {
		out = append(out, crStr(dig(e, "node", "id")))
	}
	return out
}

func crHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCareComplaintFlow(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	crm, manager := f.staff(t, "crm.sz01"), f.staff(t, "manager.sz01")
	file := map[string]any{"category": "PRODUCT_QUALITY", "description": "空调异味", "repairOrderId": e2eGlobalID("RepairOrder", order.ID),
		"photoUrls": []any{"https://img.example.com/1.jpg"}}

	f.refused(t, car.OwnerToken, "fileComplaint", map[string]any{"category": "OTHER", "description": "x", "photoUrls": []any{"http://img.example.com/1.jpg"}}, "INVALID_ARGUMENT", "photoUrls")
	f.refused(t, car.OwnerToken, "fileComplaint", map[string]any{"category": "OTHER", "description": " "}, "INVALID_ARGUMENT", "description")
	f.denied(t, crm, "fileComplaint", file, "FORBIDDEN")
	other := f.quickCar(t, "GZ01")
	f.denied(t, other.OwnerToken, "fileComplaint", file, "NOT_FOUND") // not their order

	filed := f.now()
	file["idempotencyKey"] = fmt.Sprintf("complaint-%d", e2eNext())
	p := f.ok(t, car.OwnerToken, "fileComplaint", file)
	c := p["complaint"].(map[string]any)
	id := crStr(c["id"])
	// A retry with the key files nothing more.
	if again := f.ok(t, car.OwnerToken, "fileComplaint", file); dig(again, "complaint", "id") != id {
		t.Fatalf("a retry filed another complaint: %v", again)
	}
	if n := e2eCount(t, f.testServer, &care.Complaint{}, "owner_id = ?", car.Owner.ID); n != 1 {
		t.Fatalf("%d complaints after a retry", n)
	}
	if c["status"] != "SUBMITTED" || crStr(dig(c, "store", "code")) != "SZ01" || dig(c, "responseDeadline", "state") != "OPEN" ||
		e2eTime(t, c["createdAt"]).Before(filed.Truncate(time.Second)) || len(c["photoUrls"].([]any)) != 1 {
		t.Fatalf("filed: %v", c)
	}
	for k, h := range map[string]time.Duration{"responseDeadline": 2 * time.Hour, "proposalDeadline": 24 * time.Hour, "resolutionDeadline": 48 * time.Hour} {
		got := e2eTime(t, dig(c, k, "dueAt"))
		created := e2eTime(t, c["createdAt"])
		if !got.Equal(created.Add(h)) {
			t.Errorf("%s due %s; filed %s", k, got, created)
		}
	}
	step := func(token, field, note string) map[string]any {
		return f.ok(t, token, field, map[string]any{"complaintId": id, "note": note})["complaint"].(map[string]any)
	}
	in := map[string]any{"complaintId": id}
	// Only the store's CRM and managers handle it; only the owner sees it.
	f.denied(t, f.staff(t, "crm.gz01"), "acknowledgeComplaint", in, "NOT_FOUND")
	f.denied(t, f.staff(t, "advisor.sz01"), "acknowledgeComplaint", in, "FORBIDDEN")
	f.denied(t, car.OwnerToken, "acknowledgeComplaint", in, "FORBIDDEN")
	f.denied(t, other.OwnerToken, "acceptComplaintResolution", in, "NOT_FOUND")
	if d := f.gql(t, other.OwnerToken, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}); dig(d, "node") != nil {
		t.Fatal("another owner reads the complaint")
	}
	f.refused(t, car.OwnerToken, "acceptComplaintResolution", in, "COMPLAINT_STATUS")

	// Three hours later the response is late: the job marks it, managers
	// see it overdue.
	f.later(3 * time.Hour)
	f.jobs(t)
	d := f.gql(t, manager, `{ complaints(overdueOnly: true, first: 100) { edges { node { id overdue responseDeadline { state } } } } }`, nil)
	if !crHas(crEdgeIDs(d, "complaints"), id) {
		t.Fatalf("overdue complaints lack it: %v", d)
	}
	c = step(crm, "acknowledgeComplaint", "")
	if c["status"] != "ACKNOWLEDGED" || dig(c, "responseDeadline", "state") != "MISSED" || dig(c, "responseDeadline", "doneAt") == nil {
		t.Fatalf("acknowledged late: %v", c)
	}
	f.refused(t, crm, "acknowledgeComplaint", in, "COMPLAINT_STATUS")
	f.refused(t, crm, "proposeComplaintResolution", in, "INVALID_ARGUMENT", "note")
	c = step(crm, "proposeComplaintResolution", "免费清洗空调管路")
	if c["status"] != "PROPOSED" || dig(c, "proposalDeadline", "state") != "MET" || c["proposal"] != "免费清洗空调管路" {
		t.Fatalf("proposed: %v", c)
	}
	c = step(manager, "resolveComplaint", "已清洗并更换滤芯")
	if c["status"] != "RESOLVED" || dig(c, "resolutionDeadline", "state") != "MET" || c["overdue"] != false {
		t.Fatalf("resolved: %v", c)
	}
	// The owner reopens: a new 48-hour resolution deadline from now.
	f.later(time.Hour)
	c = step(car.OwnerToken, "reopenComplaint", "仍有异味")
	if c["status"] != "REOPENED" || dig(c, "resolutionDeadline", "state") != "OPEN" || c["reopenCount"] != float64(1) || dig(c, "resolutionDeadline", "doneAt") != nil {
		t.Fatalf("reopened: %v", c)
	}
	// Resolved again, too late this time; the owner accepts.
	f.later(49 * time.Hour)
	c = step(crm, "resolveComplaint", "更换空调蒸发箱")
	if dig(c, "resolutionDeadline", "state") != "MISSED" {
		t.Fatalf("late resolution: %v", c)
	}
	c = step(car.OwnerToken, "acceptComplaintResolution", "")
	if c["status"] != "CLOSED" || c["closedAt"] == nil {
		t.Fatalf("accepted: %v", c)
	}
	var kinds []string
	for _, ev := range c["timeline"].([]any) {
		kinds = append(kinds, crStr(dig(ev, "kind"))+"/"+crStr(dig(ev, "actor")))
	}
	want := "FILED/OWNER ACKNOWLEDGED/STAFF PROPOSED/STAFF RESOLVED/STAFF REOPENED/OWNER RESOLVED/STAFF ACCEPTED/OWNER"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("timeline %v", kinds)
	}
	if name := dig(c, "timeline", 1, "staffName"); crStr(name) == "" {
		t.Fatal("a staff step without the staff member's name")
	}
	if n := e2eCount(t, f.testServer, &inbox.Notification{}, "owner_id = ? AND kind = ?", car.Owner.ID, care.NotifyComplaintUpdate); n != 4 {
		t.Fatalf("%d complaint notifications; want 4 (one per staff step)", n)
	}
	// English messages on request.
	r := f.do(t, req{Query: crDocs["reopenComplaint"], Vars: map[string]any{"in": map[string]any{"complaintId": id, "note": "again"}},
		Token: car.OwnerToken, Headers: map[string]string{"Accept-Language": "en"}})
	if m := crStr(dig(r.Data, "reopenComplaint", "userErrors", 0, "message")); m != "the complaint has not been resolved yet" {
		t.Fatalf("English message %q (%s)", m, r.Raw)
	}
}

func TestCareReports(t *testing.T) {
	f := newCare(t)
	car, order := f.delivered(t)
	f.jobs(t)
	s := crSurveyOf(t, f, car.OwnerToken, e2eGlobalID("RepairOrder", order.ID))
	f.ok(t, car.OwnerToken, "submitSurvey", map[string]any{"surveyId": s["id"], "overall": 4, "advisor": 5, "quality": 4, "timeliness": 3, "cleanliness": 5})
	f.ok(t, car.OwnerToken, "fileComplaint", map[string]any{"category": "PRICE", "description": "工时费偏高", "repairOrderId": e2eGlobalID("RepairOrder", order.ID)})

	// From yesterday, so that a run across midnight still covers the offer.
	day := models.DateOf(f.now().In(models.ChinaTime))
	today, yesterday := day.String(), day.AddDate(0, 0, -1).String()
	vars := map[string]any{"s": f.sz, "from": yesterday, "to": today}
	const sat = `query($s: ID!, $from: Date!, $to: Date!) { satisfactionReport(storeId: $s, from: $from, to: $to) {
		store { code } from to offered answered responseRate averages { overall advisor quality timeliness cleanliness }
		advisors { advisor { id name } offered answered averages { overall } } } }`
	d := f.gql(t, f.staff(t, "manager.sz01"), sat, vars)
	r := dig(d, "satisfactionReport").(map[string]any)
	if crStr(dig(r, "store", "code")) != "SZ01" || r["offered"].(float64) < 1 || r["answered"].(float64) < 1 || len(r["advisors"].([]any)) == 0 {
		t.Fatalf("satisfaction = %v", r)
	}
	for _, who := range []string{"crm.sz01", "advisor.sz01", "manager.gz01"} {
		if rr := f.do(t, req{Query: sat, Vars: vars, Token: f.staff(t, who)}); rr.Code() != "FORBIDDEN" {
			t.Fatalf("%s reads the report: %s", who, rr.Raw)
		}
	}
	const comp = `query($from: Date!, $to: Date!) { complaintReport(from: $from, to: $to) { total
		byCategory { category total finished missed } byStore { store { code } total finished missed } } }`
	d = f.gql(t, f.staff(t, "admin"), comp, map[string]any{"from": yesterday, "to": today})
	var price float64
	for _, c := range dig(d, "complaintReport", "byCategory").([]any) {
		if dig(c, "category") == "PRICE" {
			price = dig(c, "total").(float64)
		}
	}
	if price < 1 || len(dig(d, "complaintReport", "byCategory").([]any)) != 5 {
		t.Fatalf("complaint report = %v", d)
	}
	if rr := f.do(t, req{Query: comp, Vars: map[string]any{"from": today, "to": "2020-01-01"}, Token: f.staff(t, "manager.sz01")}); rr.Code() != "INVALID_ARGUMENT" || rr.Errors[0].Extensions["field"] != "to" {
		t.Fatalf("a reversed range: %s", rr.Raw)
	}
	// Without a token, none of the care lists or reports answer.
	for _, doc := range []string{`{ followUpTasks { edges { node { id } } } }`, `{ complaints { edges { node { id } } } }`} {
		if rr := f.do(t, req{Query: doc}); rr.Code() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous %s: %s", doc, rr.Raw)
		}
	}
	if rr := f.do(t, req{Query: comp, Vars: map[string]any{"from": today, "to": today}, Token: car.OwnerToken}); rr.Code() != "FORBIDDEN" {
		t.Fatalf("an owner reads the complaint report: %s", rr.Raw)
	}
}

// TestCareListStatements: the staff lists take the same statements for 2
// rows as for 12 (relations through loaders).
func TestCareListStatements(t *testing.T) {
	f := newCare(t)
	ctx := context.Background()
	// A store of the test's own, so the lists hold exactly what it adds;
	// with a week of hours like every store (other tests list stores).
	st := &models.Store{ID: models.NewID(), Code: fmt.Sprintf("CR%d", e2eNext()%100000), Name: "关怀测试店", City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 2, SlotMinutes: 60}
	for wd := range 7 {
		st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: wd, Opens: "08:30", Closes: "18:00"})
	}
	must(t, f.DB.Conn(ctx).Create(st).Error)
	crm := e2eInsertStaff(t, f.testServer, "pw-care-1", true, []string{st.Code}, "CRM")
	var crmStaff models.Staff
	must(t, f.DB.Conn(ctx).Where("username = ?", crm).Take(&crmStaff).Error)
	token := e2eStaffToken(t, f.testServer, crm)
	add := func(n int) {
		for range n {
			car := f.quickCar(t, "SZ01")
			var v models.Vehicle
			_, vid, _ := bkParseID(car.ID)
			must(t, f.DB.Conn(ctx).Where("id = ?", vid).Take(&v).Error)
			at := f.now().Add(-time.Hour).UTC()
			o := &workshop.RepairOrder{ID: models.NewID(), Number: fmt.Sprintf("%s-%s-%d", st.Code, at.Format("20060102"), e2eNext()),
				StoreID: st.ID, VehicleID: v.ID, OwnerID: car.Owner.ID, AdvisorID: crmStaff.ID, Kind: workshop.Maintenance, MileageIn: 1000,
				Status: workshop.Delivered, StatusChangedAt: at, Version: 1, DeliveredAt: &at, CreatedAt: at, UpdatedAt: at}
			must(t, f.DB.Conn(ctx).Create(o).Error)
			cp, err := f.App.Care.FileComplaint(ctx, ownerPrincipal(car.Owner.ID), care.ComplaintInput{Category: care.Other, Description: "测试", RepairOrderID: &o.ID})
			must(t, err)
			_, err = f.App.Care.Step(ctx, crmPrincipal(crmStaff.ID, st.ID), cp.ID, care.StepAcknowledge, "")
			must(t, err)
		}
		f.jobs(t)
	}
	count := func(doc string) int64 {
		n, _ := minStatements(t, f.testServer, token, doc, map[string]any{"s": e2eGlobalID("Store", st.ID)})
		return n
	}
	const tasks = `query($s: ID) { followUpTasks(storeId: $s, first: 100) { edges { node { ` + crTaskFields + ` } } } }`
	const complaints = `query($s: ID) { complaints(storeId: $s, first: 100) { edges { node { ` + crComplaintFields + ` } } } }`
	add(2)
	t2, c2 := count(tasks), count(complaints)
	add(10)
	t12, c12 := count(tasks), count(complaints)
	t.Logf("followUpTasks: %d statements, complaints: %d", t12, c12)
	if t2 != t12 || c2 != c12 {
		t.Fatalf("followUpTasks: %d statements for 2, %d for 12; complaints: %d and %d", t2, t12, c2, c12)
	}
}

func ownerPrincipal(id uuid.UUID) *auth.Principal {
	return &auth.Principal{Kind: auth.KindOwner, ID: id}
}

func crmPrincipal(id, store uuid.UUID) *auth.Principal {
	return &auth.Principal{Kind: auth.KindStaff, ID: id, Roles: []auth.Role{auth.RoleCRM}, StoreIDs: []uuid.UUID{store}}
}

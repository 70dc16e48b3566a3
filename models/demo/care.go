package demo

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The demo care loop. The scheduled jobs ran through
// the last half year: delivered visits got their survey and 3-day call,
// cars bought lately their new-car calls, and the calls due before the last
// three days were made. Every survey was answered, a few with a low score
// (so there are low-survey calls), except the newest one that may still be
// answered (张伟's, the demo owner's, when he has one; he has read the care
// messages, so his one unread notification stays the workshop's approval
// request). Half of SZ01's open calls are assigned to its CRM. Three
// complaints: 张伟's was resolved and awaits his acceptance (or reopening);
// one at SZ01 has had no response for five hours (overdue, for the
// manager); one at GZ01 was resolved in time and accepted.

// demoScores are the answers owners gave, in turn; a 3 opens a follow-up.
var demoScores = []care.Scores{
	{Overall: 5, Advisor: 5, Quality: 5, Timeliness: 5, Cleanliness: 5},
	{Overall: 4, Advisor: 5, Quality: 4, Timeliness: 4, Cleanliness: 5},
	{Overall: 5, Advisor: 4, Quality: 5, Timeliness: 5, Cleanliness: 4},
	{Overall: 3, Advisor: 4, Quality: 4, Timeliness: 3, Cleanliness: 5},
}

var demoComments = []string{"服务周到，下次还来", "等待时间稍长", "顾问讲解很清楚", "交车比承诺晚了一个小时"}

// careSeeder moves the care service's clock while it plays the demo.
type careSeeder struct {
	orders []uuid.UUID // the demo's repair orders (group.orders)
	ctx    context.Context
	db     *models.DB
	svc    *care.Service
	clock  time.Time
	staff  map[string]*auth.Principal
}

func (g *group) seedCare(ctx context.Context, db *models.DB, now time.Time) error {
	c := &careSeeder{orders: g.orders, ctx: ctx, db: db, clock: now, staff: map[string]*auth.Principal{}}
	c.svc = &care.Service{DB: db, Clock: func() time.Time { return c.clock }}
	storesOf := map[uuid.UUID][]uuid.UUID{}
	for _, ss := range g.staffStore {
		storesOf[ss.StaffID] = append(storesOf[ss.StaffID], ss.StoreID)
	}
	for i, st := range g.staff {
		c.staff[st.Username] = &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.Role(g.roles[i].Role)}, StoreIDs: storesOf[st.ID]}
	}
	// The jobs ran through the last half year; calls due before the last
	// three days were made.
	for back := demoCareMonths; back >= 0; back-- {
		at := now.AddDate(0, 0, -30*back)
		for _, job := range []func(context.Context, time.Time) (int64, error){c.svc.InviteSurveys, c.svc.CreateFollowUps} {
			if _, err := job(ctx, at); err != nil {
				return err
			}
		}
	}
	demoOwner := g.ownerID(DemoOwnerPhone)
	if err := c.answerSurveys(demoOwner, now); err != nil {
		return err
	}
	if err := c.makeCalls(g, now); err != nil {
		return err
	}
	if err := c.assignCalls("SZ01", g); err != nil {
		return err
	}
	return c.complaints(g, demoOwner, now)
}

// ownerAt is the first owner whose home store is code.
func (g *group) ownerAt(code string) uuid.UUID {
	for _, o := range g.owners {
		if o.HomeStoreID != nil && g.storeCode(*o.HomeStoreID) == code {
			return o.ID
		}
	}
	return uuid.Nil
}

func (g *group) storeCode(id uuid.UUID) string {
	for _, s := range g.stores {
		if s.ID == id {
			return s.Code
		}
	}
	return ""
}

func (g *group) ownerID(phone string) uuid.UUID {
	for _, o := range g.owners {
		if o.Phone == phone {
			return o.ID
		}
	}
	return uuid.Nil
}

// demoCareMonths is how many 30-day runs of the jobs the demo replays.
const demoCareMonths = 6

// answerSurveys answers every offered survey, an hour after it was
// offered, but one that may still be answered: the demo owner's latest if
// he has one, else the newest.
func (c *careSeeder) answerSurveys(demoOwner uuid.UUID, now time.Time) error {
	byOrder, err := c.svc.SurveysByOrderIDs(c.ctx, c.orders)
	if err != nil {
		return err
	}
	surveys := make([]*care.Survey, 0, len(byOrder))
	for _, s := range byOrder {
		surveys = append(surveys, s)
	}
	slices.SortFunc(surveys, func(a, b *care.Survey) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	keep, his := uuid.Nil, false
	for _, s := range surveys {
		switch {
		case !now.Before(s.AnswerBy):
		case s.OwnerID == demoOwner:
			keep, his = s.ID, true
		case !his:
			keep = s.ID
		}
	}
	for i, s := range surveys {
		if s.ID == keep {
			continue
		}
		c.clock = s.OfferedAt.Add(time.Hour)
		n := i % len(demoScores)
		if _, err := c.svc.SubmitSurvey(models.AtTime(c.ctx, c.clock), &auth.Principal{Kind: auth.KindOwner, ID: s.OwnerID}, s.ID, demoScores[n], demoComments[n]); err != nil {
			return err
		}
	}
	return nil
}

// openTasksDueBefore reads the open follow-up tasks due before cutoff, by
// due time, as the group admin sees them (every store's), page by page.
func (c *careSeeder) openTasksDueBefore(cutoff time.Time) ([]*care.FollowUpTask, error) {
	admin := c.staff[AdminUsername]
	open := care.TaskOpen
	var out []*care.FollowUpTask
	for p := (models.Page{First: models.MaxPageSize}); ; {
		rows, more, err := c.svc.FollowUps(c.ctx, admin, care.TaskFilter{Status: &open}, p)
		if err != nil {
			return nil, err
		}
		for _, t := range rows {
			if t.DueAt.Before(cutoff) {
				out = append(out, t)
			}
		}
		if !more || len(rows) == 0 {
			return out, nil
		}
		p.After = rows[len(rows)-1].PageKey()
	}
}

// makeCalls records the calls due more than three days ago as made by the
// store's CRM at their due time: owners reached, the first of the low-survey
// ones reached only at the second try.
func (c *careSeeder) makeCalls(g *group, now time.Time) error {
	tasks, err := c.openTasksDueBefore(now.AddDate(0, 0, -3))
	if err != nil {
		return err
	}
	retried := false
	for _, t := range tasks {
		crm := c.staff["crm."+lower(g.storeCode(t.StoreID))]
		c.clock = t.DueAt.Add(2 * time.Hour)
		if t.Kind == care.LowSurvey && !retried {
			retry := c.clock.Add(24 * time.Hour)
			if _, _, err := c.svc.RecordOutcome(models.AtTime(c.ctx, c.clock), crm, t.ID, care.OutcomeInput{Outcome: care.NotReached, Note: "无人接听", RetryAt: &retry}); err != nil {
				return err
			}
			c.clock, retried = retry, true
		}
		note := "车主对服务满意"
		if t.Kind == care.LowSurvey {
			note = "已致歉并说明改进措施，车主表示理解"
		}
		if _, _, err := c.svc.RecordOutcome(models.AtTime(c.ctx, c.clock), crm, t.ID, care.OutcomeInput{Outcome: care.Reached, Note: note}); err != nil {
			return err
		}
	}
	return nil
}

// assignCalls gives every other open call of the store to its CRM.
func (c *careSeeder) assignCalls(code string, g *group) error {
	crm := c.staff["crm."+lower(code)]
	open := care.TaskOpen
	tasks, _, err := c.svc.FollowUps(models.AtTime(c.ctx, c.clock), crm, care.TaskFilter{Status: &open}, models.Page{First: models.MaxPageSize})
	if err != nil {
		return err
	}
	for i, t := range tasks {
		if i%2 == 0 {
			if _, err := c.svc.AssignFollowUp(models.AtTime(c.ctx, c.clock), crm, t.ID, &crm.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func lower(code string) string {
	b := []byte(code)
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

type demoStep struct {
	after time.Duration // from filing
	who   string        // staff login at the complaint's store, or "" for the owner
	step  care.Step
	note  string
}

// complaints files the demo complaints and plays their handling.
func (c *careSeeder) complaints(g *group, demoOwner uuid.UUID, now time.Time) error {
	orders, err := g.demoOrders(c.ctx, c.db)
	if err != nil {
		return err
	}
	var latest *workshop.RepairOrder
	for _, o := range orders {
		if o.OwnerID == demoOwner && o.Status == workshop.Delivered && o.DeliveredAt != nil &&
			(latest == nil || o.DeliveredAt.After(*latest.DeliveredAt)) {
			latest = o
		}
	}
	if latest == nil {
		return fmt.Errorf("demo complaints: the demo owner has no delivered order")
	}
	plays := []struct {
		owner uuid.UUID
		ago   time.Duration
		in    care.ComplaintInput
		steps []demoStep
	}{
		{demoOwner, 30 * time.Hour, care.ComplaintInput{Category: care.AfterSales, Description: "保养后车内有异味，空调出风口有霉味", RepairOrderID: &latest.ID},
			[]demoStep{
				{40 * time.Minute, "crm", care.StepAcknowledge, ""},
				{6 * time.Hour, "crm", care.StepPropose, "邀请您到店免费清洗空调蒸发箱并更换空调滤芯"},
				{28 * time.Hour, "manager", care.StepResolve, "已清洗空调系统并更换滤芯，异味消除"},
			}},
		{g.ownerID("+8613800000002"), 5 * time.Hour, care.ComplaintInput{Category: care.Price, Description: "本次保养工时费比上次高出不少，希望解释"}, nil},
		{g.ownerAt("GZ01"), 4 * 24 * time.Hour, care.ComplaintInput{Category: care.Sales, Description: "提车时承诺的脚垫和行车记录仪没有安装"},
			[]demoStep{
				{30 * time.Minute, "crm", care.StepAcknowledge, ""},
				{3 * time.Hour, "crm", care.StepPropose, "本周内到店免费补装脚垫与行车记录仪"},
				{30 * time.Hour, "manager", care.StepResolve, "已补装，并赠送一次精洗"},
				{32 * time.Hour, "", care.StepAccept, ""},
			}},
	}
	for _, p := range plays {
		if p.owner == uuid.Nil {
			continue
		}
		owner := &auth.Principal{Kind: auth.KindOwner, ID: p.owner}
		filed := now.Add(-p.ago)
		c.clock = filed
		cp, err := c.svc.FileComplaint(models.AtTime(c.ctx, c.clock), owner, p.in)
		if err != nil {
			return err
		}
		for _, s := range p.steps {
			c.clock = filed.Add(s.after)
			who := owner
			if s.who != "" {
				who = c.staff[s.who+"."+lower(g.storeCode(cp.StoreID))]
			}
			if _, err := c.svc.Step(models.AtTime(c.ctx, c.clock), who, cp.ID, s.step, s.note); err != nil {
				return err
			}
		}
	}
	c.clock = now
	if _, err := c.svc.MarkMissedDeadlines(models.AtTime(c.ctx, c.clock), now); err != nil {
		return err
	}
	// The demo owner has read the care loop's messages: his one unread
	// notification stays the workshop's approval request.
	return markRead(c.ctx, c.db, now, demoOwner, care.NotifySurveyInvitation, care.NotifyComplaintUpdate)
}

// markRead marks the owner's unread notifications of the kinds read at now,
// as the owner does in the app.
func markRead(ctx context.Context, db *models.DB, now time.Time, ownerID uuid.UUID, kinds ...string) error {
	ib := &inbox.Service{DB: db, Clock: func() time.Time { return now }}
	owner := &auth.Principal{Kind: auth.KindOwner, ID: ownerID}
	var ids []uuid.UUID
	for p := (models.Page{First: models.MaxPageSize}); ; {
		rows, more, err := ib.Notifications(ctx, owner, ownerID, p, true)
		if err != nil {
			return err
		}
		for _, n := range rows {
			if slices.Contains(kinds, n.Kind) {
				ids = append(ids, n.ID)
			}
		}
		if !more || len(rows) == 0 {
			break
		}
		p.After = models.Cursor{ID: rows[len(rows)-1].ID}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), inbox.MaxMarkRead)]
		ids = ids[len(batch):]
		if _, err := ib.MarkNotificationsRead(ctx, owner, batch, false); err != nil {
			return err
		}
	}
	return nil
}

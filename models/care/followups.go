package care

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// openTask inserts a follow-up task unless one of its kind and subject
// exists (then created is false): the unique key decides, so concurrent
// callers create it once.
func (s *Service) openTask(ctx context.Context, t *FollowUpTask, now time.Time) (created bool, err error) {
	t.ID, t.Status, t.CreatedAt, t.UpdatedAt = models.NewID(), TaskOpen, now, now
	t.DueAt = t.DueAt.UTC()
	res := s.DB.Conn(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "kind"}, {Name: "subject_id"}}, DoNothing: true,
	}).Create(t)
	return res.RowsAffected == 1, res.Error
}

// CreateFollowUps opens the follow-up tasks that scheduled work owes: a
// SERVICE_3DC call due 3 days after every repair order delivered in the
// Lookback before now (at the order's store), and NEW_CAR_3D and NEW_CAR_7D
// calls due 3 and 7 days after the purchase date (midnight in the selling
// store's zone) of every car with a selling store bought in the Lookback.
// Tasks are created ahead of their due time, so staff see what is coming;
// one per kind and subject, so running the job twice, late, or on several
// instances at once creates each once. Owners who deleted their account
// are not called: the queries skip them, and each task's transaction checks
// again under the owner's row lock, which the deletion also takes. Returns
// how many it created.
func (s *Service) CreateFollowUps(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	tasks, err := s.serviceCalls(ctx, now)
	if err != nil {
		return 0, err
	}
	cars, err := s.newCarCalls(ctx, now)
	if err != nil {
		return 0, err
	}
	return s.openTasks(ctx, append(tasks, cars...), now)
}

// serviceCalls is a SERVICE_3DC task for every repair order delivered in
// the Lookback before now that has none, oldest delivery first, skipping
// owners who deleted their account.
func (s *Service) serviceCalls(ctx context.Context, now time.Time) ([]*FollowUpTask, error) {
	conn := s.DB.Conn(ctx)
	var orders []workshop.DeliveredOrder
	err := conn.Table("(?) AS o", workshop.DeliveredBetween(conn, now.Add(-Lookback), now)).Select("o.*").
		Joins("LEFT JOIN follow_up_tasks t ON t.kind = ? AND t.subject_id = o.id", Service3DC).
		Where("t.id IS NULL").
		Where(directory.OwnerNotDeleted("o.owner_id")).
		Order("o.delivered_at ASC, o.id ASC").Find(&orders).Error
	if err != nil {
		return nil, err
	}
	tasks := make([]*FollowUpTask, 0, len(orders))
	for i := range orders {
		o := &orders[i]
		order, vehicle := o.ID, o.VehicleID
		tasks = append(tasks, &FollowUpTask{Kind: Service3DC, StoreID: o.StoreID, SubjectID: o.ID, OwnerID: o.OwnerID,
			VehicleID: &vehicle, RepairOrderID: &order, DueAt: o.DeliveredAt.Add(ServiceCallAfter)})
	}
	return tasks, nil
}

// newCarCalls is the NEW_CAR_3D and NEW_CAR_7D tasks for every car with a
// selling store bought in the Lookback before now that lacks either,
// skipping owners who deleted their account.
func (s *Service) newCarCalls(ctx context.Context, now time.Time) ([]*FollowUpTask, error) {
	var cars []directory.NewCar
	// Purchase dates are calendar days: a day either side of the lookback
	// is read and the exact window applied per store zone below.
	from := models.DateOf(now.Add(-Lookback)).AddDate(0, 0, -1)
	err := s.directory().NewCarsQuery(ctx, from, models.DateOf(now).AddDate(0, 0, 1)).
		Where(`(NOT EXISTS (SELECT 1 FROM follow_up_tasks t WHERE t.kind = ? AND t.subject_id = v.id)
		  OR NOT EXISTS (SELECT 1 FROM follow_up_tasks t WHERE t.kind = ? AND t.subject_id = v.id))`, NewCar3D, NewCar7D).
		Scan(&cars).Error
	if err != nil {
		return nil, err
	}
	var tasks []*FollowUpTask
	for _, c := range cars {
		delivered, ok := newCarDelivered(c.PurchaseDate, c.Timezone, now)
		if !ok {
			continue
		}
		for _, k := range []struct {
			kind TaskKind
			days int
		}{{NewCar3D, NewCarCall3}, {NewCar7D, NewCarCall7}} {
			vehicle := c.ID
			tasks = append(tasks, &FollowUpTask{Kind: k.kind, StoreID: c.SellingStoreID, SubjectID: c.ID, OwnerID: c.OwnerID,
				VehicleID: &vehicle, DueAt: delivered.AddDate(0, 0, k.days)})
		}
	}
	return tasks, nil
}

// newCarDelivered is when a car bought on purchase was handed over:
// midnight of that day in the selling store's zone (timezone, as
// models.Store.Location reads it), and whether that falls in the Lookback
// before now.
func newCarDelivered(purchase models.Date, timezone string, now time.Time) (time.Time, bool) {
	loc := (&models.Store{Timezone: timezone}).Location()
	delivered := time.Date(purchase.Year, purchase.Month, purchase.Day, 0, 0, 0, 0, loc)
	return delivered, !delivered.After(now) && delivered.After(now.Add(-Lookback))
}

// openTasks opens each task in a transaction of its own, under its owner's
// row lock (skipping owners who deleted their account meanwhile), and
// counts those it created; it stops at the first failure, with the count
// so far.
func (s *Service) openTasks(ctx context.Context, tasks []*FollowUpTask, now time.Time) (int64, error) {
	var created int64
	for _, t := range tasks {
		var ok bool
		err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
			ok = false
			gone, err := s.lockOwner(ctx, t.OwnerID)
			if err != nil || gone {
				return err
			}
			ok, err = s.openTask(ctx, t, now)
			return err
		})
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}

// TaskFilter selects follow-up tasks for staff.
type TaskFilter struct {
	// StoreID: one store; nil: every store of the caller.
	StoreID *uuid.UUID
	// Mine: only tasks assigned to the caller.
	Mine bool
	// Status: only this status; nil: any.
	Status *TaskStatus
	// Overdue: only open tasks past their due time.
	Overdue bool
}

// FollowUps reads one page of follow-up tasks for CRM staff and managers,
// by due time (then id), and reports whether more follow: their stores'
// (GROUP_ADMIN: every store's), or one store's, optionally only theirs,
// of one status, or only the overdue ones.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not CRM or manager, or a store not
// theirs), INVALID_ARGUMENT ("status", "first", "after":
// see models.Fetch).
func (s *Service) FollowUps(ctx context.Context, actor *auth.Principal, f TaskFilter, p models.Page) ([]*FollowUpTask, bool, error) {
	if err := careStaff(actor, rolesFollowUps); err != nil {
		return nil, false, err
	}
	if f.Status != nil && !f.Status.Valid() {
		return nil, false, models.Invalid("status", "任务状态无效", "unknown status")
	}
	q, err := models.StoreScope(s.DB.Conn(ctx).Table("follow_up_tasks"), actor, f.StoreID, "follow_up_tasks.store_id")
	if err != nil {
		return nil, false, err
	}
	if f.Mine {
		q = q.Where("follow_up_tasks.assignee_id = ?", actor.ID)
	}
	if f.Status != nil {
		q = q.Where("follow_up_tasks.status = ?", *f.Status)
	}
	if f.Overdue {
		q = q.Where("follow_up_tasks.status = 'OPEN' AND follow_up_tasks.due_at < ?", s.Clock.Now(ctx))
	}
	rows, more, err := models.Fetch[*FollowUpTask](q, byDue, p)
	for _, t := range rows {
		normalizeTask(t)
	}
	return rows, more, err
}

// FollowUpFor reads a task for CRM staff and managers of its store
// (GROUP_ADMIN: any). Others' stores' tasks are NOT_FOUND.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not CRM or manager), NOT_FOUND.
func (s *Service) FollowUpFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*FollowUpTask, error) {
	if err := careStaff(actor, rolesCare); err != nil {
		return nil, err
	}
	return s.readTask(ctx, actor, id, false)
}

func (s *Service) readTask(ctx context.Context, actor *auth.Principal, id uuid.UUID, lock bool) (*FollowUpTask, error) {
	q, _ := models.StoreScope(s.DB.Conn(ctx).Where("id = ?", id), actor, nil, "store_id")
	if lock {
		q = s.DB.ForUpdate(q)
	}
	var t FollowUpTask
	if err := q.Take(&t).Error; err != nil {
		return nil, models.NotFoundAs(err, errTaskNotFound)
	}
	normalizeTask(&t)
	return &t, nil
}

// AssignFollowUp gives an open task to a staff member (nil: to nobody).
// The assignee must be active CRM staff or a manager of the task's store,
// or a group administrator. CRM staff and managers of the store assign.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT
// ("assigneeId"), TASK_CLOSED.
func (s *Service) AssignFollowUp(ctx context.Context, actor *auth.Principal, id uuid.UUID, assignee *uuid.UUID) (*FollowUpTask, error) {
	if err := careStaff(actor, rolesAssignFollowUp); err != nil {
		return nil, err
	}
	var t *FollowUpTask
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.readTask(ctx, actor, id, true); err != nil {
			return err
		}
		if t.Status != TaskOpen {
			return ErrTaskClosed
		}
		if assignee != nil {
			if err := s.checkAssignee(ctx, t.StoreID, *assignee); err != nil {
				return err
			}
		}
		t.AssigneeID, t.UpdatedAt = assignee, s.Clock.Now(ctx)
		return s.DB.Conn(ctx).Model(&FollowUpTask{}).Where("id = ?", t.ID).
			Updates(map[string]any{"assignee_id": assignee, "updated_at": t.UpdatedAt}).Error
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// checkAssignee checks staffID is active and handles care at storeID.
func (s *Service) checkAssignee(ctx context.Context, storeID, staffID uuid.UUID) error {
	_, ok, err := s.directory().StaffAtStore(ctx, staffID, storeID, rolesCare, true)
	if err != nil {
		return err
	}
	if !ok {
		return models.Invalid("assigneeId", "只能指派给该门店的客服或店长", "the assignee must be CRM staff or a manager of the task's store")
	}
	return nil
}

// OutcomeInput is the result of a follow-up call.
type OutcomeInput struct {
	Outcome Outcome
	Note    string
	// RetryAt: when to call again (NOT_REACHED; after now, within 30 days).
	RetryAt *time.Time
	// Complaint: the issue the owner raised (ISSUE_FOUND).
	Complaint *ComplaintInput
}

// RecordOutcome records a call on an open task: REACHED closes it;
// NOT_REACHED keeps it open, due again at the retry time; ISSUE_FOUND files
// a complaint for the owner (at the task's store, with its order and car)
// and closes the task with the complaint attached. Attempts count every
// call; a call recorded without a note keeps the task's previous note. CRM staff and managers of the task's store record calls.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, TASK_CLOSED,
// INVALID_ARGUMENT ("outcome", "note", "retryAt", "complaint",
// "complaint.category", "complaint.description").
func (s *Service) RecordOutcome(ctx context.Context, actor *auth.Principal, id uuid.UUID, in OutcomeInput) (*FollowUpTask, *Complaint, error) {
	if err := careStaff(actor, rolesRecordOutcome); err != nil {
		return nil, nil, err
	}
	if !in.Outcome.Valid() {
		return nil, nil, models.Invalid("outcome", "回访结果无效", "unknown outcome")
	}
	note, err := models.Text("note", "备注", in.Note, 0, MaxNoteLen, false)
	if err != nil {
		return nil, nil, err
	}
	var (
		t *FollowUpTask
		c *Complaint
	)
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		var err error
		if t, err = s.readTask(ctx, actor, id, true); err != nil {
			return err
		}
		if t.Status != TaskOpen {
			return ErrTaskClosed
		}
		outcome := in.Outcome
		t.Outcome, t.Attempts, t.UpdatedAt = &outcome, t.Attempts+1, now
		if note != "" {
			t.Note = note
		}
		switch in.Outcome {
		case NotReached:
			if in.RetryAt == nil || !in.RetryAt.After(now) || in.RetryAt.After(now.Add(MaxRetryAhead)) {
				return models.Invalid("retryAt", "请填写 30 天内的再次回访时间", "give a retry time within the next 30 days")
			}
			t.DueAt = in.RetryAt.UTC().Truncate(time.Microsecond)
		case IssueFound:
			if in.Complaint == nil {
				return models.Invalid("complaint", "发现问题时请填写投诉内容", "an issue found needs the complaint")
			}
			ci := *in.Complaint
			ci.RepairOrderID, ci.VehicleID, ci.StoreID = t.RepairOrderID, t.VehicleID, &t.StoreID
			if c, err = s.file(ctx, actor, t.OwnerID, ci, "complaint.", now); err != nil {
				return err
			}
			t.ComplaintID = &c.ID
			fallthrough
		case Reached:
			t.Status, t.ClosedAt, t.ClosedBy = TaskClosed, &now, &actor.ID
		}
		return s.saveTask(ctx, t)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, c, nil
}

// CloseFollowUp closes an open task without a call outcome (the owner
// asked not to be called, the car was sold, ...), with a note. CRM staff
// and managers of the task's store close tasks.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, TASK_CLOSED,
// INVALID_ARGUMENT ("note").
func (s *Service) CloseFollowUp(ctx context.Context, actor *auth.Principal, id uuid.UUID, note string) (*FollowUpTask, error) {
	if err := careStaff(actor, rolesCloseFollowUp); err != nil {
		return nil, err
	}
	note, err := models.Text("note", "备注", note, 0, MaxNoteLen, false)
	if err != nil {
		return nil, err
	}
	var t *FollowUpTask
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		var err error
		if t, err = s.readTask(ctx, actor, id, true); err != nil {
			return err
		}
		if t.Status != TaskOpen {
			return ErrTaskClosed
		}
		if note != "" {
			t.Note = note
		}
		t.Status, t.ClosedAt, t.ClosedBy, t.UpdatedAt = TaskClosed, &now, &actor.ID, now
		return s.saveTask(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// saveTask writes a task read under lock, only while it is still open:
// the row lock (or SQLite's write lock) already serializes writers; the
// condition keeps a closed task closed whatever happens.
func (s *Service) saveTask(ctx context.Context, t *FollowUpTask) error {
	res := s.DB.Conn(ctx).Model(&FollowUpTask{}).Where("id = ? AND status = ?", t.ID, TaskOpen).Updates(map[string]any{
		"status": t.Status, "outcome": t.Outcome, "attempts": t.Attempts, "note": t.Note, "due_at": t.DueAt,
		"complaint_id": t.ComplaintID, "closed_at": t.ClosedAt, "closed_by": t.ClosedBy, "updated_at": t.UpdatedAt,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrTaskClosed
	}
	return nil
}

func normalizeTask(t *FollowUpTask) {
	t.DueAt, t.CreatedAt, t.UpdatedAt = t.DueAt.UTC(), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.ClosedAt = utc(t.ClosedAt)
}

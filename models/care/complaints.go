package care

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// ComplaintInput is a complaint as filed.
type ComplaintInput struct {
	Category    Category
	Description string
	// RepairOrderID and VehicleID: optional, the owner's.
	RepairOrderID *uuid.UUID
	VehicleID     *uuid.UUID
	// StoreID is used only when neither the order, the vehicle's selling
	// store nor the owner's home store names one.
	StoreID   *uuid.UUID
	PhotoURLs []string
	// IdempotencyKey (optional, owners): a retried filing with the same key
	// returns the first complaint instead of filing another.
	IdempotencyKey string `json:"-"`
}

// FileComplaint files the owner's complaint. Its store is the order's
// store, else the vehicle's selling store, else the owner's home store,
// else the storeId given; with none of them it is refused (NO_STORE). Its
// deadlines run from now: first response in 2 hours, a proposal in 24, the
// resolution in 48, each OPEN. Photos are https URLs (at most 9).
//
// Codes: UNAUTHENTICATED, FORBIDDEN (staff), INVALID_ARGUMENT ("category",
// "description", "photoUrls", "vehicleId": not the order's car),
// NOT_FOUND ("repairOrderId", "vehicleId", "storeId"), NO_STORE.
func (s *Service) FileComplaint(ctx context.Context, actor *auth.Principal, in ComplaintInput) (*Complaint, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	}
	var c *Complaint
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "care.fileComplaint", in, false,
			func(ctx context.Context) (uuid.UUID, error) {
				c, err := s.file(ctx, actor, actor.ID, in, "", s.Clock.Now(ctx))
				if err != nil {
					return uuid.Nil, err
				}
				return c.ID, nil
			})
		if err != nil {
			return err
		}
		c, err = s.ComplaintFor(ctx, actor, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// file validates and inserts a complaint for ownerID, with its FILED
// event; prefix names the input fields ("complaint." when filed from a
// follow-up call).
func (s *Service) file(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, in ComplaintInput, prefix string, now time.Time) (*Complaint, error) {
	if !in.Category.Valid() {
		return nil, models.Invalid(prefix+"category", "投诉类别无效", "unknown category")
	}
	desc, err := models.Text(prefix+"description", "投诉内容", in.Description, 1, MaxDescriptionLen, true)
	if err != nil {
		return nil, err
	}
	photos, err := ValidatePhotos(in.PhotoURLs)
	if err != nil {
		return nil, err
	}
	storeID, err := s.complaintStore(ctx, ownerID, in)
	if err != nil {
		return nil, err
	}
	c := &Complaint{ID: models.NewID(), OwnerID: ownerID, StoreID: storeID, Category: in.Category, Description: desc,
		RepairOrderID: in.RepairOrderID, VehicleID: in.VehicleID, Photos: photos, Status: Submitted,
		ResponseDueAt: now.Add(RespondWithin), ResponseState: DeadlineOpen,
		ProposalDueAt: now.Add(ProposeWithin), ProposalState: DeadlineOpen,
		ResolutionDueAt: now.Add(ResolveWithin), ResolutionState: DeadlineOpen,
		CreatedAt: now, UpdatedAt: now}
	if actor.IsStaff() {
		c.FiledBy = &actor.ID
	}
	if err := s.DB.Conn(ctx).Create(c).Error; err != nil {
		return nil, err
	}
	if _, err := s.addEvent(ctx, actor, c.ID, EventFiled, "", now); err != nil {
		return nil, err
	}
	return c, nil
}

// complaintStore finds a complaint's store and checks the order and the
// vehicle are the owner's (the vehicle the order's car when both are
// given).
func (s *Service) complaintStore(ctx context.Context, ownerID uuid.UUID, in ComplaintInput) (uuid.UUID, error) {
	var order *workshop.RepairOrder
	if in.RepairOrderID != nil {
		var err error
		if order, err = s.workshop().OrderOf(ctx, ownerID, *in.RepairOrderID); err != nil {
			return uuid.Nil, models.NotFoundAs(err, errOrderNotFound)
		}
	}
	var vehicle *models.Vehicle
	if in.VehicleID != nil {
		// The car's current owner, or the owner at the order's check-in.
		var err error
		if order != nil {
			vehicle, err = s.directory().Vehicle(ctx, *in.VehicleID)
		} else {
			vehicle, err = s.directory().VehicleOf(ctx, ownerID, *in.VehicleID)
		}
		if err != nil {
			return uuid.Nil, models.NotFoundAs(err, errVehicleNotFound)
		}
		if order != nil && order.VehicleID != vehicle.ID {
			return uuid.Nil, models.Invalid("vehicleId", "车辆与工单不符", "the vehicle is not the order's")
		}
	}
	switch {
	case order != nil:
		return order.StoreID, nil
	case vehicle != nil && vehicle.SellingStoreID != nil:
		return *vehicle.SellingStoreID, nil
	}
	owner, err := s.directory().Owner(ctx, ownerID)
	if err != nil {
		return uuid.Nil, models.NotFoundAs(err, errOwnerNotFound)
	}
	if owner.HomeStoreID != nil {
		return *owner.HomeStoreID, nil
	}
	if in.StoreID == nil {
		return uuid.Nil, ErrNoStore
	}
	if ok, err := s.directory().StoreExists(ctx, *in.StoreID); err != nil {
		return uuid.Nil, err
	} else if !ok {
		return uuid.Nil, errStoreNotFound
	}
	return *in.StoreID, nil
}

func (s *Service) addEvent(ctx context.Context, actor *auth.Principal, complaintID uuid.UUID, kind EventKind, note string, now time.Time) (*ComplaintEvent, error) {
	e := &ComplaintEvent{ID: models.NewID(), ComplaintID: complaintID, Kind: kind, ActorKind: ActorStaff, ActorID: &actor.ID, Note: note, CreatedAt: now}
	if actor.IsOwner() {
		e.ActorKind = ActorOwner
	}
	return e, s.DB.Conn(ctx).Create(e).Error
}

// Step runs one step of a complaint's handling (see StepAllowed):
// ACKNOWLEDGE (first response), PROPOSE (note: the proposal, required) and
// RESOLVE (note: the resolution, required) by CRM staff and managers of the
// complaint's store; ACCEPT and REOPEN (note: why, required) by the owner.
// Each deadline the step meets records when and whether it was in time
// (see apply for reopening). Staff steps put a COMPLAINT_UPDATE notification
// in the owner's inbox. The complaint's row is locked, so concurrent steps
// apply one after the other and a step is never applied twice.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (wrong kind of caller, wrong role),
// NOT_FOUND (another owner's, another store's), INVALID_ARGUMENT ("note"),
// COMPLAINT_STATUS.
func (s *Service) Step(ctx context.Context, actor *auth.Principal, id uuid.UUID, step Step, note string) (*Complaint, error) {
	ownerStep := step == StepAccept || step == StepReopen
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case ownerStep && !actor.IsOwner():
		return nil, models.ErrForbidden
	case !ownerStep && !actor.HasAnyRole(rolesComplaintStep...):
		return nil, models.ErrForbidden
	}
	required := 0
	if step == StepPropose || step == StepResolve || step == StepReopen {
		required = 1
	}
	note, err := models.Text("note", "备注", note, required, MaxNoteLen, false)
	if err != nil {
		return nil, err
	}
	var c Complaint
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		q := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, rolesCare, "")
		if err := s.DB.ForUpdate(q).Take(&c).Error; err != nil {
			return models.NotFoundAs(err, errComplaintNotFound)
		}
		normalizeComplaint(&c)
		if err := StepAllowed(c.Status, step); err != nil {
			return err
		}
		from := c.Status
		apply(&c, step, now, note)
		res := s.DB.Conn(ctx).Model(&Complaint{}).Where("id = ? AND status = ?", c.ID, from).Updates(map[string]any{
			"status": c.Status, "proposal": c.Proposal, "resolution": c.Resolution,
			"responded_at": c.RespondedAt, "response_state": c.ResponseState,
			"proposed_at": c.ProposedAt, "proposal_state": c.ProposalState,
			"resolution_due_at": c.ResolutionDueAt, "resolved_at": c.ResolvedAt, "resolution_state": c.ResolutionState,
			"resolution_missed": c.ResolutionMissed, "reopen_count": c.ReopenCount, "closed_at": c.ClosedAt, "updated_at": c.UpdatedAt,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrConflict
		}
		ev, err := s.addEvent(ctx, actor, c.ID, step.Event(), note, now)
		if err != nil || ownerStep {
			return err
		}
		key := "complaint-event:" + ev.ID.String()
		_, err = s.inbox().CreateNotification(ctx, &inbox.Notification{
			OwnerID: c.OwnerID, Kind: NotifyComplaintUpdate, Title: complaintTitle[step], Body: note,
			Link: ComplaintLink(c.ID), DedupeKey: &key, CreatedAt: now,
			VehicleID: c.VehicleID, StoreID: &c.StoreID,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

var complaintTitle = map[Step]string{
	StepAcknowledge: "您的投诉已受理",
	StepPropose:     "您的投诉有了处理方案",
	StepResolve:     "您的投诉已处理完毕，请确认",
}

// MarkMissedDeadlines marks MISSED every complaint deadline still OPEN at
// now whose time has passed (the step had not happened). Conditional
// updates from OPEN only: safe to run twice, late, and on several instances
// at once. A missed resolution deadline also sets ResolutionMissed, which
// reopening does not clear. Returns how many deadlines it marked.
func (s *Service) MarkMissedDeadlines(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	var total int64
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		for _, d := range []struct{ state, due, sticky string }{
			{"response_state", "response_due_at", ""}, {"proposal_state", "proposal_due_at", ""},
			{"resolution_state", "resolution_due_at", "resolution_missed"},
		} {
			set := map[string]any{d.state: DeadlineMissed}
			if d.sticky != "" {
				set[d.sticky] = true
			}
			// The literal 'OPEN' matches the partial indexes of open deadlines.
			res := s.DB.Conn(ctx).Model(&Complaint{}).Where(d.state+" = 'OPEN' AND "+d.due+" < ?", now).
				Updates(set)
			if res.Error != nil {
				return res.Error
			}
			total += res.RowsAffected
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// ComplaintFor reads a complaint the actor may see: the owner their own,
// CRM staff and managers their stores' (GROUP_ADMIN all). Others are
// NOT_FOUND.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) ComplaintFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Complaint, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var c Complaint
	if err := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, rolesCare, "").Take(&c).Error; err != nil {
		return nil, models.NotFoundAs(err, errComplaintNotFound)
	}
	normalizeComplaint(&c)
	return &c, nil
}

// OwnerComplaints reads one page of an owner's complaints, newest first.
// The owner reads their own; CRM staff and managers the owner's at their
// stores.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (other staff), NOT_FOUND (another
// owner's).
func (s *Service) OwnerComplaints(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page) ([]*Complaint, bool, error) {
	if err := ownerList(actor, ownerID); err != nil {
		return nil, false, err
	}
	p.Desc = true
	q := models.Scope(s.DB.Conn(ctx).Model(&Complaint{}).Where("owner_id = ?", ownerID), actor, rolesCare, "")
	rows, more, err := models.Fetch[*Complaint](q, models.ByID("id"), p)
	for _, c := range rows {
		normalizeComplaint(c)
	}
	return rows, more, err
}

// ComplaintFilter selects complaints for staff.
type ComplaintFilter struct {
	StoreID *uuid.UUID
	Status  *ComplaintStatus
	// Overdue: only complaints still being handled with a deadline passed
	// before its step happened (marked MISSED or not yet).
	Overdue bool
}

// Complaints reads one page of complaints for CRM staff and managers,
// newest first: their stores' (GROUP_ADMIN: all), or one store's,
// optionally of one status or only the overdue ones.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not CRM or manager, a store not
// theirs), INVALID_ARGUMENT ("status").
func (s *Service) Complaints(ctx context.Context, actor *auth.Principal, f ComplaintFilter, p models.Page) ([]*Complaint, bool, error) {
	if err := careStaff(actor, rolesComplaints); err != nil {
		return nil, false, err
	}
	if f.Status != nil && !f.Status.Valid() {
		return nil, false, models.Invalid("status", "投诉状态无效", "unknown status")
	}
	q, err := models.StoreScope(s.DB.Conn(ctx).Model(&Complaint{}), actor, f.StoreID, "store_id")
	if err != nil {
		return nil, false, err
	}
	if f.Status != nil {
		q = q.Where("status = ?", *f.Status)
	}
	if f.Overdue {
		now := s.Clock.Now(ctx)
		q = q.Where("status NOT IN ?", []ComplaintStatus{Resolved, Closed}).
			Where("((responded_at IS NULL AND response_due_at < ?) OR (proposed_at IS NULL AND proposal_due_at < ?) OR (resolved_at IS NULL AND resolution_due_at < ?))", now, now, now)
	}
	p.Desc = true
	rows, more, err := models.Fetch[*Complaint](q, models.ByID("id"), p)
	for _, c := range rows {
		normalizeComplaint(c)
	}
	return rows, more, err
}

// EventsByComplaintIDs loads complaints' timelines for a dataloader, in
// one statement, oldest first. No authorization: the caller already
// authorized the complaints.
func (s *Service) EventsByComplaintIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*ComplaintEvent, error) {
	out := make(map[uuid.UUID][]*ComplaintEvent, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*ComplaintEvent
	if err := s.DB.Conn(ctx).Where("complaint_id IN ?", ids).Order("id ASC").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, e := range rows {
		e.CreatedAt = e.CreatedAt.UTC()
		out[e.ComplaintID] = append(out[e.ComplaintID], e)
	}
	return out, nil
}

func normalizeComplaint(c *Complaint) {
	c.ResponseDueAt, c.ProposalDueAt, c.ResolutionDueAt = c.ResponseDueAt.UTC(), c.ProposalDueAt.UTC(), c.ResolutionDueAt.UTC()
	c.RespondedAt, c.ProposedAt, c.ResolvedAt, c.ClosedAt = utc(c.RespondedAt), utc(c.ProposedAt), utc(c.ResolvedAt), utc(c.ClosedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.Photos == nil {
		c.Photos = []string{}
	}
}

// ComplaintsByIDs loads complaints by id for a dataloader, in one
// statement. No authorization: the caller already authorized the objects
// that point at them (a follow-up task).
func (s *Service) ComplaintsByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Complaint, error) {
	out := make(map[uuid.UUID]*Complaint, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*Complaint
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, c := range rows {
		normalizeComplaint(c)
		out[c.ID] = c
	}
	return out, nil
}

package care

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// SurveyDedupeKey is the dedupe key of an order's survey invitation.
func SurveyDedupeKey(orderID uuid.UUID) string { return "survey-invitation:" + orderID.String() }

// InviteSurveys offers a survey for every repair order delivered in the
// Lookback before now that has none, and puts an invitation (kind
// SURVEY_INVITATION, linking the repair order) in its owner's inbox. The
// survey is unique per order and the invitation has a dedupe key, so
// running the job twice, late, or on several instances at once offers each
// survey once. Owners who deleted their account are offered nothing: the
// query skips them, and each order's transaction checks again under the
// owner's row lock, which the deletion also takes. Each order is offered in
// a transaction of its own. Returns how many surveys it offered (committed
// ones only).
func (s *Service) InviteSurveys(ctx context.Context, now time.Time) (int64, error) {
	now = now.UTC()
	conn := s.DB.Conn(ctx)
	var orders []workshop.DeliveredOrder
	err := conn.Table("(?) AS o", workshop.DeliveredBetween(conn, now.Add(-Lookback), now)).Select("o.*").
		Joins("LEFT JOIN surveys s ON s.repair_order_id = o.id").
		Where("s.id IS NULL").
		Where(directory.OwnerNotDeleted("o.owner_id")).
		Order("o.delivered_at ASC, o.id ASC").Find(&orders).Error
	if err != nil {
		return 0, err
	}
	var offered int64
	for i := range orders {
		o := &orders[i]
		var created bool
		err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
			created = false
			if gone, err := s.lockOwner(ctx, o.OwnerID); err != nil || gone {
				return err
			}
			sv := &Survey{ID: models.NewID(), RepairOrderID: o.ID, OwnerID: o.OwnerID, StoreID: o.StoreID, VehicleID: o.VehicleID,
				AdvisorID: o.AdvisorID, OfferedAt: now, AnswerBy: now.Add(SurveyAnswerWindow), CreatedAt: now, UpdatedAt: now}
			res := s.DB.Conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "repair_order_id"}}, DoNothing: true}).Create(sv)
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			key := SurveyDedupeKey(o.ID)
			_, err := s.inbox().CreateNotification(ctx, &inbox.Notification{
				OwnerID: o.OwnerID, Kind: NotifySurveyInvitation, Title: "请为本次服务评分",
				Body: fmt.Sprintf("您的工单 %s 已交车，欢迎对本次服务进行评价（30 天内有效）。", o.Number),
				Link: workshop.OrderLink(o.ID), DedupeKey: &key, CreatedAt: now,
				VehicleID: &o.VehicleID, StoreID: &o.StoreID,
			})
			created = err == nil
			return err
		})
		if err != nil {
			return offered, err
		}
		if created {
			offered++
		}
	}
	return offered, nil
}

// lockOwner locks the owner's row for the rest of the transaction and
// reports whether the owner deleted the account. The deletion locks the
// same row (FOR NO KEY UPDATE, as here: rows referencing the owner may
// still be inserted meanwhile) before it marks the owner deleted, so what
// the caller inserts next for the owner either commits before the deletion
// (which then erases or closes it) or not at all.
func (s *Service) lockOwner(ctx context.Context, ownerID uuid.UUID) (gone bool, err error) {
	if _, err := s.directory().LockOwner(ctx, ownerID, true, false); err != nil {
		return false, err
	}
	return s.directory().OwnerDeleted(ctx, ownerID)
}

// SubmitSurvey records the owner's answer to their survey, or changes it:
// a survey may be answered until its AnswerBy and changed for
// SurveyEditWindow after the first answer. When any score is 3 or less a
// LOW_SURVEY follow-up task (due a day later, the order attached) is opened
// for the store's CRM staff, once per survey however often it is changed.
// Only the survey's owner answers it.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (staff), NOT_FOUND (another owner's),
// INVALID_ARGUMENT ("overall", "advisor", "quality", "timeliness",
// "cleanliness", "comment"), SURVEY_CLOSED.
func (s *Service) SubmitSurvey(ctx context.Context, actor *auth.Principal, id uuid.UUID, sc Scores, comment string) (*Survey, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	}
	if err := ValidateScores(sc); err != nil {
		return nil, err
	}
	comment, err := models.Text("comment", "评价内容", comment, 0, MaxCommentLen, true)
	if err != nil {
		return nil, err
	}
	var sv Survey
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		q := s.DB.Conn(ctx).Where("id = ? AND owner_id = ?", id, actor.ID)
		if err := s.DB.ForUpdate(q).Take(&sv).Error; err != nil {
			return models.NotFoundAs(err, errSurveyNotFound)
		}
		normalizeSurvey(&sv)
		switch {
		case sv.SubmittedAt == nil && !now.Before(sv.AnswerBy):
			return ErrSurveyExpired
		case sv.EditableUntil != nil && !now.Before(*sv.EditableUntil):
			return ErrSurveyLocked
		}
		if sv.SubmittedAt == nil {
			until := now.Add(SurveyEditWindow)
			sv.SubmittedAt, sv.EditableUntil = &now, &until
		}
		sv.Overall, sv.AdvisorScore, sv.Quality, sv.Timeliness, sv.Cleanliness = &sc.Overall, &sc.Advisor, &sc.Quality, &sc.Timeliness, &sc.Cleanliness
		sv.Comment, sv.UpdatedAt = comment, now
		if err := s.DB.Conn(ctx).Select("*").Updates(&sv).Error; err != nil {
			return err
		}
		if !Low(sc) {
			return nil
		}
		order := sv.RepairOrderID
		survey := sv.ID
		vehicle := sv.VehicleID
		_, err := s.openTask(ctx, &FollowUpTask{Kind: LowSurvey, StoreID: sv.StoreID, SubjectID: sv.ID, OwnerID: sv.OwnerID,
			VehicleID: &vehicle, RepairOrderID: &order, SurveyID: &survey, DueAt: now.Add(LowSurveyDue)}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sv, nil
}

// SurveyFor reads a survey the actor may see: the owner their own, CRM and
// managers their stores' (GROUP_ADMIN all). Others' are NOT_FOUND.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) SurveyFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Survey, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var sv Survey
	if err := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, rolesCare, "").Take(&sv).Error; err != nil {
		return nil, models.NotFoundAs(err, errSurveyNotFound)
	}
	normalizeSurvey(&sv)
	return &sv, nil
}

// OwnerSurveys reads one page of an owner's surveys, newest first, and
// reports whether more follow. An owner reads only their own; CRM and
// managers the owner's surveys at their stores.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (other staff), NOT_FOUND (another
// owner's).
func (s *Service) OwnerSurveys(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page) ([]*Survey, bool, error) {
	if err := ownerList(actor, ownerID); err != nil {
		return nil, false, err
	}
	p.Desc = true
	q := models.Scope(s.DB.Conn(ctx).Model(&Survey{}).Where("owner_id = ?", ownerID), actor, rolesCare, "")
	rows, more, err := models.Fetch[*Survey](q, models.ByID("id"), p)
	for _, r := range rows {
		normalizeSurvey(r)
	}
	return rows, more, err
}

// ownerList checks the actor may list an owner's surveys or complaints.
func ownerList(actor *auth.Principal, ownerID uuid.UUID) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case actor.IsOwner() && actor.ID != ownerID:
		return errOwnerNotFound
	case !actor.IsOwner() && !actor.HasAnyRole(rolesCare...):
		return models.ErrForbidden
	}
	return nil
}

// SurveysByOrderIDs loads the surveys of repair orders for a dataloader, in
// one statement, keyed by order id. No authorization: who may read an order
// is not who may read its survey (a car's next owner reads its past
// orders), so the caller shows each survey only when SurveyVisible. Orders
// without a survey are omitted.
func (s *Service) SurveysByOrderIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Survey, error) {
	out := make(map[uuid.UUID]*Survey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*Survey
	if err := s.DB.Conn(ctx).Where("repair_order_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		normalizeSurvey(r)
		out[r.RepairOrderID] = r
	}
	return out, nil
}

func normalizeSurvey(sv *Survey) {
	sv.OfferedAt, sv.AnswerBy = sv.OfferedAt.UTC(), sv.AnswerBy.UTC()
	sv.CreatedAt, sv.UpdatedAt = sv.CreatedAt.UTC(), sv.UpdatedAt.UTC()
	sv.SubmittedAt, sv.EditableUntil = utc(sv.SubmittedAt), utc(sv.EditableUntil)
}

// Editable reports whether the owner may answer or change the survey at now.
func (s *Survey) Editable(now time.Time) bool {
	if s.EditableUntil != nil {
		return now.Before(*s.EditableUntil)
	}
	return now.Before(s.AnswerBy)
}

// CanSeeSurveys reports whether the actor may see any survey at all:
// owners (their own), CRM staff and managers. Other staff (advisors,
// technicians) do not see how they were rated. SurveyVisible decides for
// one survey.
func CanSeeSurveys(actor *auth.Principal) bool {
	return actor.IsOwner() || actor.HasAnyRole(rolesCare...)
}

// SurveyVisible reports whether the actor may see the survey, by the rule
// of SurveyFor and OwnerSurveys: an owner only a survey offered to them
// (not the survey of an order of a car they bought since), CRM staff and
// managers the surveys of their stores (GROUP_ADMIN: all). A nil survey is
// not visible. For surveys loaded without authorization (by order, by id)
// before they are shown.
func SurveyVisible(actor *auth.Principal, sv *Survey) bool {
	switch {
	case sv == nil:
		return false
	case actor.IsOwner():
		return sv.OwnerID == actor.ID
	case actor.HasAnyRole(rolesCare...):
		return actor.CanAccessStore(sv.StoreID)
	}
	return false
}

// SurveysByIDs loads surveys by id for a dataloader, in one statement. No
// authorization: the caller already authorized the objects that point at
// them (a follow-up task).
func (s *Service) SurveysByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Survey, error) {
	out := make(map[uuid.UUID]*Survey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*Survey
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		normalizeSurvey(r)
		out[r.ID] = r
	}
	return out, nil
}

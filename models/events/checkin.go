package events

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// MaxCodeLen bounds a scanned check-in code.
const MaxCodeLen = 64

// CheckIn admits a confirmed registration by its code, at the door or the
// departure point, once: from CheckInOpensBefore the start until the end.
// The event's attendance points, if any, are credited at the same moment,
// and its reward coupon issued (awardCoupon).
// Only the host store's event staff check in; a code of another store's
// event is NOT_FOUND to them.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("code"), NOT_CONFIRMED,
// ALREADY_CHECKED_IN (the message says when), CHECK_IN_NOT_OPEN.
func (s *Service) CheckIn(ctx context.Context, actor *auth.Principal, code string) (*Registration, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesCheckIn...):
		return nil, models.ErrForbidden
	}
	code, err := checkInCode(code)
	if err != nil {
		return nil, err
	}
	var out *Registration
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		e, r, err := s.lockForCheckIn(ctx, actor, code)
		if err != nil {
			return err
		}
		if r.CheckedInAt != nil {
			return AlreadyCheckedIn(*r.CheckedInAt, s.storeLocation(ctx, e.StoreID))
		}
		if err := checkInOpen(r, e, now); err != nil {
			return err
		}
		if err := s.admit(ctx, r, actor.ID, now); err != nil {
			return err
		}
		out = r
		if err := s.awardAttendance(ctx, e, r); err != nil {
			return err
		}
		return s.awardCoupon(ctx, e, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkInCode normalizes a scanned or typed code (trimmed, upper case) and
// refuses one that is empty, too long or not plain text, and one this
// service never issues (NOT_FOUND, without asking the database).
//
// Codes: INVALID_ARGUMENT ("code"), NOT_FOUND ("code").
func checkInCode(code string) (string, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" || len(code) > MaxCodeLen {
		return "", models.Invalid("code", "请扫描或输入签到码", "code is required")
	}
	if !models.PlainText(code, false) {
		return "", models.Invalid("code", "签到码包含无效字符", "code contains invalid characters")
	}
	if !wellFormedCode(code) {
		return "", errCodeNotFound
	}
	return code, nil
}

// lockForCheckIn finds the registration holding code and locks its event,
// then the registration (the order every writer of registrations takes). A
// code of an event of a store the actor does not work for is NOT_FOUND.
func (s *Service) lockForCheckIn(ctx context.Context, actor *auth.Principal, code string) (*Event, *Registration, error) {
	var found []Registration
	if err := s.DB.Conn(ctx).Where("check_in_code = ?", code).Limit(1).Find(&found).Error; err != nil {
		return nil, nil, err
	}
	if len(found) == 0 {
		return nil, nil, errCodeNotFound
	}
	e, err := s.lockEvent(ctx, found[0].EventID)
	if err != nil {
		return nil, nil, err
	}
	if !actor.CanAccessStore(e.StoreID) {
		return nil, nil, errCodeNotFound
	}
	r, err := s.lockRegistration(ctx, "id = ?", found[0].ID, errCodeNotFound)
	if err != nil {
		return nil, nil, err
	}
	return e, r, nil
}

// checkInOpen refuses to admit a registration that is not confirmed, or
// before CheckInOpensBefore the event's start or after its end.
//
// Codes: NOT_CONFIRMED, CHECK_IN_NOT_OPEN.
func checkInOpen(r *Registration, e *Event, now time.Time) error {
	switch {
	case r.Status != Confirmed:
		return ErrNotConfirmed
	case now.Before(e.StartsAt.Add(-CheckInOpensBefore)) || now.After(e.EndsAt):
		return ErrCheckInNotOpen
	}
	return nil
}

// admit marks the locked registration checked in by staff member by, once:
// the update applies only while it is not.
func (s *Service) admit(ctx context.Context, r *Registration, by uuid.UUID, now time.Time) error {
	r.CheckedInAt, r.CheckedInBy, r.UpdatedAt = &now, &by, now
	res := s.DB.Conn(ctx).Model(r).Where("checked_in_at IS NULL").
		Updates(map[string]any{"checked_in_at": now, "checked_in_by": by, "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return models.ErrConflict
	}
	return nil
}

// awardAttendance credits the event's attendance points, if any, to the
// registration's owner, once per registration.
func (s *Service) awardAttendance(ctx context.Context, e *Event, r *Registration) error {
	if e.AttendancePoints <= 0 {
		return nil
	}
	store := e.StoreID
	_, err := s.Wallet.Award(ctx, wallet.AwardInput{OwnerID: r.OwnerID, Points: e.AttendancePoints,
		RefType: wallet.RefRegistration, RefID: r.ID, StoreID: &store, StaffID: r.CheckedInBy,
		Key: "registration:" + r.ID.String(), Memo: e.Title})
	return err
}

// awardCoupon issues the event's reward coupon, if it has one, to the
// registration's owner (coupons.Service.Issue, source EVENT_REWARD) in the
// check-in's transaction, once per registration (reward_coupon_id, set
// only while empty). An owner holding as many of the template as it
// allows, or a template past its end, gets none and is checked in all the
// same.
func (s *Service) awardCoupon(ctx context.Context, e *Event, r *Registration) error {
	if e.RewardCouponTemplateID == nil || r.RewardCouponID != nil {
		return nil
	}
	c, err := s.coupons().Issue(ctx, coupons.IssueRequest{TemplateID: *e.RewardCouponTemplateID, OwnerID: r.OwnerID,
		Source: coupons.SourceEventReward})
	if errors.Is(err, coupons.ErrLimitReached) || errors.Is(err, coupons.ErrTemplateExpired) {
		return nil
	}
	if err != nil {
		return err
	}
	res := s.DB.Conn(ctx).Model(r).Where("reward_coupon_id IS NULL").Update("reward_coupon_id", c.ID)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return models.ErrConflict
	}
	r.RewardCouponID = &c.ID
	return nil
}

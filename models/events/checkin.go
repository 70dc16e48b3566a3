package events

import (
	"context"
	"strings"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// MaxCodeLen bounds a scanned check-in code.
const MaxCodeLen = 64

// CheckIn admits a confirmed registration by its code, at the door or the
// departure point, once: from CheckInOpensBefore the start until the end.
// The event's attendance points, if any, are credited at the same moment.
// Only the host store's event staff check in; a code of another store's
// event is NOT_FOUND to them.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("code"), NOT_CONFIRMED,
// ALREADY_CHECKED_IN (the message says when), CHECK_IN_NOT_OPEN.
func (s *Service) CheckIn(ctx context.Context, actor *auth.Principal, code string) (*Registration, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesManage...):
		return nil, models.ErrForbidden
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" || len(code) > MaxCodeLen {
		return nil, models.Invalid("code", "请扫描或输入签到码", "code is required")
	}
	if !models.PlainText(code, false) {
		return nil, models.Invalid("code", "签到码包含无效字符", "code contains invalid characters")
	}
	if !wellFormedCode(code) {
		// Not a code this service issues: no need to ask the database.
		return nil, errCodeNotFound
	}
	var out *Registration
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		var found []Registration
		if err := s.DB.Conn(ctx).Where("check_in_code = ?", code).Limit(1).Find(&found).Error; err != nil {
			return err
		}
		if len(found) == 0 {
			return errCodeNotFound
		}
		e, err := s.lockEvent(ctx, found[0].EventID)
		if err != nil {
			return err
		}
		if !actor.CanAccessStore(e.StoreID) {
			return errCodeNotFound
		}
		r, err := s.lockRegistration(ctx, "id = ?", found[0].ID, errCodeNotFound)
		if err != nil {
			return err
		}
		switch {
		case r.CheckedInAt != nil:
			return AlreadyCheckedIn(*r.CheckedInAt, s.storeLocation(ctx, e.StoreID))
		case r.Status != Confirmed:
			return ErrNotConfirmed
		case now.Before(e.StartsAt.Add(-CheckInOpensBefore)) || now.After(e.EndsAt):
			return ErrCheckInNotOpen
		}
		by := actor.ID
		r.CheckedInAt, r.CheckedInBy, r.UpdatedAt = &now, &by, now
		res := s.DB.Conn(ctx).Model(r).Where("checked_in_at IS NULL").
			Updates(map[string]any{"checked_in_at": now, "checked_in_by": by, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return models.ErrConflict
		}
		if e.AttendancePoints > 0 {
			store := e.StoreID
			if _, err := s.Wallet.Award(ctx, wallet.AwardInput{OwnerID: r.OwnerID, Points: e.AttendancePoints,
				RefType: wallet.RefRegistration, RefID: r.ID, StoreID: &store, StaffID: &by,
				Key: "registration:" + r.ID.String(), Memo: e.Title}); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

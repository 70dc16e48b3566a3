package referrals

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Program is an owner's referral code and link.
type Program struct {
	OwnerID    uuid.UUID
	Code, Link string
}

// ProgramFor is the owner's code (created on first read, CodeOf) and
// link: the owner's own only.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (staff), NOT_FOUND (another owner).
func (s *Service) ProgramFor(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID) (*Program, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	case actor.ID != ownerID:
		return nil, errOwnerNotFound
	}
	code, err := s.CodeOf(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	return &Program{OwnerID: ownerID, Code: code, Link: s.Link(code)}, nil
}

// Referrals lists the owners the owner referred, newest first: the owner's
// own only.
//
// Codes: UNAUTHENTICATED, NOT_FOUND (another owner, staff),
// INVALID_ARGUMENT ("first", "after").
func (s *Service) Referrals(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page) ([]*Referral, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	if !actor.IsOwner() || actor.ID != ownerID {
		return nil, false, errOwnerNotFound
	}
	p.Desc = true
	return models.Fetch[*Referral](s.DB.Conn(ctx).Model(&Referral{}).Where("referrer_id = ?", ownerID), models.ByID("id"), p)
}

// RewardsEarned counts the owner's referrals that were rewarded, in one
// statement. The caller has checked the owner is the actor.
func (s *Service) RewardsEarned(ctx context.Context, ownerID uuid.UUID) (int, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&Referral{}).Where("referrer_id = ? AND status = ?", ownerID, Rewarded).Count(&n).Error
	return int(n), err
}

// StoreReferrals lists a store's referrals (Referral.StoreID), newest
// first, optionally of one status: CRM or MANAGER of the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, INVALID_ARGUMENT ("status", "first",
// "after").
func (s *Service) StoreReferrals(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, status *Status, p models.Page) ([]*Referral, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	if err := models.StaffAt(actor, storeID, rolesStoreReferrals...); err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Model(&Referral{}).Where("store_id = ?", storeID)
	if status != nil {
		switch *status {
		case Pending, Rewarded, Refused:
			q = q.Where("status = ?", *status)
		default:
			return nil, false, models.Invalid("status", "推荐状态无效", "unknown referral status")
		}
	}
	p.Desc = true
	return models.Fetch[*Referral](q, models.ByID("id"), p)
}

// ReferralFor reads a referral the actor may see: the referrer's and the
// referred owner's; staff with CRM or MANAGER at its store (GROUP_ADMIN
// every one). Others' are not found.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("referralId").
func (s *Service) ReferralFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Referral, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.DB.Conn(ctx).Where("id = ?", id)
	if actor.IsOwner() {
		q = q.Where("(referrer_id = ? OR referred_id = ?)", actor.ID, actor.ID)
	}
	var r Referral
	if err := q.Take(&r).Error; err != nil {
		return nil, models.NotFoundAs(err, errNotFound)
	}
	if !actor.IsOwner() && !actor.IsGroupAdmin() {
		if r.StoreID == nil || models.StaffAt(actor, *r.StoreID, rolesStoreReferrals...) != nil {
			return nil, errNotFound
		}
	}
	return &r, nil
}

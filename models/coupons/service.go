package coupons

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// Service runs coupons on a database.
//
// Issuing counts the owner's coupons of the template under the owner's row
// lock (directory.LockOwner), so concurrent issues never pass the
// per-owner limit. Redeeming is a conditional update from AVAILABLE in the
// caller's transaction: of concurrent redemptions of one coupon exactly one
// affects the row, the others are COUPON_NOT_AVAILABLE and their
// transactions (a settlement, a registration) roll back.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time).
	Clock models.Clock
	// Directory reads owners and their visibility (nil: one on DB and Clock).
	Directory *directory.Service
	// Inbox takes the expiry reminders (nil: one on DB and Clock).
	Inbox *inbox.Service
}

// Or is s, or a service on db and c when s is nil (a capability's
// default when none is wired).
func (s *Service) Or(db *models.DB, c models.Clock) *Service {
	if s != nil {
		return s
	}
	return &Service{DB: db, Clock: c}
}

func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }
func (s *Service) inbox() *inbox.Service         { return s.Inbox.Or(s.DB, s.Clock) }

// Who may do what (docs/authorization.md); GROUP_ADMIN holds every role.
var (
	// rolesCreateTemplate may create a store's templates (CreateTemplate);
	// the group's need GROUP_ADMIN.
	rolesCreateTemplate = rolesCampaigns
	// rolesIssue may issue coupons to customers they see (IssueByStaff).
	rolesIssue = rolesCampaigns
	// rolesRevoke may revoke an available coupon (Revoke).
	rolesRevoke = rolesCampaigns
	// rolesTemplates may list templates (Templates): any staff of the
	// store, who see what they may offer.
	rolesTemplates []auth.Role

	rolesCampaigns = []auth.Role{auth.RoleCRM, auth.RoleManager}
)

// RolesCreateTemplate is the list rolesCreateTemplate, copied: a caller cannot change the rule.
func RolesCreateTemplate() []auth.Role { return slices.Clone(rolesCreateTemplate) }

// RolesIssue is the list rolesIssue, copied: a caller cannot change the rule.
func RolesIssue() []auth.Role { return slices.Clone(rolesIssue) }

// RolesRevoke is the list rolesRevoke, copied: a caller cannot change the rule.
func RolesRevoke() []auth.Role { return slices.Clone(rolesRevoke) }

// RolesTemplates is the list rolesTemplates, copied (nil: any staff).
func RolesTemplates() []auth.Role { return slices.Clone(rolesTemplates) }

// CreateTemplate stores a new template: for a store (staff with CRM or
// MANAGER there) or, without StoreID, for the whole group (GROUP_ADMIN).
// Nothing is stored on bad input.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role, store not theirs, a group
// template by store staff), INVALID_ARGUMENT (the field named).
func (s *Service) CreateTemplate(ctx context.Context, actor *auth.Principal, in TemplateInput) (*Template, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case in.StoreID == nil && !actor.IsGroupAdmin():
		return nil, models.ErrForbidden
	case in.StoreID != nil:
		if err := models.StaffAt(actor, *in.StoreID, rolesCreateTemplate...); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now(ctx)
	in, err := in.check(now)
	if err != nil {
		return nil, err
	}
	t := &Template{
		ID: models.NewID(), StoreID: in.StoreID, Name: in.Name, Kind: in.Kind, AmountFen: in.AmountFen,
		Percent: in.Percent, CapFen: in.CapFen, ItemName: in.ItemName, ItemCode: in.ItemCode,
		MinSpendFen: in.MinSpendFen, OrderKinds: strings.Join(in.OrderKinds, ","), EventFees: in.EventFees,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, ValidDays: in.ValidDays,
		PerOwnerLimit: in.PerOwnerLimit, CreatedBy: actor.ID, CreatedAt: now,
	}
	if err := s.DB.Conn(ctx).Create(t).Error; err != nil {
		return nil, err
	}
	return t, nil
}

// IssueRequest is a coupon to issue from Go, by a capability in its own
// transaction.
type IssueRequest struct {
	TemplateID, OwnerID uuid.UUID
	Source              Source
	// IssuedBy is the staff member issuing (STAFF), nil otherwise.
	IssuedBy *uuid.UUID
}

// Issue gives the owner a coupon of the template, in the transaction in
// ctx (or its own): valid from now (or the template's later start) for
// the template's days, or until its fixed end. The owner's row is locked
// while their coupons of the template are counted, so concurrent issues
// never pass the template's per-owner limit (revoked coupons do not
// count). It checks no caller: capabilities call it for their own reasons
// (a campaign, a referral, an event reward).
//
// Codes: NOT_FOUND ("couponTemplateId", "ownerId"), INVALID_ARGUMENT
// ("source"), COUPON_TEMPLATE_EXPIRED, COUPON_LIMIT_REACHED.
func (s *Service) Issue(ctx context.Context, r IssueRequest) (*Coupon, error) {
	if !r.Source.Valid() {
		return nil, models.Invalid("source", "发券来源无效", "unknown coupon source")
	}
	var out *Coupon
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		t, err := s.template(ctx, r.TemplateID)
		if err != nil {
			return err
		}
		if t.ValidUntil != nil && !now.Before(*t.ValidUntil) {
			return ErrTemplateExpired
		}
		if _, err := s.directory().LockOwner(ctx, r.OwnerID, true, false); err != nil {
			return models.NotFoundAs(err, errOwnerNotFound)
		}
		var held int64
		if err := s.DB.Conn(ctx).Model(&Coupon{}).Where("template_id = ? AND owner_id = ? AND status <> ?", t.ID, r.OwnerID, Revoked).
			Count(&held).Error; err != nil {
			return err
		}
		if held >= int64(t.PerOwnerLimit) {
			return ErrLimitReached
		}
		from, until := t.window(now)
		c := &Coupon{ID: models.NewID(), TemplateID: t.ID, OwnerID: r.OwnerID, StoreID: t.StoreID, Status: Available,
			Source: r.Source, ValidFrom: from, ValidUntil: until, IssuedBy: r.IssuedBy, IssuedAt: now, UpdatedAt: now}
		if err := s.DB.Conn(ctx).Create(c).Error; err != nil {
			return err
		}
		c.Template, out = t, c
		return nil
	})
	return out, err
}

// IssueByStaff is Issue by staff (source STAFF): CRM or MANAGER of the
// template's store (a group template: of any store), to a customer they
// see (directory.OwnerFor). A retry with the same idempotency key returns
// the first coupon.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("couponTemplateId",
// "ownerId"), COUPON_TEMPLATE_EXPIRED, COUPON_LIMIT_REACHED,
// IDEMPOTENCY_KEY_REUSED, INVALID_ARGUMENT ("idempotencyKey").
func (s *Service) IssueByStaff(ctx context.Context, actor *auth.Principal, templateID, ownerID uuid.UUID, key string) (*Coupon, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() || !actor.HasAnyRole(rolesIssue...) {
		return nil, models.ErrForbidden
	}
	t, err := s.TemplateFor(ctx, actor, templateID)
	if err != nil {
		return nil, err
	}
	if t.StoreID != nil {
		if err := models.StaffAt(actor, *t.StoreID, rolesIssue...); err != nil {
			return nil, err
		}
	}
	if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
		return nil, models.NotFoundAs(err, errOwnerNotFound)
	}
	params := struct{ Template, Owner uuid.UUID }{templateID, ownerID}
	by := actor.ID
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), key, "coupons.issue", params, false,
		func(ctx context.Context) (uuid.UUID, error) {
			c, err := s.Issue(ctx, IssueRequest{TemplateID: templateID, OwnerID: ownerID, Source: SourceStaff, IssuedBy: &by})
			if err != nil {
				return uuid.Nil, err
			}
			return c.ID, nil
		})
	if err != nil {
		return nil, err
	}
	return s.CouponFor(ctx, actor, id)
}

// Revoke withdraws an available coupon: CRM or MANAGER of its store (a
// group coupon: GROUP_ADMIN), the owner a customer they see.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("couponId"),
// COUPON_NOT_AVAILABLE (used, revoked or expired already).
func (s *Service) Revoke(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Coupon, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() || !actor.HasAnyRole(rolesRevoke...) {
		return nil, models.ErrForbidden
	}
	c, err := s.CouponFor(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.StoreID == nil && !actor.IsGroupAdmin():
		return nil, models.ErrForbidden
	case c.StoreID != nil:
		if err := models.StaffAt(actor, *c.StoreID, rolesRevoke...); err != nil {
			return nil, err
		}
	}
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		res := s.DB.Conn(ctx).Model(&Coupon{}).Where("id = ? AND status = ? AND valid_until > ?", id, Available, now).
			Updates(map[string]any{"status": Revoked, "revoked_at": now, "revoked_by": actor.ID, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrNotAvailable
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.CouponFor(ctx, actor, id)
}

// template reads a template without authorization.
func (s *Service) template(ctx context.Context, id uuid.UUID) (*Template, error) {
	var t Template
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, models.NotFoundAs(err, errTemplateNotFound)
	}
	return &t, nil
}

// Redemption is a coupon asked to pay towards a bill, by the capability
// that bills it (RefType, RefID: the order or the registration), for the
// bill's owner.
type Redemption struct {
	CouponID, OwnerID uuid.UUID
	Bill              Bill
	RefType           string
	RefID             uuid.UUID
}

// Redeem uses the coupon for the bill in the transaction in ctx, which
// the caller must hold (the settlement's, the registration's): it checks
// the coupon is the owner's, AVAILABLE and within its window at the
// clock's now, computes its discount (Template.Discount), and marks it
// USED by a conditional update from AVAILABLE, which exactly one of
// concurrent redemptions wins. It returns the discount.
//
// Codes: NOT_FOUND ("couponId": absent or another owner's),
// COUPON_NOT_AVAILABLE, COUPON_NOT_YET_VALID, COUPON_NOT_APPLICABLE,
// COUPON_MIN_SPEND_NOT_MET.
func (s *Service) Redeem(ctx context.Context, r Redemption) (int64, error) {
	return s.take(ctx, r, Used)
}

// Reserve holds the coupon for a bill not paid yet (a registration
// waiting for its seats or for its online payment), in the caller's
// transaction: Redeem's checks and conditional update, to RESERVED. The
// bill then either is paid (Consume: USED) or goes away (Release). It
// returns the discount the coupon will take off.
//
// Codes: as Redeem.
func (s *Service) Reserve(ctx context.Context, r Redemption) (int64, error) {
	return s.take(ctx, r, Reserved)
}

func (s *Service) take(ctx context.Context, r Redemption, to Status) (int64, error) {
	if !models.InTx(ctx) {
		return 0, errors.New("coupons: a coupon taken outside a transaction")
	}
	now := s.Clock.Now(ctx)
	var c Coupon
	if err := s.DB.Conn(ctx).Where("id = ? AND owner_id = ?", r.CouponID, r.OwnerID).Take(&c).Error; err != nil {
		return 0, models.NotFoundAs(err, errCouponNotFound)
	}
	switch {
	case c.StatusAt(now) != Available:
		return 0, ErrNotAvailable
	case now.Before(c.ValidFrom):
		return 0, ErrNotYetValid
	}
	t, err := s.template(ctx, c.TemplateID)
	if err != nil {
		return 0, err
	}
	off, err := t.Discount(r.Bill)
	if err != nil {
		return 0, err
	}
	set := map[string]any{"status": to, "used_ref_type": r.RefType, "used_ref_id": r.RefID, "discount_fen": off, "updated_at": now}
	if to == Used {
		set["used_at"] = now
	}
	res := s.DB.Conn(ctx).Model(&Coupon{}).Where("id = ? AND status = ? AND valid_until > ?", c.ID, Available, now).Updates(set)
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected != 1 {
		return 0, ErrNotAvailable
	}
	return off, nil
}

// Consume spends the coupon reserved for a bill (refType, refID) now that
// the bill is paid, in the caller's transaction: RESERVED to USED, whatever
// the clock says (it was valid when reserved). It reports whether a
// reserved coupon was there.
func (s *Service) Consume(ctx context.Context, refType string, refID uuid.UUID) (bool, error) {
	now := s.Clock.Now(ctx)
	res := s.DB.Conn(ctx).Model(&Coupon{}).Where("used_ref_id = ? AND used_ref_type = ? AND status = ?", refID, refType, Reserved).
		Updates(map[string]any{"status": Used, "used_at": now, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// Release gives back the coupon a bill reserved or used (refType, refID)
// when the bill goes away (a withdrawn registration, its fee refunded), in
// the caller's transaction: AVAILABLE again while its window lasts,
// EXPIRED after. The update is conditional on the coupon still being the
// bill's, so of any number of give-backs one gives it back. It reports
// whether a coupon was given back.
func (s *Service) Release(ctx context.Context, refType string, refID uuid.UUID) (bool, error) {
	now := s.Clock.Now(ctx)
	var c Coupon
	err := s.DB.Conn(ctx).Where("used_ref_id = ? AND used_ref_type = ? AND status IN ?", refID, refType, []Status{Reserved, Used}).
		Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	status := Available
	if !now.Before(c.ValidUntil) {
		status = Expired
	}
	res := s.DB.Conn(ctx).Model(&Coupon{}).Where("id = ? AND status = ? AND used_ref_id = ?", c.ID, c.Status, refID).
		Updates(map[string]any{"status": status, "used_at": nil, "used_ref_type": "", "used_ref_id": nil, "discount_fen": 0, "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// ReservedRefs lists the bills of refType holding a reserved coupon,
// oldest reservation first, at most limit: for the capability to give back
// those whose bill can no longer be paid.
func (s *Service) ReservedRefs(ctx context.Context, refType string, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.DB.Conn(ctx).Model(&Coupon{}).Where("status = ? AND used_ref_type = ?", Reserved, refType).
		Order("updated_at, id").Limit(limit).Pluck("used_ref_id", &ids).Error
	return ids, err
}

package coupons

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// CouponFor reads a coupon the actor may see: an owner their own; staff
// those of the customers they see (directory.OwnerFor: customer roles at
// the owner's stores, GROUP_ADMIN everyone). Others' are not found.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("couponId").
func (s *Service) CouponFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Coupon, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var c Coupon
	q := s.DB.Conn(ctx).Where("id = ?", id)
	if actor.IsOwner() {
		q = q.Where("owner_id = ?", actor.ID)
	}
	if err := q.Take(&c).Error; err != nil {
		return nil, models.NotFoundAs(err, errCouponNotFound)
	}
	if !actor.IsOwner() {
		if _, err := s.directory().OwnerFor(ctx, actor, c.OwnerID); err != nil {
			return nil, models.NotFoundAs(err, errCouponNotFound)
		}
	}
	if err := s.prepare(ctx, []*Coupon{&c}); err != nil {
		return nil, err
	}
	return &c, nil
}

// Coupons lists an owner's coupons, newest first, for the owner and for
// staff who see the customer (CouponFor's rule); status filters by the
// status as owners see it at the clock's now (an AVAILABLE coupon past its
// end is EXPIRED).
//
// Codes: UNAUTHENTICATED, NOT_FOUND (an owner the actor does not see),
// INVALID_ARGUMENT ("status", "first", "after").
func (s *Service) Coupons(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, status *Status, p models.Page) ([]*Coupon, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	if !actor.IsOwner() || actor.ID != ownerID {
		if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
			return nil, false, models.NotFoundAs(err, errOwnerNotFound)
		}
	}
	now := s.Clock.Now(ctx)
	q := s.DB.Conn(ctx).Model(&Coupon{}).Where("owner_id = ?", ownerID)
	if status != nil {
		switch *status {
		case Available:
			q = q.Where("status = ? AND valid_until > ?", Available, now)
		case Expired:
			q = q.Where("(status = ? OR (status = ? AND valid_until <= ?))", Expired, Available, now)
		case Reserved, Used, Revoked:
			q = q.Where("status = ?", *status)
		default:
			return nil, false, models.Invalid("status", "优惠券状态无效", "unknown coupon status")
		}
	}
	p.Desc = true
	rows, more, err := models.Fetch[*Coupon](q, models.ByID("id"), p)
	if err != nil {
		return nil, false, err
	}
	if err := s.prepare(ctx, rows); err != nil {
		return nil, false, err
	}
	return rows, more, nil
}

// prepare readies coupons for readers: their templates loaded in one
// statement, their status as of the clock's now (StatusAt).
func (s *Service) prepare(ctx context.Context, cs []*Coupon) error {
	if len(cs) == 0 {
		return nil
	}
	now := s.Clock.Now(ctx)
	ids := make([]uuid.UUID, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.TemplateID)
		c.Status = c.StatusAt(now)
	}
	var ts []*Template
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&ts).Error; err != nil {
		return err
	}
	by := make(map[uuid.UUID]*Template, len(ts))
	for _, t := range ts {
		by[t.ID] = t
	}
	for _, c := range cs {
		c.Template = by[c.TemplateID]
	}
	return nil
}

// ByIDs reads coupons by id, readied for readers (prepare), for a parent
// record its caller was allowed to read (an event registration's coupon and
// its reward): it checks no caller of its own.
func (s *Service) ByIDs(ctx context.Context, ids []uuid.UUID) ([]*Coupon, error) {
	var cs []*Coupon
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&cs).Error; err != nil {
		return nil, err
	}
	return cs, s.prepare(ctx, cs)
}

// TemplatesByIDs reads templates by id for a parent record its caller was
// allowed to read (an event's reward coupon): it checks no caller.
func (s *Service) TemplatesByIDs(ctx context.Context, ids []uuid.UUID) ([]*Template, error) {
	var ts []*Template
	return ts, s.DB.Conn(ctx).Where("id IN ?", ids).Find(&ts).Error
}

// TemplateFor reads a template the actor may see: staff of its store (a
// group template: any staff), and an owner holding a coupon of it.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("couponTemplateId").
func (s *Service) TemplateFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Template, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.DB.Conn(ctx).Where("id = ?", id)
	switch {
	case actor.IsOwner():
		q = q.Where("EXISTS (SELECT 1 FROM coupons c WHERE c.template_id = coupon_templates.id AND c.owner_id = ?)", actor.ID)
	case actor.IsGroupAdmin():
	case actor.IsStaff() && len(actor.StoreIDs) > 0:
		q = q.Where("(store_id IS NULL OR store_id IN ?)", actor.StoreIDs)
	default:
		return nil, errTemplateNotFound
	}
	var t Template
	if err := q.Take(&t).Error; err != nil {
		return nil, models.NotFoundAs(err, errTemplateNotFound)
	}
	return &t, nil
}

// Templates lists the templates staff may offer, newest first: those of
// their stores (or the one asked for) and the group's.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not staff, a store not theirs),
// INVALID_ARGUMENT ("first", "after").
func (s *Service) Templates(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, p models.Page) ([]*Template, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case !actor.IsStaff():
		return nil, false, models.ErrForbidden
	}
	q := s.DB.Conn(ctx).Model(&Template{})
	switch {
	case storeID != nil:
		if !actor.CanAccessStore(*storeID) {
			return nil, false, models.ErrNotYourStore.On("storeId")
		}
		q = q.Where("(store_id IS NULL OR store_id = ?)", *storeID)
	case !actor.IsGroupAdmin():
		q = q.Where("(store_id IS NULL OR store_id IN ?)", actor.StoreIDs)
	}
	p.Desc = true
	return models.Fetch[*Template](q, models.ByID("id"), p)
}

// PageKey asks for one page of one owner's coupons, in one status (nil:
// all), for a list of owners read at once (CouponPages).
type PageKey struct {
	OwnerID uuid.UUID
	Status  Status // "" for every status
	First   int
	After   models.Cursor
}

// CouponPages reads a page of coupons for each key, Coupons' rule and
// order, in a constant number of statements whatever the number of owners:
// the owners the actor sees in one (an owner only themselves), the pages
// of each status asked for in one (models.FetchEach, totals included), the
// templates in one. A key for an owner the actor does not see, or with a
// bad page or status, has its Err (NOT_FOUND "ownerId", INVALID_ARGUMENT)
// and does not fail the others.
//
// Codes: UNAUTHENTICATED.
func (s *Service) CouponPages(ctx context.Context, actor *auth.Principal, keys []PageKey) (map[PageKey]models.Paged[*Coupon], error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	out := make(map[PageKey]models.Paged[*Coupon], len(keys))
	owners := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		owners[i] = k.OwnerID
	}
	seen, err := s.directory().ReadableOwners(ctx, actor, owners)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx).UTC()
	var read []PageKey
	for _, k := range keys {
		switch _, _, ok := statusFilter(k.Status, now); {
		case !seen[k.OwnerID]:
			out[k] = models.Paged[*Coupon]{Err: errOwnerNotFound}
		case !ok:
			out[k] = models.Paged[*Coupon]{Err: errBadStatus}
		default:
			read = append(read, k)
		}
	}
	got, err := models.FetchEachBy[Coupon](s.DB.Conn(ctx), models.Lists{Table: "coupons", Part: "owner_id",
		Order: models.ByID("id"), Desc: true}, read,
		func(k PageKey) (models.ListPage, Status) {
			return models.ListPage{List: k.OwnerID, First: k.First, After: k.After}, k.Status
		},
		func(st Status) (string, []any) { where, args, _ := statusFilter(st, now); return where, args })
	if err != nil {
		return nil, err
	}
	var all []*Coupon
	for k, p := range got {
		out[k] = p
		all = append(all, p.Rows...)
	}
	if err := s.prepare(ctx, all); err != nil {
		return nil, err
	}
	return out, nil
}

var errBadStatus = models.Invalid("status", "优惠券状态无效", "unknown coupon status")

// statusFilter is the condition (on alias t) of coupons in status st as
// owners see it at now ("" every status); false for an unknown status.
func statusFilter(st Status, now time.Time) (string, []any, bool) {
	switch st {
	case "":
		return "", nil, true
	case Available:
		return "t.status = ? AND t.valid_until > ?", []any{Available, now}, true
	case Expired:
		return "t.status = ? OR (t.status = ? AND t.valid_until <= ?)", []any{Expired, Available, now}, true
	case Reserved, Used, Revoked:
		return "t.status = ?", []any{st}, true
	}
	return "", nil, false
}

package packages

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// PackageFor reads an owner's package the actor may see: an owner their
// own; staff those of the customers they see (directory.OwnerFor). Others'
// are not found.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("packageId").
func (s *Service) PackageFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Package, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var p Package
	q := s.DB.Conn(ctx).Where("id = ?", id)
	if actor.IsOwner() {
		q = q.Where("owner_id = ?", actor.ID)
	}
	if err := q.Take(&p).Error; err != nil {
		return nil, models.NotFoundAs(err, errPackageNotFound)
	}
	if !actor.IsOwner() {
		if _, err := s.directory().OwnerFor(ctx, actor, p.OwnerID); err != nil {
			return nil, models.NotFoundAs(err, errPackageNotFound)
		}
	}
	if err := s.prepare(ctx, []*Package{&p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// Packages lists an owner's packages, newest first, for the owner and for
// staff who see the customer (PackageFor's rule); status filters by the
// status as readers see it at the clock's now (an ACTIVE package past its
// end is EXPIRED). Two statements per page (and one more for the count).
//
// Codes: UNAUTHENTICATED, NOT_FOUND (an owner the actor does not see),
// INVALID_ARGUMENT ("status", "first", "after").
func (s *Service) Packages(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, status *Status, p models.Page) ([]*Package, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	if !actor.IsOwner() || actor.ID != ownerID {
		if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
			return nil, false, models.NotFoundAs(err, errOwnerNotFound)
		}
	}
	now := s.Clock.Now(ctx)
	q := s.DB.Conn(ctx).Model(&Package{}).Where("owner_id = ?", ownerID)
	if status != nil {
		switch *status {
		case Active:
			q = q.Where("status = ? AND valid_until > ?", Active, now)
		case Expired:
			q = q.Where("status = ? AND valid_until <= ?", Active, now)
		case UsedUp, Refunded:
			q = q.Where("status = ?", *status)
		default:
			return nil, false, models.Invalid("status", "套餐状态无效", "unknown package status")
		}
	}
	p.Desc = true
	rows, more, err := models.Fetch[*Package](q, models.ByID("id"), p)
	if err != nil {
		return nil, false, err
	}
	if err := s.prepare(ctx, rows); err != nil {
		return nil, false, err
	}
	return rows, more, nil
}

// prepare readies packages for readers: their products loaded in one
// statement, their status as of the clock's now (StatusAt).
func (s *Service) prepare(ctx context.Context, ps []*Package) error {
	if len(ps) == 0 {
		return nil
	}
	now := s.Clock.Now(ctx)
	ids := make([]uuid.UUID, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.ProductID)
		p.Status = p.StatusAt(now)
	}
	var prods []*Product
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&prods).Error; err != nil {
		return err
	}
	by := make(map[uuid.UUID]*Product, len(prods))
	for _, p := range prods {
		by[p.ID] = p
	}
	for _, p := range ps {
		p.Product = by[p.ProductID]
	}
	return nil
}

// ProductFor reads a product the actor may see: staff of its store (any
// role; GROUP_ADMIN every store), and an owner who bought it.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("servicePackageId").
func (s *Service) ProductFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Product, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.DB.Conn(ctx).Where("id = ?", id)
	switch {
	case actor.IsOwner():
		q = q.Where("EXISTS (SELECT 1 FROM owner_packages op WHERE op.package_id = service_packages.id AND op.owner_id = ?)", actor.ID)
	case actor.IsGroupAdmin():
	case actor.IsStaff() && len(actor.StoreIDs) > 0:
		q = q.Where("store_id IN ?", actor.StoreIDs)
	default:
		return nil, errProductNotFound
	}
	var p Product
	if err := q.Take(&p).Error; err != nil {
		return nil, models.NotFoundAs(err, errProductNotFound)
	}
	return &p, nil
}

// Products lists a store's products, newest first: staff of the store.
// Retired ones are left out unless asked for.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not staff, a store not theirs),
// INVALID_ARGUMENT ("first", "after").
func (s *Service) Products(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, retired bool, p models.Page) ([]*Product, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case !actor.IsStaff():
		return nil, false, models.ErrForbidden
	case !actor.CanAccessStore(storeID):
		return nil, false, models.ErrNotYourStore.On("storeId")
	}
	q := s.DB.Conn(ctx).Model(&Product{}).Where("store_id = ?", storeID)
	if !retired {
		q = q.Where("retired_at IS NULL")
	}
	p.Desc = true
	return models.Fetch[*Product](q, models.ByID("id"), p)
}

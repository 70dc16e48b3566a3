package packages

import (
	"context"
	"time"

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
// role; GROUP_ADMIN every store); any owner while it is on sale (owners buy
// it online), and an owner who bought it after it is retired.
//
// Codes: UNAUTHENTICATED, NOT_FOUND ("servicePackageId").
func (s *Service) ProductFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Product, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.DB.Conn(ctx).Where("id = ?", id)
	switch {
	case actor.IsOwner():
		q = q.Where("(retired_at IS NULL OR EXISTS (SELECT 1 FROM owner_packages op WHERE op.package_id = service_packages.id AND op.owner_id = ?))", actor.ID)
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

// Products lists a store's products, newest first: staff of the store,
// and any owner (the products on sale of any store: what they may buy
// online). Retired ones are left out unless staff ask for them.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (neither staff nor an owner, a store
// not theirs, an owner asking for retired products), INVALID_ARGUMENT
// ("first", "after").
func (s *Service) Products(ctx context.Context, actor *auth.Principal, storeID uuid.UUID, retired bool, p models.Page) ([]*Product, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case actor.IsOwner() && retired:
		return nil, false, errRetiredStaffOnly
	case actor.IsOwner():
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

// PageKey asks for one page of one owner's packages, in one status (""
// for all), for a list of owners read at once (PackagePages).
type PageKey struct {
	OwnerID uuid.UUID
	Status  Status
	First   int
	After   models.Cursor
}

// PackagePages reads a page of packages for each key, newest first, for
// the owner and for staff who see the customer (status as readers see it
// at the clock's now: an ACTIVE package past its end is EXPIRED), in a
// constant number of statements whatever the number of owners: the owners
// the actor sees in one (an owner only themselves), the pages of each
// status asked for in one (models.FetchEach, totals included), the
// products in one. A key for an owner the actor does not see, or with a bad
// page or status, has its Err (NOT_FOUND "ownerId", INVALID_ARGUMENT) and
// does not fail the others.
//
// Codes: UNAUTHENTICATED.
func (s *Service) PackagePages(ctx context.Context, actor *auth.Principal, keys []PageKey) (map[PageKey]models.Paged[*Package], error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	owners := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		owners[i] = k.OwnerID
	}
	seen, err := s.directory().ReadableOwners(ctx, actor, owners)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx).UTC()
	out := make(map[PageKey]models.Paged[*Package], len(keys))
	var read []PageKey
	for _, k := range keys {
		switch _, _, ok := statusFilter(k.Status, now); {
		case !seen[k.OwnerID]:
			out[k] = models.Paged[*Package]{Err: errOwnerNotFound}
		case !ok:
			out[k] = models.Paged[*Package]{Err: errBadStatus}
		default:
			read = append(read, k)
		}
	}
	got, err := models.FetchEachBy[Package](s.DB.Conn(ctx), models.Lists{Table: "owner_packages", Part: "owner_id",
		Order: models.ByID("id"), Desc: true}, read,
		func(k PageKey) (models.ListPage, Status) {
			return models.ListPage{List: k.OwnerID, First: k.First, After: k.After}, k.Status
		},
		func(st Status) (string, []any) { where, args, _ := statusFilter(st, now); return where, args })
	if err != nil {
		return nil, err
	}
	var all []*Package
	for k, p := range got {
		out[k] = p
		all = append(all, p.Rows...)
	}
	if err := s.prepare(ctx, all); err != nil {
		return nil, err
	}
	return out, nil
}

var errRetiredStaffOnly = models.E(models.CodeForbidden, "仅门店员工可查看已下架的套餐", "only the store's staff list retired products").On("includeRetired")

var errBadStatus = models.Invalid("status", "套餐状态无效", "unknown package status")

// statusFilter is the condition (on alias t) of packages in status st as
// readers see it at now ("" every status); false for an unknown status.
func statusFilter(st Status, now time.Time) (string, []any, bool) {
	switch st {
	case "":
		return "", nil, true
	case Active:
		return "t.status = ? AND t.valid_until > ?", []any{Active, now}, true
	case Expired:
		return "t.status = ? AND t.valid_until <= ?", []any{Active, now}, true
	case UsedUp, Refunded:
		return "t.status = ?", []any{st}, true
	}
	return "", nil, false
}

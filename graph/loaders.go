package graph

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Loaders batch the relations a list can fan out to, so that a request's SQL
// statement count does not grow with the rows it returns. One set lives for
// one operation: nothing is cached across requests or callers.
type Loaders struct {
	Store            *Loader[uuid.UUID, *models.Store]
	Customer         *Loader[uuid.UUID, *models.Owner]
	Vehicle          *Loader[uuid.UUID, *models.Vehicle]
	VehiclesByOwner  *Loader[models.ListPage, models.Paged[*models.Vehicle]]
	StoreIDsOfStaffs *Loader[uuid.UUID, []uuid.UUID]
	StaffName        *Loader[uuid.UUID, string]
	// CouponsByOwner: a page of each owner's coupons; the coupons service
	// decides whose the caller sees.
	CouponsByOwner *Loader[coupons.PageKey, models.Paged[*coupons.Coupon]]
	// Coupon and CouponTemplate read by id for a parent the caller reads
	// (a registration's coupons, an event's reward): no check of their own.
	Coupon         *Loader[uuid.UUID, *coupons.Coupon]
	CouponTemplate *Loader[uuid.UUID, *coupons.Template]
	// PackagesByOwner: a page of each owner's service packages, likewise.
	PackagesByOwner *Loader[packages.PageKey, models.Paged[*packages.Package]]

	Order           *Loader[uuid.UUID, *workshop.RepairOrder]
	Membership      *Loader[uuid.UUID, *wallet.Membership]
	OrderItems      *Loader[uuid.UUID, []*workshop.Item]
	OrderEvents     *Loader[uuid.UUID, []*workshop.Event]
	OrderPayments   *Loader[uuid.UUID, []*workshop.Payment]
	ActiveOrder     *Loader[uuid.UUID, *workshop.RepairOrder]
	LastService     *Loader[uuid.UUID, *workshop.RepairOrder]
	NextServiceDue  *Loader[uuid.UUID, *workshop.RepairOrder]
	Recommendations *Loader[uuid.UUID, []*workshop.Item]
	ServiceHistory  *Loader[workshop.HistoryKey, workshop.HistoryPage]
	// ApprovalDeliveries: the resolver checks who sees them first.
	ApprovalDeliveries *Loader[uuid.UUID, []outbox.State]

	Event            *Loader[uuid.UUID, *events.Event]
	MyRegistration   *Loader[uuid.UUID, *events.Registration]
	WaitlistPosition *Loader[uuid.UUID, int]
	AssistanceEvents *Loader[uuid.UUID, []*roadside.Event]
	// Payment: the ones the caller sees (graph/payment_reconciliation.go).
	Payment *Loader[uuid.UUID, *payments.Payment]
	// PaymentOf is the online payment of a thing paid for (a
	// registration, a repair order) as the caller may see it.
	PaymentOf *Loader[uuid.UUID, *payments.Payment]
	// PaymentRefunds: a payment's refunds (whoever sees the payment sees
	// them).
	PaymentRefunds *Loader[uuid.UUID, []*payments.Refund]
	// me is the signed-in owner's row as the operation's admission read
	// it (nil when it read none): a query's me.
	me *models.Owner
	// totals are orders' totals read up front (see glanceAtCars).
	totals orderTotals
	// cache: whether the loaders keep what they read (see NewLoaders).
	cache bool
	// care is made on first use (graph/care.go), from the resolver's
	// care service.
	careOnce sync.Once
	care     *careLoaders
	// segments is made on first use (graph/crm.go).
	segmentsOnce sync.Once
	segments     *Loader[uuid.UUID, *crm.OwnerSegment]
	// sched sends the loaders' batches (nil: by time).
	sched *scheduler
}

// loaderWait is how long a loader collects keys inside a list before it
// queries; gqlgen resolves the fields of a list's elements concurrently, so
// they arrive within it. Outside a list a loader reads at once (Loader).
var loaderWait = 3 * time.Millisecond

// NewLoaders builds a fresh set of loaders over the resolver's services;
// without cache they batch but keep nothing (a subscription's results).
func NewLoaders(r *Resolver, cache bool) *Loaders {
	dir, ws, wl, ev := r.Directory, r.Workshop, r.Wallet, r.EventsService
	return &Loaders{
		cache:            cache,
		Event:            newLoader(ev.EventsByIDs, cache),
		MyRegistration:   newLoader(ownRegistrations(ev), cache),
		WaitlistPosition: newLoader(ev.WaitlistPositions, cache),
		PaymentOf: newLoader(func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*payments.Payment, error) {
			return r.Payments.PaymentsFor(ctx, caller(ctx), ids)
		}, cache),

		Order:           newLoader(ws.OrdersByIDs, cache),
		Membership:      newLoader(visibleMemberships(wl), cache),
		StaffName:       newLoader(ws.StaffNames, cache),
		OrderItems:      newLoader(everyKey(ws.ItemsByOrderIDs), cache),
		OrderEvents:     newLoader(everyKey(ws.EventsByOrderIDs), cache),
		OrderPayments:   newLoader(everyKey(ws.PaymentsByOrderIDs), cache),
		ActiveOrder:     newLoader(ws.ActiveOrdersByVehicleIDs, cache),
		LastService:     newLoader(ws.LastServiceByVehicleIDs, cache),
		NextServiceDue:  newLoader(ws.NextServiceDueByVehicleIDs, cache),
		Recommendations: newLoader(everyKey(ws.RecommendationsByVehicleIDs), cache),
		ServiceHistory:  newLoader(ws.ServiceHistory, cache),

		ApprovalDeliveries: newLoader(everyKey(ws.ApprovalDeliveriesByOrderIDs), cache),

		Store:           newLoader(byID(dir.StoresByIDs, func(s *models.Store) uuid.UUID { return s.ID }), cache),
		Customer:        newLoader(customers(dir), cache),
		Vehicle:         newLoader(byID(dir.VehiclesByIDs, func(v *models.Vehicle) uuid.UUID { return v.ID }), cache),
		VehiclesByOwner: newLoader(dir.VehiclePages, cache),
		CouponsByOwner: newLoader(func(ctx context.Context, keys []coupons.PageKey) (map[coupons.PageKey]models.Paged[*coupons.Coupon], error) {
			return r.Coupons.CouponPages(ctx, caller(ctx), keys)
		}, cache),
		Coupon:         newLoader(byID(r.Coupons.ByIDs, func(c *coupons.Coupon) uuid.UUID { return c.ID }), cache),
		CouponTemplate: newLoader(byID(r.Coupons.TemplatesByIDs, func(t *coupons.Template) uuid.UUID { return t.ID }), cache),
		PackagesByOwner: newLoader(func(ctx context.Context, keys []packages.PageKey) (map[packages.PageKey]models.Paged[*packages.Package], error) {
			return r.Packages.PackagePages(ctx, caller(ctx), keys)
		}, cache),
		StoreIDsOfStaffs: newLoader(everyKey(dir.StaffStoreIDs), cache),

		AssistanceEvents: newLoader(everyKey(r.Roadside.EventsByRequestIDs), cache),
		Payment:          newLoader(visiblePayments(r.Payments), cache),
		PaymentRefunds:   newLoader(everyKey(r.Payments.Refunds), cache),
	}
}

// byID adapts a batch read returning a slice to a mapped fetch.
func byID[T any](fetch func(context.Context, []uuid.UUID) ([]T, error), key func(T) uuid.UUID) func(context.Context, []uuid.UUID) (map[uuid.UUID]T, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]T, error) {
		rows, err := fetch(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[uuid.UUID]T, len(rows))
		for _, r := range rows {
			out[key(r)] = r
		}
		return out, nil
	}
}

// everyKey adapts a one-to-many batch read: a key with no rows gets an empty
// list rather than "not found".
func everyKey[T any](fetch func(context.Context, []uuid.UUID) (map[uuid.UUID][]T, error)) func(context.Context, []uuid.UUID) (map[uuid.UUID][]T, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]T, error) {
		m, err := fetch(ctx, ids)
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = make(map[uuid.UUID][]T, len(ids))
		}
		for _, id := range ids {
			if m[id] == nil {
				m[id] = []T{}
			}
		}
		return m, nil
	}
}

type loadersKey struct{}

// WithLoaders puts a fresh set of loaders over the resolver's services in
// ctx (NewLoaders).
func WithLoaders(ctx context.Context, r *Resolver, cache bool) context.Context {
	return context.WithValue(ctx, loadersKey{}, NewLoaders(r, cache))
}

// optional maps a loader's "no row for this key" to the zero value: the
// relation is simply absent (a car with no order in the workshop).
func optional[T any](v T, err error) (T, error) {
	if errors.Is(err, errNotFound) {
		var zero T
		return zero, nil
	}
	return v, err
}

func loaders(ctx context.Context) *Loaders {
	return ctx.Value(loadersKey{}).(*Loaders)
}

// visibleMemberships batches the caller's membership reads; the wallet
// decides which owners' memberships the caller sees.
func visibleMemberships(wl *wallet.Service) func(context.Context, []uuid.UUID) (map[uuid.UUID]*wallet.Membership, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*wallet.Membership, error) {
		return wl.MembershipsFor(ctx, caller(ctx), ids)
	}
}

// customers batches the caller's reads of the owners of records they see;
// the directory decides which of them the caller sees as customers.
func customers(dir *directory.Service) func(context.Context, []uuid.UUID) (map[uuid.UUID]*models.Owner, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*models.Owner, error) {
		return dir.CustomersFor(ctx, caller(ctx), ids)
	}
}

// ownRegistrations loads the caller's active registration per event: none
// for callers who are not owners.
func ownRegistrations(ev *events.Service) func(context.Context, []uuid.UUID) (map[uuid.UUID]*events.Registration, error) {
	return func(ctx context.Context, eventIDs []uuid.UUID) (map[uuid.UUID]*events.Registration, error) {
		return ev.OwnRegistrations(ctx, caller(ctx), eventIDs)
	}
}

// nonEmpty is s, or nil when s is empty (an optional text field).
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

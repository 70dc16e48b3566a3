package packages

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Service runs service packages on a database.
//
// A sale locks the owner's row (directory.LockOwner) and charges the
// wallet (wallet.Charge) in the same transaction. A use (Consume) and a
// refund (Refund) lock the owner's package row (models.DB.ForUpdate; on
// SQLite the write transaction serializes them) and then update it
// conditionally on the state they read, so of concurrent uses of the last
// use exactly one wins, and a refund and a use never both take the same
// use.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time).
	Clock models.Clock
	// Config holds the refund rule.
	Config Config
	// Directory reads owners and their visibility (nil: one on DB and Clock).
	Directory *directory.Service
	// Wallet takes WALLET sales and gives WALLET refunds back (nil: WALLET
	// sales are refused).
	Wallet *wallet.Service
	// Payments gives the refund of a package bought online back to its
	// payment (set when the server is wired, with PurchasePurpose).
	Payments *payments.Service
	// Inbox tells owners of packages about to expire (nil: one on DB).
	Inbox *inbox.Service
}

func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// Who may do what (docs/authorization.md); GROUP_ADMIN holds every role.
var (
	// rolesCreate may create and retire a store's products.
	rolesCreate = []auth.Role{auth.RoleCRM, auth.RoleManager}
	rolesRetire = rolesCreate
	// rolesSell may sell packages at the counter and refund them.
	rolesSell   = []auth.Role{auth.RoleCashier, auth.RoleManager}
	rolesRefund = rolesSell
)

// RolesCreate is the list rolesCreate, copied: a caller cannot change the rule.
func RolesCreate() []auth.Role { return slices.Clone(rolesCreate) }

// RolesRetire is the list rolesRetire, copied.
func RolesRetire() []auth.Role { return slices.Clone(rolesRetire) }

// RolesSell is the list rolesSell, copied.
func RolesSell() []auth.Role { return slices.Clone(rolesSell) }

// RolesRefund is the list rolesRefund, copied.
func RolesRefund() []auth.Role { return slices.Clone(rolesRefund) }

// CreateProduct stores a new product of a store: CRM or MANAGER there.
// Nothing is stored on bad input.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("storeId"),
// INVALID_ARGUMENT (the field named).
func (s *Service) CreateProduct(ctx context.Context, actor *auth.Principal, in ProductInput) (*Product, error) {
	if err := models.StaffAt(actor, in.StoreID, rolesCreate...); err != nil {
		return nil, err
	}
	in, err := in.check()
	if err != nil {
		return nil, err
	}
	if ok, err := s.directory().StoreExists(ctx, in.StoreID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errStoreNotFound
	}
	p := &Product{ID: models.NewID(), StoreID: in.StoreID, Name: in.Name, OrderKind: in.OrderKind, Uses: in.Uses,
		PriceFen: in.PriceFen, ValidDays: in.ValidDays, PerVisitCapFen: in.PerVisitCapFen, CreatedBy: actor.ID,
		CreatedAt: s.Clock.Now(ctx)}
	if err := s.DB.Conn(ctx).Create(p).Error; err != nil {
		return nil, err
	}
	return p, nil
}

// RetireProduct stops selling a product: CRM or MANAGER of its store.
// Packages already sold keep their terms and stay usable.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("servicePackageId"),
// CONFLICT (retired already).
func (s *Service) RetireProduct(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Product, error) {
	p, err := s.ProductFor(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if err := models.StaffAt(actor, p.StoreID, rolesRetire...); err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx)
	res := s.DB.Conn(ctx).Model(&Product{}).Where("id = ? AND retired_at IS NULL", id).
		Updates(map[string]any{"retired_at": now, "retired_by": actor.ID})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected != 1 {
		return nil, errAlreadyRetired
	}
	return s.ProductFor(ctx, actor, id)
}

// SaleInput is a package sold at the counter.
type SaleInput struct {
	ProductID, OwnerID uuid.UUID
	// Method is WALLET (the owner's stored value) or an external method;
	// Reference is the slip or transaction number (required except for
	// cash and the wallet).
	Method         Method
	Reference      string
	IdempotencyKey string
}

// Sell sells a product to an owner: CASHIER or MANAGER of the product's
// store, to a customer they see (directory.OwnerFor). The package copies
// the product's terms and is valid ValidDays from now. WALLET takes the
// price from the owner's stored value in the same transaction (a SPEND
// entry that earns no points: docs/packages.md); other methods record
// the money taken with its reference. Idempotent under its required key:
// a retry answers the first package.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("servicePackageId",
// "ownerId"), PACKAGE_RETIRED, INSUFFICIENT_BALANCE ("method"),
// IDEMPOTENCY_KEY_REUSED, INVALID_ARGUMENT ("method", "reference",
// "idempotencyKey").
func (s *Service) Sell(ctx context.Context, actor *auth.Principal, in SaleInput) (*Package, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() || !actor.HasAnyRole(rolesSell...) {
		return nil, models.ErrForbidden
	}
	ref, err := checkPayment(in.Method, in.Reference)
	if err != nil {
		return nil, err
	}
	if in.Method == Wallet && s.Wallet == nil {
		return nil, errWalletNotWired
	}
	p, err := s.ProductFor(ctx, actor, in.ProductID)
	if err != nil {
		return nil, err
	}
	if err := models.StaffAt(actor, p.StoreID, rolesSell...); err != nil {
		return nil, err
	}
	if _, err := s.directory().OwnerFor(ctx, actor, in.OwnerID); err != nil {
		return nil, models.NotFoundAs(err, errOwnerNotFound)
	}
	params := struct {
		Product, Owner uuid.UUID
		Method         Method
		Reference      string
	}{in.ProductID, in.OwnerID, in.Method, ref}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "packages.sell", params, true,
		func(ctx context.Context) (uuid.UUID, error) {
			return s.sell(ctx, actor, p, in.OwnerID, in.Method, ref)
		})
	if err != nil {
		return nil, err
	}
	return s.PackageFor(ctx, actor, id)
}

// sell writes the sale in the transaction in ctx.
func (s *Service) sell(ctx context.Context, actor *auth.Principal, p *Product, ownerID uuid.UUID, m Method, ref string) (uuid.UUID, error) {
	now := s.Clock.Now(ctx)
	// The product as of this transaction: retired since it was read?
	var retired int64
	if err := s.DB.Conn(ctx).Model(&Product{}).Where("id = ? AND retired_at IS NOT NULL", p.ID).Count(&retired).Error; err != nil {
		return uuid.Nil, err
	}
	if retired > 0 {
		return uuid.Nil, ErrRetired
	}
	// The erasure of an account holds the owner's row until it commits.
	if _, err := s.directory().LockOwner(ctx, ownerID, true, false); err != nil {
		return uuid.Nil, models.NotFoundAs(err, errOwnerNotFound)
	}
	if deleted, err := s.directory().OwnerDeleted(ctx, ownerID); err != nil {
		return uuid.Nil, err
	} else if deleted {
		return uuid.Nil, errOwnerNotFound
	}
	pkg := &Package{ID: models.NewID(), ProductID: p.ID, OwnerID: ownerID, StoreID: p.StoreID, OrderKind: p.OrderKind,
		UsesTotal: p.Uses, UsesLeft: p.Uses, PriceFen: p.PriceFen, PerVisitCapFen: p.PerVisitCapFen,
		ValidUntil: now.Add(time.Duration(p.ValidDays) * 24 * time.Hour), Status: Active, PayMethod: m, PayReference: ref,
		SoldBy: &actor.ID, SoldAt: now, UpdatedAt: now}
	if m == Wallet {
		store, staff := p.StoreID, actor.ID
		entries, err := s.Wallet.Charge(ctx, wallet.ChargeInput{OwnerID: ownerID, WalletFen: p.PriceFen, NoEarn: true,
			StoreID: &store, StaffID: &staff, Key: "package:" + pkg.ID.String(), Memo: fmt.Sprintf("购买套餐「%s」", p.Name)})
		if err != nil {
			return uuid.Nil, onField(err, "method")
		}
		for _, e := range entries {
			if e.Kind == wallet.Spend {
				pkg.LedgerEntryID = &e.ID
			}
		}
	}
	if err := s.DB.Conn(ctx).Create(pkg).Error; err != nil {
		return uuid.Nil, err
	}
	return pkg.ID, nil
}

// onField names field on an error that names none.
func onField(err error, field string) error {
	if me, ok := models.AsError(err); ok && me.Field == "" {
		return me.On(field)
	}
	return err
}

// lock reads an owner's package under its row lock, in the transaction in
// ctx.
func (s *Service) lock(ctx context.Context, id uuid.UUID) (*Package, error) {
	var p Package
	if err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ?", id)).Take(&p).Error; err != nil {
		return nil, models.NotFoundAs(err, errPackageNotFound)
	}
	return &p, nil
}

// usable refuses a package that cannot be used or refunded at now.
func usable(p *Package, now time.Time) error {
	switch p.StatusAt(now) {
	case Refunded:
		return ErrRefunded
	case UsedUp:
		return ErrUsedUp
	case Expired:
		return ErrExpired
	}
	return nil
}

// Consumption is one use of a package asked by the workshop's settlement
// of an order (OrderID) of the owner, at the store, of the order kind,
// whose billed lines are Lines.
type Consumption struct {
	PackageID, OwnerID, StoreID, OrderID uuid.UUID
	OrderKind                            string
	Lines                                []Line
	UsedBy                               *uuid.UUID
}

// Consume takes one use of the owner's package for an order's bill in the
// transaction in ctx, which the caller must hold (the settlement's, after
// its order lock): under the package's row lock it checks the package is
// the owner's, ACTIVE with a use left before its end, sold by the order's
// store for the order's kind, and covers something (Covered); then it
// takes the use and records it (one per order). It returns what the use
// covers.
//
// Codes: NOT_FOUND ("packageId": absent or another owner's),
// PACKAGE_REFUNDED, PACKAGE_USED_UP, PACKAGE_EXPIRED,
// PACKAGE_NOT_APPLICABLE.
func (s *Service) Consume(ctx context.Context, c Consumption) (int64, error) {
	if !models.InTx(ctx) {
		return 0, errors.New("packages: Consume outside a transaction")
	}
	now := s.Clock.Now(ctx)
	p, err := s.lock(ctx, c.PackageID)
	if err != nil {
		return 0, err
	}
	if p.OwnerID != c.OwnerID {
		return 0, errPackageNotFound
	}
	if err := usable(p, now); err != nil {
		return 0, err
	}
	covered := Covered(c.Lines, p.PerVisitCapFen)
	if p.StoreID != c.StoreID || p.OrderKind != c.OrderKind || covered == 0 {
		return 0, ErrNotApplicable
	}
	status := Active
	if p.UsesLeft == 1 {
		status = UsedUp
	}
	res := s.DB.Conn(ctx).Model(&Package{}).Where("id = ? AND status = ? AND uses_left = ? AND valid_until > ?", p.ID, Active, p.UsesLeft, now).
		Updates(map[string]any{"uses_left": p.UsesLeft - 1, "status": status, "updated_at": now})
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected != 1 {
		return 0, ErrUsedUp
	}
	u := &Use{ID: models.NewID(), PackageID: p.ID, OrderID: c.OrderID, CoveredFen: covered, UsedBy: c.UsedBy, UsedAt: now}
	if err := s.DB.Conn(ctx).Create(u).Error; err != nil {
		return 0, err
	}
	return covered, nil
}

// RefundInput is a package to refund.
type RefundInput struct {
	PackageID      uuid.UUID
	IdempotencyKey string
}

// Refund ends a package and gives back the unused uses' share of its price
// less the configured fee (RefundFen): CASHIER or MANAGER of the store
// that sold it, for a customer they see. A WALLET sale is credited back to
// the stored value (a REFUND entry); an external one records the amount
// the counter hands back (RefundFen on the package). Only an ACTIVE
// package is refunded; under its row lock, so a use at the same time
// either happens before (and the refund counts it) or is refused after.
// Idempotent under its required key.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("packageId"),
// PACKAGE_REFUNDED, PACKAGE_USED_UP, PACKAGE_EXPIRED,
// IDEMPOTENCY_KEY_REUSED, INVALID_ARGUMENT ("idempotencyKey").
func (s *Service) Refund(ctx context.Context, actor *auth.Principal, in RefundInput) (*Package, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() || !actor.HasAnyRole(rolesRefund...) {
		return nil, models.ErrForbidden
	}
	p, err := s.PackageFor(ctx, actor, in.PackageID)
	if err != nil {
		return nil, err
	}
	if err := models.StaffAt(actor, p.StoreID, rolesRefund...); err != nil {
		return nil, err
	}
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), in.IdempotencyKey, "packages.refund", in.PackageID, true,
		func(ctx context.Context) (uuid.UUID, error) {
			return in.PackageID, s.refund(ctx, actor, in.PackageID)
		})
	if err != nil {
		return nil, err
	}
	return s.PackageFor(ctx, actor, id)
}

func (s *Service) refund(ctx context.Context, actor *auth.Principal, id uuid.UUID) error {
	now := s.Clock.Now(ctx)
	p, err := s.lock(ctx, id)
	if err != nil {
		return err
	}
	if err := usable(p, now); err != nil {
		return err
	}
	amount := RefundFen(p.PriceFen, p.UsesTotal, p.UsesLeft, s.Config.RefundFeePercent)
	set := map[string]any{"status": Refunded, "refund_fen": amount, "refunded_at": now, "refunded_by": actor.ID, "updated_at": now}
	if p.PayMethod == Wallet && amount > 0 {
		if s.Wallet == nil {
			return errWalletNotWired
		}
		store, staff := p.StoreID, actor.ID
		entries, err := s.Wallet.Credit(ctx, wallet.CreditInput{OwnerID: p.OwnerID, WalletFen: amount, StoreID: &store, StaffID: &staff,
			Key: "package:" + p.ID.String(), Memo: "套餐退款"})
		if err != nil {
			return err
		}
		set["refund_ledger_entry_id"] = entries[0].ID
	}
	if p.PayMethod == WeChatPayOnline && amount > 0 {
		if err := s.refundOnline(ctx, actor, p, amount); err != nil {
			return err
		}
	}
	res := s.DB.Conn(ctx).Model(&Package{}).Where("id = ? AND status = ? AND uses_left = ?", p.ID, Active, p.UsesLeft).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrUsedUp
	}
	return nil
}

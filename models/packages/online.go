package packages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
)

// A package bought online (payments.PurposeServicePackage): the owner pays
// a product's price with WeChat Pay in the app or the mini-program, and the
// package is created in the transaction that records the payment paid.
// docs/packages.md tells the rules.

// refundAccountGone is what the owner reads on the refund of a payment that
// arrived after the account was deleted.
const refundAccountGone = "账户已注销，套餐款项原路退回"

// PurchasePurpose is the handler of payments.PurposeServicePackage,
// registered on payments.Service.Purposes when the server is wired.
func (s *Service) PurchasePurpose() payments.Purpose { return purchase{s} }

type purchase struct{ s *Service }

// Prepare checks an owner's start of a purchase: the product exists (at
// any store of the group: owners belong to the group) and is on sale. The
// payment is the product's price at the product's store.
//
// Codes: INVALID_ARGUMENT ("servicePackageId": none given; "storeId": not
// the product's store; "amountFen": not its price), NOT_FOUND
// ("servicePackageId"), PACKAGE_RETIRED.
func (b purchase) Prepare(ctx context.Context, _ uuid.UUID, in payments.StartInput) (payments.Intent, error) {
	if in.ReferenceID == nil {
		return payments.Intent{}, models.Invalid("servicePackageId", "请选择要购买的套餐", "a package purchase needs the product (servicePackageId)")
	}
	p, err := b.s.product(ctx, *in.ReferenceID)
	if err != nil {
		return payments.Intent{}, err
	}
	switch {
	case p.RetiredAt != nil:
		return payments.Intent{}, ErrRetired
	case in.StoreID != uuid.Nil && in.StoreID != p.StoreID:
		return payments.Intent{}, models.Invalid("storeId", "门店与套餐不符", "a package is paid to the store that sells it")
	case in.AmountFen != 0 && in.AmountFen != p.PriceFen:
		return payments.Intent{}, models.Ef(models.CodeInvalidArgument, "套餐价格为 "+models.Yuan(p.PriceFen),
			"the package costs %d fen", p.PriceFen).On("amountFen")
	}
	return payments.Intent{StoreID: p.StoreID, AmountFen: p.PriceFen, ReferenceID: &p.ID,
		Description: fmt.Sprintf("服务套餐「%s」 %s", p.Name, models.Yuan(p.PriceFen))}, nil
}

// Paid creates the owner's package in the transaction that records p paid,
// under p's row lock (so once per payment; the unique payment_id is a
// second guard). The package copies the product's terms, as a sale at the
// counter does, and is valid ValidDays from now. A product retired since the
// start still delivers: the owner paid for terms that do not change. An
// account deleted meanwhile takes nothing: p goes back whole.
func (b purchase) Paid(ctx context.Context, p *payments.Payment) (string, error) {
	if p.ReferenceID == nil {
		return "", errProductNotFound
	}
	prod, err := b.s.product(ctx, *p.ReferenceID)
	if err != nil {
		return "", err
	}
	// The erasure of an account holds the owner's row until it commits.
	if _, err := b.s.directory().LockOwner(ctx, p.OwnerID, true, false); errors.Is(err, gorm.ErrRecordNotFound) {
		return refundAccountGone, nil
	} else if err != nil {
		return "", err
	}
	if gone, err := b.s.directory().OwnerDeleted(ctx, p.OwnerID); err != nil {
		return "", err
	} else if gone {
		return refundAccountGone, nil
	}
	var n int64
	if err := b.s.DB.Conn(ctx).Model(&Package{}).Where("payment_id = ?", p.ID).Count(&n).Error; err != nil || n > 0 {
		return "", err
	}
	now := b.s.Clock.Now(ctx)
	pkg := &Package{ID: models.NewID(), ProductID: prod.ID, OwnerID: p.OwnerID, StoreID: prod.StoreID, OrderKind: prod.OrderKind,
		UsesTotal: prod.Uses, UsesLeft: prod.Uses, PriceFen: prod.PriceFen, PerVisitCapFen: prod.PerVisitCapFen,
		ValidUntil: now.Add(time.Duration(prod.ValidDays) * 24 * time.Hour), Status: Active, PayMethod: WeChatPayOnline,
		PayReference: deref(p.TransactionID), PaymentID: &p.ID, SoldAt: now, UpdatedAt: now}
	return "", b.s.DB.Conn(ctx).Create(pkg).Error
}

// Closed: a purchase holds nothing (a product is not sold out), so nothing
// is released.
func (purchase) Closed(context.Context, *payments.Payment) error { return nil }

// product reads a product, whoever asks (the purpose has checked the
// caller).
//
// Codes: NOT_FOUND ("servicePackageId").
func (s *Service) product(ctx context.Context, id uuid.UUID) (*Product, error) {
	var p Product
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, models.NotFoundAs(err, errProductNotFound)
	}
	return &p, nil
}

// refundOnline gives a refund of a package bought online back to its
// payment, in the refund's transaction (sent to WeChat Pay after it
// commits).
func (s *Service) refundOnline(ctx context.Context, actor *auth.Principal, p *Package, amount int64) error {
	if s.Payments == nil || p.PaymentID == nil {
		return errPaymentsNotWired
	}
	_, err := s.Payments.RequestRefund(ctx, payments.RefundRequest{PaymentID: *p.PaymentID, AmountFen: amount,
		Cause: payments.CauseStaff, Reason: "服务套餐退款", RequestedBy: &actor.ID})
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

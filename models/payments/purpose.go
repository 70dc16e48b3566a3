package payments

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Purpose is one thing a payment can pay for. The capability that owns the
// thing (the wallet's card, an event's seat, a repair order's bill) says
// what a start pays and applies the payment's effect; payments runs the
// money. Its methods run inside the payments' transactions.
type Purpose interface {
	// Prepare checks an owner's request to pay and tells what the payment
	// is. It runs before the payment is written and again never: a
	// purpose whose state can change meanwhile checks again in Paid.
	Prepare(ctx context.Context, ownerID uuid.UUID, in StartInput) (Intent, error)
	// Paid applies the effect of p, just paid, in the transaction that
	// records it paid under its lock (so once per payment). A thing that
	// can no longer be paid for (the card is full, the seat went to
	// someone else, the bill was settled at the counter) is not an error:
	// Paid returns the reason the owner reads, and the whole payment goes
	// back to the payer.
	Paid(ctx context.Context, p *Payment) (refund string, err error)
	// Closed tells that p will never be paid (closed past its hold, or
	// refused by the bank), in the transaction that records it: what it
	// held is released.
	Closed(ctx context.Context, p *Payment) error
}

// Intent is what a started payment is: where, how much, for what.
type Intent struct {
	StoreID   uuid.UUID
	AmountFen int64
	// ReferenceID is the thing paid for (a registration, a repair order);
	// nil for a top-up.
	ReferenceID *uuid.UUID
	// Description is what the payer's WeChat bill shows (at most 127
	// bytes).
	Description string
	// ExpiresAt, when set, ends the payment's hold earlier than the
	// service's hold (a seat held until then).
	ExpiresAt time.Time
}

// purpose is the handler of a purpose: the registered one, or the built-in
// top-up.
func (s *Service) purpose(name string) (Purpose, bool) {
	if h, ok := s.Purposes[name]; ok {
		return h, true
	}
	if name == PurposeTopUp {
		return topUp{s}, true
	}
	return nil, false
}

// topUp is a top-up of the owner's card at a store, with its bonus rules.
type topUp struct{ s *Service }

func (t topUp) Prepare(ctx context.Context, ownerID uuid.UUID, in StartInput) (Intent, error) {
	if in.ReferenceID != nil {
		return Intent{}, models.Invalid("purpose", "充值无需指定订单", "a top-up pays for no registration or order")
	}
	if in.StoreID == uuid.Nil {
		return Intent{}, models.Invalid("storeId", "请选择充值门店", "a top-up needs the store (storeId)")
	}
	if ok, err := t.s.directory().StoreExists(ctx, in.StoreID); err != nil {
		return Intent{}, err
	} else if !ok {
		return Intent{}, errStoreNotFound
	}
	if err := t.s.Wallet.CheckTopUp(ctx, ownerID, in.AmountFen); err != nil {
		return Intent{}, err
	}
	return Intent{StoreID: in.StoreID, AmountFen: in.AmountFen, Description: "会员卡充值 " + models.Yuan(in.AmountFen)}, nil
}

func (t topUp) Paid(ctx context.Context, p *Payment) (string, error) {
	_, err := t.s.Wallet.TopUpOnline(ctx, wallet.OnlineTopUp{OwnerID: p.OwnerID, StoreID: p.StoreID, AmountFen: p.AmountFen,
		PaymentID: p.ID, Method: "WECHAT_PAY", Reference: deref(p.TransactionID)})
	if e, ok := models.AsError(err); ok && e.Code == wallet.CodeBalanceCapExceeded {
		return "会员卡余额已达上限，充值原路退回", nil
	}
	return "", err
}

func (topUp) Closed(context.Context, *Payment) error { return nil }

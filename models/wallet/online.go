package wallet

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// OnlineTopUp is money an owner paid online onto their card (a WeChat Pay
// payment that succeeded).
type OnlineTopUp struct {
	OwnerID, StoreID uuid.UUID
	AmountFen        int64
	// PaymentID is the payment's id: the entries' reference and the root
	// of their idempotency keys, so that one payment tops up once.
	PaymentID uuid.UUID
	// Method is the external method (WECHAT_PAY); Reference the provider's
	// transaction id.
	Method, Reference string
}

// CheckTopUp tells whether an owner's card has room for a top-up of
// amountFen and its bonus now: the check an online top-up makes before the
// owner pays (the one that counts is TopUpOnline's, when the money has
// arrived).
//
// Codes: INVALID_ARGUMENT ("amountFen"), BALANCE_CAP_EXCEEDED ("amountFen"),
// NOT_FOUND ("ownerId").
func (s *Service) CheckTopUp(ctx context.Context, ownerID uuid.UUID, amountFen int64) error {
	cfg := s.cfg()
	if err := cfg.checkTopUpAmount(amountFen); err != nil {
		return err
	}
	var a Account
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Take(&a).Error; err != nil {
		return onField(models.NotFoundAs(err, errOwnerNotFound), "ownerId")
	}
	if a.BalanceFen+amountFen+BonusFor(amountFen, cfg.BonusRules) > cfg.BalanceCapFen {
		return onField(balanceCapExceeded(a.BalanceFen, cfg.BalanceCapFen), "amountFen")
	}
	return nil
}

// TopUpOnline credits a paid online top-up, in the caller's transaction: a
// TOP_UP entry and, when a bonus rule applies, a TOP_UP_BONUS entry, both
// referring to the payment. The balance after both may not pass the cap
// (the caller refunds a payment that would).
//
// Codes: NOT_FOUND (owner), BALANCE_CAP_EXCEEDED, CONFLICT (the payment
// was credited already).
func (s *Service) TopUpOnline(ctx context.Context, in OnlineTopUp) ([]*Entry, error) {
	cfg := s.cfg()
	var out []*Entry
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.lockAccount(ctx, in.OwnerID); err != nil {
			return err
		}
		now := s.Clock.Now(ctx)
		ref, store, method := RefTopUp, in.StoreID, in.Method
		bonus := BonusFor(in.AmountFen, cfg.BonusRules)
		top := &Entry{OwnerID: in.OwnerID, Kind: TopUp, AmountFen: in.AmountFen, RefType: &ref, RefID: &in.PaymentID,
			StoreID: &store, Method: &method, Reference: in.Reference,
			IdempotencyKey: "payment:" + in.PaymentID.String(), Memo: "在线充值", CreatedAt: now}
		if err := s.post(ctx, top, &balanceLimit{addFen: in.AmountFen + bonus, capFen: cfg.BalanceCapFen}); err != nil {
			return err
		}
		out = append(out, top)
		if bonus == 0 {
			return nil
		}
		b := &Entry{OwnerID: in.OwnerID, Kind: TopUpBonus, AmountFen: bonus, RefType: &ref, RefID: &in.PaymentID,
			StoreID: &store, IdempotencyKey: top.IdempotencyKey + ":bonus", CreatedAt: now,
			Memo: fmt.Sprintf("充值 %s 赠送 %s", models.Yuan(in.AmountFen), models.Yuan(bonus))}
		if err := s.post(ctx, b, nil); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// checkTopUpAmount is the one rule on a top-up's amount, at the counter or
// online: 1 fen up to the card's cap.
//
// Codes: INVALID_ARGUMENT ("amountFen").
func (c Config) checkTopUpAmount(amountFen int64) error {
	if amountFen < 1 || amountFen > c.BalanceCapFen {
		return models.Ef(models.CodeInvalidArgument, "充值金额须在 ¥0.01 到 "+models.Yuan(c.BalanceCapFen)+" 之间",
			"amountFen must be between 1 and %d", c.BalanceCapFen).On("amountFen")
	}
	return nil
}

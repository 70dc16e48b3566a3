package wallet

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// OnlineRefund takes back from an owner's card money of an online top-up
// that goes back to the payer through the payment provider.
type OnlineRefund struct {
	OwnerID, StoreID uuid.UUID
	// PaymentID is the top-up's payment (the entries' reference); RefundID
	// the refund (the root of their idempotency keys).
	PaymentID, RefundID uuid.UUID
	// StaffID is who decided it.
	StaffID *uuid.UUID
	// PaidFen is what the top-up paid; BeforeFen what earlier refunds of
	// it took back already; AmountFen what this one takes back.
	PaidFen, BeforeFen, AmountFen int64
	Reason                        string
}

// RefundOnline debits a refund of an online top-up from the card, in the
// caller's transaction: a REFUND entry of minus the amount and, when the
// top-up earned a bonus, a second REFUND entry taking back the bonus's
// share (the bonus times the part of the top-up refunded, rounded down,
// counted over all of the payment's refunds so that a whole refund takes
// the whole bonus back), both referring to the payment. The card must hold
// both: money the owner already spent cannot be refunded.
//
// Codes: NOT_FOUND (owner), INSUFFICIENT_BALANCE ("amountFen"), CONFLICT
// (the refund was debited already).
func (s *Service) RefundOnline(ctx context.Context, in OnlineRefund) ([]*Entry, error) {
	var out []*Entry
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.lockAccount(ctx, in.OwnerID); err != nil {
			return err
		}
		var bonus int64
		err := s.DB.Conn(ctx).Model(&Entry{}).Where("owner_id = ? AND kind = ? AND ref_type = ? AND ref_id = ?",
			in.OwnerID, TopUpBonus, RefTopUp, in.PaymentID).Select("COALESCE(SUM(amount_fen), 0)").Scan(&bonus).Error
		if err != nil {
			return err
		}
		now := s.Clock.Now(ctx)
		ref, store, method := RefTopUp, in.StoreID, "WECHAT_PAY"
		e := &Entry{OwnerID: in.OwnerID, Kind: Refund, AmountFen: -in.AmountFen, RefType: &ref, RefID: &in.PaymentID,
			StoreID: &store, StaffID: in.StaffID, Method: &method, IdempotencyKey: "payment-refund:" + in.RefundID.String(),
			Memo: in.Reason, CreatedAt: now}
		if err := s.post(ctx, e, nil); err != nil {
			return onField(err, "amountFen")
		}
		out = append(out, e)
		share := BonusShare(bonus, in.PaidFen, in.BeforeFen, in.AmountFen)
		if share == 0 {
			return nil
		}
		b := &Entry{OwnerID: in.OwnerID, Kind: Refund, AmountFen: -share, RefType: &ref, RefID: &in.PaymentID,
			StoreID: &store, StaffID: in.StaffID, IdempotencyKey: e.IdempotencyKey + ":bonus", CreatedAt: now,
			Memo: fmt.Sprintf("退款 %s 收回充值赠送 %s", models.Yuan(in.AmountFen), models.Yuan(share))}
		if err := s.post(ctx, b, nil); err != nil {
			return onField(err, "amountFen")
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// BonusShare is the part of a top-up's bonus that a refund of amountFen
// takes back, when beforeFen of the paidFen top-up was refunded already:
// bonus × refunded ÷ paid rounded down, after the refund less before it.
// Over all of a payment's refunds the shares add up to the whole bonus
// exactly when the whole top-up is refunded.
func BonusShare(bonusFen, paidFen, beforeFen, amountFen int64) int64 {
	if bonusFen <= 0 || paidFen <= 0 {
		return 0
	}
	return bonusFen*(beforeFen+amountFen)/paidFen - bonusFen*beforeFen/paidFen
}

package payments

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// CodePaymentInFlight: an online payment of the owner is still open (not
// yet paid or closed): the account is deleted once it settles.
const CodePaymentInFlight models.Code = "PAYMENT_IN_FLIGHT"

var errInFlight = models.E(CodePaymentInFlight, "您有一笔在线支付尚未完成，请在支付完成或关闭后再注销",
	"an online payment is still open; delete the account once it is paid or closed")

// ExportOwner is the owner's online payments for their data export, oldest
// first (no keys, no prepay ids: those are the merchant's).
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	out := []*Payment{}
	err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id ASC").Find(&out).Error
	for _, p := range out {
		p.PrepayID, p.IdempotencyKey = "", ""
	}
	return out, err
}

// EraseOwner takes part in an account deletion (privacy.Eraser): payments
// are the dealer's accounting records and stay, without the payer's
// openid; an owner with a payment
// still PENDING is refused until it settles, so that no money arrives for a
// deleted account. A refund owed (REFUNDING) goes back to the owner's
// WeChat Pay account, not to this one: it does not hold the deletion.
//
// Codes: PAYMENT_IN_FLIGHT.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	var open int64
	err := s.DB.Conn(ctx).Model(&Payment{}).
		Where("owner_id = ? AND state = ?", ownerID, StatePending).Count(&open).Error
	if err != nil {
		return err
	}
	if open > 0 {
		return errInFlight
	}
	// The payer's WeChat identity goes with the account; refunds go to
	// the payment (its transaction), not to an openid.
	return s.DB.Conn(ctx).Model(&Payment{}).Where("owner_id = ? AND payer_openid IS NOT NULL", ownerID).
		Update("payer_openid", nil).Error
}

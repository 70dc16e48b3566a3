package payments

import (
	"context"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// Kinds of the owner's notifications about payments. They stay in the
// inbox (no push, WeChat or SMS): the owner is in the app when paying, and
// WeChat Pay itself tells the payer of a payment and its refund.
const (
	// NotifyPaymentReceived: a payment succeeded (and, when its purpose
	// could not take it, goes back).
	NotifyPaymentReceived = "PAYMENT_RECEIVED"
	// NotifyRefundSucceeded: money of a payment is back with the payer.
	NotifyRefundSucceeded = "REFUND_SUCCEEDED"
)

func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// noticePaid tells the owner a payment arrived, in the transaction that
// records it paid (once per payment); refund, when not empty, is why it
// goes back.
func (s *Service) noticePaid(ctx context.Context, p *Payment, refund string) error {
	body := Description(p.Purpose, p.AmountFen) + " 已支付成功"
	if p.Purpose == PurposeTopUp && refund == "" {
		body = "会员卡充值 " + models.Yuan(p.AmountFen) + " 已到账"
	}
	if refund != "" {
		body += "，但" + refund
	}
	key := "payment:" + p.ID.String() + ":paid"
	store := p.StoreID
	_, err := s.inbox().CreateNotification(ctx, &inbox.Notification{OwnerID: p.OwnerID, Kind: NotifyPaymentReceived,
		Title: "支付成功", Body: body, Link: models.LinkTo(models.RefTo(models.RefOnlinePayment, p.ID)),
		DedupeKey: &key, StoreID: &store})
	return err
}

// noticeRefunded tells the owner a refund is back with them, in the
// transaction that records it (once per refund).
func (s *Service) noticeRefunded(ctx context.Context, p *Payment, f *Refund) error {
	body := models.Yuan(f.AmountFen) + " 已原路退回您的微信支付账户（零钱即时到账，银行卡 1-3 个工作日）"
	if f.ManualReference != nil {
		body = models.Yuan(f.AmountFen) + " 已由门店退还给您，凭证号 " + *f.ManualReference
	}
	key := "refund:" + f.ID.String()
	store := p.StoreID
	_, err := s.inbox().CreateNotification(ctx, &inbox.Notification{OwnerID: p.OwnerID, Kind: NotifyRefundSucceeded,
		Title: "退款成功", Body: body, Link: models.LinkTo(models.RefTo(models.RefOnlinePayment, p.ID)),
		DedupeKey: &key, StoreID: &store})
	return err
}

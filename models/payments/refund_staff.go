package payments

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Staff and refunds: a manager refunds an online top-up (the card is
// debited and the money goes back through WeChat Pay), sees the payments
// whose refund the provider gave up on, and records money paid back by
// hand.

var (
	// rolesRefundOnline may refund an online top-up (RefundOnline).
	rolesRefundOnline = []auth.Role{auth.RoleManager}
	// rolesRefundsOwed may list the refunds the provider gave up on
	// (RefundsOwed) and record a refund paid by hand (RecordManualRefund).
	rolesRefundsOwed = []auth.Role{auth.RoleManager}
)

// RolesRefundOnline is the list rolesRefundOnline, copied.
func RolesRefundOnline() []auth.Role { return slices.Clone(rolesRefundOnline) }

// RolesRefundsOwed is the list rolesRefundsOwed, copied.
func RolesRefundsOwed() []auth.Role { return slices.Clone(rolesRefundsOwed) }

// MaxRefundReasonRunes bounds a refund's reason (WeChat Pay shows up to 80
// characters on the payer's refund).
const MaxRefundReasonRunes = 80

var (
	errNotTopUp       = models.E(models.CodeInvalidArgument, "只有在线充值可在此退款", "only an online top-up is refunded this way").On("paymentId")
	errRefundNotFound = models.E(models.CodeNotFound, "未找到该退款", "refund not found").On("refundId")
	errNotOwed        = models.E(models.CodeConflict, "该退款未被微信支付关闭或标记异常，无需手工退款",
		"only a refund WeChat Pay closed or found abnormal is paid back by hand").On("refundId")
)

// RefundOnlineInput is a manager's refund of an online top-up.
type RefundOnlineInput struct {
	PaymentID uuid.UUID
	// AmountFen is how much (0: all that is left).
	AmountFen      int64
	Reason         string
	IdempotencyKey string
}

// RefundOnline refunds an online top-up to the payer's WeChat Pay account,
// in one transaction: the card is debited (a REFUND ledger entry referring
// to the payment, and one taking back the bonus's share, see
// wallet.RefundOnline), and the refund is recorded PENDING with the
// payment REFUNDING; it is sent to WeChat Pay after the commit. MANAGER
// (GROUP_ADMIN) of the payment's store. Idempotent under its required key:
// a retry returns the same refund, and two refunds of one payment never
// refund more than it paid.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("paymentId"),
// INVALID_ARGUMENT ("paymentId": not a top-up; "amountFen", "reason",
// "idempotencyKey"), CONFLICT (not paid, or all of it refunded or being
// refunded), INSUFFICIENT_BALANCE ("amountFen": the owner spent the
// money), IDEMPOTENCY_KEY_REUSED.
func (s *Service) RefundOnline(ctx context.Context, actor *auth.Principal, in RefundOnlineInput) (*Refund, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.HasAnyRole(rolesRefundOnline...) {
		return nil, models.ErrForbidden
	}
	p, err := s.Payment(ctx, actor, in.PaymentID)
	if err != nil {
		return nil, onPayment(err)
	}
	if err := models.StaffAt(actor, p.StoreID, rolesRefundOnline...); err != nil {
		return nil, err
	}
	if p.Purpose != PurposeTopUp {
		return nil, errNotTopUp
	}
	if in.AmountFen < 0 || in.AmountFen > p.AmountFen {
		return nil, errRefundTooMuch
	}
	if in.Reason, err = models.Text("reason", "退款原因", in.Reason, 1, MaxRefundReasonRunes, false); err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	in.IdempotencyKey = ""
	id, err := models.Idempotent(ctx, s.DB.WithClock(s.Clock), models.IdempotencyScope(actor), key, "payments.refundOnline", in, true,
		func(ctx context.Context) (uuid.UUID, error) {
			p, err := s.lock(ctx, in.PaymentID)
			if err != nil {
				return uuid.Nil, err
			}
			staff := actor.ID
			f, err := s.refund(ctx, p, RefundRequest{PaymentID: p.ID, AmountFen: in.AmountFen, Cause: CauseStaff,
				Reason: in.Reason, RequestedBy: &staff})
			if err != nil {
				return uuid.Nil, err
			}
			var before int64
			err = s.DB.Conn(ctx).Model(&Refund{}).Where("payment_id = ? AND cause = ? AND id <> ?", p.ID, CauseStaff, f.ID).
				Select("COALESCE(SUM(amount_fen), 0)").Scan(&before).Error
			if err != nil {
				return uuid.Nil, err
			}
			_, err = s.Wallet.RefundOnline(ctx, wallet.OnlineRefund{OwnerID: p.OwnerID, StoreID: p.StoreID, PaymentID: p.ID,
				RefundID: f.ID, StaffID: &staff, PaidFen: p.AmountFen, BeforeFen: before, AmountFen: f.AmountFen, Reason: in.Reason})
			return f.ID, err
		})
	if err != nil {
		return nil, err
	}
	var f Refund
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&f).Error; err != nil {
		return nil, err
	}
	return &f, nil
}

// onPayment names the paymentId field on a payment not found.
func onPayment(err error) error {
	if e, ok := models.AsError(err); ok && e.Code == models.CodeNotFound && e.Field == "" {
		return e.On("paymentId")
	}
	return err
}

// RefundsOwed is one page of the payments at the actor's stores (all for
// GROUP_ADMIN) whose refund the provider closed or found abnormal: money
// owed that a person must pay back (then RecordManualRefund), newest
// first. MANAGER (GROUP_ADMIN).
//
// Codes: UNAUTHENTICATED, FORBIDDEN, INVALID_ARGUMENT ("first", "after").
func (s *Service) RefundsOwed(ctx context.Context, actor *auth.Principal, p models.Page) ([]*Payment, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesRefundsOwed...):
		return nil, false, models.ErrForbidden
	}
	p.Desc = true
	q := models.Scope(s.DB.Conn(ctx).Model(&Payment{}), actor, rolesRefundsOwed, "payments").
		Where("payments.state = ? AND EXISTS (SELECT 1 FROM payment_refunds r WHERE r.payment_id = payments.id AND r.state IN ?)",
			StateRefunding, []string{RefundClosed, RefundAbnormal})
	return models.Fetch[*Payment](q, models.ByID("payments.id"), p)
}

// ManualRefundInput records money paid back by hand for a refund the
// provider gave up on.
type ManualRefundInput struct {
	RefundID uuid.UUID
	// Reference is the proof of the payment by hand (a bank transfer's
	// number, a cash slip); Note what staff want to keep with it.
	Reference, Note string
}

// RecordManualRefund records a refund that WeChat Pay closed or found
// abnormal as paid back by hand: the refund SUCCESS with its manual
// reference, the payment counted as for a refund through WeChat Pay
// (REFUNDED when all of it went back, PAID again when nothing more is
// owed). Recording the same reference again returns the refund unchanged.
// MANAGER (GROUP_ADMIN) of the payment's store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("refundId"),
// INVALID_ARGUMENT ("reference", "note"), CONFLICT ("refundId": not
// closed or abnormal, or recorded with another reference).
func (s *Service) RecordManualRefund(ctx context.Context, actor *auth.Principal, in ManualRefundInput) (*Refund, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesRefundsOwed...):
		return nil, models.ErrForbidden
	}
	var err error
	if in.Reference, err = models.Text("reference", "退款凭证号", in.Reference, 1, 64, false); err != nil {
		return nil, err
	}
	if in.Note, err = models.Text("note", "备注", in.Note, 0, 200, true); err != nil {
		return nil, err
	}
	var out Refund
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		conn := s.DB.Conn(ctx)
		if err := conn.Where("id = ?", in.RefundID).Take(&out).Error; err != nil {
			return models.NotFoundAs(err, errRefundNotFound)
		}
		p, err := s.lock(ctx, out.PaymentID)
		if err != nil {
			return err
		}
		if !actor.CanAccessStore(p.StoreID) {
			return errRefundNotFound
		}
		if err := conn.Where("id = ?", in.RefundID).Take(&out).Error; err != nil {
			return err
		}
		switch {
		case out.State == RefundSuccess && out.ManualReference != nil && *out.ManualReference == in.Reference:
			return nil // recorded already
		case out.State != RefundClosed && out.State != RefundAbnormal:
			return errNotOwed
		}
		if in.Note != "" {
			if err := conn.Model(&Refund{}).Where("id = ?", out.ID).Update("manual_note", in.Note).Error; err != nil {
				return err
			}
			out.ManualNote = &in.Note
		}
		staff := actor.ID
		out.ManualBy = &staff
		if err := conn.Model(&Refund{}).Where("id = ?", out.ID).Update("manual_by", staff).Error; err != nil {
			return err
		}
		return s.succeed(ctx, p, &out, s.Clock.Now(ctx), &in.Reference)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

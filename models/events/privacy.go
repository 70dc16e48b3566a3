package events

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// What events hold about an owner, for the owner's data rights (PIPL):
// their registrations in the data export, and what happens to them when the
// account is deleted.

// ExportedRegistration is a registration with what it was for.
type ExportedRegistration struct {
	Registration
	EventTitle    string
	EventKind     Kind
	EventStartsAt time.Time
}

// ExportOwner lists every registration of the owner, oldest first.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var rows []*ExportedRegistration
	err := s.DB.Conn(ctx).Table("registrations").
		Select("registrations.*, e.title AS event_title, e.kind AS event_kind, e.starts_at AS event_starts_at").
		Joins("JOIN events e ON e.id = registrations.event_id").
		Where("registrations.owner_id = ?", ownerID).Order("registrations.id").Find(&rows).Error
	return rows, err
}

// EraseOwner withdraws the owner's active registrations for events that
// have not started, inside the account deletion's transaction: their seats
// go to the waitlist at once. Nothing is refunded (points are forfeited
// with the account); a confirmed registration whose money fee would still
// be refunded (Refundable) refuses the deletion instead (REGISTRATION_REFUND_PENDING),
// since the money must reach the owner first: they cancel it (the fee goes
// back to the wallet) and have the wallet refunded.
//
// Codes: REGISTRATION_REFUND_PENDING.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	now := s.Clock.Now(ctx)
	var regs []*Registration
	err := s.DB.Conn(ctx).Table("registrations").Select("registrations.*").
		Joins("JOIN events e ON e.id = registrations.event_id").
		Where("registrations.owner_id = ? AND registrations.status <> ? AND e.starts_at > ?", ownerID, Withdrawn, now).
		Order("registrations.event_id, registrations.id").Find(&regs).Error
	if err != nil {
		return err
	}
	// LockOwner locked these events already, in id order.
	for _, found := range regs {
		e, err := s.lockEvent(ctx, found.EventID)
		if err != nil {
			return err
		}
		r, err := s.lockRegistration(ctx, "id = ?", found.ID, errRegistrationNotFound)
		if err != nil {
			return err
		}
		if r.Status == Withdrawn {
			continue
		}
		if r.Status == Confirmed && r.PaidFen > 0 && Refundable(e, r, now) {
			return ErrRefundPending
		}
		if err := s.withdraw(ctx, e, r, now, false, nil, "车主注销账户"); err != nil {
			return err
		}
		if _, err := s.promote(ctx, e, now); err != nil {
			return err
		}
	}
	return nil
}

// LockOwner locks, in id order, the events the owner holds an active
// registration for that have not started: the account deletion runs it
// before it locks the owner's account (a privacy Locker), since every
// events operation locks the event before the accounts it charges.
func (s *Service) LockOwner(ctx context.Context, ownerID uuid.UUID) error {
	var ids []uuid.UUID
	sub := s.DB.Conn(ctx).Model(&Registration{}).Select("event_id").Where("owner_id = ? AND status <> ?", ownerID, Withdrawn)
	return s.DB.ForUpdate(s.DB.Conn(ctx).Model(&Event{}).Where("id IN (?) AND starts_at > ?", sub, s.Clock.Now(ctx)).Order("id")).
		Pluck("id", &ids).Error
}

// CodeRefundPending: the account cannot be deleted while an event fee is
// still refundable (see EraseOwner).
const CodeRefundPending models.Code = "REGISTRATION_REFUND_PENDING"

// ErrRefundPending compares with errors.Is.
var ErrRefundPending = models.E(CodeRefundPending, "您有可全额退款的活动报名，请先取消报名并申请退还余额后再注销账户",
	"a registration's fee is still refundable: cancel it and have the wallet refunded before deleting the account")

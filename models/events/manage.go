package events

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Running events: staff (EVENTS, MANAGER of the host store; GROUP_ADMIN)
// create, change, publish and cancel them.

// CreateEvent makes a DRAFT event at spec.StoreID.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role, store), NOT_FOUND ("storeId",
// "rewardCouponTemplateId"), INVALID_ARGUMENT.
func (s *Service) CreateEvent(ctx context.Context, actor *auth.Principal, spec Spec) (*Event, error) {
	if err := staffFor(actor, spec.StoreID, rolesCreateEvent); err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx)
	spec, err := spec.Check(now)
	if err != nil {
		return nil, err
	}
	if _, err := s.directory().Store(ctx, spec.StoreID); err != nil {
		return nil, errStoreNotFound
	}
	if err := s.checkReward(ctx, actor, spec); err != nil {
		return nil, err
	}
	by := actor.ID
	e := &Event{ID: models.NewID(), Status: Draft, Version: 1, CreatedBy: &by, CreatedAt: now, UpdatedAt: now}
	e.setSpec(spec)
	if err := s.DB.Conn(ctx).Create(e).Error; err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Event) setSpec(s Spec) {
	e.StoreID, e.Kind, e.Title, e.Description, e.Location = s.StoreID, s.Kind, s.Title, s.Description, s.Location
	e.Itinerary = s.itineraryJSON()
	e.StartsAt, e.EndsAt = s.StartsAt, s.EndsAt
	e.RegistrationOpensAt, e.RegistrationClosesAt, e.CancellationDeadline = s.RegistrationOpensAt, s.RegistrationClosesAt, s.CancellationDeadline
	e.Capacity, e.FeeFen, e.FeePoints, e.MinTier = s.Capacity, s.FeeFen, s.FeePoints, s.MinTier
	e.VehicleRequired, e.MaxPartySize, e.AttendancePoints = s.VehicleRequired, s.MaxPartySize, s.AttendancePoints
	e.RewardCouponTemplateID = s.RewardCouponTemplateID
}

// checkReward: the reward's template is one the actor sees (of the
// event's store or the group's).
//
// Codes: NOT_FOUND ("rewardCouponTemplateId"), INVALID_ARGUMENT
// ("rewardCouponTemplateId": another store's).
func (s *Service) checkReward(ctx context.Context, actor *auth.Principal, spec Spec) error {
	if spec.RewardCouponTemplateID == nil {
		return nil
	}
	t, err := s.coupons().TemplateFor(ctx, actor, *spec.RewardCouponTemplateID)
	if errors.Is(err, models.ErrNotFound) {
		return errRewardTemplate
	}
	if err != nil {
		return err
	}
	if t.StoreID != nil && *t.StoreID != spec.StoreID {
		return models.Invalid("rewardCouponTemplateId", "奖励优惠券须为本门店或集团的模板",
			"the reward must be a template of the event's store or of the group")
	}
	return nil
}

// manage locks an event that may still change, for an actor holding one
// of roles (the operation's list) at its store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, EVENT_CANCELLED,
// EVENT_STARTED, CONFLICT (expectedVersion differs).
func (s *Service) manage(ctx context.Context, actor *auth.Principal, roles []auth.Role, id uuid.UUID, expectedVersion *int, now time.Time) (*Event, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	e, err := s.lockEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := staffFor(actor, e.StoreID, roles); err != nil {
		if actor.IsOwner() {
			return nil, errEventNotFound
		}
		return nil, err
	}
	switch {
	case e.Status == Cancelled:
		return nil, ErrEventCancelled
	case !now.Before(e.StartsAt):
		return nil, ErrEventStarted
	case expectedVersion != nil && *expectedVersion != e.Version:
		return nil, models.ErrConflict
	}
	return e, nil
}

// UpdateEvent changes an event that has not started. Its fees, party size
// and vehicle rule cannot change while it has active registrations; its
// capacity cannot go below the confirmed seats. Raising the capacity
// promotes waitlisted registrations at once (each charged, or skipped and
// told when it cannot pay).
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, INVALID_ARGUMENT,
// EVENT_CANCELLED, EVENT_STARTED, EVENT_LOCKED, CAPACITY_BELOW_CONFIRMED.
func (s *Service) UpdateEvent(ctx context.Context, actor *auth.Principal, id uuid.UUID, expectedVersion *int, p Patch) (*Event, error) {
	var out *Event
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		e, err := s.manage(ctx, actor, rolesUpdateEvent, id, expectedVersion, now)
		if err != nil {
			return err
		}
		if p.locks(e) {
			n, err := s.activeCount(ctx, e.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return ErrEventLocked
			}
		}
		spec, err := p.apply(specOf(e)).Check(now)
		if err != nil {
			return err
		}
		if err := s.checkReward(ctx, actor, spec); err != nil {
			return err
		}
		if spec.Capacity < e.SeatsTaken {
			return CapacityBelowConfirmed(e.SeatsTaken)
		}
		raised := spec.Capacity > e.Capacity
		e.setSpec(spec)
		e.Version++
		e.UpdatedAt = now
		if err := s.DB.Conn(ctx).Save(e).Error; err != nil {
			return err
		}
		if raised {
			if _, err := s.promote(ctx, e, now); err != nil {
				return err
			}
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) activeCount(ctx context.Context, eventID uuid.UUID) (int64, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&Registration{}).Where("event_id = ? AND status <> ?", eventID, Withdrawn).Count(&n).Error
	return n, err
}

// PublishEvent opens a DRAFT to owners.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, EVENT_CANCELLED,
// EVENT_STARTED, NOT_DRAFT.
func (s *Service) PublishEvent(ctx context.Context, actor *auth.Principal, id uuid.UUID, expectedVersion *int) (*Event, error) {
	var out *Event
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		e, err := s.manage(ctx, actor, rolesPublishEvent, id, expectedVersion, now)
		if err != nil {
			return err
		}
		if e.Status != Draft {
			return ErrNotDraft
		}
		e.Status, e.PublishedAt, e.UpdatedAt = Published, &now, now
		e.Version++
		out = e
		return s.DB.Conn(ctx).Save(e).Error
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CancelEvent cancels an event that has not started, with a reason: every
// active registration is cancelled, every confirmed one refunded in full
// (whatever the deadline: the store cancelled; a fee paid with WeChat Pay
// through a refund to its payment), held seats released, and every owner
// told, in one transaction.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, INVALID_ARGUMENT
// ("reason"), EVENT_CANCELLED, EVENT_STARTED.
func (s *Service) CancelEvent(ctx context.Context, actor *auth.Principal, id uuid.UUID, expectedVersion *int, reason string) (*Event, error) {
	reason, err := models.Text("reason", "取消原因", reason, 1, MaxReasonRunes, false)
	if err != nil {
		return nil, err
	}
	var out *Event
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		e, err := s.manage(ctx, actor, rolesCancelEvent, id, expectedVersion, now)
		if err != nil {
			return err
		}
		var regs []*Registration
		if err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("event_id = ? AND status <> ?", e.ID, Withdrawn)).
			Order("id").Find(&regs).Error; err != nil {
			return err
		}
		var payers []uuid.UUID
		for _, r := range regs {
			if (r.PaidFen > 0 || r.PaidPoints > 0) && !paidOnline(r) {
				payers = append(payers, r.OwnerID)
			}
		}
		if err := s.Wallet.LockAccounts(ctx, payers); err != nil {
			return err
		}
		staff := actor.ID
		for _, r := range regs {
			if err := s.withdraw(ctx, e, r, now, true, &staff, "活动取消："+reason); err != nil {
				return err
			}
			if err := s.notify(ctx, r.OwnerID, e.StoreID, NotifyEventCancelled, "event-cancelled:"+r.ID.String(),
				"活动已取消："+e.Title, cancelledBody(r, reason), EventLink(e.ID)); err != nil {
				return err
			}
		}
		e.Status, e.CancelledAt, e.CancelReason, e.UpdatedAt = Cancelled, &now, reason, now
		e.Version++
		if err := s.DB.Conn(ctx).Model(e).Updates(map[string]any{"status": e.Status, "cancelled_at": now,
			"cancel_reason": reason, "version": e.Version, "updated_at": now}).Error; err != nil {
			return err
		}
		// withdraw gave the seats back one by one.
		e.SeatsTaken = 0
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func cancelledBody(r *Registration, reason string) string {
	body := "原因：" + reason + "。"
	switch {
	case paidOnline(r):
		body += "报名费用将全额原路退回您的微信支付账户。"
	case r.PaidFen > 0 || r.PaidPoints > 0:
		body += "报名费用已全额退回您的会员账户。"
	}
	return body
}

package wallet

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Membership reads an owner's membership: their own for an owner, a
// customer of their stores for staff in a customer role (not technicians),
// anyone for GROUP_ADMIN (the customer rule of models.DB.OwnerFor).
//
// Codes: UNAUTHENTICATED, NOT_FOUND (absent or not visible).
func (s *Service) Membership(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID) (*Membership, error) {
	if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
		return nil, err
	}
	ms, err := s.memberships(ctx, []uuid.UUID{ownerID}, s.Clock.Now(ctx))
	if err != nil {
		return nil, err
	}
	m := ms[ownerID]
	if m == nil {
		return nil, errOwnerNotFound
	}
	return m, nil
}

// Entries reads one page of an owner's ledger, newest first, optionally
// only some kinds, and reports whether more follow. Visible as Membership;
// the cashiers and managers of a store that does not serve the owner see
// the entries at their stores only (what they themselves took).
//
// Codes: UNAUTHENTICATED, NOT_FOUND, INVALID_ARGUMENT ("kinds").
func (s *Service) Entries(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page, kinds []EntryKind) ([]*Entry, bool, error) {
	for _, k := range kinds {
		if !k.Valid() {
			return nil, false, models.Invalid("kinds", "交易类型无效", "unknown entry kind")
		}
	}
	q := s.DB.Conn(ctx).Model(&Entry{}).Where("owner_id = ?", ownerID)
	if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
		if !errors.Is(err, models.ErrNotFound) || !atCounter(actor) {
			return nil, false, err
		}
		// The card is the group's: another store's cashier takes a
		// walk-in's money and sees the card's movements at their own
		// stores, not the owner's history elsewhere.
		q = q.Where("store_id IN ?", actor.StoreIDs)
	}
	if len(kinds) > 0 {
		q = q.Where("kind IN ?", kinds)
	}
	p.Desc = true
	return models.Fetch[*Entry](q, models.ByID("id"), p)
}

// MembershipsFor loads, for a dataloader, the memberships of those of
// ownerIDs whose profile actor may see (models.DB.VisibleOwnerIDs, the
// customer rule): a membership reached through any path (a search result, a
// sign-in payload, an order) shows no more than a direct read would. Owners
// actor may not see have no entry.
func (s *Service) MembershipsFor(ctx context.Context, actor *auth.Principal, ownerIDs []uuid.UUID) (map[uuid.UUID]*Membership, error) {
	visible, err := s.directory().VisibleOwnerIDs(ctx, actor, ownerIDs)
	if err != nil {
		return nil, err
	}
	keep := make([]uuid.UUID, 0, len(ownerIDs))
	for _, id := range ownerIDs {
		if visible[id] {
			keep = append(keep, id)
		}
	}
	return s.MembershipsByOwnerIDs(ctx, keep)
}

// Tier reads the owner's membership tier, in one statement; ok is false
// when the owner has no account. No authorization: for another
// capability's rules (an event open from a tier).
func (s *Service) Tier(ctx context.Context, ownerID uuid.UUID) (tier Tier, ok bool, err error) {
	var tiers []Tier
	if err := s.DB.Conn(ctx).Model(&Account{}).Where("owner_id = ?", ownerID).Limit(1).Pluck("tier", &tiers).Error; err != nil {
		return "", false, err
	}
	if len(tiers) == 0 {
		return "", false, nil
	}
	return tiers[0], true, nil
}

// UsablePoints is what the owner's points are worth at a time: the
// remaining points of lots not expired then (a lot past its date expires
// before anything is redeemed, whether or not ExpirePoints has run), in one
// statement. No authorization.
func (s *Service) UsablePoints(ctx context.Context, ownerID uuid.UUID, at time.Time) (int64, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&PointsLot{}).Select("COALESCE(CAST(SUM(remaining) AS BIGINT), 0)").
		Where("owner_id = ? AND remaining > 0 AND expires_at > ?", ownerID, at.UTC()).Scan(&n).Error
	return n, err
}

// MembershipsByOwnerIDs loads memberships for a dataloader in three
// statements whatever the number of owners. No authorization: the caller
// already authorized the owners. Unknown owners have no entry.
func (s *Service) MembershipsByOwnerIDs(ctx context.Context, ownerIDs []uuid.UUID) (map[uuid.UUID]*Membership, error) {
	return s.memberships(ctx, ownerIDs, s.Clock.Now(ctx))
}

// memberships reads accounts, their spend over the tier window and their
// points expiring soon, as of now.
func (s *Service) memberships(ctx context.Context, ownerIDs []uuid.UUID, now time.Time) (map[uuid.UUID]*Membership, error) {
	out := make(map[uuid.UUID]*Membership, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	conn := s.DB.Conn(ctx)
	var accounts []*Account
	if err := conn.Where("owner_id IN ?", ownerIDs).Find(&accounts).Error; err != nil {
		return nil, err
	}
	if len(accounts) == 0 {
		return out, nil
	}
	var spent []struct {
		OwnerID uuid.UUID
		Spent   int64
	}
	err := conn.Raw(`SELECT owner_id, CAST(SUM(spend_fen) AS BIGINT) AS spent FROM ledger_entries
		WHERE owner_id IN ? AND spend_fen > 0 AND created_at > ? GROUP BY owner_id`,
		ownerIDs, tierWindowStart(now)).Scan(&spent).Error
	if err != nil {
		return nil, err
	}
	// Lots due within the window are few; they are added up here, which
	// also keeps timestamps out of SQL aggregates (SQLite returns those as text).
	var soon []*PointsLot
	err = conn.Where("owner_id IN ? AND remaining > 0 AND expires_at <= ?", ownerIDs, now.AddDate(0, 0, ExpiringSoonDays)).
		Find(&soon).Error
	if err != nil {
		return nil, err
	}
	cfg := s.cfg()
	for _, a := range accounts {
		next, min := NextTier(a.Tier, cfg.TierThresholdsFen)
		m := &Membership{OwnerID: a.OwnerID, BalanceFen: a.BalanceFen, BalanceCapFen: cfg.BalanceCapFen,
			Points: a.Points, Tier: a.Tier, NextTier: next, SpendToNextTierFen: min}
		out[a.OwnerID] = m
	}
	for _, r := range spent {
		if m := out[r.OwnerID]; m != nil {
			m.SpentLast12MFen = r.Spent
		}
	}
	for _, m := range out {
		if m.SpendToNextTierFen != nil {
			need := max(*m.SpendToNextTierFen-m.SpentLast12MFen, 0)
			m.SpendToNextTierFen = &need
		}
	}
	for _, l := range soon {
		m := out[l.OwnerID]
		if m == nil {
			continue
		}
		m.PointsExpiringSoon += l.Remaining
		if m.NextPointsExpiry == nil || l.ExpiresAt.Before(*m.NextPointsExpiry) {
			at := l.ExpiresAt.UTC()
			m.NextPointsExpiry = &at
		}
	}
	return out, nil
}

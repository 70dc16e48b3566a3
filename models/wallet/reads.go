package wallet

import (
	"context"
	"errors"
	"fmt"
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

// MembershipsByOwnerIDs loads memberships for a dataloader in one
// statement whatever the number of owners. No authorization: the caller
// already authorized the owners. Unknown owners have no entry.
func (s *Service) MembershipsByOwnerIDs(ctx context.Context, ownerIDs []uuid.UUID) (map[uuid.UUID]*Membership, error) {
	return s.memberships(ctx, ownerIDs, s.Clock.Now(ctx))
}

// memberships reads accounts with their spend over the tier window and
// their points expiring soon, as of now, in one statement: the sums are
// subqueries over the owner's ledger and lots (both indexed by owner), so
// that the owner's home screen pays one round trip for its membership.
func (s *Service) memberships(ctx context.Context, ownerIDs []uuid.UUID, now time.Time) (map[uuid.UUID]*Membership, error) {
	out := make(map[uuid.UUID]*Membership, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	soon := now.AddDate(0, 0, ExpiringSoonDays).UTC()
	var rows []struct {
		Account  `gorm:"embedded"`
		Spent    int64
		Expiring int64
		// The first expiry as text: SQLite gives a subquery's timestamp
		// as text, PostgreSQL's is formatted by database/sql.
		FirstExpiry *string
	}
	err := models.Scan(s.DB.Conn(ctx).Model(&Account{}).Select(`membership_accounts.*,
		COALESCE((SELECT CAST(SUM(l.spend_fen) AS BIGINT) FROM ledger_entries l
			WHERE l.owner_id = membership_accounts.owner_id AND l.spend_fen > 0 AND l.created_at > ?), 0) AS spent,
		COALESCE((SELECT CAST(SUM(p.remaining) AS BIGINT) FROM points_lots p
			WHERE p.owner_id = membership_accounts.owner_id AND p.remaining > 0 AND p.expires_at <= ?), 0) AS expiring,
		(SELECT p.expires_at FROM points_lots p
			WHERE p.owner_id = membership_accounts.owner_id AND p.remaining > 0 AND p.expires_at <= ?
			ORDER BY p.expires_at LIMIT 1) AS first_expiry`,
		tierWindowStart(now).UTC(), soon, soon).
		Where("membership_accounts.owner_id IN ?", ownerIDs), &rows)
	if err != nil {
		return nil, err
	}
	cfg := s.cfg()
	for _, r := range rows {
		a := r.Account
		next, need := NextTier(a.Tier, cfg.TierThresholdsFen)
		if need != nil {
			left := max(*need-r.Spent, 0)
			need = &left
		}
		m := &Membership{OwnerID: a.OwnerID, BalanceFen: a.BalanceFen, BalanceCapFen: cfg.BalanceCapFen,
			Points: a.Points, Tier: a.Tier, NextTier: next, SpendToNextTierFen: need,
			SpentLast12MFen: r.Spent, PointsExpiringSoon: r.Expiring}
		if r.FirstExpiry != nil {
			at, err := models.ParseStoredTime(*r.FirstExpiry)
			if err != nil {
				return nil, fmt.Errorf("points expiry %q: %w", *r.FirstExpiry, err)
			}
			m.NextPointsExpiry = &at
		}
		out[a.OwnerID] = m
	}
	return out, nil
}

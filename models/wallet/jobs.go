package wallet

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Daily jobs. Both are safe to run twice and on several instances at once:
// each owner is handled in a transaction of its own that locks the account
// first and re-reads under the lock, and every write is conditional.

// jobBatch is how many owners a job reads per statement.
const jobBatch = 200

// ExpirePoints expires the points of every lot due at now (expires_at <=
// now with points left): a POINTS_EXPIRE entry per lot, the lot emptied. It
// returns the number of lots it expired; a lot another run (or a spend)
// expired first is not counted, and the entry key "expire:<lot id>" makes a
// second entry for a lot impossible.
func (s *Service) ExpirePoints(ctx context.Context, now time.Time) (expired int64, err error) {
	now = now.UTC()
	after := uuid.Nil
	for {
		var owners []uuid.UUID
		err := s.DB.Conn(ctx).Raw(`SELECT DISTINCT owner_id FROM points_lots
			WHERE remaining > 0 AND expires_at <= ? AND owner_id > ? ORDER BY owner_id LIMIT ?`,
			now, after, jobBatch).Scan(&owners).Error
		if err != nil {
			return expired, err
		}
		for _, id := range owners {
			var n int64
			err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
				if _, err := s.lockAccount(ctx, id); err != nil {
					return err
				}
				entries, err := s.expireDue(ctx, id, now)
				n = int64(len(entries))
				return err
			})
			switch {
			case errors.Is(err, errDuplicate):
				// Another run got there first; its entries stand.
			case err != nil:
				return expired, err
			default:
				expired += n
			}
			after = id
		}
		if len(owners) < jobBatch {
			return expired, nil
		}
	}
}

// RecomputeTiers sets every account's tier from its spend over the 12
// months before now, so tiers move down as spend ages out (and up, should a
// spend have been recorded without a charge). It returns how many changed.
func (s *Service) RecomputeTiers(ctx context.Context, now time.Time) (changed int64, err error) {
	now = now.UTC()
	th := s.cfg().TierThresholdsFen
	after := uuid.Nil
	for {
		var rows []struct {
			OwnerID uuid.UUID
			Tier    Tier
			Spent   int64
		}
		err := s.DB.Conn(ctx).Raw(`SELECT a.owner_id, a.tier, CAST(COALESCE(SUM(e.spend_fen), 0) AS BIGINT) AS spent
			FROM membership_accounts a
			LEFT JOIN ledger_entries e ON e.owner_id = a.owner_id AND e.spend_fen > 0 AND e.created_at > ?
			WHERE a.owner_id > ? GROUP BY a.owner_id, a.tier ORDER BY a.owner_id LIMIT ?`,
			tierWindowStart(now), after, jobBatch).Scan(&rows).Error
		if err != nil {
			return changed, err
		}
		for _, r := range rows {
			after = r.OwnerID
			if TierFor(r.Spent, th) == r.Tier {
				continue
			}
			// Decided again under the lock: a charge may have just moved it.
			var moved bool
			err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
				a, err := s.lockAccount(ctx, r.OwnerID)
				if err != nil {
					return err
				}
				moved, err = s.updateTier(ctx, a, now)
				return err
			})
			if err != nil {
				return changed, err
			}
			if moved {
				changed++
			}
		}
		if len(rows) < jobBatch {
			return changed, nil
		}
	}
}

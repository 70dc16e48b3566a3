package wallet

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Discrepancy is an account whose balance or points differ from what its
// ledger entries add up to, or whose points differ from its lots.
type Discrepancy struct {
	OwnerID          uuid.UUID
	BalanceFen       int64
	LedgerBalanceFen int64 // SUM(amount_fen) of its entries
	Points           int64
	LedgerPoints     int64 // SUM(points) of its entries
	LotPoints        int64 // SUM(remaining) of its points lots
}

// Audit checks the ledger's invariant on every account, in one statement
// (one snapshot): balance = sum of the entries' amounts, points = sum of the
// entries' points = points left in the lots. It returns the accounts that
// break it; none, always, is the point. For tests and reconciliation.
func Audit(ctx context.Context, db *models.DB) ([]Discrepancy, error) {
	var rows []Discrepancy
	err := db.Conn(ctx).Raw(`SELECT a.owner_id, a.balance_fen, a.points,
		CAST(COALESCE((SELECT SUM(e.amount_fen) FROM ledger_entries e WHERE e.owner_id = a.owner_id), 0) AS BIGINT) AS ledger_balance_fen,
		CAST(COALESCE((SELECT SUM(e.points) FROM ledger_entries e WHERE e.owner_id = a.owner_id), 0) AS BIGINT) AS ledger_points,
		CAST(COALESCE((SELECT SUM(l.remaining) FROM points_lots l WHERE l.owner_id = a.owner_id), 0) AS BIGINT) AS lot_points
		FROM membership_accounts a`).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	var out []Discrepancy
	for _, r := range rows {
		if r.BalanceFen != r.LedgerBalanceFen || r.Points != r.LedgerPoints || r.Points != r.LotPoints {
			out = append(out, r)
		}
	}
	return out, nil
}

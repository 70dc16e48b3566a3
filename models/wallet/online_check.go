package wallet

import (
	"context"

	"github.com/google/uuid"
)

// creditedBatch bounds the payment ids one statement of OnlineTopUpsCredited
// asks about.
const creditedBatch = 500

// OnlineTopUpsCredited is, for each of the payments that has one, the amount
// of its TOP_UP ledger entry (TopUpOnline's, referring to the payment): what
// the daily reconciliation checks a paid top-up against. A payment without
// an entry is absent from the map. One statement per 500 payments.
func (s *Service) OnlineTopUpsCredited(ctx context.Context, paymentIDs []uuid.UUID) (map[uuid.UUID]int64, error) {
	out := make(map[uuid.UUID]int64, len(paymentIDs))
	for start := 0; start < len(paymentIDs); start += creditedBatch {
		batch := paymentIDs[start:min(start+creditedBatch, len(paymentIDs))]
		var rows []struct {
			RefID     uuid.UUID
			AmountFen int64
		}
		err := s.DB.Conn(ctx).Model(&Entry{}).Select("ref_id, amount_fen").
			Where("ref_type = ? AND kind = ? AND ref_id IN ?", RefTopUp, TopUp, batch).Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.RefID] += r.AmountFen
		}
	}
	return out, nil
}

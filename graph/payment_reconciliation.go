package graph

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models/payments"
)

// visiblePayments batches the caller's reads of payments named by other
// records (a reconciliation's mismatches); payments decides which the
// caller sees.
func visiblePayments(s *payments.Service) func(context.Context, []uuid.UUID) (map[uuid.UUID]*payments.Payment, error) {
	return func(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*payments.Payment, error) {
		return s.PaymentsByID(ctx, caller(ctx), ids)
	}
}

// moneyOrNil is an optional amount.
func moneyOrNil(fen *int64) *model.Money {
	if fen == nil {
		return nil
	}
	return money(*fen)
}

// visiblePayment is a payment the caller sees, or nil.
func visiblePayment(ctx context.Context, id uuid.UUID) (*payments.Payment, error) {
	p, err := loaders(ctx).Payment.Load(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	return p, err
}

package graph

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/referrals"
)

// referralConnection is a page of referrals.
func referralConnection(rows []*referrals.Referral, hasNext bool, p models.Page) *model.ReferralConnection {
	conn := &model.ReferralConnection{TotalCount: total(p), Edges: make([]*model.ReferralEdge, len(rows))}
	for i, x := range rows {
		conn.Edges[i] = &model.ReferralEdge{Cursor: cursor(x.ID), Node: x}
	}
	conn.PageInfo = pageInfo(len(rows), hasNext, p, func(i int) string { return cursor(rows[i].ID) })
	return conn
}

// referralOwner is a side of a referral for staff who see the customer;
// owners (and staff who do not see them) get null: a referrer is shown
// only the friend's masked phone.
func referralOwner(ctx context.Context, id uuid.UUID) (*models.Owner, error) {
	if !caller(ctx).IsStaff() {
		return nil, nil
	}
	o, err := loaders(ctx).Customer.Load(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	return o, err
}

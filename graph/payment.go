package graph

import (
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
)

// paymentConnection is one page of payments as the API lists them.
func paymentConnection(rows []*payments.Payment, hasNext bool, p models.Page) *model.OnlinePaymentConnection {
	conn := &model.OnlinePaymentConnection{Edges: make([]*model.OnlinePaymentEdge, len(rows))}
	for i, row := range rows {
		conn.Edges[i] = &model.OnlinePaymentEdge{Cursor: cursor(row.ID), Node: row}
	}
	conn.PageInfo = pageInfo(len(rows), hasNext, p, func(i int) string { return cursor(rows[i].ID) })
	return conn
}

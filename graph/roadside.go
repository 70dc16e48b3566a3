package graph

import (
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// assistancePayload is a roadside mutation's payload.
func assistancePayload(r *roadside.Request, ues []*model.UserError) *model.AssistanceRequestPayload {
	return &model.AssistanceRequestPayload{AssistanceRequest: r, UserErrors: ues}
}

// assistanceConnection is a page of requests.
func assistanceConnection(rows []*roadside.Request, hasNext bool, p models.Page) *model.AssistanceRequestConnection {
	conn := &model.AssistanceRequestConnection{TotalCount: total(p), Edges: make([]*model.AssistanceRequestEdge, len(rows))}
	for i, r := range rows {
		conn.Edges[i] = &model.AssistanceRequestEdge{Cursor: cursor(r.ID), Node: r}
	}
	conn.PageInfo = pageInfo(len(rows), hasNext, p, func(i int) string { return cursor(rows[i].ID) })
	return conn
}

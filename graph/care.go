package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/care"
)

// Type names of the care loop's global IDs.
const (
	typeSurvey       = "Survey"
	typeFollowUpTask = "FollowUpTask"
	typeComplaint    = "Complaint"
)

// careLoaders batch the care loop's relations per request.
type careLoaders struct {
	SurveyByOrder   *Loader[uuid.UUID, *care.Survey]
	Survey          *Loader[uuid.UUID, *care.Survey]
	Complaint       *Loader[uuid.UUID, *care.Complaint]
	ComplaintEvents *Loader[uuid.UUID, []*care.ComplaintEvent]
}

// careLoaders returns the request's care loaders, made on first use.
func (r *Resolver) careLoaders(ctx context.Context) *careLoaders {
	l := loaders(ctx)
	l.careOnce.Do(func() {
		c := l.cache
		l.care = &careLoaders{
			SurveyByOrder:   newLoader(r.Care.SurveysByOrderIDs, c),
			Survey:          newLoader(r.Care.SurveysByIDs, c),
			Complaint:       newLoader(r.Care.ComplaintsByIDs, c),
			ComplaintEvents: newLoader(everyKey(r.Care.EventsByComplaintIDs), c),
		}
	})
	return l.care
}

func surveyConnection(rows []*care.Survey, more bool, p models.Page) *model.SurveyConnection {
	c := &model.SurveyConnection{TotalCount: total(p), Edges: make([]*model.SurveyEdge, len(rows))}
	for i, s := range rows {
		c.Edges[i] = &model.SurveyEdge{Cursor: cursor(s.ID), Node: s}
	}
	c.PageInfo = pageInfo(len(rows), more, p, func(i int) string { return cursor(rows[i].ID) })
	return c
}

func complaintConnection(rows []*care.Complaint, more bool, p models.Page) *model.ComplaintConnection {
	c := &model.ComplaintConnection{TotalCount: total(p), Edges: make([]*model.ComplaintEdge, len(rows))}
	for i, x := range rows {
		c.Edges[i] = &model.ComplaintEdge{Cursor: cursor(x.ID), Node: x}
	}
	c.PageInfo = pageInfo(len(rows), more, p, func(i int) string { return cursor(rows[i].ID) })
	return c
}

func taskConnection(rows []*care.FollowUpTask, more bool, p models.Page) *model.FollowUpTaskConnection {
	c := &model.FollowUpTaskConnection{TotalCount: total(p), Edges: make([]*model.FollowUpTaskEdge, len(rows))}
	for i, t := range rows {
		c.Edges[i] = &model.FollowUpTaskEdge{Cursor: t.PageKey().String(), Node: t}
	}
	c.PageInfo = pageInfo(len(rows), more, p, func(i int) string { return rows[i].PageKey().String() })
	return c
}

// complaintStep runs one step of a complaint's handling for a mutation.
func (r *Resolver) complaintStep(ctx context.Context, input model.ComplaintStepInput, step care.Step) (*model.ComplaintPayload, error) {
	id, err := idOf(input.ComplaintID, typeComplaint, "complaintId")
	if err != nil {
		return nil, err
	}
	c, err := r.Care.Step(ctx, caller(ctx), id, step, deref(input.Note))
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.ComplaintPayload{Complaint: c, UserErrors: ues}, nil
}

func taskPayload(ctx context.Context, t *care.FollowUpTask, c *care.Complaint, err error) (*model.FollowUpTaskPayload, error) {
	ues, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.FollowUpTaskPayload{Task: t, Complaint: c, UserErrors: ues}, nil
}

func deadline(d care.Deadline) *care.Deadline { return &d }

package roadside

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// RequestFor reads a request the actor may see: an owner their own;
// ADVISOR, CRM and MANAGER staff their stores'; GROUP_ADMIN every one. One
// the actor may not see is NOT_FOUND, so probing ids reveals nothing.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) RequestFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Request, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	var r Request
	if err := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, rolesServe, "").Take(&r).Error; err != nil {
		return nil, models.NotFoundAs(err, errRequestNotFound)
	}
	normalize(&r)
	return &r, nil
}

// OwnerRequests reads one page of an owner's requests, newest first, and
// reports whether more follow. An owner reads only their own; ADVISOR, CRM
// and MANAGER staff the owner's requests at their stores.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (other staff, screens), NOT_FOUND
// (another owner's), INVALID_ARGUMENT ("first": p not from models.NewPage).
func (s *Service) OwnerRequests(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page) ([]*Request, bool, error) {
	switch {
	case actor == nil:
		return nil, false, models.ErrUnauthenticated
	case actor.IsOwner() && actor.ID != ownerID:
		return nil, false, errOwnerNotFound
	case !actor.IsOwner() && !actor.HasAnyRole(rolesServe...):
		return nil, false, models.ErrForbidden
	}
	p.Desc = true
	q := models.Scope(s.DB.Conn(ctx).Model(&Request{}).Where("owner_id = ?", ownerID), actor, rolesServe, "")
	return fetch(q, p)
}

// OpenRequests reads one page of the open requests (REQUESTED, ACCEPTED,
// DISPATCHED) of a store, or of all the actor's stores when storeID is
// nil, oldest first: the one waiting longest comes first. ADVISOR, CRM and
// MANAGER staff of the store (GROUP_ADMIN: any, and nil means all stores).
//
// Codes: UNAUTHENTICATED, FORBIDDEN ("storeId": not the actor's store;
// not staff or without the role), INVALID_ARGUMENT ("first": p not from
// models.NewPage).
func (s *Service) OpenRequests(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, p models.Page) ([]*Request, bool, error) {
	if err := serving(actor, rolesOpenRequests); err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Model(&Request{}).Where("status IN ?", []Status{Requested, Accepted, Dispatched})
	if storeID != nil {
		if !actor.CanAccessStore(*storeID) {
			return nil, false, errNotYourStore
		}
		q = q.Where("store_id = ?", *storeID)
	} else {
		q = models.Scope(q, actor, rolesOpenRequests, "")
	}
	p.Desc = false
	return fetch(q, p)
}

// fetch reads one page of requests.
func fetch(q *gorm.DB, p models.Page) ([]*Request, bool, error) {
	rows, more, err := models.Fetch[*Request](q, models.ByID("id"), p)
	if err != nil {
		return nil, false, err
	}
	for _, r := range rows {
		normalize(r)
	}
	return rows, more, nil
}

// EventsByRequestIDs loads the timelines of requests for a dataloader, in
// one statement, each in the order it happened. No authorization: the
// caller already authorized the requests.
func (s *Service) EventsByRequestIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Event, error) {
	out := make(map[uuid.UUID][]*Event, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*Event
	if err := s.DB.Conn(ctx).Where("request_id IN ?", ids).Order("request_id, created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, e := range rows {
		e.CreatedAt = e.CreatedAt.UTC()
		out[e.RequestID] = append(out[e.RequestID], e)
	}
	return out, nil
}

package roadside

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// Service runs roadside assistance on a database.
//
// One open request per vehicle is the partial unique index
// assistance_requests_one_open_idx: of concurrent requests for one car,
// exactly one is stored. Every change locks the request's row (FOR UPDATE
// on PostgreSQL; SQLite's write transactions hold the write lock from their
// start), checks the move against the status it reads there, bumps the
// version with a conditional update, records the move on the timeline,
// puts it in the owner's inbox (changes made by staff) and announces the
// request's topic, all in one transaction: of two staff accepting at once,
// one wins and the other is told ALREADY_ACCEPTED.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Inbox takes the notifications to owners (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Directory reads the owners, cars, stores and staff the requests
	// refer to (nil: one on DB and Clock).
	Directory *directory.Service
}

func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// Reading and serving their stores' requests (OpenRequests, Accept,
	// Dispatch, Close): one list, rolesServe.
	rolesOpenRequests = rolesServe
	rolesAccept       = rolesServe
	rolesDispatch     = rolesServe
	rolesClose        = rolesServe

	rolesServe = []auth.Role{auth.RoleAdvisor, auth.RoleCRM, auth.RoleManager}
)

// lock reads and locks a request the actor may see.
//
// Codes: NOT_FOUND.
func (s *Service) lock(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Request, error) {
	var r Request
	q := models.Scope(s.DB.Conn(ctx).Where("id = ?", id), actor, rolesServe, "")
	if err := s.DB.ForUpdate(q).Take(&r).Error; err != nil {
		return nil, models.NotFoundAs(err, errRequestNotFound)
	}
	normalize(&r)
	return &r, nil
}

// change is one move of a request, made in its transaction.
type change struct {
	actor  *auth.Principal
	to     Status
	note   string
	fields map[string]any // columns to set besides status, version, updated_at
}

// apply writes a move of r (locked by the caller): the status and fields
// by a conditional update on the version read, the timeline event, the
// owner's inbox item (for staff moves) and the announcement.
func (s *Service) apply(ctx context.Context, r *Request, c change, now time.Time) error {
	conn := s.DB.Conn(ctx)
	fields := map[string]any{"status": c.to, "version": r.Version + 1, "updated_at": now}
	for k, v := range c.fields {
		fields[k] = v
	}
	res := conn.Model(&Request{}).Where("id = ? AND version = ?", r.ID, r.Version).Updates(fields)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		// Unreachable under the row lock; refuse rather than overwrite.
		return models.ErrConflict
	}
	from := r.Status
	if err := s.record(ctx, r.ID, &from, c.to, c.actor, c.note, now); err != nil {
		return err
	}
	if c.actor.IsStaff() {
		if err := s.notify(ctx, r, c, now); err != nil {
			return err
		}
	}
	return s.DB.Publish(ctx, Topic(r.ID))
}

// record adds an event to a request's timeline.
func (s *Service) record(ctx context.Context, requestID uuid.UUID, from *Status, to Status, actor *auth.Principal, note string, now time.Time) error {
	kind := ActorStaff
	if actor.IsOwner() {
		kind = ActorOwner
	}
	return s.DB.Conn(ctx).Create(&Event{
		ID: models.NewID(), RequestID: requestID, FromStatus: from, ToStatus: to,
		ActorKind: kind, ActorID: actor.ID, Note: note, CreatedAt: now,
	}).Error
}

// read reads a request by id, without authorization.
func (s *Service) read(ctx context.Context, id uuid.UUID) (*Request, error) {
	var r Request
	if err := s.DB.Conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, models.NotFoundAs(err, errRequestNotFound)
	}
	normalize(&r)
	return &r, nil
}

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// RolesOpenRequests is the list rolesOpenRequests, copied: a caller cannot change the rule.
func RolesOpenRequests() []auth.Role { return slices.Clone(rolesOpenRequests) }

// RolesAccept is the list rolesAccept, copied: a caller cannot change the rule.
func RolesAccept() []auth.Role { return slices.Clone(rolesAccept) }

// RolesDispatch is the list rolesDispatch, copied: a caller cannot change the rule.
func RolesDispatch() []auth.Role { return slices.Clone(rolesDispatch) }

// RolesClose is the list rolesClose, copied: a caller cannot change the rule.
func RolesClose() []auth.Role { return slices.Clone(rolesClose) }

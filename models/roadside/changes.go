package roadside

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Accepting, dispatching, closing and cancelling requests.

// serving checks the actor is staff holding one of roles (the operation's
// list of rolesServe).
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func serving(actor *auth.Principal, roles []auth.Role) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.HasAnyRole(roles...):
		return models.ErrForbidden
	}
	return nil
}

// move runs one change of a request in a transaction: lock the row the
// actor may see, check the move against its status, let fill add the
// change's fields (and refuse), apply it.
func (s *Service) move(ctx context.Context, actor *auth.Principal, id uuid.UUID, c Change, note string,
	fill func(ctx context.Context, r *Request, now time.Time) (map[string]any, error)) (*Request, error) {
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		r, err := s.lock(ctx, actor, id)
		if err != nil {
			return err
		}
		to, err := CheckChange(r.Status, c, actor.IsOwner())
		if err != nil {
			return err
		}
		fields, err := fill(ctx, r, now)
		if err != nil {
			return err
		}
		return s.apply(ctx, r, change{actor: actor, to: to, note: note, fields: fields}, now)
	})
	if err != nil {
		return nil, err
	}
	return s.read(ctx, id)
}

// Accept takes a REQUESTED request on for its store. ADVISOR, CRM and
// MANAGER staff of the store (GROUP_ADMIN: any). Of concurrent accepts
// one wins; the others are ALREADY_ACCEPTED.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not staff, or without the role),
// NOT_FOUND (absent or another store's), ALREADY_ACCEPTED,
// REQUEST_FINISHED.
func (s *Service) Accept(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Request, error) {
	if err := serving(actor, rolesAccept); err != nil {
		return nil, err
	}
	return s.move(ctx, actor, id, Accept, "", func(_ context.Context, _ *Request, now time.Time) (map[string]any, error) {
		return map[string]any{"accepted_by": actor.ID, "accepted_at": now}, nil
	})
}

// DispatchInput says who is sent and when they arrive.
type DispatchInput struct {
	RequestID uuid.UUID
	// StaffID sends one of the store's staff; nil sends someone else (a
	// partner's tow truck), named by Name.
	StaffID *uuid.UUID
	// Name of who is sent; defaults to the staff member's name.
	Name string
	// Phone the owner can reach them on (mainland mobile).
	Phone string
	// ETAMinutes from now, 1 to MaxETAMinutes.
	ETAMinutes int
	Note       string
}

// check validates and normalizes the input.
func (in DispatchInput) check() (DispatchInput, error) {
	var err error
	minName := 1
	if in.StaffID != nil {
		minName = 0
	}
	if in.Name, err = models.Text("dispatcherName", "救援人员姓名", in.Name, minName, MaxNameRunes, false); err != nil {
		return in, err
	}
	if in.Phone, err = validate.NormalizePhone(in.Phone); err != nil {
		return in, models.InvalidPhone("dispatcherPhone", err)
	}
	if in.ETAMinutes < 1 || in.ETAMinutes > MaxETAMinutes {
		return in, models.Ef(models.CodeInvalidArgument, "预计到达时间须在 1 到 720 分钟之间",
			"etaMinutes must be between 1 and %d", MaxETAMinutes).On("etaMinutes")
	}
	in.Note, err = models.Text("note", "备注", in.Note, 0, MaxNoteRunes, true)
	return in, err
}

// Dispatch records who was sent to an ACCEPTED request, their phone and
// when they should arrive. A dispatched staff member must be active and
// work at the request's store. ADVISOR, CRM and MANAGER staff of the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (the request; "staffId"),
// INVALID_ARGUMENT ("dispatcherName", "etaMinutes", "note"), INVALID_PHONE
// ("dispatcherPhone"), WRONG_STATUS, REQUEST_FINISHED.
func (s *Service) Dispatch(ctx context.Context, actor *auth.Principal, in DispatchInput) (*Request, error) {
	if err := serving(actor, rolesDispatch); err != nil {
		return nil, err
	}
	in, err := in.check()
	if err != nil {
		return nil, err
	}
	return s.move(ctx, actor, in.RequestID, Dispatch, in.Note, func(ctx context.Context, r *Request, now time.Time) (map[string]any, error) {
		name := in.Name
		if in.StaffID != nil {
			staffName, err := s.storeStaffName(ctx, *in.StaffID, r.StoreID)
			if err != nil {
				return nil, err
			}
			if name == "" {
				name = staffName
			}
		}
		eta := now.Add(time.Duration(in.ETAMinutes) * time.Minute)
		return map[string]any{
			"dispatcher_staff_id": in.StaffID, "dispatcher_name": &name, "dispatcher_phone": &in.Phone,
			"eta": &eta, "dispatched_at": now,
		}, nil
	})
}

// storeStaffName is the name of an active staff member working at the
// store (GROUP_ADMIN works at every store).
//
// Codes: NOT_FOUND ("staffId").
func (s *Service) storeStaffName(ctx context.Context, staffID, storeID uuid.UUID) (string, error) {
	name, ok, err := s.directory().StaffAtStore(ctx, staffID, storeID, nil, true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errStaffNotFound
	}
	return name, nil
}

// Close ends an ACCEPTED or DISPATCHED request with its outcome (1 to 500
// characters: towed to the store, fixed on the spot, settled on the
// phone). ADVISOR, CRM and MANAGER staff of the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT
// ("outcome"), WRONG_STATUS, REQUEST_FINISHED.
func (s *Service) Close(ctx context.Context, actor *auth.Principal, id uuid.UUID, outcome string) (*Request, error) {
	if err := serving(actor, rolesClose); err != nil {
		return nil, err
	}
	outcome, err := models.Text("outcome", "救援结果", outcome, 1, MaxNoteRunes, true)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, actor, id, Close, outcome, func(_ context.Context, _ *Request, now time.Time) (map[string]any, error) {
		return map[string]any{"outcome": &outcome, "finished_at": now}, nil
	})
}

// Cancel cancels an open request. The owner cancels their own until
// someone is dispatched, with an optional reason; ADVISOR, CRM and MANAGER
// staff of the store cancel until it is closed, and must say why (the
// owner is told).
//
// Codes: UNAUTHENTICATED, FORBIDDEN (screens, staff without the role),
// NOT_FOUND (absent, another owner's or another store's), INVALID_ARGUMENT
// ("reason"), TOO_LATE_TO_CANCEL, REQUEST_FINISHED.
func (s *Service) Cancel(ctx context.Context, actor *auth.Principal, id uuid.UUID, reason string) (*Request, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner() && !actor.HasAnyRole(rolesServe...):
		return nil, models.ErrForbidden
	}
	minReason := 1
	if actor.IsOwner() {
		minReason = 0
	}
	reason, err := models.Text("reason", "取消原因", reason, minReason, MaxNoteRunes, false)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, actor, id, Cancel, reason, func(_ context.Context, _ *Request, now time.Time) (map[string]any, error) {
		return map[string]any{"cancel_reason": &reason, "finished_at": now}, nil
	})
}

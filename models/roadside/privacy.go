package roadside

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
)

// What roadside assistance holds about an owner, for the owner's data
// rights (PIPL).

// ExportedRequest is a request with its timeline.
type ExportedRequest struct {
	*Request
	Timeline []*Event
}

// ExportOwner lists the owner's requests with their timelines, oldest
// first, in two statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	var reqs []*Request
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Order("id").Find(&reqs).Error; err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(reqs))
	for i, r := range reqs {
		ids[i] = r.ID
	}
	var events []*Event
	if err := s.DB.Conn(ctx).Where("request_id IN ?", ids).Order("id").Find(&events).Error; err != nil {
		return nil, err
	}
	byReq := map[uuid.UUID][]*Event{}
	for _, e := range events {
		byReq[e.RequestID] = append(byReq[e.RequestID], e)
	}
	out := make([]*ExportedRequest, len(reqs))
	for i, r := range reqs {
		out[i] = &ExportedRequest{Request: r, Timeline: byReq[r.ID]}
	}
	return out, nil
}

// erasedAddress replaces where a deleted owner's car stood.
const erasedAddress = "（车主已注销）"

// EraseOwner runs inside an account deletion (after the owner's row was
// anonymised). What the owner wrote is blanked: the description of every
// request, the reason of every request the owner cancelled and the notes
// of the owner's own timeline entries (staff's notes, outcomes and reasons
// stay: they are the store's record). Every request forgets where the car
// stood (address, coordinates, distance to the store) and the callback
// number, which becomes the owner's placeholder. Then an open request is
// cancelled (on its timeline, announced to the store's live views).
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	conn := s.DB.Conn(ctx)
	now := s.Clock.Now(ctx)
	var open []*Request
	if err := s.DB.ForUpdate(conn.Where("owner_id = ? AND status IN ?", ownerID, []Status{Requested, Accepted, Dispatched})).
		Find(&open).Error; err != nil {
		return err
	}
	mine := conn.Model(&Request{}).Select("id").Where("owner_id = ?", ownerID)
	// The reasons the owner gave when cancelling: a cancellation by the
	// owner is an OWNER entry to CANCELLED on the timeline.
	if err := conn.Model(&Request{}).
		Where("owner_id = ? AND status = ?", ownerID, Cancelled).
		Where("EXISTS (SELECT 1 FROM assistance_events e WHERE e.request_id = assistance_requests.id AND e.to_status = ? AND e.actor_kind = ?)",
			Cancelled, ActorOwner).
		Update("cancel_reason", "").Error; err != nil {
		return err
	}
	if err := conn.Model(&Event{}).Where("request_id IN (?) AND actor_kind = ? AND note <> ''", mine, ActorOwner).
		Update("note", "").Error; err != nil {
		return err
	}
	erased := map[string]any{"address": erasedAddress, "latitude": 0, "longitude": 0, "distance_m": nil, "description": ""}
	phone, err := s.directory().OwnerPhone(ctx, ownerID)
	switch {
	case err == nil:
		erased["callback_phone"] = phone
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return err
	}
	if err := conn.Model(&Request{}).Where("owner_id = ?", ownerID).Updates(erased).Error; err != nil {
		return err
	}
	reason := "车主注销账户"
	for _, r := range open {
		from := r.Status
		if err := conn.Model(r).Updates(map[string]any{"status": Cancelled, "cancel_reason": reason, "finished_at": now,
			"version": r.Version + 1, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := conn.Create(&Event{ID: models.NewID(), RequestID: r.ID, FromStatus: &from, ToStatus: Cancelled,
			ActorKind: ActorOwner, ActorID: ownerID, Note: reason, CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := s.DB.Publish(ctx, Topic(r.ID)); err != nil {
			return err
		}
	}
	return nil
}

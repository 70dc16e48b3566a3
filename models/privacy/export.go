package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// ExportFormat names the layout of the export document.
const ExportFormat = "ownerhub-export/1"

// Export is an owner's data as one JSON document.
type Export struct {
	OwnerID     uuid.UUID
	GeneratedAt time.Time
	// JSON is {"format", "ownerId", "generatedAt", "sections": {name: data}}.
	JSON []byte
}

// Export gathers everything held about the caller, section by section (the
// built-in ones, then Service.Sections), in one transaction so the
// sections agree with one another, into one JSON document.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (deleted).
func (s *Service) Export(ctx context.Context, actor *auth.Principal) (*Export, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return nil, models.ErrForbidden
	}
	out := &Export{OwnerID: actor.ID, GeneratedAt: s.Clock.Now(ctx)}
	sections := map[string]any{}
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if deleted, err := s.Deleted(ctx, actor.ID); err != nil {
			return err
		} else if deleted {
			return errOwnerNotFound
		}
		for _, sec := range append(s.builtIn(), s.Sections...) {
			v, err := sec.Export(ctx, actor.ID)
			if err != nil {
				return fmt.Errorf("export section %s: %w", sec.Name, err)
			}
			if _, dup := sections[sec.Name]; dup {
				return fmt.Errorf("export section %s given twice", sec.Name)
			}
			sections[sec.Name] = plain(reflect.ValueOf(v))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	doc := map[string]any{"format": ExportFormat, "ownerId": actor.ID, "generatedAt": out.GeneratedAt, "sections": sections}
	if out.JSON, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	return out, nil
}

// Built-in section names (the kernel's rows: the owner, consent, vehicles,
// inbox and sessions). Capabilities add theirs as Service.Sections.
const (
	SectionOwner         = "owner"
	SectionConsent       = "consent"
	SectionVehicles      = "vehicles"
	SectionNotifications = "notifications"
	SectionSessions      = "sessions"
	// SectionMessages lists the messages sent to the owner through the
	// outbox (models/outbox): channel, address, template, parameters and
	// what became of them.
	SectionMessages = "messages"
	// SectionNotificationSettings lists the channels the owner chose per
	// kind of message (kinds never set are not listed).
	SectionNotificationSettings = "notificationSettings"
)

func (s *Service) builtIn() []Section {
	return []Section{
		{SectionOwner, s.exportOwner},
		{SectionConsent, func(ctx context.Context, ownerID uuid.UUID) (any, error) {
			return s.directory().ConsentHistory(ctx, ownerID)
		}},
		{SectionVehicles, func(ctx context.Context, ownerID uuid.UUID) (any, error) {
			return s.directory().OwnerVehicles(ctx, ownerID)
		}},
		{SectionNotifications, s.exportNotifications},
		{SectionSessions, s.exportSessions},
		{SectionMessages, func(ctx context.Context, ownerID uuid.UUID) (any, error) {
			return outbox.OwnerDeliveries(ctx, s.DB, ownerID)
		}},
		{SectionNotificationSettings, s.exportNotificationSettings},
	}
}

// exportNotificationSettings lists the owner's chosen channels by kind.
func (s *Service) exportNotificationSettings(ctx context.Context, ownerID uuid.UUID) (any, error) {
	return s.inbox().OwnerSettings(ctx, ownerID)
}

// exportNotifications lists the owner's inbox, each link written the way
// the app received it.
func (s *Service) exportNotifications(ctx context.Context, ownerID uuid.UUID) (any, error) {
	rows, err := s.inbox().OwnerNotifications(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	if s.Links != nil {
		for _, n := range rows {
			n.Link = models.Link(s.Links(n.Link))
		}
	}
	return rows, nil
}

func (s *Service) exportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	o, err := s.directory().Owner(ctx, ownerID)
	if err != nil {
		return nil, notFound(err)
	}
	return o, nil
}

// session is a refresh token's metadata: never its hash.
type session struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
}

func (s *Service) exportSessions(ctx context.Context, ownerID uuid.UUID) (any, error) {
	rts, err := s.DB.OwnerRefreshTokens(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	out := make([]session, len(rts))
	for i, rt := range rts {
		out[i] = session{ID: rt.ID, FamilyID: rt.FamilyID, CreatedAt: rt.CreatedAt, ExpiresAt: rt.ExpiresAt, RotatedAt: rt.RotatedAt, RevokedAt: rt.RevokedAt}
	}
	return out, nil
}

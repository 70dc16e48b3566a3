package care

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// What the care loop holds about an owner, for the owner's data rights
// (PIPL).

// OwnerData is the care loop's part of an owner's data export.
type OwnerData struct {
	Surveys    []*Survey
	Complaints []*ExportedComplaint
	// FollowUps are the calls the stores made or owe, with their notes.
	FollowUps []*FollowUpTask
}

// ExportedComplaint is a complaint with its timeline.
type ExportedComplaint struct {
	*Complaint
	Timeline []*ComplaintEvent
}

// ExportOwner gathers the owner's surveys, complaints (with timelines) and
// follow-up calls, oldest first, in four statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	out := &OwnerData{}
	if err := conn.Where("owner_id = ?", ownerID).Order("id").Find(&out.Surveys).Error; err != nil {
		return nil, err
	}
	var complaints []*Complaint
	if err := conn.Where("owner_id = ?", ownerID).Order("id").Find(&complaints).Error; err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(complaints))
	for i, c := range complaints {
		ids[i] = c.ID
	}
	timelines, err := s.EventsByComplaintIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range complaints {
		out.Complaints = append(out.Complaints, &ExportedComplaint{Complaint: c, Timeline: timelines[c.ID]})
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id").Find(&out.FollowUps).Error; err != nil {
		return nil, err
	}
	return out, nil
}

// ErasedDescription replaces the description of a deleted owner's
// complaints.
const ErasedDescription = "（车主已注销）"

// EraseOwner runs inside an account deletion. Nobody calls a deleted
// account, so its open follow-up calls close. Free text the owner wrote or
// that is about them (it may name people) is blanked: complaint
// descriptions (replaced by ErasedDescription) and photos, the owner's
// notes on complaint timelines, survey comments and the notes of follow-up
// calls. What the stores' statistics need stays: categories, statuses,
// deadlines, scores.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	now := s.Clock.Now(ctx)
	conn := s.DB.Conn(ctx)
	steps := []func() error{
		func() error {
			return conn.Model(&FollowUpTask{}).Where("owner_id = ? AND note <> ''", ownerID).
				Updates(map[string]any{"note": "", "updated_at": now}).Error
		},
		func() error {
			return conn.Model(&FollowUpTask{}).Where("owner_id = ? AND status = ?", ownerID, TaskOpen).
				Updates(map[string]any{"status": TaskClosed, "note": "车主已注销账户", "closed_at": now, "updated_at": now}).Error
		},
		func() error {
			return conn.Model(&Survey{}).Where("owner_id = ? AND comment <> ''", ownerID).
				Updates(map[string]any{"comment": ""}).Error
		},
		func() error {
			return conn.Model(&ComplaintEvent{}).
				Where("actor_kind = ? AND actor_id = ? AND note <> ''", ActorOwner, ownerID).
				Where("complaint_id IN (SELECT c.id FROM complaints c WHERE c.owner_id = ?)", ownerID).
				Updates(map[string]any{"note": ""}).Error
		},
		func() error {
			return conn.Model(&Complaint{}).Where("owner_id = ?", ownerID).
				Updates(map[string]any{"description": ErasedDescription, "photos": gorm.Expr("'[]'"), "updated_at": now}).Error
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

package care

import (
	"context"

	"github.com/google/uuid"
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

// EraseOwner runs inside an account deletion: nobody calls a deleted
// account, so its open follow-up calls close; survey comments (free text
// that may name people) are cleared, the scores stay in the stores'
// statistics. Complaints stay as the store's record of how it handled them.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	now := s.now()
	conn := s.DB.Conn(ctx)
	if err := conn.Model(&FollowUpTask{}).Where("owner_id = ? AND status = ?", ownerID, TaskOpen).
		Updates(map[string]any{"status": TaskClosed, "note": "车主已注销账户", "closed_at": now, "updated_at": now}).Error; err != nil {
		return err
	}
	return conn.Model(&Survey{}).Where("owner_id = ? AND comment <> ''", ownerID).
		Updates(map[string]any{"comment": ""}).Error
}

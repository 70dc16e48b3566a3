package crm

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Report is a store's owners counted by segment and by churn risk, as of
// the last run of the segments job.
type Report struct {
	StoreID    uuid.UUID
	Owners     int
	Segments   map[Segment]SegmentCount
	Risks      map[Risk]int
	NoRisk     int        // owners without a car
	ComputedAt *time.Time // the oldest row's computation; nil before the first run
}

// SegmentCount is a segment's owners in a store, and how many of them are
// at high risk of churn.
type SegmentCount struct {
	Owners   int
	HighRisk int
}

// SegmentReport counts the store's owners in one statement.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not CRM or MANAGER of the store).
func (s *Service) SegmentReport(ctx context.Context, actor *auth.Principal, storeID uuid.UUID) (*Report, error) {
	if err := models.StaffAt(actor, storeID, rolesReport...); err != nil {
		return nil, err
	}
	var rows []struct {
		Segment    Segment
		ChurnRisk  *Risk
		Owners     int
		ComputedAt *string
	}
	if err := s.DB.Conn(ctx).Model(&OwnerSegment{}).
		Select("segment, churn_risk, COUNT(*) AS owners, MIN(computed_at) AS computed_at").
		Where("store_id = ?", storeID).Group("segment, churn_risk").Scan(&rows).Error; err != nil {
		return nil, err
	}
	r := &Report{StoreID: storeID, Segments: map[Segment]SegmentCount{}, Risks: map[Risk]int{}}
	for _, row := range rows {
		r.Owners += row.Owners
		c := r.Segments[row.Segment]
		c.Owners += row.Owners
		if row.ChurnRisk == nil {
			r.NoRisk += row.Owners
		} else {
			r.Risks[*row.ChurnRisk] += row.Owners
			if *row.ChurnRisk == RiskHigh {
				c.HighRisk += row.Owners
			}
		}
		r.Segments[row.Segment] = c
		if row.ComputedAt == nil {
			continue
		}
		t, err := models.ParseStoredTime(*row.ComputedAt)
		if err != nil {
			return nil, err
		}
		if r.ComputedAt == nil || t.Before(*r.ComputedAt) {
			r.ComputedAt = &t
		}
	}
	return r, nil
}

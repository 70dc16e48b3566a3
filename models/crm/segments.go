package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// OwnerSegment is an owner's row in owner_segments: the segment, the counts
// it came from and the churn risk, as the last run of the segments job
// computed them.
type OwnerSegment struct {
	OwnerID           uuid.UUID `gorm:"primaryKey"`
	StoreID           *uuid.UUID
	Segment           Segment
	InsuranceVisits   int
	MaintenanceVisits int
	MechanicalVisits  int
	WindowMonths      int
	ChurnRisk         *Risk // nil: no car, no risk
	ChurnReasons      string
	LastVisitAt       *time.Time
	UsualIntervalDays *int
	DueBy             *time.Time
	ComputedAt        time.Time
}

// TableName is owner_segments.
func (OwnerSegment) TableName() string { return "owner_segments" }

// Reasons are the churn risk's reasons.
func (o *OwnerSegment) Reasons() []Reason {
	if o.ChurnReasons == "" {
		return []Reason{}
	}
	parts := strings.Split(o.ChurnReasons, ",")
	out := make([]Reason, len(parts))
	for i, p := range parts {
		out[i] = Reason(p)
	}
	return out
}

// Service computes and reads the segments.
type Service struct {
	DB        *models.DB
	Directory *directory.Service
	Workshop  *workshop.Service
	// Thresholds; the zero value means DefaultThresholds.
	Thresholds Thresholds
	// Events checks the event a campaign invites to; Inbox takes the
	// invitations to owners.
	Events Events
	Inbox  *inbox.Service
	// Coupons issues the coupons of COUPON campaigns.
	Coupons *coupons.Service
	// ConversionDays is how long after an invitation what the owner does
	// counts for the campaign (0: DefaultConversionDays); campaignReport
	// may ask for another window.
	ConversionDays int
}

// rolesSegments see an owner's segment and churn risk: the staff who talk
// to customers about what to come back for. rolesReport see a store's
// counts. GROUP_ADMIN holds every role. Owners never see the labels.
var (
	rolesSegments = []auth.Role{auth.RoleAdvisor, auth.RoleCRM, auth.RoleManager}
	rolesReport   = []auth.Role{auth.RoleCRM, auth.RoleManager}
)

// RolesSegments and RolesReport copy the rules for the schema's @auth check.
func RolesSegments() []auth.Role { return append([]auth.Role(nil), rolesSegments...) }

// RolesReport is the roles that read segmentReport.
func RolesReport() []auth.Role { return append([]auth.Role(nil), rolesReport...) }

func (s *Service) thresholds() Thresholds {
	if s.Thresholds == (Thresholds{}) {
		return DefaultThresholds
	}
	return s.Thresholds
}

// Validate checks thresholds read from configuration.
func (t Thresholds) Validate() error {
	if t.WindowMonths < 12 || t.WindowMonths > 24 {
		return fmt.Errorf("the segment window must be 12 to 24 months, not %d", t.WindowMonths)
	}
	if t.Insurance < 1 || t.Maintenance < 1 || t.Mechanical < 1 {
		return fmt.Errorf("segment thresholds must be at least one visit each")
	}
	return nil
}

// business is the kind of business an order of the kind brings.
func business(k workshop.Kind) Business {
	switch k {
	case workshop.Accident, workshop.BodyPaint:
		return Insurance
	case workshop.Maintenance, workshop.Detailing:
		return Maintenance
	}
	return Mechanical // REPAIR, WARRANTY
}

// segmentBatch is how many owners one step of the job reads and writes:
// three reads and one write per batch.
const segmentBatch = 500

// historyMonths is how far back visits are read for the usual interval.
const historyMonths = 36

// ComputeSegments is the nightly job: every owner's segment and churn risk
// at now, in batches of owners in id order (three reads and one upsert per
// batch). Safe to repeat: each run replaces each owner's row.
func (s *Service) ComputeSegments(ctx context.Context, now time.Time) (int64, error) {
	th := s.thresholds()
	windowStart := now.AddDate(0, -th.WindowMonths, 0)
	since := now.AddDate(0, -max(historyMonths, th.WindowMonths), 0)
	var after uuid.UUID
	var n int64
	for {
		owners, err := s.Directory.OwnersAfter(ctx, after, segmentBatch)
		if err != nil || len(owners) == 0 {
			return n, err
		}
		ids := make([]uuid.UUID, len(owners))
		for i, o := range owners {
			ids[i] = o.ID
		}
		visits, err := s.Workshop.VisitsOf(ctx, ids, since)
		if err != nil {
			return n, err
		}
		cars, err := s.Directory.VehiclesOfOwners(ctx, ids)
		if err != nil {
			return n, err
		}
		byOwner := make(map[uuid.UUID][]workshop.OwnerVisit, len(owners))
		for _, v := range visits {
			byOwner[v.OwnerID] = append(byOwner[v.OwnerID], v)
		}
		rows := make([]*OwnerSegment, len(owners))
		for i, o := range owners {
			rows[i] = picture(o, byOwner[o.ID], cars[o.ID], th, windowStart, now)
		}
		if err := s.DB.Conn(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&rows).Error; err != nil {
			return n, err
		}
		n += int64(len(rows))
		after = owners[len(owners)-1].ID
	}
}

// picture is one owner's row: visits oldest first.
func picture(o directory.OwnerRef, visits []workshop.OwnerVisit, vehicles []*models.Vehicle, th Thresholds, windowStart, now time.Time) *OwnerSegment {
	var counts Counts
	at := make([]time.Time, len(visits))
	for i, v := range visits {
		at[i] = v.DeliveredAt
		if !v.DeliveredAt.After(windowStart) {
			continue
		}
		switch business(v.Kind) {
		case Insurance:
			counts.Insurance++
		case Maintenance:
			counts.Maintenance++
		default:
			counts.Mechanical++
		}
	}
	row := &OwnerSegment{OwnerID: o.ID, Segment: Classify(counts, th), InsuranceVisits: counts.Insurance,
		MaintenanceVisits: counts.Maintenance, MechanicalVisits: counts.Mechanical, WindowMonths: th.WindowMonths,
		ComputedAt: now, StoreID: homeOf(o, visits, vehicles)}
	in := ChurnInput{Now: now, Visits: at, Registered: o.CreatedAt}
	for _, v := range vehicles {
		months, _ := v.ServiceInterval()
		car := Car{MileageKm: v.MileageKm, WarrantyEndKm: v.WarrantyEndKm, IntervalMonths: months}
		if v.PurchaseDate != nil {
			t := v.PurchaseDate.Time()
			car.PurchaseDate = &t
		}
		if v.WarrantyEndDate != nil {
			t := v.WarrantyEndDate.Time()
			car.WarrantyEndDate = &t
		}
		in.Cars = append(in.Cars, car)
	}
	if c, ok := ChurnOf(in); ok {
		risk, days, due := c.Risk, int(c.Interval/(24*time.Hour)), c.DueBy
		row.ChurnRisk, row.UsualIntervalDays, row.DueBy, row.LastVisitAt = &risk, &days, &due, c.LastAt
		reasons := make([]string, len(c.Reasons))
		for i, r := range c.Reasons {
			reasons[i] = string(r)
		}
		row.ChurnReasons = strings.Join(reasons, ",")
	} else if len(visits) > 0 {
		last := visits[len(visits)-1].DeliveredAt
		row.LastVisitAt = &last
	}
	return row
}

// homeOf is the store an owner belongs to in the reports: the home store,
// else the store of the last visit, else the store that sold the newest car.
func homeOf(o directory.OwnerRef, visits []workshop.OwnerVisit, vehicles []*models.Vehicle) *uuid.UUID {
	if o.HomeStoreID != nil {
		return o.HomeStoreID
	}
	if len(visits) > 0 {
		id := visits[len(visits)-1].StoreID
		return &id
	}
	var store *uuid.UUID
	var newest time.Time
	for _, v := range vehicles {
		if v.SellingStoreID == nil {
			continue
		}
		var bought time.Time
		if v.PurchaseDate != nil {
			bought = v.PurchaseDate.Time()
		}
		if store == nil || bought.After(newest) {
			store, newest = v.SellingStoreID, bought
		}
	}
	return store
}

// SegmentsOf reads the rows of many owners in one statement (a
// dataloader's batch). No authorization: the caller reached the owners
// under the customer rule and checked CanSeeSegments.
func (s *Service) SegmentsOf(ctx context.Context, ownerIDs []uuid.UUID) (map[uuid.UUID]*OwnerSegment, error) {
	out := make(map[uuid.UUID]*OwnerSegment, len(ownerIDs))
	var rows []*OwnerSegment
	if err := s.DB.Conn(ctx).Where("owner_id IN ?", ownerIDs).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.OwnerID] = r
	}
	return out, nil
}

// CanSeeSegments reports whether the actor may see owners' segments and
// churn risks: staff in rolesSegments (GROUP_ADMIN). Owners may not.
func CanSeeSegments(actor *auth.Principal) bool {
	return actor != nil && actor.IsStaff() && actor.HasAnyRole(rolesSegments...)
}

// EraseOwner removes a deleted account's segment row and campaign
// invitations (with the staff's call notes): they are about the owner, and
// nobody reads them once the owner is gone. Campaign counts keep the
// number invited.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Delete(&Invitation{}).Error; err != nil {
		return err
	}
	return s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Delete(&OwnerSegment{}).Error
}

// Strategy is the programme's strategy for the owner's segment.
func (o *OwnerSegment) Strategy() string { return o.Segment.Strategy() }

// OwnerData is what the CRM holds about an owner, for the owner's data
// export: the app never shows the labels, but the owner's copy of their
// personal information includes what the stores derived from it.
type OwnerData struct {
	Segment     *OwnerSegment `json:"segment"`
	Invitations []*Invitation `json:"campaignInvitations"`
}

// ExportOwner reads the owner's segment row and campaign invitations.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	out := &OwnerData{Invitations: []*Invitation{}}
	var rows []*OwnerSegment
	if err := conn.Where("owner_id = ?", ownerID).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		out.Segment = rows[0]
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("id").Find(&out.Invitations).Error; err != nil {
		return nil, err
	}
	return out, nil
}

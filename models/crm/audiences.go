package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Filter is an audience: which owners a campaign would reach. Empty lists
// and nil values do not filter. Every condition holds at once (AND); the
// values of one list are alternatives (OR).
type Filter struct {
	Segments   []Segment     `json:"segments,omitempty"`
	ChurnRisks []Risk        `json:"churnRisks,omitempty"`
	Tiers      []wallet.Tier `json:"tiers,omitempty"`
	// Models are car models as the directory spells them ("Camry").
	Models        []string `json:"models,omitempty"`
	ModelYearFrom *int     `json:"modelYearFrom,omitempty"`
	ModelYearTo   *int     `json:"modelYearTo,omitempty"`
	// CarAgeMinYears and CarAgeMaxYears bound a car's age from its
	// purchase date (cars without one do not match an age condition).
	CarAgeMinYears *int `json:"carAgeMinYears,omitempty"`
	CarAgeMaxYears *int `json:"carAgeMaxYears,omitempty"`
	// LastVisitBefore (the last visit before that China calendar day) and
	// LastVisitAfter (on that day or after); an owner who never visited
	// matches "before" and not "after".
	LastVisitBefore *models.Date `json:"lastVisitBefore,omitempty"`
	LastVisitAfter  *models.Date `json:"lastVisitAfter,omitempty"`
	// Insurance or inspection due from today to today plus N days.
	InsuranceDueWithinDays  *int `json:"insuranceDueWithinDays,omitempty"`
	InspectionDueWithinDays *int `json:"inspectionDueWithinDays,omitempty"`
	// MarketingConsent keeps owners who gave (true) or did not give
	// (false) marketing consent.
	MarketingConsent *bool `json:"marketingConsent,omitempty"`
}

// Limits of a filter.
const (
	maxFilterValues = 50
	maxDueDays      = 365
	maxCarAge       = 30
)

// Validate refuses a filter no audience can mean.
//
// Codes: INVALID_ARGUMENT (on the field).
func (f Filter) Validate() error {
	for field, n := range map[string]int{"segments": len(f.Segments), "churnRisks": len(f.ChurnRisks), "tiers": len(f.Tiers), "models": len(f.Models)} {
		if n > maxFilterValues {
			return models.Invalid("filter."+field, fmt.Sprintf("最多 %d 项", maxFilterValues), fmt.Sprintf("at most %d values", maxFilterValues))
		}
	}
	for _, s := range f.Segments {
		if !slices.Contains(Segments, s) {
			return models.Invalid("filter.segments", "未知的客户分群", "unknown segment "+string(s))
		}
	}
	for _, r := range f.ChurnRisks {
		if !slices.Contains(risks, r) {
			return models.Invalid("filter.churnRisks", "未知的流失风险", "unknown churn risk "+string(r))
		}
	}
	for _, t := range f.Tiers {
		if !slices.Contains(wallet.Tiers, t) {
			return models.Invalid("filter.tiers", "未知的会员等级", "unknown tier "+string(t))
		}
	}
	for _, m := range f.Models {
		if _, err := models.Text("filter.models", "车型", m, 1, 50, false); err != nil {
			return err
		}
	}
	year := func(field string, y *int) error {
		if y != nil && (*y < 1950 || *y > 2100) {
			return models.Invalid(field, "年款无效", "a model year from 1950 to 2100")
		}
		return nil
	}
	if err := year("filter.modelYearFrom", f.ModelYearFrom); err != nil {
		return err
	}
	if err := year("filter.modelYearTo", f.ModelYearTo); err != nil {
		return err
	}
	if f.ModelYearFrom != nil && f.ModelYearTo != nil && *f.ModelYearFrom > *f.ModelYearTo {
		return models.Invalid("filter.modelYearTo", "年款范围无效", "modelYearTo before modelYearFrom")
	}
	for field, n := range map[string]*int{"filter.carAgeMinYears": f.CarAgeMinYears, "filter.carAgeMaxYears": f.CarAgeMaxYears} {
		if n != nil && (*n < 0 || *n > maxCarAge) {
			return models.Invalid(field, "车龄无效", fmt.Sprintf("a car age from 0 to %d years", maxCarAge))
		}
	}
	if f.CarAgeMinYears != nil && f.CarAgeMaxYears != nil && *f.CarAgeMinYears > *f.CarAgeMaxYears {
		return models.Invalid("filter.carAgeMaxYears", "车龄范围无效", "carAgeMaxYears below carAgeMinYears")
	}
	if f.LastVisitBefore != nil && f.LastVisitAfter != nil && !f.LastVisitAfter.Before(*f.LastVisitBefore) {
		return models.Invalid("filter.lastVisitBefore", "日期范围无效", "lastVisitBefore must be after lastVisitAfter")
	}
	for field, n := range map[string]*int{"filter.insuranceDueWithinDays": f.InsuranceDueWithinDays, "filter.inspectionDueWithinDays": f.InspectionDueWithinDays} {
		if n != nil && (*n < 0 || *n > maxDueDays) {
			return models.Invalid(field, "天数无效", fmt.Sprintf("0 to %d days", maxDueDays))
		}
	}
	return nil
}

// rolesAudiences count, save and read audiences: CRM and managers.
var rolesAudiences = []auth.Role{auth.RoleCRM, auth.RoleManager}

// RolesAudiences is the roles that work with audiences.
func RolesAudiences() []auth.Role { return slices.Clone(rolesAudiences) }

// audience is the statement of the owners a filter keeps among the rows of
// the segments job (alias s) at the stores (nil: the whole group), at now.
// Owners the job has not seen yet (signed up today) are not in any audience
// until its next run.
//
// Its cost at the group's size (docs/crm.md, "At the group's size"): the
// segment rows come from the store or risk index alone; deleted accounts
// are left out by one pass over deleted_owners (a few, hashed) rather than
// a read of each owner's row; the owner's row is joined only for consent
// (through owners_consent_idx); the cars of a car condition are one EXISTS,
// which the planner turns into a semi-join from the car indexes.
func (s *Service) audience(conn *gorm.DB, stores []uuid.UUID, f Filter, now time.Time) *gorm.DB {
	q := conn.Table("owner_segments s").Where(directory.OwnerNotDeleted("s.owner_id"))
	if stores != nil {
		q = q.Where("s.store_id IN ?", stores)
	}
	if len(f.Segments) > 0 {
		q = q.Where("s.segment IN ?", f.Segments)
	}
	if len(f.ChurnRisks) > 0 {
		q = q.Where("s.churn_risk IN ?", f.ChurnRisks)
	}
	if f.LastVisitBefore != nil {
		q = q.Where("(s.last_visit_at IS NULL OR s.last_visit_at < ?)", chinaMidnight(*f.LastVisitBefore))
	}
	if f.LastVisitAfter != nil {
		q = q.Where("s.last_visit_at >= ?", chinaMidnight(*f.LastVisitAfter))
	}
	if f.MarketingConsent != nil {
		q = q.Joins(directory.JoinOwner("o", "s.owner_id")).Where("o.marketing_consent = ?", *f.MarketingConsent)
	}
	if len(f.Tiers) > 0 {
		q = q.Joins(wallet.JoinMembership("m", "s.owner_id")).Where("m.tier IN ?", f.Tiers)
	}
	if cars := carConditions(conn, f, models.ChinaDate(now)); cars != nil {
		q = q.Where("EXISTS (?)", cars)
	}
	return q
}

// carConditions is the EXISTS subquery of a car matching the filter's car
// conditions (all on one car), or nil when the filter has none.
func carConditions(conn *gorm.DB, f Filter, today models.Date) *gorm.DB {
	v := directory.CarsOfOwner(conn, "s.owner_id")
	any := false
	if len(f.Models) > 0 {
		v, any = v.Where("v.model IN ?", f.Models), true
	}
	if f.ModelYearFrom != nil {
		v, any = v.Where("v.model_year >= ?", *f.ModelYearFrom), true
	}
	if f.ModelYearTo != nil {
		v, any = v.Where("v.model_year <= ?", *f.ModelYearTo), true
	}
	// A car is N years old from its purchase date's Nth anniversary.
	if f.CarAgeMinYears != nil {
		v, any = v.Where("v.purchase_date <= ?", today.AddDate(-*f.CarAgeMinYears, 0, 0)), true
	}
	if f.CarAgeMaxYears != nil {
		v, any = v.Where("v.purchase_date > ?", today.AddDate(-*f.CarAgeMaxYears-1, 0, 0)), true
	}
	if f.InsuranceDueWithinDays != nil {
		v, any = v.Where("v.insurance_expiry >= ? AND v.insurance_expiry <= ?", today, today.AddDate(0, 0, *f.InsuranceDueWithinDays)), true
	}
	if f.InspectionDueWithinDays != nil {
		v, any = v.Where("v.inspection_due >= ? AND v.inspection_due <= ?", today, today.AddDate(0, 0, *f.InspectionDueWithinDays)), true
	}
	if !any {
		return nil
	}
	return v
}

// storesFor is the stores whose owners the actor may count: the one asked
// for, or all of the actor's (nil: the group, for GROUP_ADMIN).
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func storesFor(actor *auth.Principal, storeID *uuid.UUID) ([]uuid.UUID, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesAudiences...):
		return nil, models.ErrForbidden
	case storeID != nil:
		if !actor.CanAccessStore(*storeID) {
			return nil, models.ErrNotYourStore
		}
		return []uuid.UUID{*storeID}, nil
	case actor.IsGroupAdmin():
		return nil, nil
	}
	return actor.StoreIDs, nil
}

// AudienceSize counts the owners of the filter at the store (nil: every
// store the actor works for; the group for GROUP_ADMIN), in one statement.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, INVALID_ARGUMENT.
func (s *Service) AudienceSize(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, f Filter) (int64, error) {
	stores, err := storesFor(actor, storeID)
	if err != nil {
		return 0, err
	}
	if err := f.Validate(); err != nil {
		return 0, err
	}
	var n int64
	err = s.audience(s.DB.Conn(ctx), stores, f, s.DB.Now(ctx)).Count(&n).Error
	return n, err
}

// Audience is a saved filter of a store (StoreID nil: the group's).
type Audience struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	StoreID   *uuid.UUID
	Name      string
	Filter    string // JSON of Filter
	CreatedBy uuid.UUID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Conditions is the audience's filter.
func (a *Audience) Conditions() (Filter, error) {
	var f Filter
	err := json.Unmarshal([]byte(a.Filter), &f)
	return f, err
}

// SaveAudience creates an audience (id nil) or replaces the name and
// filter of one. A store's audience is saved by CRM staff or managers of
// the store; the group's (storeID nil) by GROUP_ADMIN.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, INVALID_ARGUMENT.
func (s *Service) SaveAudience(ctx context.Context, actor *auth.Principal, id, storeID *uuid.UUID, name string, f Filter) (*Audience, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if storeID == nil && !actor.IsGroupAdmin() {
		return nil, models.ErrForbidden
	}
	if storeID != nil {
		if err := models.StaffAt(actor, *storeID, rolesAudiences...); err != nil {
			return nil, err
		}
	}
	name, err := models.Text("name", "名称", name, 1, 60, false)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var out *Audience
	err = s.DB.WithTx(ctx, func(ctx context.Context) error {
		conn := s.DB.Conn(ctx)
		now := s.DB.Now(ctx)
		if id == nil {
			out = &Audience{ID: models.NewID(), StoreID: storeID, Name: name, Filter: string(raw), CreatedBy: actor.ID, CreatedAt: now, UpdatedAt: now}
			return conn.Create(out).Error
		}
		a, err := s.audienceFor(ctx, actor, *id, true)
		if err != nil {
			return err
		}
		if (a.StoreID == nil) != (storeID == nil) || (a.StoreID != nil && *a.StoreID != *storeID) {
			return models.Invalid("storeId", "不能更改受众所属门店", "an audience stays with its store")
		}
		a.Name, a.Filter, a.UpdatedAt = name, string(raw), now
		out = a
		return conn.Model(a).Select("name", "filter", "updated_at").Updates(a).Error
	})
	return out, err
}

// AudienceFor reads an audience the actor may see: CRM staff and managers
// of its store (the group's: any CRM staff or manager).
//
// Codes: UNAUTHENTICATED, NOT_FOUND (no such audience, or not the actor's).
func (s *Service) AudienceFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Audience, error) {
	return s.audienceFor(ctx, actor, id, false)
}

func (s *Service) audienceFor(ctx context.Context, actor *auth.Principal, id uuid.UUID, lock bool) (*Audience, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	q := s.audiences(s.DB.Conn(ctx), actor).Where("id = ?", id)
	if lock {
		q = s.DB.ForUpdate(q)
	}
	var a Audience
	if err := q.Take(&a).Error; err != nil {
		return nil, models.NotFoundAs(err, errAudienceNotFound)
	}
	return &a, nil
}

// audiences restricts a query to the audiences the actor sees.
func (s *Service) audiences(conn *gorm.DB, actor *auth.Principal) *gorm.DB {
	q := conn.Model(&Audience{})
	switch {
	case actor.IsGroupAdmin():
		return q
	case actor.IsStaff() && actor.HasAnyRole(rolesAudiences...):
		return q.Where("store_id IS NULL OR store_id IN ?", actor.StoreIDs)
	}
	return q.Where("1 = 0")
}

// Audiences lists the audiences the actor sees, of one store or of all the
// actor's stores and the group's, newest first.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) Audiences(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, p models.Page) ([]*Audience, bool, error) {
	if _, err := storesFor(actor, storeID); err != nil {
		return nil, false, err
	}
	q := s.audiences(s.DB.Conn(ctx), actor)
	if storeID != nil {
		q = q.Where("store_id = ?", *storeID)
	}
	p.Desc = true
	return models.Fetch[*Audience](q, models.ByID("id"), p)
}

// SizeOf counts an audience's owners now, at its store (the group's: the
// whole group), in one statement.
func (s *Service) SizeOf(ctx context.Context, a *Audience) (int64, error) {
	f, err := a.Conditions()
	if err != nil {
		return 0, err
	}
	var stores []uuid.UUID
	if a.StoreID != nil {
		stores = []uuid.UUID{*a.StoreID}
	}
	var n int64
	err = s.audience(s.DB.Conn(ctx), stores, f, s.DB.Now(ctx)).Count(&n).Error
	return n, err
}

// errAudienceNotFound answers an audience that does not exist or is not the
// actor's.
var errAudienceNotFound = models.E(models.CodeNotFound, "未找到该受众", "audience not found")

// chinaMidnight is the start of the China calendar day d, in UTC as the
// database keeps times (SQLite compares them as text, so one zone for all).
func chinaMidnight(d models.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, models.ChinaTime).UTC()
}

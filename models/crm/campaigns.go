package crm

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// CampaignKind is what a campaign invites its audience to.
type CampaignKind string

// The kinds of invitation.
const (
	InviteToEvent   CampaignKind = "EVENT"   // a published class or trip of the store
	InviteToBooking CampaignKind = "BOOKING" // book a service of a kind at the store
	// InviteWithCoupon gives each invited owner a coupon of a template,
	// issued at dispatch (docs/crm.md, "Coupon campaigns").
	InviteWithCoupon CampaignKind = "COUPON"
)

// CampaignStatus is where a campaign is.
type CampaignStatus string

// A campaign is SCHEDULED until its send time, SENDING while the dispatch
// job invites its audience, SENT once every owner of the audience at that
// time has an invitation; CANCELLED before it went out.
const (
	CampaignScheduled CampaignStatus = "SCHEDULED"
	CampaignSending   CampaignStatus = "SENDING"
	CampaignSent      CampaignStatus = "SENT"
	CampaignCancelled CampaignStatus = "CANCELLED"
)

// Campaign invites the owners of an audience, at one store, to something.
type Campaign struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	StoreID     uuid.UUID
	AudienceID  uuid.UUID
	Name        string
	Kind        CampaignKind
	EventID     *uuid.UUID     // EVENT
	ServiceKind *workshop.Kind // BOOKING
	// CouponTemplateID is the template of the coupons a COUPON campaign
	// issues.
	CouponTemplateID *uuid.UUID
	Title            string
	Body             string
	SendAt           time.Time
	Status           CampaignStatus
	Invited          int
	CreatedBy        uuid.UUID
	SentAt           *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Response is a staff member's record of what an invited owner answered.
type Response string

// The answers of the follow-up call.
const (
	NotReached Response = "NOT_REACHED"
	Coming     Response = "COMING"
	NotSure    Response = "NOT_SURE"
	NotComing  Response = "NOT_COMING"
)

// Responses lists the answers in the order reports show them.
var Responses = []Response{NotReached, Coming, NotSure, NotComing}

// Invitation is one owner invited by one campaign: at most one per owner
// and campaign (a unique key), whatever the instances and retries.
type Invitation struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	CampaignID  uuid.UUID
	OwnerID     uuid.UUID
	StoreID     uuid.UUID
	Segment     Segment // the owner's segment when invited
	Response    *Response
	Note        string
	RespondedBy *uuid.UUID
	RespondedAt *time.Time
	// NotificationID is the invitation's message in the owner's inbox
	// (read: opened; a SENT delivery of it: delivered). CouponID is the
	// coupon a COUPON campaign issued with it (nil: none, the owner held
	// as many as the template allows).
	NotificationID *uuid.UUID
	CouponID       *uuid.UUID
	CreatedAt      time.Time
	// Did is what the owner did after the invitation, read with a page of
	// invitations (Invitations); nil otherwise.
	Did *Behaviour `gorm:"-" json:"-"`
}

// TableName is campaign_invitations.
func (Invitation) TableName() string { return "campaign_invitations" }

// Refusals of the campaign operations.
var (
	errCampaignNotFound   = models.E(models.CodeNotFound, "未找到该活动邀约", "campaign not found")
	errInvitationNotFound = models.E(models.CodeNotFound, "未找到该邀约", "invitation not found")
	// ErrCampaignNotCancellable: the campaign has started going out, or
	// was cancelled already.
	ErrCampaignNotCancellable = models.E(CodeCampaignNotCancellable, "活动邀约已发出或已取消，无法取消", "the campaign has gone out or was cancelled")
)

// CodeCampaignNotCancellable refuses cancelling a campaign that is no
// longer SCHEDULED.
const CodeCampaignNotCancellable models.Code = "CAMPAIGN_NOT_CANCELLABLE"

// Limits of a campaign's texts and schedule. The title and body go out in
// SMS and WeChat templates, whose values take at most 20 and 35 characters
// here.
const (
	maxTitleRunes  = 20
	maxBodyRunes   = 35
	maxScheduleAge = 90 * 24 * time.Hour
	inviteBatch    = 200
)

// CampaignInput is what createCampaign takes.
type CampaignInput struct {
	StoreID     uuid.UUID
	AudienceID  uuid.UUID
	Name        string
	Kind        CampaignKind
	EventID     *uuid.UUID
	ServiceKind *workshop.Kind
	// CouponTemplateID: COUPON, the store's or the group's template.
	CouponTemplateID *uuid.UUID
	Title, Body      string
	SendAt           *time.Time // nil: at once (the dispatch job's next run)
}

// Events is what campaigns need of the events capability.
type Events interface {
	EventFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*events.Event, error)
}

// CreateCampaign schedules a campaign: CRM staff or managers of the store,
// an audience of the store (or of the group: its owners at this store), a
// published event of the store that has not started, a service kind to
// book, or a coupon template of the store or the group still issuing at
// sendAt.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (audience, event),
// INVALID_ARGUMENT (on the field).
func (s *Service) CreateCampaign(ctx context.Context, actor *auth.Principal, in CampaignInput) (*Campaign, error) {
	if err := models.StaffAt(actor, in.StoreID, rolesAudiences...); err != nil {
		return nil, err
	}
	name, err := models.Text("name", "名称", in.Name, 1, 60, false)
	if err != nil {
		return nil, err
	}
	title, err := models.Text("title", "标题", in.Title, 1, maxTitleRunes, false)
	if err != nil {
		return nil, err
	}
	body, err := models.Text("body", "内容", in.Body, 1, maxBodyRunes, false)
	if err != nil {
		return nil, err
	}
	now := s.DB.Now(ctx)
	sendAt := now
	if in.SendAt != nil {
		if in.SendAt.Before(now.Add(-time.Minute)) || in.SendAt.After(now.Add(maxScheduleAge)) {
			return nil, models.Invalid("sendAt", "发送时间须在现在到 90 天之内", "sendAt must be from now to 90 days ahead")
		}
		sendAt = in.SendAt.UTC()
	}
	a, err := s.AudienceFor(ctx, actor, in.AudienceID)
	if err != nil {
		return nil, err
	}
	if a.StoreID != nil && *a.StoreID != in.StoreID {
		return nil, models.Invalid("audienceId", "受众不属于该门店", "the audience is another store's")
	}
	c := &Campaign{ID: models.NewID(), StoreID: in.StoreID, AudienceID: a.ID, Name: name, Kind: in.Kind, Title: title, Body: body,
		SendAt: sendAt, Status: CampaignScheduled, CreatedBy: actor.ID, CreatedAt: now, UpdatedAt: now}
	switch in.Kind {
	case InviteToEvent:
		if in.EventID == nil {
			return nil, models.Invalid("eventId", "请选择活动", "an EVENT campaign names its event")
		}
		ev, err := s.Events.EventFor(ctx, actor, *in.EventID)
		if err != nil {
			return nil, err
		}
		if ev.StoreID != in.StoreID || ev.Status != events.Published || !ev.StartsAt.After(sendAt) {
			return nil, models.Invalid("eventId", "活动须为本店已发布且未开始的活动", "the event must be the store's, published, and start after sendAt")
		}
		c.EventID = &ev.ID
	case InviteToBooking:
		if in.ServiceKind == nil {
			return nil, models.Invalid("serviceKind", "请选择服务类型", "a BOOKING campaign names the service kind")
		}
		c.ServiceKind = in.ServiceKind
	case InviteWithCoupon:
		if in.CouponTemplateID == nil {
			return nil, models.Invalid("couponTemplateId", "请选择优惠券模板", "a COUPON campaign names its coupon template")
		}
		t, err := s.Coupons.TemplateFor(ctx, actor, *in.CouponTemplateID)
		if err != nil {
			return nil, err
		}
		if t.StoreID != nil && *t.StoreID != in.StoreID || t.ValidUntil != nil && !t.ValidUntil.After(sendAt) {
			return nil, models.Invalid("couponTemplateId", "优惠券模板须为本店或集团的、发送时仍可发放的模板",
				"the template must be the store's or the group's, still issuing at sendAt")
		}
		c.CouponTemplateID = &t.ID
	default:
		return nil, models.Invalid("kind", "邀约类型无效", "kind must be EVENT, BOOKING or COUPON")
	}
	return c, s.DB.Conn(ctx).Create(c).Error
}

// CampaignFor reads a campaign of one of the actor's stores (CRM staff and
// managers; GROUP_ADMIN any).
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) CampaignFor(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Campaign, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() {
		// Campaigns are the stores' work; an owner sees none (Scope would
		// look for an owner_id campaigns do not have).
		return nil, errCampaignNotFound
	}
	var c Campaign
	err := models.Scope(s.DB.Conn(ctx).Model(&Campaign{}), actor, rolesAudiences, "").Where("id = ?", id).Take(&c).Error
	if err != nil {
		return nil, models.NotFoundAs(err, errCampaignNotFound)
	}
	return &c, nil
}

// CancelCampaign cancels a campaign that has not started going out.
//
// Codes: UNAUTHENTICATED, NOT_FOUND, CAMPAIGN_NOT_CANCELLABLE.
func (s *Service) CancelCampaign(ctx context.Context, actor *auth.Principal, id uuid.UUID) (*Campaign, error) {
	var out *Campaign
	err := s.DB.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.CampaignFor(ctx, actor, id); err != nil {
			return err
		}
		c, err := s.lockCampaign(ctx, id)
		if err != nil {
			return err
		}
		if c.Status != CampaignScheduled {
			return ErrCampaignNotCancellable
		}
		c.Status, c.UpdatedAt = CampaignCancelled, s.DB.Now(ctx)
		out = c
		return s.DB.Conn(ctx).Model(c).Select("status", "updated_at").Updates(c).Error
	})
	return out, err
}

func (s *Service) lockCampaign(ctx context.Context, id uuid.UUID) (*Campaign, error) {
	var c Campaign
	if err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ?", id)).Take(&c).Error; err != nil {
		return nil, models.NotFoundAs(err, errCampaignNotFound)
	}
	return &c, nil
}

// KindCampaignInvitation is the owner's message of a campaign: marketing
// (consent, quiet hours and the weekly cap apply).
const KindCampaignInvitation = outbox.KindCampaignInvitation

// DispatchCampaigns is the dispatch job: every campaign due at now is sent
// to the owners of its audience who gave marketing consent, at the
// campaign's store, in batches; each owner gets one invitation and one
// notification (both keyed by campaign and owner, so a run repeated on
// this or another instance adds nobody twice). Returns the invitations
// made.
func (s *Service) DispatchCampaigns(ctx context.Context, now time.Time) (int64, error) {
	var due []uuid.UUID
	if err := s.DB.Conn(ctx).Model(&Campaign{}).Where("status IN ? AND send_at <= ?", []CampaignStatus{CampaignScheduled, CampaignSending}, now.UTC()).
		Order("send_at").Pluck("id", &due).Error; err != nil {
		return 0, err
	}
	var n int64
	for _, id := range due {
		made, err := s.dispatch(ctx, id, now)
		n += made
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dispatch sends one campaign.
func (s *Service) dispatch(ctx context.Context, id uuid.UUID, now time.Time) (int64, error) {
	var c *Campaign
	err := s.DB.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.lockCampaign(ctx, id); err != nil || c.Status == CampaignCancelled || c.Status == CampaignSent {
			c = nil
			return err
		}
		c.Status, c.UpdatedAt = CampaignSending, now
		return s.DB.Conn(ctx).Model(c).Select("status", "updated_at").Updates(c).Error
	})
	if err != nil || c == nil {
		return 0, err
	}
	var a Audience
	if err := s.DB.Conn(ctx).Where("id = ?", c.AudienceID).Take(&a).Error; err != nil {
		return 0, err
	}
	f, err := a.Conditions()
	if err != nil {
		return 0, err
	}
	yes := true
	f.MarketingConsent = &yes // campaigns reach only owners who agreed
	var made int64
	var after uuid.UUID
	for {
		var batch []invitee
		// The consent condition joins the owners (o); the bound is on both
		// sides of the join, which PostgreSQL does not carry across it,
		// so that each batch's merge join starts at the last owner
		// rather than at the first (docs/crm.md, "At the group's size").
		if err := s.audience(s.DB.Conn(ctx), []uuid.UUID{c.StoreID}, f, now).Select("s.owner_id, s.segment").
			Where("s.owner_id > ? AND o.id > ?", after, after).Order("s.owner_id").Limit(inviteBatch).Scan(&batch).Error; err != nil {
			return made, err
		}
		if len(batch) == 0 {
			break
		}
		var invited int64
		err := s.DB.WithTx(ctx, func(ctx context.Context) error {
			var err error
			invited, err = s.invite(ctx, c, batch, now)
			return err
		})
		if err != nil {
			return made, err
		}
		made += invited
		after = batch[len(batch)-1].OwnerID
	}
	err = s.DB.WithTx(ctx, func(ctx context.Context) error {
		var invited int64
		if err := s.DB.Conn(ctx).Model(&Invitation{}).Where("campaign_id = ?", c.ID).Count(&invited).Error; err != nil {
			return err
		}
		return s.DB.Conn(ctx).Model(&Campaign{}).Where("id = ? AND status = ?", c.ID, CampaignSending).
			Updates(map[string]any{"status": CampaignSent, "invited": invited, "sent_at": now, "updated_at": now}).Error
	})
	return made, err
}

// issueCoupon gives the invited owner the coupon of a COUPON campaign, in
// the invitation's transaction (source CAMPAIGN: the template's per-owner
// limit holds under the owner's row lock), and records it on the
// invitation. An owner who holds as many as the template allows, or a
// template that stopped issuing since, gets the invitation without one.
// It returns what the invitation opens: the coupon, else the campaign's
// link.
func (s *Service) issueCoupon(ctx context.Context, c *Campaign, inv *Invitation) (models.Link, error) {
	if c.CouponTemplateID == nil {
		return c.link(), nil
	}
	cp, err := s.Coupons.Issue(ctx, coupons.IssueRequest{TemplateID: *c.CouponTemplateID, OwnerID: inv.OwnerID, Source: coupons.SourceCampaign})
	switch {
	case errors.Is(err, coupons.ErrLimitReached), errors.Is(err, coupons.ErrTemplateExpired):
		return c.link(), nil
	case err != nil:
		return "", err
	}
	inv.CouponID = &cp.ID
	if err := s.DB.Conn(ctx).Model(inv).Update("coupon_id", cp.ID).Error; err != nil {
		return "", err
	}
	return models.LinkTo(models.RefTo(models.RefCoupon, cp.ID)), nil
}

// invitee is an owner of a campaign's audience, with their segment.
type invitee struct {
	OwnerID uuid.UUID
	Segment Segment
}

// invite writes one batch's invitations in one INSERT (owners invited by an
// earlier or concurrent run are skipped: the unique key), reads which are
// this run's, issues a COUPON campaign's coupons to them (issueCoupon, one
// owner at a time: each under its owner's lock), and puts their
// notifications in the inbox in one more INSERT (inbox.CreateNotifications,
// with each one's delivery). Returns the owners invited now.
func (s *Service) invite(ctx context.Context, c *Campaign, batch []invitee, now time.Time) (int64, error) {
	conn := s.DB.Conn(ctx)
	invs := make([]*Invitation, len(batch))
	ids := make([]uuid.UUID, len(batch))
	for i, o := range batch {
		note := models.NewID()
		invs[i] = &Invitation{ID: models.NewID(), CampaignID: c.ID, OwnerID: o.OwnerID, StoreID: c.StoreID, Segment: o.Segment,
			NotificationID: &note, CreatedAt: now}
		ids[i] = invs[i].ID
	}
	if err := conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "campaign_id"}, {Name: "owner_id"}}, DoNothing: true}).
		Create(&invs).Error; err != nil {
		return 0, err
	}
	var fresh []*Invitation
	if err := conn.Where("id IN ?", ids).Order("owner_id").Find(&fresh).Error; err != nil {
		return 0, err
	}
	key := "campaign:" + c.ID.String()
	store := c.StoreID
	notes := make([]*inbox.Notification, len(fresh))
	for i, inv := range fresh {
		link, err := s.issueCoupon(ctx, c, inv)
		if err != nil {
			return 0, err
		}
		notes[i] = &inbox.Notification{ID: *inv.NotificationID, OwnerID: inv.OwnerID, Kind: KindCampaignInvitation, Title: c.Title,
			Body: c.Body, Link: link, DedupeKey: &key, CreatedAt: now, StoreID: &store}
	}
	if _, err := s.Inbox.CreateNotifications(ctx, notes); err != nil {
		return 0, err
	}
	return int64(len(fresh)), nil
}

// link is what the invitation opens: the event, or the booking screen (a
// COUPON campaign's invitation opens its coupon: issueCoupon).
func (c *Campaign) link() models.Link {
	if c.EventID != nil {
		return models.LinkTo(models.RefTo(models.RefEvent, *c.EventID))
	}
	params := []models.Param{{Name: "storeId", Ref: models.RefTo(models.RefStore, c.StoreID)}}
	if c.ServiceKind != nil {
		params = append(params, models.Param{Name: "kind", Value: string(*c.ServiceKind)})
	}
	return models.Route("book", params...)
}

// RecordResponse records what an invited owner answered the follow-up
// call: CRM staff or managers of the campaign's store.
//
// Codes: UNAUTHENTICATED, NOT_FOUND, INVALID_ARGUMENT (note).
func (s *Service) RecordResponse(ctx context.Context, actor *auth.Principal, id uuid.UUID, r Response, note string) (*Invitation, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsStaff() {
		// The call's outcome is the store's record: not even the invited
		// owner writes it.
		return nil, errInvitationNotFound
	}
	if !slices.Contains(Responses, r) {
		return nil, models.Invalid("response", "回复无效", "unknown response")
	}
	note, err := models.Text("note", "备注", note, 0, 500, true)
	if err != nil {
		return nil, err
	}
	var inv Invitation
	err = s.DB.WithTx(ctx, func(ctx context.Context) error {
		q := models.Scope(s.DB.Conn(ctx).Model(&Invitation{}), actor, rolesAudiences, "").Where("id = ?", id)
		if err := s.DB.ForUpdate(q).Take(&inv).Error; err != nil {
			return models.NotFoundAs(err, errInvitationNotFound)
		}
		now := s.DB.Now(ctx)
		inv.Response, inv.Note, inv.RespondedBy, inv.RespondedAt = &r, note, &actor.ID, &now
		return s.DB.Conn(ctx).Model(&inv).Select("response", "note", "responded_by", "responded_at").Updates(&inv).Error
	})
	return &inv, err
}

// Invitations lists a campaign's invitations in id order: all, those not
// called yet (uncalled), or those with one response: the follow-up call
// list; each with what its owner did (Did, one statement for the page).
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) Invitations(ctx context.Context, actor *auth.Principal, campaignID uuid.UUID, response *Response, uncalled bool, p models.Page) ([]*Invitation, bool, error) {
	if _, err := s.CampaignFor(ctx, actor, campaignID); err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Model(&Invitation{}).Where("campaign_id = ?", campaignID)
	switch {
	case uncalled:
		q = q.Where("response IS NULL")
	case response != nil:
		q = q.Where("response = ?", *response)
	}
	invs, more, err := models.Fetch[*Invitation](q, models.ByID("id"), p)
	if err != nil {
		return nil, false, err
	}
	return invs, more, s.fillBehaviours(ctx, invs)
}

// CampaignReport is a campaign's invitations counted by answer and by the
// segment the owners were in.
type CampaignReport struct {
	Invited   int
	Uncalled  int
	Responses map[Response]int
	Segments  map[Segment]int
}

// Report counts a campaign's invitations in one statement.
//
// Codes: UNAUTHENTICATED, NOT_FOUND.
func (s *Service) Report(ctx context.Context, actor *auth.Principal, campaignID uuid.UUID) (*CampaignReport, error) {
	if _, err := s.CampaignFor(ctx, actor, campaignID); err != nil {
		return nil, err
	}
	var rows []struct {
		Segment  Segment
		Response *Response
		N        int
	}
	if err := s.DB.Conn(ctx).Model(&Invitation{}).Select("segment, response, COUNT(*) AS n").Where("campaign_id = ?", campaignID).
		Group("segment, response").Scan(&rows).Error; err != nil {
		return nil, err
	}
	r := &CampaignReport{Responses: map[Response]int{}, Segments: map[Segment]int{}}
	for _, row := range rows {
		r.Invited += row.N
		r.Segments[row.Segment] += row.N
		if row.Response == nil {
			r.Uncalled += row.N
		} else {
			r.Responses[*row.Response] += row.N
		}
	}
	return r, nil
}

// Campaigns lists the campaigns of the actor's stores (or of one), newest
// first.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func (s *Service) Campaigns(ctx context.Context, actor *auth.Principal, storeID *uuid.UUID, p models.Page) ([]*Campaign, bool, error) {
	if _, err := storesFor(actor, storeID); err != nil {
		return nil, false, err
	}
	q := models.Scope(s.DB.Conn(ctx).Model(&Campaign{}), actor, rolesAudiences, "")
	if storeID != nil {
		q = q.Where("store_id = ?", *storeID)
	}
	p.Desc = true
	return models.Fetch[*Campaign](q, models.ByID("id"), p)
}

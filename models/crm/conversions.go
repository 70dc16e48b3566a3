package crm

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// DefaultConversionDays is how long after an invitation what the owner
// does counts for the campaign, unless configured (CRM_CONVERSION_DAYS).
// MaxConversionDays bounds the window, configured or asked for.
const (
	DefaultConversionDays = 30
	MaxConversionDays     = 365
)

// ValidConversionDays reports whether days is a window campaigns accept.
func ValidConversionDays(days int) bool { return days >= 1 && days <= MaxConversionDays }

func (s *Service) conversionDays() int {
	if s.ConversionDays == 0 {
		return DefaultConversionDays
	}
	return s.ConversionDays
}

// Behaviour is what an invited owner did themselves after the invitation
// (docs/crm.md, "What owners did"), derived from the rows of the
// capabilities where they did it, within the conversion window from the
// invitation for registered, booked and visited.
type Behaviour struct {
	// Delivered: a carrier accepted the invitation's message (a SENT
	// delivery, any channel). Opened: the owner read it in the inbox.
	Delivered, Opened bool
	// Registered for the campaign's event; Booked an appointment at the
	// campaign's store; Visited: a settled repair order checked in at any
	// store of the group.
	Registered, Booked, Visited bool
	// Redeemed: the coupon the campaign issued was used.
	Redeemed bool
	// RevenueFen is the payable amount of the visits (docs/crm.md,
	// "Attribution").
	RevenueFen int64
}

// Converted reports whether the owner did what campaigns are for: came
// to the event, booked, or came and spent.
func (b Behaviour) Converted() bool { return b.Registered || b.Booked || b.Visited }

// behaviourRow is one invitation's flags as the statement reads them (0
// or 1: the same on both dialects).
type behaviourRow struct {
	InvitationID uuid.UUID
	Segment      Segment
	Response     *Response
	Delivered    int
	Opened       int
	Registered   int
	Booked       int
	Visited      int
	Redeemed     int
	RevenueFen   int64
}

func (r behaviourRow) behaviour() *Behaviour {
	return &Behaviour{Delivered: r.Delivered > 0, Opened: r.Opened > 0, Registered: r.Registered > 0, Booked: r.Booked > 0,
		Visited: r.Visited > 0, Redeemed: r.Redeemed > 0, RevenueFen: r.RevenueFen}
}

// behaviours is the statement of each invitation's flags (alias i for the
// invitation, c its campaign), within days of the invitation: EXISTS
// subqueries on the owner's rows of each capability, each through an
// index led by the owner (or the notification's id).
func (s *Service) behaviours(conn *gorm.DB, days int) *gorm.DB {
	window := func(col string) string { return s.DB.WithinDays(col, "i.created_at", days) }
	flag := func(cond string) string { return "CASE WHEN " + cond + " THEN 1 ELSE 0 END" }
	return conn.Table("campaign_invitations i").
		Joins("JOIN campaigns c ON c.id = i.campaign_id").
		Joins(inbox.LeftJoinNotification("n", "i.notification_id")).
		Joins(coupons.LeftJoinCoupon("cp", "i.coupon_id")).
		Select("i.id AS invitation_id, i.segment, i.response, " +
			flag("EXISTS ("+outbox.SentDeliveryOf("i.notification_id")+")") + " AS delivered, " +
			flag("n.read_at IS NOT NULL") + " AS opened, " +
			flag("c.event_id IS NOT NULL AND EXISTS ("+events.RegistrationOf("i.owner_id", "c.event_id", window("r.created_at"))+")") + " AS registered, " +
			flag("EXISTS ("+booking.AppointmentOf("i.owner_id", "i.store_id", window("ap.created_at"))+")") + " AS booked, " +
			flag("EXISTS (SELECT 1 "+workshop.SettledOrdersOf("i.owner_id", window("ro.created_at"))+")") + " AS visited, " +
			flag("cp.status = '"+string(coupons.Used)+"'") + " AS redeemed, " +
			"COALESCE((SELECT SUM(ro.payable_fen) " + workshop.SettledOrdersOf("i.owner_id", window("ro.created_at")) + "), 0) AS revenue_fen")
}

// fillBehaviours reads what the owners of a page of invitations did, in
// one statement, within the configured window.
func (s *Service) fillBehaviours(ctx context.Context, invs []*Invitation) error {
	if len(invs) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	var rows []behaviourRow
	if err := s.behaviours(s.DB.Conn(ctx), s.conversionDays()).Where("i.id IN ?", ids).Scan(&rows).Error; err != nil {
		return err
	}
	by := make(map[uuid.UUID]*Behaviour, len(rows))
	for _, r := range rows {
		by[r.InvitationID] = r.behaviour()
	}
	for _, inv := range invs {
		if b := by[inv.ID]; b != nil {
			inv.Did = b
		} else {
			inv.Did = &Behaviour{}
		}
	}
	return nil
}

// BehaviourOf is what the owner of one invitation did, read unless the
// invitation was read with it (Invitations).
func (s *Service) BehaviourOf(ctx context.Context, inv *Invitation) (*Behaviour, error) {
	if inv.Did == nil {
		if err := s.fillBehaviours(ctx, []*Invitation{inv}); err != nil {
			return nil, err
		}
	}
	return inv.Did, nil
}

// Figures are a set of invitations counted: sent, delivered, opened,
// answered, converted, and the revenue attributed to them.
type Figures struct {
	Sent, Delivered, Opened, Uncalled     int
	Responses                             map[Response]int
	Registered, Booked, Visited, Redeemed int
	// Converted counts the invitations whose owner registered, booked or
	// visited (once each, whatever they did).
	Converted  int
	RevenueFen int64
}

func newFigures() *Figures { return &Figures{Responses: map[Response]int{}} }

// StoreVisits are the visits of invited owners at one store within the
// window: how many invitations, and the revenue.
type StoreVisits struct {
	StoreID    uuid.UUID
	Visited    int
	RevenueFen int64
}

// ConversionReport is campaignReport: a campaign's figures in all, per
// segment (at send time) and the visits per store where the owners came.
type ConversionReport struct {
	Campaign *Campaign
	Days     int
	Totals   *Figures
	Segments map[Segment]*Figures
	Stores   []StoreVisits
}

// ConversionReport counts what a campaign's invitations became within
// days of each (0: the configured window), in a fixed number of
// statements whatever the number of invitations: one for the figures per
// segment and answer, one for the visits per store. CRM staff and
// managers of the campaign's store.
//
// Codes: UNAUTHENTICATED, NOT_FOUND, INVALID_ARGUMENT ("conversionDays").
func (s *Service) ConversionReport(ctx context.Context, actor *auth.Principal, campaignID uuid.UUID, days int) (*ConversionReport, error) {
	if days == 0 {
		days = s.conversionDays()
	}
	if !ValidConversionDays(days) {
		return nil, models.Invalid("conversionDays", "转化天数须为 1 到 365", "conversionDays must be 1 to 365")
	}
	c, err := s.CampaignFor(ctx, actor, campaignID)
	if err != nil {
		return nil, err
	}
	conn := s.DB.Conn(ctx)
	var rows []struct {
		Segment                                     Segment
		Response                                    *Response
		Sent, Delivered, Opened, Registered, Booked int
		Visited, Redeemed, Converted                int
		RevenueFen                                  int64
	}
	flags := s.behaviours(conn, days).Where("i.campaign_id = ?", c.ID)
	if err := conn.Table("(?) x", flags).Select("x.segment, x.response, COUNT(*) AS sent, SUM(x.delivered) AS delivered, " +
		"SUM(x.opened) AS opened, SUM(x.registered) AS registered, SUM(x.booked) AS booked, SUM(x.visited) AS visited, " +
		"SUM(x.redeemed) AS redeemed, SUM(CASE WHEN x.registered + x.booked + x.visited > 0 THEN 1 ELSE 0 END) AS converted, " +
		"CAST(SUM(x.revenue_fen) AS BIGINT) AS revenue_fen").
		Group("x.segment, x.response").Scan(&rows).Error; err != nil {
		return nil, err
	}
	r := &ConversionReport{Campaign: c, Days: days, Totals: newFigures(), Segments: map[Segment]*Figures{}}
	for _, row := range rows {
		seg := r.Segments[row.Segment]
		if seg == nil {
			seg = newFigures()
			r.Segments[row.Segment] = seg
		}
		for _, f := range []*Figures{r.Totals, seg} {
			f.Sent += row.Sent
			f.Delivered += row.Delivered
			f.Opened += row.Opened
			f.Registered += row.Registered
			f.Booked += row.Booked
			f.Visited += row.Visited
			f.Redeemed += row.Redeemed
			f.Converted += row.Converted
			f.RevenueFen += row.RevenueFen
			if row.Response == nil {
				f.Uncalled += row.Sent
			} else {
				f.Responses[*row.Response] += row.Sent
			}
		}
	}
	if err := conn.Table("campaign_invitations i").
		Joins(workshop.JoinSettledOrders("i.owner_id", s.DB.WithinDays("ro.created_at", "i.created_at", days))).
		Where("i.campaign_id = ?", c.ID).
		Select("ro.store_id, COUNT(DISTINCT i.id) AS visited, CAST(SUM(ro.payable_fen) AS BIGINT) AS revenue_fen").
		Group("ro.store_id").Order("revenue_fen DESC, ro.store_id").Scan(&r.Stores).Error; err != nil {
		return nil, err
	}
	return r, nil
}

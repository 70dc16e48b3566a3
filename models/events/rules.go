package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The pure rules of events: what a valid event is,
// when registration is open, what a party pays. No I/O; operations call
// them in their transaction.

// Limits of events.
const (
	MaxTitleRunes       = 100
	MaxDescriptionRunes = 4000
	MaxLocationRunes    = 200
	MaxStops            = 30
	MaxStopPlaceRunes   = 100
	MaxStopNoteRunes    = 200
	MaxCapacity         = 10000
	// MaxPartySize bounds a trip's party (a driver and passengers, and
	// perhaps a second car's worth).
	MaxPartySize = 20
	// MaxFeeFen bounds a seat's price (¥100,000) and MaxFeePoints its price
	// in points.
	MaxFeeFen    = 10_000_000
	MaxFeePoints = 10_000_000
	// MaxAttendancePoints bounds the points attending earns.
	MaxAttendancePoints = 100_000
	// MaxReasonRunes bounds a cancellation's reason.
	MaxReasonRunes = 200
	// CheckInOpensBefore is how long before the start the door opens.
	CheckInOpensBefore = 3 * time.Hour
	// MaxAhead is how far ahead an event may be scheduled.
	MaxAhead = 366 * 24 * time.Hour
)

// Spec is everything staff set about an event.
type Spec struct {
	StoreID              uuid.UUID
	Kind                 Kind
	Title                string
	Description          string
	Location             string
	Itinerary            []Stop
	StartsAt             time.Time
	EndsAt               time.Time
	RegistrationOpensAt  time.Time
	RegistrationClosesAt time.Time
	CancellationDeadline time.Time
	Capacity             int
	FeeFen               int64
	FeePoints            int64
	MinTier              wallet.Tier
	VehicleRequired      bool
	MaxPartySize         int
	AttendancePoints     int64
	// RewardCouponTemplateID: a coupon of it for every check-in (nil:
	// none); a template of the event's store or the group's.
	RewardCouponTemplateID *uuid.UUID
}

// Patch is a change of an event: nil fields stay as they are.
type Patch struct {
	Title                *string
	Description          *string
	Location             *string
	Itinerary            *[]Stop
	StartsAt             *time.Time
	EndsAt               *time.Time
	RegistrationOpensAt  *time.Time
	RegistrationClosesAt *time.Time
	CancellationDeadline *time.Time
	Capacity             *int
	FeeFen               *int64
	FeePoints            *int64
	MinTier              *wallet.Tier
	VehicleRequired      *bool
	MaxPartySize         *int
	AttendancePoints     *int64
	// RewardCouponTemplateID sets the check-in reward (see Spec).
	RewardCouponTemplateID *uuid.UUID
}

// locks reports whether p changes what existing registrations rely on:
// the price, the party size allowed, the vehicle rule, the free
// cancellation (the deadline may move later, never earlier).
func (p Patch) locks(e *Event) bool {
	return (p.FeeFen != nil && *p.FeeFen != e.FeeFen) ||
		(p.CancellationDeadline != nil && p.CancellationDeadline.Before(e.CancellationDeadline)) ||
		(p.FeePoints != nil && *p.FeePoints != e.FeePoints) ||
		(p.MaxPartySize != nil && *p.MaxPartySize != e.MaxPartySize) ||
		(p.VehicleRequired != nil && *p.VehicleRequired != e.VehicleRequired)
}

// specOf is the spec an event was made from.
func specOf(e *Event) Spec {
	var stops []Stop
	_ = json.Unmarshal([]byte(e.Itinerary), &stops)
	return Spec{StoreID: e.StoreID, Kind: e.Kind, Title: e.Title, Description: e.Description, Location: e.Location,
		Itinerary: stops, StartsAt: e.StartsAt, EndsAt: e.EndsAt, RegistrationOpensAt: e.RegistrationOpensAt,
		RegistrationClosesAt: e.RegistrationClosesAt, CancellationDeadline: e.CancellationDeadline,
		Capacity: e.Capacity, FeeFen: e.FeeFen, FeePoints: e.FeePoints, MinTier: e.MinTier,
		VehicleRequired: e.VehicleRequired, MaxPartySize: e.MaxPartySize, AttendancePoints: e.AttendancePoints,
		RewardCouponTemplateID: e.RewardCouponTemplateID}
}

// apply returns s changed by p.
func (p Patch) apply(s Spec) Spec {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setT := func(dst *time.Time, v *time.Time) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Title, p.Title)
	set(&s.Description, p.Description)
	set(&s.Location, p.Location)
	if p.Itinerary != nil {
		s.Itinerary = *p.Itinerary
	}
	setT(&s.StartsAt, p.StartsAt)
	setT(&s.EndsAt, p.EndsAt)
	setT(&s.RegistrationOpensAt, p.RegistrationOpensAt)
	setT(&s.RegistrationClosesAt, p.RegistrationClosesAt)
	setT(&s.CancellationDeadline, p.CancellationDeadline)
	if p.Capacity != nil {
		s.Capacity = *p.Capacity
	}
	if p.FeeFen != nil {
		s.FeeFen = *p.FeeFen
	}
	if p.FeePoints != nil {
		s.FeePoints = *p.FeePoints
	}
	if p.MinTier != nil {
		s.MinTier = *p.MinTier
	}
	if p.VehicleRequired != nil {
		s.VehicleRequired = *p.VehicleRequired
	}
	if p.MaxPartySize != nil {
		s.MaxPartySize = *p.MaxPartySize
	}
	if p.RewardCouponTemplateID != nil {
		s.RewardCouponTemplateID = p.RewardCouponTemplateID
	}
	if p.AttendancePoints != nil {
		s.AttendancePoints = *p.AttendancePoints
	}
	return s
}

// Check validates a spec and returns it normalized (texts trimmed, times in
// UTC to the microsecond, defaults filled: tier BASIC, party size 1). now
// bounds the start: an event is scheduled in the future, at most MaxAhead.
//
// Codes: INVALID_ARGUMENT on the offending field.
func (s Spec) Check(now time.Time) (Spec, error) {
	if s.Kind != Class && s.Kind != Trip {
		return s, models.Invalid("kind", "活动类型须为讲堂（CLASS）或自驾游（TRIP）", "kind must be CLASS or TRIP")
	}
	for _, step := range []func() error{s.checkTexts, func() error { return s.checkTimes(now) }, s.checkAmounts, s.checkParty} {
		if err := step(); err != nil {
			return s, err
		}
	}
	return s, s.checkItinerary()
}

// checkTexts trims the title, description and location and checks their
// lengths.
func (s *Spec) checkTexts() error {
	var err error
	if s.Title, err = models.Text("title", "活动标题", s.Title, 1, MaxTitleRunes, false); err != nil {
		return err
	}
	if s.Description, err = models.Text("description", "活动介绍", s.Description, 0, MaxDescriptionRunes, true); err != nil {
		return err
	}
	s.Location, err = models.Text("location", "地点", s.Location, 1, MaxLocationRunes, false)
	return err
}

// checkTimes stores the times in UTC to the microsecond and checks their
// order: the event starts in the future, at most MaxAhead, and ends after it
// starts; registration opens before it closes, which is by the start, as is
// the cancellation deadline.
func (s *Spec) checkTimes(now time.Time) error {
	for _, t := range []*time.Time{&s.StartsAt, &s.EndsAt, &s.RegistrationOpensAt, &s.RegistrationClosesAt, &s.CancellationDeadline} {
		*t = t.UTC().Truncate(time.Microsecond)
	}
	switch {
	case !s.StartsAt.After(now):
		return models.Invalid("startsAt", "活动开始时间须在将来", "startsAt must be in the future")
	case s.StartsAt.After(now.Add(MaxAhead)):
		return models.Invalid("startsAt", "活动最多提前一年安排", "startsAt may be at most a year ahead")
	case !s.EndsAt.After(s.StartsAt):
		return models.Invalid("endsAt", "结束时间须晚于开始时间", "endsAt must be after startsAt")
	case !s.RegistrationClosesAt.After(s.RegistrationOpensAt):
		return models.Invalid("registrationClosesAt", "报名截止时间须晚于报名开始时间", "registrationClosesAt must be after registrationOpensAt")
	case s.RegistrationClosesAt.After(s.StartsAt):
		return models.Invalid("registrationClosesAt", "报名须在活动开始前截止", "registration must close by the start")
	case s.CancellationDeadline.After(s.StartsAt):
		return models.Invalid("cancellationDeadline", "免费取消截止时间不能晚于活动开始", "the cancellation deadline must be by the start")
	}
	return nil
}

// checkAmounts bounds the capacity, the fees and the attendance reward.
func (s *Spec) checkAmounts() error {
	switch {
	case s.Capacity < 1 || s.Capacity > MaxCapacity:
		return models.Ef(models.CodeInvalidArgument, "名额须在 1 到 10000 之间", "capacity must be between 1 and %d", MaxCapacity).On("capacity")
	case s.FeeFen < 0 || s.FeeFen > MaxFeeFen:
		return models.Invalid("feeFen", "费用无效", "feeFen must be between 0 and 10,000,000")
	case s.FeePoints < 0 || s.FeePoints > MaxFeePoints:
		return models.Invalid("feePoints", "积分费用无效", "feePoints must be between 0 and 10,000,000")
	case s.AttendancePoints < 0 || s.AttendancePoints > MaxAttendancePoints:
		return models.Invalid("attendancePoints", "签到奖励积分无效", "attendancePoints must be between 0 and 100,000")
	}
	return nil
}

// checkParty fills the defaults (tier BASIC, party size 1) and checks who
// may come: a valid tier, and a party within bounds; a class takes one
// person, no vehicle and no itinerary.
func (s *Spec) checkParty() error {
	if s.MinTier == "" {
		s.MinTier = wallet.Basic
	}
	if !s.MinTier.Valid() {
		return models.Invalid("minTier", "会员等级无效", "minTier must be BASIC, SILVER, GOLD or PLATINUM")
	}
	if s.MaxPartySize == 0 {
		s.MaxPartySize = 1
	}
	if s.Kind == Class {
		switch {
		case s.MaxPartySize != 1:
			return models.Invalid("maxPartySize", "讲堂每份报名限 1 人", "a class takes one person per registration")
		case s.VehicleRequired:
			return models.Invalid("vehicleRequired", "讲堂不需要登记车辆", "a class does not take vehicles")
		case len(s.Itinerary) > 0:
			return models.Invalid("itinerary", "讲堂没有行程", "a class has no itinerary")
		}
	}
	if s.MaxPartySize < 1 || s.MaxPartySize > MaxPartySize {
		return models.Ef(models.CodeInvalidArgument, "每份报名人数须在 1 到 20 之间", "maxPartySize must be between 1 and %d", MaxPartySize).On("maxPartySize")
	}
	return nil
}

// checkItinerary: stops in time order within the event, each with a place.
func (s *Spec) checkItinerary() error {
	if len(s.Itinerary) > MaxStops {
		return models.Ef(models.CodeInvalidArgument, "行程最多 30 站", "an itinerary has at most %d stops", MaxStops).On("itinerary")
	}
	var prev time.Time
	for i := range s.Itinerary {
		st := &s.Itinerary[i]
		field := func(name string) string { return fmt.Sprintf("itinerary[%d].%s", i, name) }
		var err error
		if st.Place, err = models.Text(field("place"), "行程地点", st.Place, 1, MaxStopPlaceRunes, false); err != nil {
			return err
		}
		if st.Note, err = models.Text(field("note"), "行程说明", st.Note, 0, MaxStopNoteRunes, false); err != nil {
			return err
		}
		st.At = st.At.UTC().Truncate(time.Microsecond)
		if st.At.Before(s.StartsAt) || st.At.After(s.EndsAt) || st.At.Before(prev) {
			return models.Invalid(field("at"), "行程时间须在活动时间内并按顺序排列", "stops must be in time order within the event")
		}
		prev = st.At
	}
	return nil
}

// itineraryJSON encodes the stops for the itinerary column.
func (s Spec) itineraryJSON() string {
	if len(s.Itinerary) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s.Itinerary)
	return string(b)
}

// Stops decodes the event's itinerary.
func (e *Event) Stops() []Stop {
	return specOf(e).Itinerary
}

// RegistrationOpen reports whether owners may register now.
func (e *Event) RegistrationOpen(now time.Time) bool {
	return e.Status == Published && !now.Before(e.RegistrationOpensAt) && now.Before(e.RegistrationClosesAt)
}

// Refundable reports whether cancelling r now gives its fee back: before
// the event's cancellation deadline; and, for a registration promoted from
// the waitlist after the deadline (charged without ever having had a free
// way out), until the event starts.
func Refundable(e *Event, r *Registration, now time.Time) bool {
	if now.Before(e.CancellationDeadline) {
		return true
	}
	promoted := r.WaitlistedAt != nil && r.ConfirmedAt != nil
	return promoted && !r.ConfirmedAt.Before(e.CancellationDeadline) && now.Before(e.StartsAt)
}

// Price is what a party of n pays with the chosen method: money (from the
// wallet, or with WeChat Pay) or points, the seat price times the party. The method defaults to
// the only one the event offers; a free event costs nothing and needs no
// method (nil).
//
// Codes: PAYMENT_METHOD_UNAVAILABLE ("payWith").
func (e *Event) Price(partySize int, with *PayWith) (method *PayWith, fen, points int64, err error) {
	if e.Free() {
		return nil, 0, 0, nil
	}
	if with == nil {
		switch {
		case e.FeePoints == 0:
			with = ptr(PayWallet)
		case e.FeeFen == 0:
			with = ptr(PayPoints)
		default:
			return nil, 0, 0, ErrPaymentUnavailable
		}
	}
	n := int64(partySize)
	switch {
	case (*with == PayWallet || *with == PayWeChat) && e.FeeFen > 0:
		return with, e.FeeFen * n, 0, nil
	case *with == PayPoints && e.FeePoints > 0:
		return with, 0, e.FeePoints * n, nil
	}
	return nil, 0, 0, ErrPaymentUnavailable
}

func ptr[T any](v T) *T { return &v }

package outbox

import (
	"slices"
	"time"
	"unicode/utf8"
)

// Class says which rules a kind of message follows.
type Class string

// Classes of message.
const (
	// Transactional: about something the owner did or owns, expected and
	// needed (a code, a repair waiting for approval, a car ready, a
	// booking tomorrow). Always at least one channel; never capped.
	Transactional Class = "TRANSACTIONAL"
	// Marketing: the dealer reaching out unasked (greetings, offers,
	// surveys). Only with marketing consent, at most a few a week.
	Marketing Class = "MARKETING"
)

// Kinds of owner message sent beyond the inbox, by the capability that
// writes them. The outbox sits below every capability, so it names them
// here; a test checks the capabilities' constants match.
const (
	KindAppointmentReminder  = "APPOINTMENT_REMINDER"
	KindApprovalNeeded       = "APPROVAL_NEEDED"
	KindReadyForPickup       = "READY_FOR_PICKUP"
	KindEventPromoted        = "EVENT_PROMOTED"
	KindEventPaymentFailed   = "EVENT_PAYMENT_FAILED"
	KindEventCancelled       = "EVENT_CANCELLED"
	KindEventReminder        = "EVENT_REMINDER"
	KindAssistanceAccepted   = "ASSISTANCE_ACCEPTED"
	KindAssistanceDispatched = "ASSISTANCE_DISPATCHED"
	KindAssistanceClosed     = "ASSISTANCE_CLOSED"
	KindAssistanceCancelled  = "ASSISTANCE_CANCELLED"
	KindSurveyInvitation     = "SURVEY_INVITATION"
	KindComplaintUpdate      = "COMPLAINT_UPDATE"
	KindMaintenanceDue       = "MAINTENANCE_DUE"
	KindFirstFreeMaintenance = "FIRST_FREE_MAINTENANCE"
	KindInsuranceExpiring    = "INSURANCE_EXPIRING"
	KindInspectionDue        = "INSPECTION_DUE"
	KindBirthday             = "BIRTHDAY"
	KindPurchaseAnniversary  = "PURCHASE_ANNIVERSARY"
	KindCampaignInvitation   = "CAMPAIGN_INVITATION"
	KindCouponExpiring       = "COUPON_EXPIRING"
	KindReferralRewarded     = "REFERRAL_REWARDED"
	KindPackageExpiring      = "PACKAGE_EXPIRING"
)

// classes classifies every kind an owner can be sent; docs/notifications.md
// says why each is where it is. A kind missing here stays in the inbox.
var classes = map[string]Class{
	KindLoginCode:            Transactional,
	KindAppointmentReminder:  Transactional,
	KindApprovalNeeded:       Transactional,
	KindReadyForPickup:       Transactional,
	KindEventPromoted:        Transactional,
	KindEventPaymentFailed:   Transactional,
	KindEventCancelled:       Transactional,
	KindEventReminder:        Transactional,
	KindAssistanceAccepted:   Transactional,
	KindAssistanceDispatched: Transactional,
	KindAssistanceClosed:     Transactional,
	KindAssistanceCancelled:  Transactional,
	KindComplaintUpdate:      Transactional,
	// Due dates of the owner's own car, some with legal weight (insurance,
	// inspection): service to the owner, not an offer.
	KindMaintenanceDue:       Transactional,
	KindFirstFreeMaintenance: Transactional,
	KindInsuranceExpiring:    Transactional,
	KindInspectionDue:        Transactional,
	// Asking for the owner's time and opinion is unasked contact: under
	// PIPL and the carriers' rules for 营销短信 it counts as marketing.
	KindSurveyInvitation:    Marketing,
	KindBirthday:            Marketing,
	KindPurchaseAnniversary: Marketing,
	// A store's invitation to a class, a trip or a service: an offer.
	KindCampaignInvitation: Marketing,
	// An unused coupon about to expire: it urges the owner to come and
	// spend on an offer, which carriers count as 营销短信; the inbox keeps
	// it for owners without consent.
	KindCouponExpiring: Marketing,
	// A referral's reward credited: about what the owner did (referred a
	// friend, or signed up with a code), expected, not an offer.
	KindReferralRewarded: Transactional,
	// A service package the owner paid for, with visits left, about to
	// end: what they own and will lose, like insurance expiring, not an
	// offer (docs/packages.md).
	KindPackageExpiring: Transactional,
}

// ClassOf is kind's class; ok is false for a kind that is sent nowhere but
// the inbox.
func ClassOf(kind string) (c Class, ok bool) {
	c, ok = classes[kind]
	return c, ok
}

// Kinds lists the classified kinds of owner messages (not login codes), in
// no particular order: what an owner may choose channels for.
func Kinds() []string {
	out := make([]string, 0, len(classes))
	for k := range classes {
		if k != KindLoginCode {
			out = append(out, k)
		}
	}
	return out
}

// Quiet hours: nothing but urgent kinds is sent from 21:00 to 09:00 in
// China.
const (
	QuietFrom = 21
	QuietTo   = 9
)

var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// urgent kinds are sent at any hour: the owner is waiting for them.
func urgent(kind string) bool {
	switch kind {
	case KindLoginCode, KindApprovalNeeded,
		KindAssistanceAccepted, KindAssistanceDispatched, KindAssistanceClosed, KindAssistanceCancelled:
		return true
	}
	return false
}

// SendAt is when a message of kind written at now may leave: now, or, in
// quiet hours, the next 09:00 in Asia/Shanghai.
func SendAt(kind string, now time.Time) time.Time {
	if urgent(kind) {
		return now
	}
	l := now.In(shanghai)
	h := l.Hour()
	if h >= QuietTo && h < QuietFrom {
		return now
	}
	day := l
	if h >= QuietFrom {
		day = l.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), QuietTo, 0, 0, 0, shanghai)
}

// CapWindow is the window of the marketing cap.
const CapWindow = 7 * 24 * time.Hour

// DefaultMarketingWeeklyCap is the marketing cap when none is configured.
const DefaultMarketingWeeklyCap = 2

// UnderCap reports whether one more message of class may go to an owner who
// was sent already marketing messages in the last CapWindow. Only
// marketing is capped.
func UnderCap(class Class, already, limit int) bool {
	return class != Marketing || already < limit
}

// ChannelWeChat is WeChat's subscription messages (the order channels are
// preferred in is Choose's: push, WeChat, SMS).
const ChannelWeChat = "WECHAT"

// Reach is what is known of an owner for choosing a channel.
type Reach struct {
	// Chosen is the channels the owner allows for the kind; nil: all.
	Chosen []string
	// Consent is the owner's marketing consent.
	Consent bool
	// LiveDevice: an app user with a device that takes push (see
	// push.LiveWithin), with a push provider configured.
	LiveDevice bool
	// WeChatPermission: a mini-program user with a subscription message
	// permission left for the kind's template (none until a WeChat
	// channel exists).
	WeChatPermission bool
	// Phone is the owner's phone; SMSTemplate whether the kind has an SMS
	// template configured.
	Phone       bool
	SMSTemplate bool
}

// Allows reports whether the owner allows channel ch (Chosen nil: all).
func (r Reach) Allows(ch string) bool {
	return r.Chosen == nil || slices.Contains(r.Chosen, ch)
}

// Choose is the one channel a message of kind goes out on, or "" for the
// inbox only: push for an app user with a live device, else a WeChat
// subscription message, else SMS when the kind has a template; each only
// if the owner allows it. Marketing needs consent.
func Choose(kind string, r Reach) string {
	class, ok := ClassOf(kind)
	if !ok || (class == Marketing && !r.Consent) {
		return ""
	}
	allowed := r.Allows
	switch {
	case r.LiveDevice && allowed(ChannelPush):
		return ChannelPush
	case r.WeChatPermission && allowed(ChannelWeChat):
		return ChannelWeChat
	case r.Phone && r.SMSTemplate && allowed(ChannelSMS):
		return ChannelSMS
	}
	return ""
}

// MaxParamRunes is Alibaba Cloud SMS's limit on one template variable.
const MaxParamRunes = 35

// Cut is s cut to at most n runes, on a rune boundary, with "…" as its last
// rune when it was cut.
func Cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// KindsOf lists the kinds of class.
func KindsOf(class Class) []string {
	var out []string
	for k, c := range classes {
		if c == class {
			out = append(out, k)
		}
	}
	return out
}

package outbox_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/workshop"
)

var sh = time.FixedZone("Asia/Shanghai", 8*60*60)

// Every kind a capability writes to the inbox has a class, and the
// outbox's names of them are the capabilities' own.
func TestEveryOwnerMessageKindIsClassified(t *testing.T) {
	want := map[string]outbox.Class{
		booking.NotifyAppointmentReminder:  outbox.Transactional,
		workshop.NotifyApprovalNeeded:      outbox.Transactional,
		workshop.NotifyReadyForPickup:      outbox.Transactional,
		events.NotifyPromoted:              outbox.Transactional,
		events.NotifyPromotionFailed:       outbox.Transactional,
		events.NotifyEventCancelled:        outbox.Transactional,
		events.NotifyEventReminder:         outbox.Transactional,
		roadside.NotifyAccepted:            outbox.Transactional,
		roadside.NotifyDispatched:          outbox.Transactional,
		roadside.NotifyClosed:              outbox.Transactional,
		roadside.NotifyCancelled:           outbox.Transactional,
		care.NotifyComplaintUpdate:         outbox.Transactional,
		care.NotifySurveyInvitation:        outbox.Marketing,
		reminders.KindMaintenanceDue:       outbox.Transactional,
		reminders.KindFirstFreeMaintenance: outbox.Transactional,
		reminders.KindInsuranceExpiring:    outbox.Transactional,
		reminders.KindInspectionDue:        outbox.Transactional,
		reminders.KindBirthday:             outbox.Marketing,
		reminders.KindPurchaseAnniversary:  outbox.Marketing,
		crm.KindCampaignInvitation:         outbox.Marketing,
		coupons.NotifyExpiring:             outbox.Marketing,
		referrals.NotifyRewarded:           outbox.Transactional,
		packages.NotifyExpiring:            outbox.Transactional,
		outbox.KindLoginCode:               outbox.Transactional,
	}
	for kind, class := range want {
		if got, ok := outbox.ClassOf(kind); !ok || got != class {
			t.Errorf("ClassOf(%s) = %q, %v; want %q", kind, got, ok, class)
		}
	}
	if n := len(outbox.Kinds()); n != len(want)-1 {
		t.Errorf("Kinds() has %d kinds, want %d", n, len(want)-1)
	}
	if _, ok := outbox.ClassOf("SOMETHING_NEW"); ok {
		t.Error("an unknown kind has a class")
	}
}

func TestSendAt(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, sh) }
	for _, c := range []struct {
		name string
		kind string
		now  time.Time
		want time.Time
	}{
		{"day", outbox.KindBirthday, at(10, 12, 0), at(10, 12, 0)},
		{"09:00 is day", outbox.KindReadyForPickup, at(10, 9, 0), at(10, 9, 0)},
		{"20:59 is day", outbox.KindReadyForPickup, at(10, 20, 59), at(10, 20, 59)},
		{"21:00 waits for the morning", outbox.KindReadyForPickup, at(10, 21, 0), at(11, 9, 0)},
		{"22:00 marketing waits", outbox.KindBirthday, at(10, 22, 0), at(11, 9, 0)},
		{"after midnight waits the same day", outbox.KindAppointmentReminder, at(11, 3, 30), at(11, 9, 0)},
		{"08:59 waits a minute", outbox.KindSurveyInvitation, at(11, 8, 59), at(11, 9, 0)},
		{"month end", outbox.KindBirthday, time.Date(2026, 3, 31, 23, 0, 0, 0, sh), time.Date(2026, 4, 1, 9, 0, 0, 0, sh)},
		{"UTC input", outbox.KindBirthday, time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), at(11, 9, 0)},
		{"login code at night", outbox.KindLoginCode, at(10, 23, 0), at(10, 23, 0)},
		{"approval at night", outbox.KindApprovalNeeded, at(10, 23, 0), at(10, 23, 0)},
		{"roadside at night", outbox.KindAssistanceDispatched, at(11, 2, 0), at(11, 2, 0)},
	} {
		if got := outbox.SendAt(c.kind, c.now); !got.Equal(c.want) {
			t.Errorf("%s: SendAt(%s, %v) = %v, want %v", c.name, c.kind, c.now, got, c.want)
		}
	}
}

func TestUnderCap(t *testing.T) {
	for _, c := range []struct {
		class          outbox.Class
		already, limit int
		want           bool
	}{
		{outbox.Marketing, 0, 2, true},
		{outbox.Marketing, 1, 2, true},
		{outbox.Marketing, 2, 2, false},
		{outbox.Marketing, 0, 0, false},
		{outbox.Transactional, 99, 2, true},
	} {
		if got := outbox.UnderCap(c.class, c.already, c.limit); got != c.want {
			t.Errorf("UnderCap(%s, %d, %d) = %v", c.class, c.already, c.limit, got)
		}
	}
}

func TestChoose(t *testing.T) {
	sms := outbox.Reach{Phone: true, SMSTemplate: true, Consent: true}
	for _, c := range []struct {
		name string
		kind string
		r    outbox.Reach
		want string
	}{
		{"sms", outbox.KindApprovalNeeded, sms, outbox.ChannelSMS},
		{"no template: inbox only", outbox.KindApprovalNeeded, outbox.Reach{Phone: true}, ""},
		{"no phone", outbox.KindApprovalNeeded, outbox.Reach{SMSTemplate: true}, ""},
		{"unknown kind", "SOMETHING_NEW", sms, ""},
		{"marketing with consent", outbox.KindBirthday, sms, outbox.ChannelSMS},
		{"marketing without consent", outbox.KindBirthday, outbox.Reach{Phone: true, SMSTemplate: true}, ""},
		{"transactional without consent", outbox.KindReadyForPickup, outbox.Reach{Phone: true, SMSTemplate: true}, outbox.ChannelSMS},
		{"push first", outbox.KindReadyForPickup, outbox.Reach{LiveDevice: true, WeChatPermission: true, Phone: true, SMSTemplate: true}, outbox.ChannelPush},
		{"wechat before sms", outbox.KindReadyForPickup, outbox.Reach{WeChatPermission: true, Phone: true, SMSTemplate: true}, outbox.ChannelWeChat},
		{"mini-program without permission: sms", outbox.KindReadyForPickup, outbox.Reach{Phone: true, SMSTemplate: true}, outbox.ChannelSMS},
		{"owner allows sms only", outbox.KindReadyForPickup, outbox.Reach{Chosen: []string{outbox.ChannelSMS}, LiveDevice: true, Phone: true, SMSTemplate: true}, outbox.ChannelSMS},
		{"owner allows nothing", outbox.KindBirthday, outbox.Reach{Chosen: []string{}, Consent: true, Phone: true, SMSTemplate: true}, ""},
	} {
		if got := outbox.Choose(c.kind, c.r); got != c.want {
			t.Errorf("%s: Choose = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"张三", 35, "张三"},
		{"", 35, ""},
		{"一二三四五", 5, "一二三四五"},
		{"一二三四五六", 5, "一二三四…"},
		{"abcdef", 3, "ab…"},
		{"abc", 0, ""},
	} {
		if got := outbox.Cut(c.in, c.n); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

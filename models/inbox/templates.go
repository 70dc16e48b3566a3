package inbox

import (
	"strings"
	"time"

	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// The text of a notification beyond the inbox: the payload every channel
// reads (push shows "title" and "body"; an SMS template uses the
// variables), and each kind's SMS template text, which a store registers
// with Alibaba Cloud (docs/notifications.md lists them; a test keeps the
// list in step with these).

// Variables of a delivery's payload. Every value is within the SMS
// provider's limit on one variable (outbox.MaxParamRunes) and none is
// empty (plate is left out when the car has none), so that any template
// reads as a sentence.
const (
	VarName  = "name"  // the owner's name; 车主 when unknown
	VarTitle = "title" // the notification's title
	VarBody  = "body"  // the kind's short text with the values below: what push and WeChat show
	VarCar   = "car"   // plate and model, "粤B12345（凯美瑞）"; 爱车 when the message concerns no car
	VarPlate = "plate" // the plate alone; absent when none
	VarStore = "store" // the store's name; 门店 when the message concerns none
	VarTime  = "time"  // when the notification was written, RFC 3339: what WeChat's time and date fields show
)

// Fallbacks of the variables for a message that concerns no car or store.
const (
	noName  = "车主"
	noCar   = "爱车"
	noStore = "门店"
)

// bodies is each kind's short text: the push alert's and WeChat's body,
// and, within an SMS template (SMSTemplate), its middle. ${car} and
// ${store} are replaced by the variables above.
var bodies = map[string]string{
	outbox.KindApprovalNeeded:       "您的${car}在${store}有新增维修项目待您确认",
	outbox.KindReadyForPickup:       "您的${car}已在${store}完工，欢迎到店取车",
	outbox.KindAppointmentReminder:  "您明天在${store}有${car}的预约，请准时到店",
	outbox.KindEventPromoted:        "您已从候补转为正式报名，请当天到场签到",
	outbox.KindEventPaymentFailed:   "余额或积分不足，候补转正未成功，充值后可再次转正",
	outbox.KindEventCancelled:       "您报名的活动已取消，详情请查看App",
	outbox.KindEventReminder:        "您报名的活动即将开始，请准时参加",
	outbox.KindAssistanceAccepted:   "${store}已受理您的救援请求，请保持电话畅通",
	outbox.KindAssistanceDispatched: "${store}的救援人员已出发，请在安全位置等候",
	outbox.KindAssistanceClosed:     "您的救援请求已完成，感谢您的耐心等待",
	outbox.KindAssistanceCancelled:  "${store}取消了您的救援请求，详情请查看App",
	outbox.KindComplaintUpdate:      "您的投诉有新进展，请打开App查看",
	outbox.KindMaintenanceDue:       "您的${car}即将到期保养，请提前预约到店",
	outbox.KindFirstFreeMaintenance: "您的${car}可享免费首次保养，请尽快预约",
	outbox.KindInsuranceExpiring:    "您的${car}车险即将到期，请及时续保",
	outbox.KindInspectionDue:        "您的${car}年检即将到期，请合理安排时间",
	outbox.KindSurveyInvitation:     "请为${store}本次服务评分，30天内有效",
	outbox.KindBirthday:             "祝您生日快乐，会员生日礼遇已送达",
	outbox.KindPurchaseAnniversary:  "感谢您与${car}相伴，祝您用车愉快",
	// The campaign's own title and text are the inbox's; carriers take
	// only registered SMS templates, so the message says where to read it.
	outbox.KindCampaignInvitation: "${store}有一份专属邀请给您，详情请查看App",
	outbox.KindCouponExpiring:     "您有一张优惠券将在3天内到期，请尽快使用",
	outbox.KindReferralRewarded:   "您的推荐奖励已到账，请在会员中心查看",
	outbox.KindPackageExpiring:    "您有一个服务套餐将在7天内到期，尚有未用次数，请尽快预约到店",
}

// SMSTemplate is the text of kind's SMS template to register with Alibaba
// Cloud (the signature is added by the provider): a greeting with the
// owner's name, the kind's body and a pointer to the app; marketing kinds
// end with the opt-out the carriers require. "" for a kind that is sent
// nowhere but the inbox.
func SMSTemplate(kind string) string {
	body, ok := bodies[kind]
	if !ok {
		return ""
	}
	t := "${name}您好，" + body + "。"
	if class, _ := outbox.ClassOf(kind); class == outbox.Marketing {
		t += "拒收请回复R"
	}
	return t
}

// payload is the template parameters of n to a, each within the SMS
// provider's limit on one variable.
func payload(a *directory.Addressee, n *Notification) map[string]string {
	cut := func(s, or string) string {
		if s = strings.TrimSpace(s); s == "" {
			s = or
		}
		return outbox.Cut(s, outbox.MaxParamRunes)
	}
	car := strings.TrimSpace(a.Plate)
	if m := strings.TrimSpace(a.Model); m != "" {
		if car != "" {
			car += "（" + m + "）"
		} else {
			car = m
		}
	}
	p := map[string]string{
		VarName:  cut(a.Name, noName),
		VarTitle: cut(n.Title, n.Kind),
		VarCar:   cut(car, noCar),
		VarStore: cut(a.Store, noStore),
	}
	if plate := cut(a.Plate, ""); plate != "" {
		p[VarPlate] = plate
	}
	body := bodies[n.Kind]
	if body == "" {
		body = n.Title
	}
	p[VarBody] = cut(strings.NewReplacer("${car}", p[VarCar], "${store}", p[VarStore]).Replace(body), n.Title)
	p[VarTime] = n.CreatedAt.UTC().Format(time.RFC3339)
	return p
}

package main

import (
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/referrals"
)

// A friend signs up in the mini-program with the referrer's code: the
// owner WeChat's verified phone creates is referred (PENDING, via WeChat,
// with the device), and the friend's first paid settlement rewards both
// owners once and tells each once, as the SMS sign-up does
// (TestReferralFirstPaidVisit).
func TestReferralWeChatSignUp(t *testing.T) {
	appID := "wx-" + uuid.NewString()[:8]
	f := newWorkshop(t, withWeChat(appID))
	f.WeChat.AddApp(appID, wxSecret)
	referrer := f.quickCar(t, "SZ01")
	code, _ := f.rfProgram(t, referrer.OwnerToken)["code"].(string)

	signUp := func(referral string) map[string]any {
		openid, phone := "o-"+uuid.NewString(), e2ePhone()
		wx, phoneCode := "wx-"+uuid.NewString(), "ph-"+uuid.NewString()
		f.WeChat.AddCode(wx, openid, "")
		f.WeChat.AddPhoneCode(phoneCode, phone[3:], "86")
		p := e2ePayload(t, f.do(t, req{Query: `mutation($in: LoginWithWeChatInput!) { loginWithWeChat(input: $in) {
			session { accessToken } owner { id phone weChatBound } userErrors { code field message } } }`,
			Vars: map[string]any{"in": map[string]any{"code": wx, "phoneCode": phoneCode, "referralCode": referral,
				"deviceId": "mp-device-" + openid}}}), "loginWithWeChat")
		p["phone"] = phone
		return p
	}

	// An unknown code refuses the sign-up before WeChat is asked.
	bad := signUp("ZZZZZZ")
	expectUserError(t, bad, string(referrals.CodeUnknown))
	if dig(bad, "session") != nil {
		t.Fatalf("unknown code: %v", bad)
	}

	p := signUp(code)
	if len(userErrorCodes(p)) != 0 || dig(p, "session", "accessToken") == nil || dig(p, "owner", "weChatBound") != true {
		t.Fatalf("WeChat sign-up with a code: %v", p)
	}
	friend := f.ownerByPhone(t, p["phone"].(string))
	var rows []referrals.Referral
	must(t, f.DB.Conn(t.Context()).Where("referred_id = ?", friend.ID).Find(&rows).Error)
	if len(rows) != 1 || rows[0].ReferrerID != referrer.Owner.ID || rows[0].Via != referrals.ViaWeChat ||
		rows[0].Status != referrals.Pending || rows[0].DeviceID == "" {
		t.Fatalf("referral of the WeChat sign-up: %+v", rows)
	}
	prog := f.rfProgram(t, referrer.OwnerToken)
	if r := dig(prog, "referrals", "edges", 0, "node").(map[string]any); wkNum(dig(prog, "referrals", "totalCount")) != 1 || r["status"] != "PENDING" {
		t.Fatalf("the referrer's program: %v", prog)
	}

	f.rfPaidVisit(t, friend)
	f.rfPaidVisit(t, friend) // a second paid visit rewards nothing more
	for _, o := range []uuid.UUID{referrer.Owner.ID, friend.ID} {
		if n, points := f.rfRewardEntries(t, o); n != 1 || points != referrals.DefaultRewardPoints || f.rfNotified(t, o) != 1 {
			t.Fatalf("owner %s: %d reward entries, %d points, %d notifications", o, n, points, f.rfNotified(t, o))
		}
	}
	prog = f.rfProgram(t, referrer.OwnerToken)
	r := dig(prog, "referrals", "edges", 0, "node").(map[string]any)
	if wkNum(prog["rewardsEarned"]) != 1 || r["status"] != "REWARDED" || r["qualifiedBy"] != "FIRST_PAID_VISIT" {
		t.Fatalf("rewarded referral: %v", r)
	}
}

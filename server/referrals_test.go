package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/referrals"
)

// Referrals (老带新) through the API: an owner's code and link, a friend
// signing up with it by SMS or at car delivery, the reward on the friend's
// first paid settlement or car purchase, once, for both; the abuse checks
// as staff see them. See docs/referrals.md.

const rfReferralFields = `id status refusal friendPhone qualifiedBy rewardKind referrerPoints referredPoints
	store { code } referrer { id } referred { id } createdAt decidedAt`

// rfProgram reads the owner's code, link, referrals and rewards.
func (f *wkFixture) rfProgram(t testing.TB, token string) map[string]any {
	t.Helper()
	d := f.gql(t, token, `{ me { referral { code link rewardsEarned
		referrals(first: 100) { totalCount edges { node { `+rfReferralFields+` } } } } } }`, nil)
	p, _ := dig(d, "me", "referral").(map[string]any)
	if p == nil {
		t.Fatalf("no referral program: %v", d)
	}
	return p
}

// rfSignUp signs a phone in by SMS with a referral code and device id
// (either may be ""), returning the payload.
func (f *wkFixture) rfSignUp(t testing.TB, phone, code, device string) map[string]any {
	t.Helper()
	before := f.SMS.Count(phone)
	p := e2ePayload(t, f.do(t, req{Query: e2eRequestCodeDoc, Vars: map[string]any{"phone": phone}}), "requestLoginCode")
	sms, ok := f.SMS.Last(phone)
	if dig(p, "sent") != true || !ok || f.SMS.Count(phone) != before+1 {
		t.Fatalf("requestLoginCode(%s): %v", phone, p)
	}
	in := map[string]any{"phone": phone, "code": sms}
	if code != "" {
		in["referralCode"] = code
	}
	if device != "" {
		in["deviceId"] = device
	}
	return e2ePayload(t, f.do(t, req{Query: `mutation($in: VerifyLoginCodeInput!) { verifyLoginCode(input: $in) {
		session { accessToken } owner { id } userErrors { code field message } } }`, Vars: map[string]any{"in": in}}), "verifyLoginCode")
}

// rfFriend signs a new phone up with the code, returning the new owner and
// their token.
func (f *wkFixture) rfFriend(t testing.TB, code, device string) (*models.Owner, string) {
	t.Helper()
	return f.rfFriendAt(t, e2ePhone(), code, device)
}

// rfFriendAt is rfFriend with the phone given.
func (f *wkFixture) rfFriendAt(t testing.TB, phone, code, device string) (*models.Owner, string) {
	t.Helper()
	p := f.rfSignUp(t, phone, code, device)
	tok, _ := dig(p, "session", "accessToken").(string)
	if len(userErrorCodes(p)) != 0 || tok == "" {
		t.Fatalf("sign-up with code %s refused: %v", code, p)
	}
	return f.ownerByPhone(t, phone), tok
}

// rfPaidVisit takes the owner's new car through a maintenance order at
// SZ01 settled in cash (money paid), returning the order's id.
func (f *wkFixture) rfPaidVisit(t testing.TB, owner *models.Owner) string {
	t.Helper()
	id, payable := f.cpReady(t, f.wlNewCar(t, owner), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 30000, false))
	f.ok(t, f.staff(t, "cashier.sz01"), "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")))
	return id
}

// rfRewardEntries counts the referral reward entries on the owner's
// ledger and the points they credited.
func (f *wkFixture) rfRewardEntries(t testing.TB, owner uuid.UUID) (n, points int64) {
	t.Helper()
	must(t, f.DB.Conn(t.Context()).Raw(`SELECT COUNT(*), CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM ledger_entries
		WHERE owner_id = ? AND idempotency_key LIKE 'referral:%'`, owner).Row().Scan(&n, &points))
	return n, points
}

// rfNotified counts the owner's REFERRAL_REWARDED notifications.
func (f *wkFixture) rfNotified(t testing.TB, owner uuid.UUID) int64 {
	t.Helper()
	var n int64
	must(t, f.DB.Conn(t.Context()).Table("notifications").Where("owner_id = ? AND kind = ?", owner, referrals.NotifyRewarded).Count(&n).Error)
	return n
}

// rfStoreReferrals lists SZ01's referrals as token's holder.
func (f *wkFixture) rfStoreReferrals(t testing.TB, token, status string) *gqlResponse {
	t.Helper()
	args := `storeId: $store, first: 100`
	if status != "" {
		args += ", status: " + status
	}
	return f.do(t, req{Query: `query($store: ID!) { storeReferrals(` + args + `) { totalCount edges { node { ` + rfReferralFields + ` } } } }`,
		Vars: map[string]any{"store": f.sz}, Token: token})
}

// rfFind is the referral of the referred owner in a store list.
func rfFind(t testing.TB, r *gqlResponse, referred uuid.UUID) map[string]any {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("storeReferrals: %s", r.Raw)
	}
	edges, _ := dig(r.Data, "storeReferrals", "edges").([]any)
	for _, e := range edges {
		if dig(e, "node", "referred", "id") == e2eGlobalID("Owner", referred) {
			return dig(e, "node").(map[string]any)
		}
	}
	t.Fatalf("no referral of %s in %s", referred, r.Raw)
	return nil
}

// A friend signs up by SMS with the referrer's code (typed loosely); the
// referral is PENDING until the friend's first paid settlement rewards
// both owners with the default 500 points, tells both, and never again.
func TestReferralFirstPaidVisit(t *testing.T) {
	f := newWorkshop(t)
	referrer := f.quickCar(t, "SZ01")
	p := f.rfProgram(t, referrer.OwnerToken)
	code, _ := p["code"].(string)
	if len(code) != referrals.CodeLength || strings.Trim(code, referrals.Alphabet) != "" ||
		p["link"] != referrals.DefaultLinkBase+code || wkNum(p["rewardsEarned"]) != 0 {
		t.Fatalf("program: %v", p)
	}
	if again := f.rfProgram(t, referrer.OwnerToken); again["code"] != code {
		t.Fatalf("the code changed: %v then %v", code, again["code"])
	}

	// An unknown code refuses the sign-up before anything is written.
	phone := e2ePhone()
	bad := f.rfSignUp(t, phone, "ZZZZZZ", "")
	expectUserError(t, bad, string(referrals.CodeUnknown))
	if dig(bad, "session") != nil || wkStr(dig(bad, "userErrors", 0, "field", 1)) != "referralCode" {
		t.Fatalf("unknown code: %v", bad)
	}
	var owners int64
	must(t, f.DB.Conn(t.Context()).Model(&models.Owner{}).Where("phone = ?", phone).Count(&owners).Error)
	if owners != 0 {
		t.Fatal("a refused sign-up created the owner")
	}

	loose := strings.ToLower(code[:3]) + "-" + code[3:]
	friend, friendTok := f.rfFriend(t, loose, "device-friend-1")
	p = f.rfProgram(t, referrer.OwnerToken)
	r := dig(p, "referrals", "edges", 0, "node").(map[string]any)
	if wkNum(dig(p, "referrals", "totalCount")) != 1 || r["status"] != "PENDING" || r["referrer"] != nil || r["referred"] != nil ||
		r["friendPhone"] != friend.Phone[3:6]+"****"+friend.Phone[10:] || r["decidedAt"] != nil {
		t.Fatalf("pending referral as the referrer sees it: %v", r)
	}
	// The friend's referral as staff of the referrer's home store see it.
	crm := f.staff(t, "crm.sz01")
	if got := rfFind(t, f.rfStoreReferrals(t, crm, "PENDING"), friend.ID); got["status"] != "PENDING" {
		t.Fatalf("staff: %v", got)
	}

	// An existing owner signing in with a code is not referred.
	again := f.rfSignUp(t, referrer.Owner.Phone, code, "")
	if len(userErrorCodes(again)) != 0 || dig(again, "session", "accessToken") == nil {
		t.Fatalf("existing owner's sign-in with a code: %v", again)
	}
	f.rfPaidVisit(t, friend)
	for _, o := range []uuid.UUID{referrer.Owner.ID, friend.ID} {
		if n, points := f.rfRewardEntries(t, o); n != 1 || points != referrals.DefaultRewardPoints {
			t.Fatalf("owner %s: %d reward entries, %d points", o, n, points)
		}
		if f.rfNotified(t, o) != 1 {
			t.Fatalf("owner %s not told once", o)
		}
	}
	p = f.rfProgram(t, referrer.OwnerToken)
	r = dig(p, "referrals", "edges", 0, "node").(map[string]any)
	if wkNum(p["rewardsEarned"]) != 1 || r["status"] != "REWARDED" || r["qualifiedBy"] != "FIRST_PAID_VISIT" ||
		r["rewardKind"] != "POINTS" || wkNum(r["referrerPoints"]) != 500 || wkNum(r["referredPoints"]) != 500 ||
		dig(r, "store", "code") != "SZ01" || r["decidedAt"] == nil {
		t.Fatalf("rewarded referral: %v", r)
	}
	// The friend reads the referral by node (the notification's link), as referred.
	node := f.gql(t, friendTok, `query($id: ID!) { node(id: $id) { ... on Referral { status } } }`, map[string]any{"id": r["id"]})
	if dig(node, "node", "status") != "REWARDED" {
		t.Fatalf("friend's node: %v", node)
	}
	other := f.quickCar(t, "SZ01")
	if d := f.gql(t, other.OwnerToken, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": r["id"]}); dig(d, "node") != nil {
		t.Fatalf("another owner reads the referral: %v", d)
	}
	if d := f.gql(t, other.OwnerToken, `{ me { referral { referrals { totalCount } } } }`, nil); wkNum(dig(d, "me", "referral", "referrals", "totalCount")) != 0 {
		t.Fatalf("another owner's referrals: %v", d)
	}

	// Staff: CRM and MANAGER of the store see it with both owners; others may not list.
	got := rfFind(t, f.rfStoreReferrals(t, crm, "REWARDED"), friend.ID)
	if got["referrer"] == nil || dig(got, "referrer", "id") != e2eGlobalID("Owner", referrer.Owner.ID) {
		t.Fatalf("staff's rewarded referral: %v", got)
	}
	e2eWantGQLError(t, f.rfStoreReferrals(t, f.staff(t, "advisor.sz01"), ""), "FORBIDDEN")
	e2eWantGQLError(t, f.rfStoreReferrals(t, friendTok, ""), "FORBIDDEN")
	e2eWantGQLError(t, f.rfStoreReferrals(t, f.staff(t, "crm.gz01"), ""), "FORBIDDEN")

	// A second paid visit rewards nothing more.
	f.rfPaidVisit(t, friend)
	for _, o := range []uuid.UUID{referrer.Owner.ID, friend.ID} {
		if n, _ := f.rfRewardEntries(t, o); n != 1 || f.rfNotified(t, o) != 1 {
			t.Fatalf("owner %s rewarded again: %d entries", o, n)
		}
	}
}

// Staff register a new car for a new owner with a referral code: the car
// purchase rewards the referral in the registration's transaction. Codes
// for an existing owner, the code's own owner, or unknown are refused and
// nothing is written.
func TestReferralCarPurchase(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	referrer := f.quickCar(t, "SZ01")
	code := f.rfProgram(t, referrer.OwnerToken)["code"].(string)
	register := func(in map[string]any) map[string]any {
		return e2ePayload(t, f.do(t, req{Query: e2eRegisterDoc, Vars: map[string]any{"in": in}, Token: advisor}), "registerVehicle")
	}
	for _, c := range []struct {
		phone, code, want string
	}{
		{referrer.Owner.Phone, code, string(referrals.CodeSelf)},
		{f.quickCar(t, "SZ01").Owner.Phone, code, string(referrals.CodeOwnerNotNew)},
		{e2ePhone(), "ABCDEF", string(referrals.CodeUnknown)},
	} {
		in := e2eRegistration(t)
		in["ownerPhone"], in["referralCode"] = c.phone, c.code
		p := register(in)
		expectUserError(t, p, c.want)
		if p["vehicle"] != nil {
			t.Fatalf("%s: registered anyway: %v", c.want, p)
		}
		var n int64
		must(t, f.DB.Conn(t.Context()).Model(&models.Vehicle{}).Where("vin = ?", in["vin"]).Count(&n).Error)
		if n != 0 {
			t.Fatalf("%s: the car was written", c.want)
		}
	}
	in := e2eRegistration(t)
	in["referralCode"] = code
	p := register(in)
	if len(userErrorCodes(p)) != 0 {
		t.Fatalf("registration with a code: %v", p)
	}
	friend := f.ownerByPhone(t, in["ownerPhone"].(string))
	r := rfFind(t, f.rfStoreReferrals(t, f.staff(t, "manager.sz01"), ""), friend.ID)
	if r["status"] != "REWARDED" || r["qualifiedBy"] != "CAR_PURCHASE" {
		t.Fatalf("car purchase referral: %v", r)
	}
	for _, o := range []uuid.UUID{referrer.Owner.ID, friend.ID} {
		if n, points := f.rfRewardEntries(t, o); n != 1 || points != referrals.DefaultRewardPoints {
			t.Fatalf("owner %s: %d reward entries, %d points", o, n, points)
		}
	}
	// The friend's first paid visit later rewards nothing more.
	f.rfPaidVisit(t, friend)
	if n, _ := f.rfRewardEntries(t, friend.ID); n != 1 {
		t.Fatalf("rewarded twice: %d", n)
	}

	// A friend who signed up by SMS and then buys a car: the delivery
	// rewards the pending referral (no code needed at the registration).
	smsFriend, _ := f.rfFriend(t, code, "")
	in = e2eRegistration(t)
	in["ownerPhone"] = smsFriend.Phone
	if p := register(in); len(userErrorCodes(p)) != 0 {
		t.Fatalf("registration for the SMS friend: %v", p)
	}
	if r := rfFind(t, f.rfStoreReferrals(t, f.staff(t, "manager.sz01"), "REWARDED"), smsFriend.ID); r["qualifiedBy"] != "CAR_PURCHASE" {
		t.Fatalf("SMS friend's car purchase: %v", r)
	}
	if n, _ := f.rfRewardEntries(t, referrer.Owner.ID); n != 2 {
		t.Fatalf("referrer has %d reward entries after two friends", n)
	}
}

// The abuse checks as staff see them: a sign-up on the referrer's device
// or an earlier friend's is REFUSED(SAME_DEVICE) at once; a qualifying car
// that was the referrer's is REFUSED(SAME_CAR); an erased owner signing up
// again with a code is REFUSED(SAME_PHONE). None earns anything.
func TestReferralAbuse(t *testing.T) {
	f := newWorkshop(t)
	crm := f.staff(t, "crm.sz01")
	referrer := f.quickCar(t, "SZ01")
	code := f.rfProgram(t, referrer.OwnerToken)["code"].(string)
	// The referrer signs in on their phone, which is recorded.
	if p := f.rfSignUp(t, referrer.Owner.Phone, "", "device-referrer"); len(userErrorCodes(p)) != 0 {
		t.Fatalf("referrer's sign-in: %v", p)
	}
	sameAsReferrer, _ := f.rfFriend(t, code, "device-referrer")
	first, _ := f.rfFriend(t, code, "device-first")
	sameAsFirst, _ := f.rfFriend(t, code, "device-first")
	list := f.rfStoreReferrals(t, crm, "")
	for _, c := range []struct {
		o           *models.Owner
		status, why string
	}{{sameAsReferrer, "REFUSED", "SAME_DEVICE"}, {first, "PENDING", ""}, {sameAsFirst, "REFUSED", "SAME_DEVICE"}} {
		r := rfFind(t, list, c.o.ID)
		if r["status"] != c.status || (c.why != "" && r["refusal"] != c.why) || (c.why == "" && r["refusal"] != nil) {
			t.Fatalf("%s: %v", c.why, r)
		}
	}

	// The referrer's car, serviced by the referrer, passes to the friend:
	// the friend's paid visit in it is no new customer's.
	advisor := f.staff(t, "advisor.sz01")
	cashier := f.staff(t, "cashier.sz01")
	id, payable := f.cpReady(t, referrer.Plate, "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 20000, false))
	f.ok(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")))
	f.move(t, advisor, id, "DELIVERED", "")
	must(t, f.DB.Conn(t.Context()).Model(&models.Vehicle{}).Where("vin = ?", referrer.VIN).Update("owner_id", first.ID).Error)
	id, payable = f.cpReady(t, referrer.Plate, "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 20000, false))
	f.ok(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", payable, "")))
	r := rfFind(t, f.rfStoreReferrals(t, crm, "REFUSED"), first.ID)
	if r["refusal"] != "SAME_CAR" || r["qualifiedBy"] != "FIRST_PAID_VISIT" || r["rewardKind"] != nil {
		t.Fatalf("same car: %v", r)
	}

	// An owner erases the account and signs up again with a code.
	phone := e2ePhone()
	if p := f.rfSignUp(t, phone, "", ""); len(userErrorCodes(p)) != 0 {
		t.Fatalf("first sign-up: %v", p)
	}
	gone := f.ownerByPhone(t, phone)
	d := f.gql(t, f.ownerToken(t, gone.ID), `mutation { deleteMyAccount(input: {confirm: true}) { deleted userErrors { code } } }`, nil)
	if dig(d, "deleteMyAccount", "deleted") != true {
		t.Fatalf("deleteMyAccount: %v", d)
	}
	back, _ := f.rfFriendAt(t, phone, code, "")
	if r := rfFind(t, f.rfStoreReferrals(t, crm, ""), back.ID); r["refusal"] != "SAME_PHONE" {
		t.Fatalf("erased phone signing up again: %v", r)
	}
	// What was kept of the erased phone is its digest under the
	// deployment's key: not the phone, not its plain hash.
	var kept []string
	must(t, f.DB.Conn(t.Context()).Table("referral_erased_phones").Pluck("phone_digest", &kept).Error)
	plain := sha256.Sum256([]byte(phone))
	if want := referrals.PhoneDigest(derivedKey([]byte(testSecret), "erased-phones"), phone); !slices.Contains(kept, want) ||
		slices.Contains(kept, hex.EncodeToString(plain[:])) {
		t.Fatalf("erased phones kept %v, want the keyed digest %s", kept, want)
	}
	for _, o := range []uuid.UUID{referrer.Owner.ID, sameAsReferrer.ID, first.ID, sameAsFirst.ID, back.ID} {
		if n, _ := f.rfRewardEntries(t, o); n != 0 {
			t.Fatalf("owner %s earned a refused reward", o)
		}
	}
}

// Twenty settlements at once, each of another paid order of the referred
// owner: every one settles, and the referral is rewarded exactly once
// (one entry and one notification per side).
func TestReferralRewardOnceUnderConcurrency(t *testing.T) {
	f := newWorkshop(t)
	cashier := f.staff(t, "cashier.sz01")
	referrer := f.quickCar(t, "SZ01")
	code := f.rfProgram(t, referrer.OwnerToken)["code"].(string)
	friend, _ := f.rfFriend(t, code, "")
	const n = 20
	ids := make([]string, n)
	pay := make([]int, n)
	for i := range ids {
		ids[i], pay[i] = f.cpReady(t, f.wlNewCar(t, friend), "MAINTENANCE", wkItem("LABOR", "LAB-MNT", "保养工时", 1, 10000, false))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := e2ePayload(t, f.call(t, cashier, "settleRepairOrder", wkSettle(id, wkPay("CASH", pay[i], ""))), "settleRepairOrder")
			code := "OK"
			if cs := userErrorCodes(p); len(cs) > 0 {
				code = cs[0]
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["OK"] != n {
		t.Fatalf("%d concurrent settlements: %v", n, codes)
	}
	for _, o := range []uuid.UUID{referrer.Owner.ID, friend.ID} {
		if got, points := f.rfRewardEntries(t, o); got != 1 || points != referrals.DefaultRewardPoints || f.rfNotified(t, o) != 1 {
			t.Fatalf("owner %s: %d reward entries (%d points), %d notifications", o, got, points, f.rfNotified(t, o))
		}
	}
}

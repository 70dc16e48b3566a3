package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models/roadside"
)

// End-to-end tests of roadside assistance through the real
// server: an owner asks for help and follows the request live while the
// nearest store's staff accept, dispatch and close it; the owner's inbox;
// who may see and change what (another owner, another store's staff, the
// wrong role, no token), also over the WebSocket; bad input; ten requests
// for one car at once and staff racing to accept; and the statements the
// staff's open list takes. The shared demo database has SZ01 and GZ01 at
// their coordinates and three demo requests; these tests use cars of their
// own and look only at their own requests.

const (
	rsFields = `id status problem description location { latitude longitude address } callbackPhone storeChosen distanceKm
		store { code } vehicle { id plate } acceptedAt outcome cancelReason finishedAt version createdAt updatedAt
		dispatch { name phone isStaff eta dispatchedAt }
		timeline { from to at note actor actorName }`
	rsSubDoc  = `subscription($id: ID!) { assistanceRequestUpdated(id: $id) { ` + rsFields + ` } }`
	rsReadDoc = `query($id: ID!) { assistanceRequest(id: $id) { ` + rsFields + ` owner { id name } } }`
	rsMineDoc = `{ me { assistanceRequests(first: 10) { edges { cursor node { id status } } pageInfo { hasNextPage } } } }`
	rsOpenDoc = `query($s: ID, $first: Int, $after: String) { openAssistanceRequests(storeId: $s, first: $first, after: $after) {
		edges { cursor node { id status problem callbackPhone location { address } store { code } vehicle { plate vin }
			owner { name phone } timeline { to actorName } } } pageInfo { hasNextPage endCursor } } }`
	rsNodeDoc = `query($id: ID!) { node(id: $id) { __typename ... on AssistanceRequest { id status } } }`
)

var rsInputs = map[string]string{
	"requestAssistance":       "RequestAssistanceInput",
	"acceptAssistanceRequest": "AssistanceRequestInput",
	"dispatchAssistance":      "DispatchAssistanceInput",
	"closeAssistanceRequest":  "CloseAssistanceRequestInput",
	"cancelAssistanceRequest": "CancelAssistanceRequestInput",
}

// rsCall sends a roadside mutation selecting the request and userErrors.
func rsCall(t testing.TB, f *wkFixture, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc := fmt.Sprintf(`mutation($in: %s!) { %s(input: $in) { assistanceRequest { %s } userErrors { code field message } } }`,
		rsInputs[field], field, rsFields)
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// rsOK runs a mutation that must be accepted and returns the request.
func rsOK(t testing.TB, f *wkFixture, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, rsCall(t, f, token, field, input), field)
	r, _ := p["assistanceRequest"].(map[string]any)
	if codes := userErrorCodes(p); len(codes) != 0 || r == nil {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return r
}

// rsRefused runs a mutation that must be refused with code (on field, when
// given) as a userError.
func rsRefused(t testing.TB, f *wkFixture, token, field string, input map[string]any, code string, on ...string) {
	t.Helper()
	p := e2ePayload(t, rsCall(t, f, token, field, input), field)
	expectUserError(t, p, code)
	if p["assistanceRequest"] != nil {
		t.Fatalf("%s refused with %s but returned a request: %v", field, code, p)
	}
	if m, _ := dig(p, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("%s: userError %s without a message", field, code)
	}
	if len(on) > 0 {
		if got := fmt.Sprint(dig(p, "userErrors", 0, "field")); got != fmt.Sprint([]any{"input", on[0]}) {
			t.Fatalf("%s: userError %s on %s; want %s", field, code, got, on[0])
		}
	}
}

// rsDenied runs a mutation the API must deny with a GraphQL error code.
func rsDenied(t testing.TB, f *wkFixture, token, field string, input map[string]any, code string) {
	t.Helper()
	r := rsCall(t, f, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Data)
	}
}

// rsAsk is a request for car near SZ01 (Futian), to the nearest store.
func rsAsk(car wkCar) map[string]any {
	return map[string]any{"vehicleId": car.ID, "latitude": 22.5405, "longitude": 114.0540,
		"address": "深圳市福田区福华三路 会展中心北门", "problem": "BATTERY"}
}

func rsID(r map[string]any) map[string]any { return map[string]any{"requestId": r["id"]} }

func rsDispatch(r map[string]any) map[string]any {
	return map[string]any{"requestId": r["id"], "dispatcherName": "刘师傅", "dispatcherPhone": "139 0000 1111", "etaMinutes": 30}
}

// rsStored counts a car's stored requests.
func rsStored(t testing.TB, f *wkFixture, car wkCar) int64 {
	t.Helper()
	_, id, ok := bkParseID(car.ID)
	if !ok {
		t.Fatalf("bad vehicle id %v", car.ID)
	}
	var n int64
	if err := f.DB.Conn(context.Background()).Model(&roadside.Request{}).Where("vehicle_id = ?", id).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func rsStatusIs(status string) func(map[string]any) bool {
	return func(d map[string]any) bool { return dig(d, "assistanceRequestUpdated", "status") == status }
}

// The owner asks; the request goes to SZ01 (nearest); the owner and the
// store follow it live through accept, dispatch and close; the owner's
// inbox has each step; both read it and its timeline.
func TestRoadsideFlow(t *testing.T) {
	f := newWorkshop(t)
	car := f.quickCar(t, "SZ01")
	in := rsAsk(car)
	in["callbackPhone"] = "+86 139-0000-2222"
	in["description"] = "  停车场 B2，车打不着火  "
	r := rsOK(t, f, car.OwnerToken, "requestAssistance", in)
	id := wkStr(r["id"])
	km, _ := r["distanceKm"].(float64)
	if r["status"] != "REQUESTED" || dig(r, "store", "code") != "SZ01" || r["storeChosen"] != false || km <= 0 || km > 2 ||
		r["callbackPhone"] != "+8613900002222" || r["description"] != "停车场 B2，车打不着火" || dig(r, "vehicle", "plate") != car.Plate ||
		wkNum(r["version"]) != 1 || r["dispatch"] != nil || len(r["timeline"].([]any)) != 1 || dig(r, "timeline", 0, "actor") != "OWNER" {
		t.Fatalf("requested = %v", r)
	}

	owner := wsConnect(t, f.testServer, car.OwnerToken)
	op := owner.subscribe(t, rsSubDoc, map[string]any{"id": id})
	if d := owner.nextResult(t, op, subWait); dig(d, "assistanceRequestUpdated", "status") != "REQUESTED" {
		t.Fatalf("initial request: %v", d)
	}
	crm := wsConnect(t, f.testServer, f.staff(t, "crm.sz01"))
	sop := crm.subscribe(t, rsSubDoc, map[string]any{"id": id})
	crm.nextResult(t, sop, subWait)

	advisor := f.staff(t, "advisor.sz01")
	a := rsOK(t, f, advisor, "acceptAssistanceRequest", rsID(r))
	if a["status"] != "ACCEPTED" || a["acceptedAt"] == nil || dig(a, "timeline", 1, "actorName") != "李明" {
		t.Fatalf("accepted = %v", a)
	}
	owner.waitFor(t, op, subWait, rsStatusIs("ACCEPTED"))
	crm.waitFor(t, sop, subWait, rsStatusIs("ACCEPTED"))

	d := rsOK(t, f, f.staff(t, "crm.sz01"), "dispatchAssistance", map[string]any{"requestId": id,
		"staffId": f.staffID(t, "advisor.sz01"), "dispatcherPhone": "13900003333", "etaMinutes": 25, "note": "带搭电宝"})
	if d["status"] != "DISPATCHED" || dig(d, "dispatch", "name") != "李明" || dig(d, "dispatch", "phone") != "+8613900003333" ||
		dig(d, "dispatch", "isStaff") != true || dig(d, "timeline", 2, "note") != "带搭电宝" {
		t.Fatalf("dispatched = %v", d)
	}
	got := owner.waitFor(t, op, subWait, rsStatusIs("DISPATCHED"))
	if dig(got, "assistanceRequestUpdated", "dispatch", "name") != "李明" {
		t.Fatalf("the owner's update lacks who is coming: %v", got)
	}
	crm.waitFor(t, sop, subWait, rsStatusIs("DISPATCHED"))

	// The owner may no longer cancel in the app.
	rsRefused(t, f, car.OwnerToken, "cancelAssistanceRequest", rsID(r), "TOO_LATE_TO_CANCEL")

	c := rsOK(t, f, f.staff(t, "manager.sz01"), "closeAssistanceRequest", map[string]any{"requestId": id, "outcome": "现场搭电，车辆已正常启动"})
	if c["status"] != "CLOSED" || c["outcome"] != "现场搭电，车辆已正常启动" || c["finishedAt"] == nil || wkNum(c["version"]) != 4 {
		t.Fatalf("closed = %v", c)
	}
	final := owner.waitFor(t, op, subWait, rsStatusIs("CLOSED"))
	tl := dig(final, "assistanceRequestUpdated", "timeline").([]any)
	if len(tl) != 4 || dig(tl[3], "from") != "DISPATCHED" || dig(tl[3], "to") != "CLOSED" || dig(tl[3], "actorName") != "张志刚" {
		t.Fatalf("final timeline: %v", tl)
	}
	crm.waitFor(t, sop, subWait, rsStatusIs("CLOSED"))
	rsRefused(t, f, f.staff(t, "manager.sz01"), "cancelAssistanceRequest", map[string]any{"requestId": id, "reason": "x"}, "REQUEST_FINISHED")

	// The inbox: one item per change the store made, linking the request.
	inbox := f.gql(t, car.OwnerToken, `{ me { unreadNotificationCount notifications(first: 20) { edges { node { kind title body link } } } } }`, nil)
	var kinds []string
	for _, e := range dig(inbox, "me", "notifications", "edges").([]any) {
		if k := wkStr(dig(e, "node", "kind")); strings.HasPrefix(k, "ASSISTANCE_") {
			kinds = append(kinds, k)
			if dig(e, "node", "link") != id || wkStr(dig(e, "node", "title")) == "" {
				t.Errorf("notification %v", e)
			}
		}
	}
	if strings.Join(kinds, ",") != "ASSISTANCE_CLOSED,ASSISTANCE_DISPATCHED,ASSISTANCE_ACCEPTED" {
		t.Fatalf("inbox kinds (newest first) = %v", kinds)
	}

	// Reads: the owner's list, the request and node(id), for the owner and
	// the store's staff (who see the owner).
	mine := dig(f.gql(t, car.OwnerToken, rsMineDoc, nil), "me", "assistanceRequests", "edges").([]any)
	if len(mine) != 1 || dig(mine[0], "node", "id") != id {
		t.Fatalf("owner's requests = %v", mine)
	}
	for _, tok := range []string{car.OwnerToken, f.staff(t, "crm.sz01"), f.staff(t, "admin")} {
		got := f.gql(t, tok, rsReadDoc, map[string]any{"id": id})
		if dig(got, "assistanceRequest", "status") != "CLOSED" || dig(got, "assistanceRequest", "owner", "id") == nil ||
			dig(got, "assistanceRequest", "callbackPhone") != "+8613900002222" {
			t.Fatalf("read = %v", got)
		}
		if n := f.gql(t, tok, rsNodeDoc, map[string]any{"id": id}); dig(n, "node", "__typename") != "AssistanceRequest" {
			t.Fatalf("node = %v", n)
		}
	}

	// Chosen store: GZ01, though Futian is nearer SZ01; then the owner
	// cancels it before anyone is sent.
	in = rsAsk(car)
	in["storeId"] = f.gz
	g := rsOK(t, f, car.OwnerToken, "requestAssistance", in)
	if dig(g, "store", "code") != "GZ01" || g["storeChosen"] != true || g["callbackPhone"] != car.Owner.Phone {
		t.Fatalf("chosen GZ01 = %v", g)
	}
	x := rsOK(t, f, car.OwnerToken, "cancelAssistanceRequest", map[string]any{"requestId": g["id"], "reason": "已自行解决"})
	if x["status"] != "CANCELLED" || x["cancelReason"] != "已自行解决" {
		t.Fatalf("cancelled = %v", x)
	}
}

// Who may do what: another owner and another store's staff find nothing,
// other roles and the wrong kind of caller are forbidden, no token is
// unauthenticated; the same over the WebSocket.
func TestRoadsideAuthorization(t *testing.T) {
	f := newWorkshop(t)
	car := f.quickCar(t, "SZ01")
	other := f.quickCar(t, "SZ01")
	r := rsOK(t, f, car.OwnerToken, "requestAssistance", rsAsk(car))
	id := wkStr(r["id"])
	gzAdvisor, technician := f.staff(t, "advisor.gz01"), f.staff(t, "technician1.sz01")

	// Reading it.
	for name, tok := range map[string]string{"another owner": other.OwnerToken, "GZ01's advisor": gzAdvisor, "SZ01's technician": technician} {
		res := f.do(t, req{Query: rsReadDoc, Vars: map[string]any{"id": id}, Token: tok})
		e2eWantGQLError(t, res, "NOT_FOUND")
		if n := f.gql(t, tok, rsNodeDoc, map[string]any{"id": id}); n["node"] != nil {
			t.Fatalf("%s: node = %v", name, n)
		}
	}
	e2eWantGQLError(t, f.do(t, req{Query: rsReadDoc, Vars: map[string]any{"id": id}}), "UNAUTHENTICATED")

	// Changing it.
	rsDenied(t, f, gzAdvisor, "acceptAssistanceRequest", rsID(r), "NOT_FOUND")
	rsDenied(t, f, technician, "acceptAssistanceRequest", rsID(r), "FORBIDDEN")
	rsDenied(t, f, f.staff(t, "cashier.sz01"), "dispatchAssistance", rsDispatch(r), "FORBIDDEN")
	rsDenied(t, f, car.OwnerToken, "acceptAssistanceRequest", rsID(r), "FORBIDDEN")
	rsDenied(t, f, car.OwnerToken, "closeAssistanceRequest", map[string]any{"requestId": id, "outcome": "好了"}, "FORBIDDEN")
	rsDenied(t, f, "", "acceptAssistanceRequest", rsID(r), "UNAUTHENTICATED")
	rsDenied(t, f, "", "cancelAssistanceRequest", rsID(r), "UNAUTHENTICATED")
	rsDenied(t, f, other.OwnerToken, "cancelAssistanceRequest", rsID(r), "NOT_FOUND")
	rsDenied(t, f, gzAdvisor, "cancelAssistanceRequest", map[string]any{"requestId": id, "reason": "不是本店"}, "NOT_FOUND")
	rsDenied(t, f, technician, "cancelAssistanceRequest", map[string]any{"requestId": id, "reason": "x"}, "FORBIDDEN")
	rsDenied(t, f, f.staff(t, "advisor.sz01"), "requestAssistance", rsAsk(car), "FORBIDDEN")
	rsDenied(t, f, other.OwnerToken, "requestAssistance", rsAsk(car), "NOT_FOUND")
	rsDenied(t, f, "", "requestAssistance", rsAsk(car), "UNAUTHENTICATED")

	// Lists.
	open := func(tok string, store any) *gqlResponse {
		return f.do(t, req{Query: rsOpenDoc, Vars: map[string]any{"s": store, "first": 100}, Token: tok})
	}
	e2eWantGQLError(t, open(gzAdvisor, f.sz), "FORBIDDEN")
	e2eWantGQLError(t, open(technician, f.sz), "FORBIDDEN")
	e2eWantGQLError(t, open(car.OwnerToken, nil), "FORBIDDEN")
	e2eWantGQLError(t, open("", nil), "UNAUTHENTICATED")
	if ids := rsOpenIDs(t, f, gzAdvisor, nil); contains(ids, id) {
		t.Fatal("GZ01's open list shows an SZ01 request")
	}
	if ids := rsOpenIDs(t, f, other.OwnerToken, nil); ids != nil {
		t.Fatal("an owner read the open list")
	}
	mine := dig(f.gql(t, other.OwnerToken, rsMineDoc, nil), "me", "assistanceRequests", "edges").([]any)
	if len(mine) != 0 {
		t.Fatalf("another owner's list = %v", mine)
	}

	// Nothing changed.
	if got := f.gql(t, car.OwnerToken, rsReadDoc, map[string]any{"id": id}); dig(got, "assistanceRequest", "status") != "REQUESTED" ||
		wkNum(dig(got, "assistanceRequest", "version")) != 1 {
		t.Fatalf("after refusals: %v", got)
	}

	// Subscriptions.
	refused := func(tok string, codes ...string) {
		t.Helper()
		c := wsConnect(t, f.testServer, tok)
		op := c.subscribe(t, rsSubDoc, map[string]any{"id": id})
		typ, got := c.refusal(t, op, subWait)
		if typ != "next" || len(got) != 1 || !contains(codes, got[0]) {
			t.Fatalf("subscription refused as %s %v; want %v", typ, got, codes)
		}
	}
	refused(other.OwnerToken, "NOT_FOUND")
	refused(gzAdvisor, "NOT_FOUND")
	refused(technician, "NOT_FOUND")
	refused("", "UNAUTHENTICATED")
}

// rsOpenIDs lists the ids of the open requests the token's holder sees
// (nil when refused).
func rsOpenIDs(t testing.TB, f *wkFixture, token string, store any) []string {
	t.Helper()
	res := f.do(t, req{Query: rsOpenDoc, Vars: map[string]any{"s": store, "first": 100}, Token: token})
	if len(res.Errors) > 0 {
		return nil
	}
	var ids []string
	for _, e := range dig(res.Data, "openAssistanceRequests", "edges").([]any) {
		ids = append(ids, wkStr(dig(e, "node", "id")))
	}
	return ids
}

// Bad input is refused with the field, and nothing is written.
func TestRoadsideBadInput(t *testing.T) {
	f := newWorkshop(t)
	car := f.quickCar(t, "SZ01")
	with := func(k string, v any) map[string]any {
		in := rsAsk(car)
		in[k] = v
		return in
	}
	tok := car.OwnerToken
	rsRefused(t, f, tok, "requestAssistance", with("latitude", 90.5), "INVALID_ARGUMENT", "latitude")
	rsRefused(t, f, tok, "requestAssistance", with("longitude", -181), "INVALID_ARGUMENT", "longitude")
	rsRefused(t, f, tok, "requestAssistance", with("address", "   "), "INVALID_ARGUMENT", "address")
	rsRefused(t, f, tok, "requestAssistance", with("address", strings.Repeat("路", 201)), "INVALID_ARGUMENT", "address")
	rsRefused(t, f, tok, "requestAssistance", with("problem", "OTHER"), "INVALID_ARGUMENT", "description")
	rsRefused(t, f, tok, "requestAssistance", with("description", strings.Repeat("坏", 501)), "INVALID_ARGUMENT", "description")
	rsRefused(t, f, tok, "requestAssistance", with("callbackPhone", "0755-83886600"), "INVALID_PHONE", "callbackPhone")
	rsRefused(t, f, tok, "requestAssistance", with("address", "深南大道\n彩田路"), "INVALID_ARGUMENT", "address")
	if res := rsCall(t, f, tok, "requestAssistance", with("problem", "ALIENS")); res.Code() != "GRAPHQL_VALIDATION_FAILED" || res.Data != nil {
		t.Fatalf("unknown problem: %s", res.Raw)
	}
	e2eWantGQLError(t, rsCall(t, f, tok, "requestAssistance", with("vehicleId", f.sz)), "INVALID_ARGUMENT")
	e2eWantGQLError(t, rsCall(t, f, tok, "requestAssistance", with("storeId", car.ID)), "INVALID_ARGUMENT")
	rsDenied(t, f, tok, "requestAssistance", with("storeId", e2eGlobalID("Store", uuid.New())), "NOT_FOUND")
	if n := rsStored(t, f, car); n != 0 {
		t.Fatalf("refused requests stored %d rows", n)
	}

	r := rsOK(t, f, tok, "requestAssistance", rsAsk(car))
	rsRefused(t, f, tok, "requestAssistance", rsAsk(car), "ASSISTANCE_ALREADY_OPEN", "vehicleId")
	// Chinese by default, English on request; the code is the same.
	for lang, want := range map[string]string{"": "该车辆已有进行中的救援请求", "en": "this vehicle already has an open assistance request"} {
		doc := `mutation($in: RequestAssistanceInput!) { requestAssistance(input: $in) { userErrors { code message } } }`
		res := f.do(t, req{Query: doc, Vars: map[string]any{"in": rsAsk(car)}, Token: tok, Headers: map[string]string{"Accept-Language": lang}})
		if dig(res.Data, "requestAssistance", "userErrors", 0, "message") != want {
			t.Fatalf("message in %q: %s", lang, res.Raw)
		}
	}
	advisor := f.staff(t, "advisor.sz01")
	rsRefused(t, f, advisor, "dispatchAssistance", rsDispatch(r), "WRONG_STATUS")
	rsRefused(t, f, advisor, "closeAssistanceRequest", map[string]any{"requestId": r["id"], "outcome": "好了"}, "WRONG_STATUS")
	rsOK(t, f, advisor, "acceptAssistanceRequest", rsID(r))
	rsRefused(t, f, advisor, "acceptAssistanceRequest", rsID(r), "ALREADY_ACCEPTED")
	bad := func(k string, v any, code, field string) {
		t.Helper()
		in := rsDispatch(r)
		in[k] = v
		rsRefused(t, f, advisor, "dispatchAssistance", in, code, field)
	}
	bad("etaMinutes", 0, "INVALID_ARGUMENT", "etaMinutes")
	bad("etaMinutes", 721, "INVALID_ARGUMENT", "etaMinutes")
	bad("dispatcherPhone", "12345", "INVALID_PHONE", "dispatcherPhone")
	bad("dispatcherName", " ", "INVALID_ARGUMENT", "dispatcherName")
	in := rsDispatch(r)
	in["staffId"] = f.staffID(t, "advisor.gz01")
	rsDenied(t, f, advisor, "dispatchAssistance", in, "NOT_FOUND")
	rsRefused(t, f, advisor, "closeAssistanceRequest", map[string]any{"requestId": r["id"], "outcome": " "}, "INVALID_ARGUMENT", "outcome")
	rsRefused(t, f, advisor, "cancelAssistanceRequest", rsID(r), "INVALID_ARGUMENT", "reason")
	e2eWantGQLError(t, rsCall(t, f, advisor, "acceptAssistanceRequest", map[string]any{"requestId": car.ID}), "INVALID_ARGUMENT")
	if got := f.gql(t, tok, rsReadDoc, map[string]any{"id": r["id"]}); dig(got, "assistanceRequest", "status") != "ACCEPTED" ||
		wkNum(dig(got, "assistanceRequest", "version")) != 2 {
		t.Fatalf("after refusals: %v", got)
	}
}

// Ten requests for one car at once: exactly one open request. Two staff
// accepting one request at once: one wins.
func TestRoadsideConcurrency(t *testing.T) {
	f := newWorkshop(t)
	car := f.quickCar(t, "SZ01")
	const n = 10
	var wg sync.WaitGroup
	payloads := make([]map[string]any, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			payloads[i] = e2ePayload(t, rsCall(t, f, car.OwnerToken, "requestAssistance", rsAsk(car)), "requestAssistance")
		}()
	}
	close(start)
	wg.Wait()
	ok, open := 0, 0
	for _, p := range payloads {
		switch codes := userErrorCodes(p); {
		case len(codes) == 0 && p["assistanceRequest"] != nil:
			ok++
		case len(codes) == 1 && codes[0] == "ASSISTANCE_ALREADY_OPEN":
			open++
		default:
			t.Fatalf("unexpected payload %v", p)
		}
	}
	if ok != 1 || open != n-1 || rsStored(t, f, car) != 1 {
		t.Fatalf("%d accepted, %d refused, %d stored; want 1, %d, 1", ok, open, rsStored(t, f, car), n-1)
	}

	staff := []string{f.staff(t, "advisor.sz01"), f.staff(t, "crm.sz01")}
	for round := range 5 {
		c := f.quickCar(t, "SZ01")
		r := rsOK(t, f, c.OwnerToken, "requestAssistance", rsAsk(c))
		results := make([]map[string]any, len(staff))
		start := make(chan struct{})
		for i, tok := range staff {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = e2ePayload(t, rsCall(t, f, tok, "acceptAssistanceRequest", rsID(r)), "acceptAssistanceRequest")
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for _, p := range results {
			if codes := userErrorCodes(p); len(codes) == 0 {
				won++
			} else if len(codes) == 1 && codes[0] == "ALREADY_ACCEPTED" {
				lost++
			}
		}
		got := f.gql(t, c.OwnerToken, rsReadDoc, map[string]any{"id": r["id"]})
		if won != 1 || lost != 1 || wkNum(dig(got, "assistanceRequest", "version")) != 2 ||
			len(dig(got, "assistanceRequest", "timeline").([]any)) != 2 {
			t.Fatalf("round %d: %d won, %d lost; request %v", round, won, lost, got)
		}
	}
}

// The staff's open list: oldest first, paged, and a page's relations
// (vehicle, owner, store, timeline with names) load in a fixed number of
// statements however many requests it holds.
func TestRoadsideOpenList(t *testing.T) {
	f := newWorkshop(t)
	manager := f.staff(t, "manager.sz01")
	var mine []string
	ask := func(k int) {
		for range k {
			c := f.quickCar(t, "SZ01")
			r := rsOK(t, f, c.OwnerToken, "requestAssistance", rsAsk(c))
			rsOK(t, f, manager, "acceptAssistanceRequest", rsID(r))
			mine = append(mine, wkStr(r["id"]))
		}
	}
	ask(2)
	// The fewest of three reads: the loaders batch by time, so a slow
	// scheduler can split a batch (see minStatements).
	statements := func() (int64, int) {
		best, ids := int64(-1), []string(nil)
		for range 3 {
			before := f.DB.Statements()
			ids = rsOpenIDs(t, f, manager, f.sz)
			if n := f.DB.Statements() - before; best < 0 || n < best {
				best = n
			}
		}
		return best, len(ids)
	}
	few, n1 := statements()
	ask(6)
	many, n2 := statements()
	if n2 != n1+6 || many != few {
		t.Fatalf("open list: %d statements for %d requests, %d for %d", few, n1, many, n2)
	}
	t.Logf("open list of %d requests: %d statements", n2, many)

	// Oldest first, across pages; mine are the newest, in order.
	var all []string
	var after any
	for {
		res := f.gql(t, manager, rsOpenDoc, map[string]any{"s": f.sz, "first": 3, "after": after})
		conn := res["openAssistanceRequests"].(map[string]any)
		for _, e := range conn["edges"].([]any) {
			all = append(all, wkStr(dig(e, "node", "id")))
			if dig(e, "node", "store", "code") != "SZ01" || dig(e, "node", "owner", "phone") == nil {
				t.Fatalf("open list edge %v", e)
			}
		}
		if dig(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		after = dig(conn, "pageInfo", "endCursor")
	}
	if len(all) < len(mine) || strings.Join(all[len(all)-len(mine):], ",") != strings.Join(mine, ",") {
		t.Fatalf("open list order %v; want it to end with %v", all, mine)
	}
	// Every one of the caller's stores without storeId.
	if ids := rsOpenIDs(t, f, manager, nil); len(ids) != len(all) {
		t.Fatalf("without storeId: %d requests; with SZ01: %d", len(ids), len(all))
	}
	admin := rsOpenIDs(t, f, f.staff(t, "admin"), nil)
	if len(admin) <= len(all) {
		t.Fatalf("admin sees %d open requests, SZ01 alone has %d (GZ01 has a demo one)", len(admin), len(all))
	}
}

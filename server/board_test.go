package main

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// End-to-end tests of the workshop board: the GraphQL field for staff, the
// screens' REST endpoint with their tokens, masking of owner data, ETag and
// 304 polling, and a fixed statement count whatever the number of orders.

const bdBoardDoc = `query($s: ID!) { workshopBoard(storeId: $s) { store { code name } version generatedAt
	columns { status cards { orderId number status maskedPlate model ownerSurname advisorName technicianName bay
		promisedAt overdue statusChangedAt minutesInStatus } } } }`

// bdColumns are the board's columns in workflow order.
var bdColumns = []string{"CHECKED_IN", "DIAGNOSING", "IN_PROGRESS", "WAITING_PARTS", "AWAITING_APPROVAL",
	"QUALITY_CHECK", "WASHING", "READY_FOR_PICKUP", "DELIVERED"}

// bdMasked is the shape of a masked plate (粤B·***23, new energy 粤B·****23)
// or, for a car without a plate, of its VIN's tail.
var bdMasked = regexp.MustCompile(`^(\p{Han}[A-Z]·\*{3,4}[A-Z0-9\p{Han}]{2}|VIN \*{4}[A-Z0-9]{4})$`)

// bdMask is how the board must show a plate.
func bdMask(plate string) string {
	r := []rune(plate)
	return string(r[:2]) + "·" + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}

// bdCard finds an order's card on a board (GraphQL or REST JSON) and the
// status of the column it is in.
func bdCard(board any, number string) (map[string]any, string) {
	cols, _ := dig(board, "columns").([]any)
	for _, c := range cols {
		cards, _ := dig(c, "cards").([]any)
		for _, card := range cards {
			if dig(card, "number") == number {
				return card.(map[string]any), wkStr(dig(c, "status"))
			}
		}
	}
	return nil, ""
}

// bdCardCount counts a board's cards.
func bdCardCount(board any) int {
	n := 0
	cols, _ := dig(board, "columns").([]any)
	for _, c := range cols {
		cards, _ := dig(c, "cards").([]any)
		n += len(cards)
	}
	return n
}

// bdCheckBoard checks what every board must be: the nine columns in
// workflow order, each card in its status's column, longest in status
// first, masked, with the owner's surname only, and overdue and minutes in
// status as of generatedAt.
func bdCheckBoard(t testing.TB, board map[string]any) {
	t.Helper()
	cols, _ := board["columns"].([]any)
	if got := e2eStrings(cols, "status"); !slices.Equal(got, bdColumns) {
		t.Fatalf("columns %v, want %v", got, bdColumns)
	}
	gen := e2eTime(t, board["generatedAt"])
	for _, c := range cols {
		var last time.Time
		for _, card := range dig(c, "cards").([]any) {
			m := card.(map[string]any)
			if m["status"] != dig(c, "status") {
				t.Fatalf("card %v in column %v", m["number"], dig(c, "status"))
			}
			if !bdMasked.MatchString(wkStr(m["maskedPlate"])) {
				t.Fatalf("card %v: plate %q is not masked", m["number"], m["maskedPlate"])
			}
			if s := wkStr(m["ownerSurname"]); e2eHasHan(s) && utf8.RuneCountInString(s) != 1 {
				t.Fatalf("card %v: owner %q, want the surname only", m["number"], s)
			}
			if m["advisorName"] == "" || m["model"] == "" {
				t.Fatalf("card without advisor or model: %v", m)
			}
			changed := e2eTime(t, m["statusChangedAt"])
			if changed.Before(last) {
				t.Fatalf("column %v not longest-in-status first", dig(c, "status"))
			}
			last = changed
			if want := int(gen.Sub(changed) / time.Minute); wkNum(m["minutesInStatus"]) != max(want, 0) {
				t.Fatalf("card %v: %v minutes in status, want %d", m["number"], m["minutesInStatus"], want)
			}
			overdue := m["promisedAt"] != nil && e2eTime(t, m["promisedAt"]).Before(gen) &&
				m["status"] != "READY_FOR_PICKUP" && m["status"] != "DELIVERED"
			if m["overdue"] != overdue {
				t.Fatalf("card %v: overdue %v, want %v", m["number"], m["overdue"], overdue)
			}
		}
	}
}

// bdNoOwnerData checks a board's raw JSON shows no phone, full plate, VIN
// or full name.
func bdNoOwnerData(t testing.TB, raw string, secrets ...string) {
	t.Helper()
	for _, s := range append([]string{"+86", "1380000", `"phone"`, `"vin"`, `"plate"`}, secrets...) {
		if strings.Contains(raw, s) {
			t.Fatalf("board shows %q: %s", s, raw)
		}
	}
}

// 张伟's Camry (粤B6R8M2) waits for his approval at SZ01 in the demo data.
const (
	bdDemoPlate = "粤B6R8M2"
	bdDemoOwner = "张伟"
)

func TestWorkshopBoardForStaff(t *testing.T) {
	f := newWorkshop(t)
	advisor, foreman := f.staff(t, "advisor.sz01"), f.staff(t, "foreman.sz01")
	car := f.newCar(t, "")
	promised := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	o := f.open(t, advisor, f.sz, car.Plate, 500, "MAINTENANCE", map[string]any{"promisedAt": promised.Format(time.RFC3339)})
	f.ok(t, foreman, "assignRepairOrder", map[string]any{"orderId": o["id"], "technicianId": f.techID(t), "bay": "5号工位"})
	delivered := f.newCar(t, "")
	deliveredNo := f.wkDeliverVisit(t, delivered, 800, false)
	cancelled := f.open(t, advisor, f.sz, f.newCar(t, "").Plate, 100, "DETAILING", nil)
	f.move(t, advisor, wkStr(cancelled["id"]), "CANCELLED", "客户取消")

	for _, who := range []string{"advisor.sz01", "technician2.sz01", "cashier.sz01", "admin"} {
		r := f.do(t, req{Query: bdBoardDoc, Vars: map[string]any{"s": f.sz}, Token: f.staff(t, who)})
		if r.Status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("%s reads the board: %s", who, r.Raw)
		}
		b := r.Data["workshopBoard"].(map[string]any)
		if dig(b, "store", "code") != "SZ01" || b["version"] == "" {
			t.Fatalf("board: %v", b)
		}
		bdCheckBoard(t, b)
		bdNoOwnerData(t, r.Raw, bdDemoPlate, bdDemoOwner, car.Plate, car.VIN, car.Owner.Name, delivered.Plate)

		card, col := bdCard(b, wkStr(o["number"]))
		if col != "CHECKED_IN" || card["orderId"] != o["id"] || card["maskedPlate"] != bdMask(car.Plate) ||
			card["model"] != "Camry" || card["ownerSurname"] != "测" || card["advisorName"] != "李明" ||
			card["technicianName"] != "陈志强" || card["bay"] != "5号工位" || card["overdue"] != false ||
			!e2eTime(t, card["promisedAt"]).Equal(promised) {
			t.Fatalf("%s: card of %v in %q: %v", who, o["number"], col, card)
		}
		demo := false
		for _, c := range dig(b, "columns", 4, "cards").([]any) {
			if dig(c, "maskedPlate") == bdMask(bdDemoPlate) && dig(c, "ownerSurname") == "张" {
				demo = true
			}
		}
		if !demo {
			t.Fatalf("no card for 张伟's Camry awaiting approval: %v", dig(b, "columns", 4))
		}
		if _, col := bdCard(b, deliveredNo); col != "DELIVERED" {
			t.Fatalf("order delivered today in column %q", col)
		}
		if c, _ := bdCard(b, wkStr(cancelled["number"])); c != nil {
			t.Fatalf("cancelled order on the board: %v", c)
		}
	}

	// Another store's staff, owners and strangers do not read it.
	for _, c := range []struct{ token, code string }{
		{f.staff(t, "advisor.gz01"), "FORBIDDEN"},
		{f.staff(t, "manager.gz01"), "FORBIDDEN"},
		{car.OwnerToken, "FORBIDDEN"},
		{"", "UNAUTHENTICATED"},
	} {
		r := f.do(t, req{Query: bdBoardDoc, Vars: map[string]any{"s": f.sz}, Token: c.token})
		e2eWantGQLError(t, r, c.code)
		if r.Data["workshopBoard"] != nil {
			t.Fatalf("refused board with data: %s", r.Raw)
		}
	}
	// GZ01's staff read their own.
	r := f.do(t, req{Query: bdBoardDoc, Vars: map[string]any{"s": f.gz}, Token: f.staff(t, "advisor.gz01")})
	if len(r.Errors) > 0 || dig(r.Data, "workshopBoard", "store", "code") != "GZ01" {
		t.Fatalf("GZ01's board: %s", r.Raw)
	}
	bdCheckBoard(t, r.Data["workshopBoard"].(map[string]any))
}

const (
	bdIssueDoc = `mutation($in: IssueScreenTokenInput!) { issueScreenToken(input: $in) {
		token screenToken { id name store { code } createdAt revokedAt } userErrors { code field message } } }`
	bdRevokeDoc = `mutation($id: ID!) { revokeScreenToken(input: {screenTokenId: $id}) {
		screenToken { id revokedAt } userErrors { code field message } } }`
)

// bdIssue issues a screen token for a store as a manager and returns the
// bearer token and the grant's id.
func bdIssue(t testing.TB, f *wkFixture, manager, store, name string) (token, id string) {
	t.Helper()
	p := e2ePayload(t, f.do(t, req{Query: bdIssueDoc, Vars: map[string]any{"in": map[string]any{"storeId": store, "name": name}}, Token: manager}), "issueScreenToken")
	token, id = wkStr(p["token"]), wkStr(dig(p, "screenToken", "id"))
	if token == "" || id == "" || len(userErrorCodes(p)) != 0 || dig(p, "screenToken", "name") != name || dig(p, "screenToken", "revokedAt") != nil {
		t.Fatalf("issueScreenToken: %v", p)
	}
	return token, id
}

// bdGet polls a store's board over REST with a bearer token and an
// If-None-Match ("" for none).
func bdGet(t testing.TB, s *testServer, code, token, ifNoneMatch string) (*http.Response, []byte) {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	if ifNoneMatch != "" {
		hdr["If-None-Match"] = ifNoneMatch
	}
	return httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/stores/"+code+"/board", nil, hdr)
}

// bdETagVersion is the board version an ETag carries (W/"<version>-<minute>").
var bdETagPattern = regexp.MustCompile(`^W/"(\d+)-(\d+)"$`)

func bdETagVersion(t testing.TB, etag string) string {
	t.Helper()
	m := bdETagPattern.FindStringSubmatch(etag)
	if m == nil {
		t.Fatalf("ETag %q", etag)
	}
	return m[1]
}

// bdFull polls without a tag and checks the full answer: 200, JSON, ETag,
// no-cache, masked data. It returns the ETag and the board.
func bdFull(t testing.TB, s *testServer, code, token string) (string, map[string]any, string) {
	t.Helper()
	resp, raw := bdGet(t, s, code, token, "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("board %s: %d %s: %s", code, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	etag := resp.Header.Get("ETag")
	// Screens keep the ETag themselves; no cache may keep the board, which
	// names owners (by surname) and their cars.
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	b := decodeJSON(t, raw)
	if v, ok := b["version"].(string); !ok || b["storeCode"] != strings.ToUpper(code) || bdETagVersion(t, etag) != v {
		t.Fatalf("board %s with ETag %s: %s", code, etag, raw)
	}
	bdCheckBoard(t, b)
	return etag, b, string(raw)
}

// bdPoll304 polls with etag, which must still be current: 304, no body,
// at the cost of at most one statement. The ETag carries the minute (so
// that minutes in status refresh); a poll that straddles a minute boundary
// gets 200 with the same board version and is retried once with the new
// tag. It returns the tag to poll with next.
func bdPoll304(t testing.TB, s *testServer, code, token, etag string) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		before := s.DB.Statements()
		resp, raw := bdGet(t, s, code, token, etag)
		n := s.DB.Statements() - before
		switch {
		case resp.StatusCode == http.StatusNotModified:
			if len(raw) != 0 || resp.Header.Get("ETag") != etag {
				t.Fatalf("304 with body %q, ETag %q (sent %q)", raw, resp.Header.Get("ETag"), etag)
			}
			if n > 1 {
				t.Fatalf("304 took %d statements", n)
			}
			return etag
		case attempt == 0 && resp.StatusCode == http.StatusOK && bdETagVersion(t, resp.Header.Get("ETag")) == bdETagVersion(t, etag):
			etag = resp.Header.Get("ETag") // a new minute
		default:
			t.Fatalf("poll with the current ETag %s: %d (ETag %s): %s", etag, resp.StatusCode, resp.Header.Get("ETag"), raw)
		}
	}
}

// bdPollChanged polls with an ETag the board has moved past: 200 with a
// newer version. It returns the new tag and the body.
func bdPollChanged(t testing.TB, s *testServer, code, token, etag string) (string, string) {
	t.Helper()
	resp, raw := bdGet(t, s, code, token, etag)
	fresh := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || fresh == "" || bdETagVersion(t, fresh) == bdETagVersion(t, etag) {
		t.Fatalf("poll after a change with %s: %d, ETag %q: %s", etag, resp.StatusCode, fresh, raw)
	}
	return fresh, string(raw)
}

// A manager issues a screen token; the screen polls its store's board over
// REST: masked JSON with an ETag, 304 while nothing changes, a new ETag at
// once after any change to one of the store's orders and not after a
// change at another store. The token reads that board and nothing else and
// ends when revoked.
func TestBoardScreenPolling(t *testing.T) {
	f := newWorkshop(t)
	manager, advisor := f.staff(t, "manager.sz01"), f.staff(t, "advisor.sz01")

	// Only a manager of the store issues screen tokens.
	in := map[string]any{"in": map[string]any{"storeId": f.sz, "name": "1号车间大屏"}}
	for _, who := range []string{"advisor.sz01", "foreman.sz01", "manager.gz01"} {
		r := f.do(t, req{Query: bdIssueDoc, Vars: in, Token: f.staff(t, who)})
		e2eWantGQLError(t, r, "FORBIDDEN")
	}
	p := e2ePayload(t, f.do(t, req{Query: bdIssueDoc, Vars: map[string]any{"in": map[string]any{"storeId": f.sz, "name": " "}}, Token: manager}), "issueScreenToken")
	expectUserError(t, p, "INVALID_ARGUMENT")
	if p["token"] != nil || p["screenToken"] != nil {
		t.Fatalf("refused issue gave a token: %v", p)
	}
	screen, screenID := bdIssue(t, f, manager, f.sz, "1号车间大屏")
	list := f.gql(t, manager, `query($s: ID!) { screenTokens(storeId: $s) { id name store { code } revokedAt } }`, map[string]any{"s": f.sz})
	if !slices.Contains(e2eStrings(list["screenTokens"], "id"), screenID) {
		t.Fatalf("screenTokens: %v", list)
	}

	car := f.newCar(t, "")
	o := f.open(t, advisor, f.sz, car.Plate, 300, "REPAIR", nil)
	id := wkStr(o["id"])

	// The full board: masked data only.
	etag, b, raw := bdFull(t, f.testServer, "SZ01", screen)
	bdNoOwnerData(t, raw, bdDemoPlate, bdDemoOwner, car.Plate, car.VIN, car.Owner.Name, car.Owner.Phone)
	if card, col := bdCard(b, wkStr(o["number"])); col != "CHECKED_IN" || card["maskedPlate"] != bdMask(car.Plate) || card["ownerSurname"] != "测" {
		t.Fatalf("card on the screen: %v in %q", card, col)
	}
	// Unchanged: 304 at the cost of at most one statement, as often as asked.
	for range 3 {
		etag = bdPoll304(t, f.testServer, "SZ01", screen, etag)
	}
	// A list of tags, with the current one in its strong form, matches too
	// (or, across a minute boundary, the same version comes back).
	resp, _ := bdGet(t, f.testServer, "SZ01", screen, `W/"0-0", `+strings.TrimPrefix(etag, "W/"))
	if resp.StatusCode != http.StatusNotModified &&
		(resp.StatusCode != http.StatusOK || bdETagVersion(t, resp.Header.Get("ETag")) != bdETagVersion(t, etag)) {
		t.Fatalf("If-None-Match list: %d", resp.StatusCode)
	}

	// Every change to one of the store's orders changes the ETag at once.
	changes := []func(){
		func() {
			f.ok(t, advisor, "addRepairOrderItem", wkAdd(id, wkItem("LABOR", "LAB-DIAG", "电脑诊断检测", 1, 20000, false), false))
		},
		func() { f.move(t, advisor, id, "DIAGNOSING", "") },
		func() {
			f.ok(t, f.staff(t, "foreman.sz01"), "assignRepairOrder", map[string]any{"orderId": id, "technicianId": f.techID(t), "bay": "7号工位"})
		},
		func() { f.open(t, advisor, f.sz, f.quickCar(t, "SZ01").Plate, 1100, "MAINTENANCE", nil) },
	}
	for i, change := range changes {
		change()
		etag, raw = bdPollChanged(t, f.testServer, "SZ01", screen, etag)
		etag = bdPoll304(t, f.testServer, "SZ01", screen, etag)
		if i == 2 {
			b := decodeJSON(t, []byte(raw))
			if card, col := bdCard(b, wkStr(o["number"])); col != "DIAGNOSING" || card["bay"] != "7号工位" || card["technicianName"] != "陈志强" {
				t.Fatalf("card after moving and dispatching: %v in %q", card, col)
			}
		}
	}
	// A change at GZ01 leaves SZ01's board as it was.
	f.open(t, f.staff(t, "advisor.gz01"), f.gz, f.quickCar(t, "GZ01").Plate, 1100, "MAINTENANCE", nil)
	etag = bdPoll304(t, f.testServer, "SZ01", screen, etag)

	// The screen's token reads its own store's board only.
	resp, body := bdGet(t, f.testServer, "GZ01", screen, "")
	expectProblem(t, resp, body, http.StatusUnauthorized, "UNAUTHENTICATED")
	if r := f.do(t, req{Query: `{ stores(first: 1) { totalCount } }`, Token: screen}); r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("screen token on /graphql: %d %s", r.Status, r.Raw)
	}
	if r := f.do(t, req{Query: bdBoardDoc, Vars: map[string]any{"s": f.sz}, Token: screen}); r.Status != http.StatusUnauthorized {
		t.Fatalf("screen token reading the board over GraphQL: %d %s", r.Status, r.Raw)
	}

	// Revoked: the next poll is refused, with or without a tag. Only a
	// manager of the store revokes; revoking twice changes nothing.
	e2eWantGQLError(t, f.do(t, req{Query: bdRevokeDoc, Vars: map[string]any{"id": screenID}, Token: f.staff(t, "manager.gz01")}), "NOT_FOUND")
	e2eWantGQLError(t, f.do(t, req{Query: bdRevokeDoc, Vars: map[string]any{"id": screenID}, Token: advisor}), "FORBIDDEN")
	if resp, _ := bdGet(t, f.testServer, "SZ01", screen, etag); resp.StatusCode != http.StatusNotModified && resp.StatusCode != http.StatusOK {
		t.Fatalf("refused revocations ended the token: %d", resp.StatusCode)
	}
	rv := f.gql(t, manager, bdRevokeDoc, map[string]any{"id": screenID})
	revokedAt := dig(rv, "revokeScreenToken", "screenToken", "revokedAt")
	if revokedAt == nil || len(userErrorCodes(rv["revokeScreenToken"])) != 0 {
		t.Fatalf("revoke: %v", rv)
	}
	if again := f.gql(t, manager, bdRevokeDoc, map[string]any{"id": screenID}); dig(again, "revokeScreenToken", "screenToken", "revokedAt") != revokedAt {
		t.Fatalf("revoking again: %v", again)
	}
	for _, tag := range []string{etag, ""} {
		resp, body := bdGet(t, f.testServer, "SZ01", screen, tag)
		expectProblem(t, resp, body, http.StatusUnauthorized, "UNAUTHENTICATED")
	}
	// Other screens of the store go on.
	other, _ := bdIssue(t, f, manager, f.sz, "前台电视")
	bdFull(t, f.testServer, "SZ01", other)
}

// Who may poll the REST board: the store's screens and staff; not another
// store's staff, owners, bad tokens or nobody; an unknown store is 404.
func TestBoardRESTAccess(t *testing.T) {
	f := newWorkshop(t)
	car := f.newCar(t, "")
	etag, _, raw := bdFull(t, f.testServer, "SZ01", f.staff(t, "technician1.sz01"))
	bdNoOwnerData(t, raw, bdDemoPlate, bdDemoOwner)
	bdPoll304(t, f.testServer, "SZ01", f.staff(t, "advisor.sz01"), etag)
	bdFull(t, f.testServer, "GZ01", f.staff(t, "admin"))
	bdFull(t, f.testServer, "sz01", f.staff(t, "admin")) // codes are case-insensitive

	for _, c := range []struct {
		name, code, token string
		status            int
		problem           string
	}{
		{"staff of GZ01", "SZ01", f.staff(t, "advisor.gz01"), http.StatusForbidden, "FORBIDDEN"},
		{"owner", "SZ01", car.OwnerToken, http.StatusForbidden, "FORBIDDEN"},
		{"no token", "SZ01", "", http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"bad token", "SZ01", e2eFlip(f.staff(t, "advisor.sz01")), http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"unknown store", "XX99", f.staff(t, "advisor.sz01"), http.StatusNotFound, "NOT_FOUND"},
	} {
		resp, body := bdGet(t, f.testServer, c.code, c.token, "")
		p := expectProblem(t, resp, body, c.status, c.problem)
		if c.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate: %v", c.name, resp.Header)
		}
		if strings.Contains(string(body), "cards") || p["columns"] != nil {
			t.Errorf("%s: refusal shows the board: %s", c.name, body)
		}
	}
	// Not a board of the other store's with a tag either.
	resp, body := bdGet(t, f.testServer, "SZ01", f.staff(t, "advisor.gz01"), etag)
	expectProblem(t, resp, body, http.StatusForbidden, "FORBIDDEN")
}

// The board takes a fixed number of statements: the same for the demo
// store as after ten more orders there, over REST and over GraphQL.
func TestBoardStatementsFixed(t *testing.T) {
	f := newWorkshop(t)
	advisor := f.staff(t, "advisor.sz01")
	restCount := func() (int64, int) {
		bdFull(t, f.testServer, "SZ01", advisor) // the store's code is resolved once
		before := f.DB.Statements()
		_, b, _ := bdFull(t, f.testServer, "SZ01", advisor)
		return f.DB.Statements() - before, bdCardCount(b)
	}
	gqlCount := func() (int64, int) {
		n, d := minStatements(t, f.testServer, advisor, bdBoardDoc, map[string]any{"s": f.sz})
		return n, bdCardCount(d["workshopBoard"])
	}
	rest0, cards0 := restCount()
	gql0, gcards0 := gqlCount()
	for i := range 10 {
		f.open(t, advisor, f.sz, f.quickCar(t, "SZ01").Plate, 1200+i, "MAINTENANCE", nil,
			wkItem("PART", "OIL-0W20", "机油", 4, 9800, false))
	}
	rest1, cards1 := restCount()
	gql1, gcards1 := gqlCount()
	t.Logf("REST: %d statements for %d cards, %d for %d; GraphQL: %d for %d, %d for %d", rest0, cards0, rest1, cards1, gql0, gcards0, gql1, gcards1)
	if cards1 != cards0+10 || gcards1 != gcards0+10 {
		t.Fatalf("cards: %d then %d (REST), %d then %d (GraphQL)", cards0, cards1, gcards0, gcards1)
	}
	if rest1 != rest0 || gql1 != gql0 {
		t.Fatalf("the board's statements grew with its orders: REST %d -> %d, GraphQL %d -> %d", rest0, rest1, gql0, gql1)
	}
}

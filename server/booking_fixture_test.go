package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// End-to-end tests of maintenance booking
// through the real server: owners list free slots, book, move and cancel
// their appointments; staff book for owners, read a day's schedule, record
// arrivals (which open the repair order) and no-shows, read the daily
// figures and change the store's calendar; every refusal with its code; who
// may act on what; the no-overbooking invariant under concurrency (also
// across two server instances on one PostgreSQL); idempotent retries; the
// statements the read screens take; and the store's time zone at midnight.
// The tests are split by behaviour over the booking_*_test.go files; this
// one holds what they share.
//
// Every test books at a store of its own (newBooking): SZ01's week (opening
// hours, slot length, bays, seats per kind) without its bookings or date
// overrides, with a manager, an advisor, a CRM and a technician of its own,
// removed with everything booked there when the test ends. So no test meets
// another's bookings, date overrides or calendar changes, and most run in
// parallel; those that count the shared database's statements do not. Owners
// and cars are new in every test. Dates are store-local (Asia/Shanghai); the
// tests never rely on today having a slot left, and those about "too late",
// "started" and reminders move the booking service's clock (or the job's)
// instead of waiting.

const (
	// bkAhead is how many days ahead the tests book by default: inside the
	// booking window, with room for the days after.
	bkAhead = 20

	bkKind = "DETAILING"
)

const (
	bkApptFields = `id status source kind note slotStart slotEnd createdAt store { code } vehicle { id plate } repairOrder { id }`
	bkSlotsDoc   = `query($s: ID!, $k: RepairOrderKind!, $from: Date!, $to: Date!) {
		availableSlots(storeId: $s, kind: $k, from: $from, to: $to) { start end seatsLeft } }`
	bkCalendarFields = `slotMinutes openingHours { weekday opens closes } seats { kind seats } overrides { date kind closed seats note }`
	bkCalendarDoc    = `query($s: ID!) { storeCalendar(storeId: $s) { ` + bkCalendarFields + ` } }`
	bkScheduleDoc    = `query($s: ID!, $d: Date!) { appointments(storeId: $s, date: $d) { date closed slots { start end kind seats booked
		appointments { id status source kind note slotStart slotEnd store { code } owner { id name phone } vehicle { id plate vin } repairOrder { id } } } } }`
	bkScheduleNoOwnerDoc = `query($s: ID!, $d: Date!) { appointments(storeId: $s, date: $d) { date slots { start kind booked
		appointments { id status note vehicle { plate } } } } }`
	bkStatsDoc = `query($s: ID!, $from: Date!, $to: Date!) { bookingStats(storeId: $s, from: $from, to: $to) {
		date booked arrived noShow cancelled } }`
	bkMineDoc = `query($st: AppointmentStatus) { me { appointments(first: 50, status: $st) {
		edges { cursor node { ` + bkApptFields + ` owner { id } } } pageInfo { hasNextPage } } } }`
	bkNodeDoc = `query($id: ID!) { node(id: $id) { __typename ... on Appointment { id status slotStart repairOrder { id } } } }`
)

// bkDocs are the booking mutations, each selecting everything its payload has.
var bkDocs = map[string]string{
	"bookAppointment": `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"rescheduleAppointment": `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"cancelAppointment": `mutation($in: AppointmentInput!) { cancelAppointment(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"markNoShow": `mutation($in: AppointmentInput!) { markNoShow(input: $in) {
		appointment { ` + bkApptFields + ` } userErrors { code field message } } }`,
	"markArrived": `mutation($in: MarkArrivedInput!) { markArrived(input: $in) {
		appointment { ` + bkApptFields + ` }
		repairOrder { id number status kind concern mileageIn store { code } vehicle { id vin } }
		userErrors { code field message } } }`,
	"setStoreCalendar": `mutation($in: SetStoreCalendarInput!) { setStoreCalendar(input: $in) {
		calendar { ` + bkCalendarFields + ` } conflicts { id status slotStart kind } userErrors { code field message } } }`,
	"setCalendarOverride": `mutation($in: SetCalendarOverrideInput!) { setCalendarOverride(input: $in) {
		calendar { ` + bkCalendarFields + ` } conflicts { id status slotStart kind } userErrors { code field message } } }`,
}

// bkFixture is a workshop fixture whose booking clock can be moved, with a
// store of the test's own.
type bkFixture struct {
	*wkFixture
	*bkStore
	offset atomic.Int64 // of the booking clock, in nanoseconds
}

// newBooking starts a server and adds a store for the test (newBkStoreLikeSZ01).
func newBooking(t *testing.T, tweak ...func(*Config, *Deps)) *bkFixture {
	t.Helper()
	f := newBookingServer(t, tweak...)
	f.bkStore = newBkStoreLikeSZ01(t, f.testServer)
	return f
}

// newBookingServer starts a server without a store of its own: set bkStore
// before booking (two instances share one).
func newBookingServer(t *testing.T, tweak ...func(*Config, *Deps)) *bkFixture {
	t.Helper()
	f := &bkFixture{wkFixture: newWorkshop(t, tweak...)}
	// Set before the first booking request: from then on only the offset
	// changes.
	f.App.Booking.Clock = func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	return f
}

// bkStore is a store added for one test, with staff of its own.
type bkStore struct {
	store   string    // global id
	storeID uuid.UUID // key
	code    string
	// Access tokens of the store's staff.
	manager, advisor, crm, tech string
}

// newBkStoreLikeSZ01 adds a store with SZ01's week: its opening hours, slot
// length, bays and seats per kind, none of its bookings or date overrides.
func newBkStoreLikeSZ01(t *testing.T, s *testServer) *bkStore {
	t.Helper()
	ctx := context.Background()
	var sz models.Store
	if err := s.DB.Conn(ctx).Preload("Hours").Where("code = ?", "SZ01").Take(&sz).Error; err != nil {
		t.Fatal(err)
	}
	st := bkStoreRow(sz.ServiceBays, sz.SlotMinutes)
	for _, h := range sz.Hours {
		st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: h.Weekday, Opens: h.Opens, Closes: h.Closes})
	}
	b := addBkStore(t, s, st)
	if err := s.DB.Conn(ctx).Exec(`INSERT INTO slot_capacities (store_id, kind, seats) SELECT ?, kind, seats FROM slot_capacities WHERE store_id = ?`,
		st.ID, sz.ID).Error; err != nil {
		t.Fatal(err)
	}
	return b
}

// bkStoreRow is a new store in Asia/Shanghai (no hours yet).
func bkStoreRow(bays, slotMinutes int) *models.Store {
	now := testdb.Now()
	return &models.Store{ID: models.NewID(), Code: fmt.Sprintf("BK%d", e2eNext()%100000), Name: "预约测试店", City: "深圳",
		Timezone: "Asia/Shanghai", ServiceBays: bays, SlotMinutes: slotMinutes, CreatedAt: now, UpdatedAt: now}
}

// addBkStore inserts st (with its hours) and staff of its own, and removes
// the store with its bookings, calendar and repair orders when the test
// ends (other tests count the demo stores).
func addBkStore(t *testing.T, s *testServer, st *models.Store) *bkStore {
	t.Helper()
	ctx := context.Background()
	if err := s.DB.Conn(ctx).Create(st).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn := s.DB.Conn(ctx)
		orders := `order_id IN (SELECT id FROM repair_orders WHERE store_id = ?)`
		for _, where := range []string{
			"appointments WHERE store_id = ?",
			"repair_order_items WHERE " + orders, "repair_order_events WHERE " + orders, "repair_order_payments WHERE " + orders,
			"repair_orders WHERE store_id = ?", "repair_order_sequences WHERE store_id = ?", "store_boards WHERE store_id = ?",
			"slot_bookings WHERE store_id = ?", "calendar_overrides WHERE store_id = ?", "slot_capacities WHERE store_id = ?",
			"staff_stores WHERE store_id = ?", "store_hours WHERE store_id = ?", "stores WHERE id = ?",
		} {
			if err := conn.Exec("DELETE FROM "+where, st.ID).Error; err != nil {
				t.Error(err)
			}
		}
	})
	staff := func(role string) string {
		return e2eStaffToken(t, s, e2eInsertStaff(t, s, "bk-store-pass", true, []string{st.Code}, role))
	}
	return &bkStore{store: e2eGlobalID("Store", st.ID), storeID: st.ID, code: st.Code,
		manager: staff("MANAGER"), advisor: staff("ADVISOR"), crm: staff("CRM"), tech: staff("TECHNICIAN")}
}

// newStore adds a second store for a test (Asia/Shanghai, 2 bays, 60-minute
// slots, open every day from opens to closes, seats by its bays). It returns
// the store's global id and its manager's token.
func (f *bkFixture) newStore(t *testing.T, opens, closes string) (string, string) {
	t.Helper()
	st := bkStoreRow(2, 60)
	for wd := range 7 {
		st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: wd, Opens: opens, Closes: closes})
	}
	b := addBkStore(t, f.testServer, st)
	return b.store, b.manager
}

// bkOrderNumber is the shape of the readable number of an order the test's
// store opened.
func (f *bkFixture) bkOrderNumber() *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(f.code) + `-\d{8}-\d{3,}$`)
}

// setClock moves the booking clock so that it reads at (zero: the real time).
func (f *bkFixture) setClock(at time.Time) {
	if at.IsZero() {
		f.offset.Store(0)
		return
	}
	f.offset.Store(int64(time.Until(at)))
}

// bkDay is the store-local date n days from today.
func bkDay(n int) models.Date { return testdb.Today().AddDate(0, 0, n) }

// bkShanghai is the demo stores' zone.
var bkShanghai = models.ChinaTime

// bkSlot is a slot as availableSlots gives it.
type bkSlot struct {
	Start, End time.Time
	SeatsLeft  int
}

func bkTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("not a DateTime: %v", v)
	}
	return at
}

func bkTS(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

func bkSlotsOf(t testing.TB, list any) []bkSlot {
	t.Helper()
	items, ok := list.([]any)
	if !ok {
		t.Fatalf("availableSlots is not a list: %v", list)
	}
	out := make([]bkSlot, len(items))
	for i, it := range items {
		n, ok := dig(it, "seatsLeft").(float64)
		if !ok {
			t.Fatalf("slot without seatsLeft: %v", it)
		}
		out[i] = bkSlot{Start: bkTime(t, dig(it, "start")), End: bkTime(t, dig(it, "end")), SeatsLeft: int(n)}
	}
	return out
}

// slots reads availableSlots of a store (global id) from..to, publicly.
func (f *bkFixture) slots(t testing.TB, store, kind string, from, to models.Date) []bkSlot {
	t.Helper()
	d := f.gql(t, "", bkSlotsDoc, map[string]any{"s": store, "k": kind, "from": from.String(), "to": to.String()})
	return bkSlotsOf(t, d["availableSlots"])
}

// daySlots are the test store's slots of kind on day; the day must have
// some.
func (f *bkFixture) daySlots(t testing.TB, kind string, day models.Date) []bkSlot {
	t.Helper()
	s := f.slots(t, f.store, kind, day, day)
	if len(s) < 4 {
		t.Fatalf("%s has only %d %s slots on %s", f.code, len(s), kind, day)
	}
	return s
}

// seatsLeft is what availableSlots says is left of the test store's slot starting
// at start; -1 when it is not listed.
func (f *bkFixture) seatsLeft(t testing.TB, kind string, start time.Time) int {
	t.Helper()
	day := models.DateOf(start.In(bkShanghai))
	for _, s := range f.slots(t, f.store, kind, day, day) {
		if s.Start.Equal(start) {
			return s.SeatsLeft
		}
	}
	return -1
}

// call sends a booking mutation with its input.
func (f *bkFixture) call(t testing.TB, token, field string, input map[string]any) *gqlResponse {
	t.Helper()
	doc, ok := bkDocs[field]
	if !ok {
		t.Fatalf("no document for %s", field)
	}
	return f.do(t, req{Query: doc, Vars: map[string]any{"in": input}, Token: token})
}

// ok runs a mutation that must be accepted and returns its payload.
func (f *bkFixture) ok(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if codes := userErrorCodes(p); len(codes) != 0 {
		t.Fatalf("%s(%v) refused: %v", field, input, p)
	}
	return p
}

// appt runs an appointment mutation that must be accepted and returns the
// appointment.
func (f *bkFixture) appt(t testing.TB, token, field string, input map[string]any) map[string]any {
	t.Helper()
	a, _ := f.ok(t, token, field, input)["appointment"].(map[string]any)
	if a == nil {
		t.Fatalf("%s(%v) accepted without an appointment", field, input)
	}
	return a
}

// refused runs a mutation that must be refused with code as a userError
// (on the input field when given), with no result.
func (f *bkFixture) refused(t testing.TB, token, field string, input map[string]any, code string, on ...string) map[string]any {
	t.Helper()
	p := e2ePayload(t, f.call(t, token, field, input), field)
	if len(on) > 0 {
		e2eWantUserError(t, p, code, append([]string{"input"}, on...)...)
	} else {
		expectUserError(t, p, code)
	}
	if m, _ := dig(p, "userErrors", 0, "message").(string); m == "" {
		t.Fatalf("%s: userError %s without a message", field, code)
	}
	for _, k := range []string{"appointment", "repairOrder", "calendar"} {
		if p[k] != nil {
			t.Fatalf("%s refused with %s but returned %s: %v", field, code, k, p)
		}
	}
	return p
}

// denied runs a mutation the API must deny with a GraphQL error code.
func (f *bkFixture) denied(t testing.TB, token, field string, input map[string]any, code string) {
	t.Helper()
	r := f.call(t, token, field, input)
	e2eWantGQLError(t, r, code)
	if dig(r.Data, field) != nil {
		t.Fatalf("%s denied with %s but answered %v", field, code, r.Data)
	}
}

// dayWithSeats gives kind seats per slot on the day the tests book on, and
// returns the day and its slots of kind.
func (f *bkFixture) dayWithSeats(t *testing.T, kind string, seats int) (models.Date, []bkSlot) {
	t.Helper()
	day := bkDay(bkAhead)
	f.setDaySeats(t, day, kind, seats)
	return day, f.daySlots(t, kind, day)
}

// bookIn is a bookAppointment input at the test's store.
func (f *bkFixture) bookIn(car wkCar, kind string, start time.Time, extra map[string]any) map[string]any {
	in := map[string]any{"storeId": f.store, "vehicleId": car.ID, "kind": kind, "slotStart": bkTS(start)}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// book books start for an owner's own car, which must be accepted.
func (f *bkFixture) book(t testing.TB, car wkCar, kind string, start time.Time) map[string]any {
	t.Helper()
	return f.appt(t, car.OwnerToken, "bookAppointment", f.bookIn(car, kind, start, nil))
}

func bkID(in map[string]any) map[string]any { return map[string]any{"appointmentId": in["id"]} }

func bkMove(id any, start time.Time) map[string]any {
	return map[string]any{"appointmentId": id, "slotStart": bkTS(start)}
}

// setDaySeats gives kind seats per slot on day at the test's store (a date
// override by the manager), which must be accepted.
func (f *bkFixture) setDaySeats(t testing.TB, day models.Date, kind string, seats int) {
	t.Helper()
	f.ok(t, f.manager, "setCalendarOverride",
		map[string]any{"storeId": f.store, "date": day.String(), "kind": kind, "seats": seats, "note": "e2e booking test"})
}

// bkCounts reads a slot's counter and its BOOKED appointments straight from
// the database.
func bkCounts(t testing.TB, db *models.DB, store uuid.UUID, kind string, start time.Time) (counter, booked int64) {
	t.Helper()
	conn := db.Conn(context.Background())
	var c []int64
	if err := conn.Raw(`SELECT booked FROM slot_bookings WHERE store_id = ? AND kind = ? AND slot_start = ?`,
		store, kind, start.UTC()).Scan(&c).Error; err != nil {
		t.Fatal(err)
	}
	if len(c) == 1 {
		counter = c[0]
	}
	if err := conn.Raw(`SELECT COUNT(*) FROM appointments WHERE store_id = ? AND kind = ? AND slot_start = ? AND status = 'BOOKED'`,
		store, kind, start.UTC()).Scan(&booked).Error; err != nil {
		t.Fatal(err)
	}
	return counter, booked
}

// bkWantCounts checks a slot's counter equals its BOOKED appointments and is n.
func bkWantCounts(t testing.TB, db *models.DB, store uuid.UUID, kind string, start time.Time, n int64) {
	t.Helper()
	counter, booked := bkCounts(t, db, store, kind, start)
	if counter != booked || booked != n {
		t.Fatalf("slot %s %s: counter %d, BOOKED appointments %d, want %d", kind, start.In(bkShanghai), counter, booked, n)
	}
}

// bkStored reads an appointment's status and slot from the database.
func bkStored(t testing.TB, db *models.DB, gid any) (status string, start time.Time) {
	t.Helper()
	_, id, ok := bkParseID(gid)
	if !ok {
		t.Fatalf("not an appointment id: %v", gid)
	}
	var row struct {
		Status    string
		SlotStart time.Time
	}
	if err := db.Conn(context.Background()).Raw(`SELECT status, slot_start FROM appointments WHERE id = ?`, id).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.Status, row.SlotStart.UTC()
}

// bkParseID decodes a global id (the tests need the key for SQL).
func bkParseID(gid any) (string, uuid.UUID, bool) {
	s, _ := gid.(string)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", uuid.Nil, false
	}
	typ, key, ok := strings.Cut(string(raw), ":")
	id, err := uuid.Parse(key)
	return typ, id, ok && err == nil
}

// mine lists the owner's appointments (me.appointments), optionally of one
// status.
func (f *bkFixture) mine(t testing.TB, token string, status string) []map[string]any {
	t.Helper()
	vars := map[string]any{}
	if status != "" {
		vars["st"] = status
	}
	edges, _ := dig(f.gql(t, token, bkMineDoc, vars), "me", "appointments", "edges").([]any)
	out := make([]map[string]any, len(edges))
	for i, e := range edges {
		out[i], _ = dig(e, "node").(map[string]any)
	}
	return out
}

func bkIDs(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i], _ = a["id"].(string)
	}
	return out
}

// schedule reads the test store's day as token's holder.
func (f *bkFixture) schedule(t testing.TB, token string, day models.Date) map[string]any {
	t.Helper()
	d, _ := f.gql(t, token, bkScheduleDoc, map[string]any{"s": f.store, "d": day.String()})["appointments"].(map[string]any)
	return d
}

// bkScheduled finds an appointment on a schedule: its slot and itself.
func bkScheduled(day map[string]any, id string) (slot, appt map[string]any) {
	slots, _ := dig(day, "slots").([]any)
	for _, s := range slots {
		list, _ := dig(s, "appointments").([]any)
		for _, a := range list {
			if dig(a, "id") == id {
				return s.(map[string]any), a.(map[string]any)
			}
		}
	}
	return nil, nil
}

// stats reads the test store's bookingStats of one day as the manager.
func (f *bkFixture) stats(t testing.TB, day models.Date) map[string]int {
	t.Helper()
	d := f.gql(t, f.manager, bkStatsDoc, map[string]any{"s": f.store, "from": day.String(), "to": day.String()})
	list, _ := d["bookingStats"].([]any)
	if len(list) != 1 || dig(list, 0, "date") != day.String() {
		t.Fatalf("bookingStats of %s: %v", day, d)
	}
	out := map[string]int{}
	for _, k := range []string{"booked", "arrived", "noShow", "cancelled"} {
		n, _ := dig(list, 0, k).(float64)
		out[k] = int(n)
	}
	return out
}

// bkClock reads an "HH:MM" as minutes after midnight.
func bkClock(t testing.TB, v any) int {
	t.Helper()
	s, _ := v.(string)
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil {
		t.Fatalf("not HH:MM: %v", v)
	}
	return h*60 + m
}

// bkHasOverride reports whether a calendar's overrides hold one of day for
// kind (nil: the whole day).
func bkHasOverride(list any, day models.Date, kind *string, closed bool) bool {
	items, _ := list.([]any)
	for _, o := range items {
		k, _ := dig(o, "kind").(string)
		if dig(o, "date") == day.String() && dig(o, "closed") == closed && ((kind == nil && dig(o, "kind") == nil) || (kind != nil && k == *kind)) {
			return true
		}
	}
	return false
}

// bkAppointmentRow is the appointments table, for counting rows.
type bkAppointmentRow struct{}

func (bkAppointmentRow) TableName() string { return "appointments" }

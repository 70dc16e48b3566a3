package booking_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/directory"
)

func TestDefaultSeats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		bays int
		kind string
		want int
	}{
		{8, "MAINTENANCE", 4}, {8, "REPAIR", 2}, {8, "WARRANTY", 1}, {8, "DETAILING", 1},
		{6, "MAINTENANCE", 3}, {6, "REPAIR", 1}, {3, "REPAIR", 1}, {1, "MAINTENANCE", 1},
		{1, "BODY_PAINT", 1}, {0, "MAINTENANCE", 0}, {0, "ACCIDENT", 0}, {-1, "REPAIR", 0},
	}
	for _, tc := range cases {
		if got := booking.DefaultSeats(tc.bays, tc.kind); got != tc.want {
			t.Errorf("DefaultSeats(%d, %s) = %d; want %d", tc.bays, tc.kind, got, tc.want)
		}
	}
}

func TestCalendarDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withBays(8))
	cal, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	if cal.StoreID != e.store.ID || cal.SlotMinutes != 60 || len(cal.Hours) != 6 || cal.Hours[0].Weekday != 1 ||
		cal.Hours[0].Opens != "09:00" || cal.Hours[0].Closes != "18:00" || len(cal.Overrides) != 0 {
		t.Fatalf("calendar %+v", cal)
	}
	want := []booking.SeatsInput{{"MAINTENANCE", 4}, {"REPAIR", 2}, {"WARRANTY", 1}, {"ACCIDENT", 1}, {"BODY_PAINT", 1}, {"DETAILING", 1}}
	if len(cal.Seats) != len(want) {
		t.Fatalf("seats %v", cal.Seats)
	}
	for i := range want {
		if cal.Seats[i] != want[i] {
			t.Fatalf("seats %v; want %v", cal.Seats, want)
		}
	}
	if _, err := e.svc.Calendar(e.ctx, models.NewID()); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown store: %v", err)
	}
}

// week is opening hours for all seven days: Sunday closed, the others
// opens-closes.
func week(opens, closes string) []booking.HoursInput {
	out := []booking.HoursInput{{Weekday: 0, Closed: true}}
	for wd := 1; wd <= 6; wd++ {
		out = append(out, booking.HoursInput{Weekday: wd, Opens: opens, Closes: closes})
	}
	return out
}

func TestSetCalendar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hours := week("08:30", "20:00")
	hours[6] = booking.HoursInput{Weekday: 6, Closed: true} // Saturday closed
	ch, err := e.svc.SetCalendar(e.ctx, e.who("manager"), booking.CalendarInput{
		StoreID: e.store.ID, SlotMinutes: ptr(90), Hours: hours,
		Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 6}, {Kind: "DETAILING", Seats: 0}},
	})
	must(t, err)
	cal := ch.Calendar
	if cal.SlotMinutes != 90 || len(cal.Hours) != 5 || cal.Hours[0].Opens != "08:30" || cal.Hours[4].Weekday != 5 || len(ch.Conflicts) != 0 {
		t.Fatalf("calendar %+v", ch)
	}
	if cal.Seats[0] != (booking.SeatsInput{Kind: "MAINTENANCE", Seats: 6}) || cal.Seats[1].Seats != 1 || cal.Seats[5].Seats != 0 {
		t.Fatalf("seats %v", cal.Seats)
	}
	// What is stored is what Calendar reads, and the store's own row says it.
	again, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	if again.SlotMinutes != 90 || len(again.Hours) != 5 || again.Seats[0].Seats != 6 {
		t.Fatalf("re-read %+v", again)
	}
	st, err := (&directory.Service{DB: e.db}).Store(e.ctx, e.store.ID)
	must(t, err)
	if st.SlotMinutes != 90 || len(st.Hours) != 5 || st.Hours[0].Opens != "08:30" {
		t.Fatalf("store %+v", st)
	}
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(1), e.day(1))
	must(t, err)
	if got := starts(e, slots, "15:04"); !equal(got, []string{"08:30", "10:00", "11:30", "13:00", "14:30", "16:00", "17:30"}) || slots[0].SeatsLeft != 6 {
		t.Fatalf("slots %v", got)
	}
	// Nil parts stay; the group admin manages every store.
	ch, err = e.svc.SetCalendar(e.ctx, e.who("admin"), booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "REPAIR", Seats: 3}}})
	must(t, err)
	if ch.Calendar.SlotMinutes != 90 || len(ch.Calendar.Hours) != 5 || ch.Calendar.Seats[0].Seats != 6 || ch.Calendar.Seats[1].Seats != 3 {
		t.Fatalf("calendar %+v", ch.Calendar)
	}
}

func TestSetCalendarRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.who("manager")
	bad := func(mod func(*booking.CalendarInput)) booking.CalendarInput {
		in := booking.CalendarInput{StoreID: e.store.ID, Hours: week("09:00", "18:00")}
		mod(&in)
		return in
	}
	cases := []struct {
		name  string
		in    booking.CalendarInput
		field string
	}{
		{"slot too short", bad(func(in *booking.CalendarInput) { in.SlotMinutes = ptr(14) }), "slotMinutes"},
		{"slot too long", bad(func(in *booking.CalendarInput) { in.SlotMinutes = ptr(241) }), "slotMinutes"},
		{"six days", bad(func(in *booking.CalendarInput) { in.Hours = in.Hours[:6] }), "openingHours"},
		{"weekday twice", bad(func(in *booking.CalendarInput) { in.Hours[2].Weekday = 1 }), "openingHours[2].weekday"},
		{"weekday 7", bad(func(in *booking.CalendarInput) { in.Hours[2].Weekday = 7 }), "openingHours[2].weekday"},
		{"opens 9:00", bad(func(in *booking.CalendarInput) { in.Hours[1].Opens = "9:00" }), "openingHours[1].opens"},
		{"opens 24:00", bad(func(in *booking.CalendarInput) { in.Hours[1].Opens = "24:00" }), "openingHours[1].opens"},
		{"closes 24:01", bad(func(in *booking.CalendarInput) { in.Hours[1].Closes = "24:01" }), "openingHours[1].closes"},
		{"closes 18:60", bad(func(in *booking.CalendarInput) { in.Hours[1].Closes = "18:60" }), "openingHours[1].closes"},
		{"closes before opens", bad(func(in *booking.CalendarInput) { in.Hours[3].Closes = "08:00" }), "openingHours[3].closes"},
		{"closes at opening", bad(func(in *booking.CalendarInput) { in.Hours[3].Closes = "09:00" }), "openingHours[3].closes"},
		{"shorter than a slot", bad(func(in *booking.CalendarInput) { in.Hours[4].Closes = "09:30" }), "openingHours[4].closes"},
		{"unknown kind", bad(func(in *booking.CalendarInput) { in.Seats = []booking.SeatsInput{{Kind: "TYRES", Seats: 1}} }), "seats[0].kind"},
		{"kind twice", bad(func(in *booking.CalendarInput) {
			in.Seats = []booking.SeatsInput{{Kind: "REPAIR", Seats: 1}, {Kind: "REPAIR", Seats: 2}}
		}), "seats[1].kind"},
		{"negative seats", bad(func(in *booking.CalendarInput) { in.Seats = []booking.SeatsInput{{Kind: "REPAIR", Seats: -1}} }), "seats[0].seats"},
		{"101 seats", bad(func(in *booking.CalendarInput) { in.Seats = []booking.SeatsInput{{Kind: "REPAIR", Seats: 101}} }), "seats[0].seats"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.SetCalendar(e.ctx, m, tc.in)
			wantCode(t, err, models.CodeInvalidArgument, tc.field)
		})
	}
	// A slot length no open day fits is refused on slotMinutes.
	_, err := e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Hours: week("09:00", "11:00"), SlotMinutes: ptr(180)})
	wantCode(t, err, models.CodeInvalidArgument, "openingHours[1].closes")
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Hours: week("09:00", "11:00")})
	must(t, err)
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(180)})
	wantCode(t, err, models.CodeInvalidArgument, "slotMinutes")

	// Who may: the store's MANAGER and GROUP_ADMIN.
	in := booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(30)}
	for _, p := range []*auth.Principal{e.who("advisor"), e.who("crm"), e.who("manager.sz01"), e.customer().p,
		{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.store.ID}}} {
		_, err := e.svc.SetCalendar(e.ctx, p, in)
		wantCode(t, err, models.CodeForbidden, "")
	}
	if _, err := e.svc.SetCalendar(e.ctx, nil, in); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	cal, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	if cal.SlotMinutes != 60 || cal.Hours[0].Closes != "11:00" {
		t.Fatalf("refusals changed the calendar: %+v", cal)
	}
}

// Lowering seats below what is booked in a future slot is refused with the
// number that would not fit, or, forced, applied with those bookings
// listed: still BOOKED, still counted, and no one else gets in.
func TestCapacityBelowBookings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.who("manager")
	tue10, wed10 := e.at(1, "10:00"), e.at(2, "10:00")
	first := e.book(e.customer(), tue10)
	second := e.book(e.customer(), tue10)
	e.book(e.customer(), wed10)
	// Today's 10:00 was booked and is over: past slots do not count.
	past := e.book(e.customer(), e.at(0, "10:00"))
	e.clock.Set(e.at(0, "11:30"))
	_ = past

	lower := booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 1}}}
	_, err := e.svc.SetCalendar(e.ctx, m, lower)
	wantCode(t, err, booking.CodeCapacityBelowBookings, "")
	if me, _ := models.AsError(err); !strings.Contains(me.Message("en"), "1 existing") || !strings.Contains(me.Message("zh"), "1 个") {
		t.Fatalf("message %q / %q lacks the number", me.Message("en"), me.Message("zh"))
	}
	cal, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	if cal.Seats[0].Seats != 2 {
		t.Fatalf("refused change applied: %v", cal.Seats)
	}
	// To 0: three would not fit.
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 0}}})
	if me, _ := models.AsError(err); me == nil || me.Code != booking.CodeCapacityBelowBookings || !strings.Contains(me.Message("en"), "3 existing") {
		t.Fatalf("lowering to 0: %v", err)
	}

	lower.Force = true
	ch, err := e.svc.SetCalendar(e.ctx, m, lower)
	must(t, err)
	if ch.Calendar.Seats[0].Seats != 1 || len(ch.Conflicts) != 1 || ch.Conflicts[0].ID != second.ID || ch.Conflicts[0].Status != booking.Booked {
		t.Fatalf("forced change: seats %v, conflicts %+v; want the later booking %s", ch.Calendar.Seats, ch.Conflicts, second.ID)
	}
	if n := e.taken("MAINTENANCE", tue10); n != 2 {
		t.Fatalf("counter %d; want the 2 still booked", n)
	}
	c := e.customer()
	_, err = e.svc.Book(e.ctx, c.p, e.in(c, tue10))
	wantCode(t, err, booking.CodeSlotFull, "slotStart")
	// Staff move the conflict; then the slot is exactly full.
	if _, err := e.svc.Reschedule(e.ctx, e.who("advisor"), second.ID, e.at(1, "11:00"), ""); err != nil {
		t.Fatal(err)
	}
	if n := e.taken("MAINTENANCE", tue10); n != 1 || e.reload(first).Status != booking.Booked {
		t.Fatalf("counter %d after the move", n)
	}

	// Shorter hours and another slot length count the same way.
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Hours: week("10:30", "18:00")})
	if me, _ := models.AsError(err); me == nil || me.Code != booking.CodeCapacityBelowBookings || !strings.Contains(me.Message("en"), "3 existing") {
		t.Fatalf("opening later: %v", err)
	}
	// Another slot length: refused while any booking lies ahead, as seats
	// are counted per slot start.
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, SlotMinutes: ptr(120), Force: true})
	if me, _ := models.AsError(err); me == nil || me.Code != booking.CodeCapacityBelowBookings || !strings.Contains(me.Message("en"), "3 existing") {
		t.Fatalf("120-minute slots with bookings ahead: %v", err)
	}
	// Closing Wednesdays: the booking of 10:00.
	hours := week("09:00", "18:00")
	hours[3] = booking.HoursInput{Weekday: 3, Closed: true}
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Hours: hours})
	wantCode(t, err, booking.CodeCapacityBelowBookings, "")
	// Raising is always fine.
	if _, err := e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Seats: []booking.SeatsInput{{Kind: "MAINTENANCE", Seats: 5}}}); err != nil {
		t.Fatal(err)
	}
}

func TestSetOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.who("manager")
	wed := e.day(2)
	a := e.book(e.customer(), e.at(2, "10:00"))
	b := e.book(e.customer(), e.at(2, "15:00"), kind("REPAIR"))

	// Closing the day: refused with the two that would not fit, then forced.
	closeDay := booking.OverrideInput{StoreID: e.store.ID, Day: wed, Closed: true, Note: "门店盘点"}
	_, err := e.svc.SetOverride(e.ctx, m, closeDay)
	if me, _ := models.AsError(err); me == nil || me.Code != booking.CodeCapacityBelowBookings || !strings.Contains(me.Message("en"), "2 existing") {
		t.Fatalf("closing a booked day: %v", err)
	}
	closeDay.Force = true
	ch, err := e.svc.SetOverride(e.ctx, m, closeDay)
	must(t, err)
	if len(ch.Conflicts) != 2 || ch.Conflicts[0].ID != a.ID || ch.Conflicts[1].ID != b.ID {
		t.Fatalf("conflicts %+v", ch.Conflicts)
	}
	if len(ch.Calendar.Overrides) != 1 || ch.Calendar.Overrides[0].Day != wed || !ch.Calendar.Overrides[0].Closed ||
		ch.Calendar.Overrides[0].Kind != nil || ch.Calendar.Overrides[0].Note != "门店盘点" {
		t.Fatalf("overrides %+v", ch.Calendar.Overrides)
	}
	// Closing it again replaces the override (one per day and kind).
	closeDay.Note = "门店年度盘点"
	ch, err = e.svc.SetOverride(e.ctx, m, closeDay)
	must(t, err)
	if len(ch.Calendar.Overrides) != 1 || ch.Calendar.Overrides[0].Note != "门店年度盘点" {
		t.Fatalf("overrides %+v", ch.Calendar.Overrides)
	}
	// Removing it opens the day again.
	ch, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: wed})
	must(t, err)
	if len(ch.Calendar.Overrides) != 0 || len(ch.Conflicts) != 0 {
		t.Fatalf("after removal %+v", ch)
	}
	c := e.customer()
	e.book(c, e.at(2, "11:00"))

	// Kind overrides: fewer seats than booked is refused; more is fine.
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: wed, Kind: ptr("REPAIR"), Seats: ptr(0)})
	wantCode(t, err, booking.CodeCapacityBelowBookings, "")
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: wed, Kind: ptr("MAINTENANCE"), Seats: ptr(8), Note: "加派技师"})
	must(t, err)
	ch, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(1), Kind: ptr("BODY_PAINT"), Closed: true})
	must(t, err)
	ov := ch.Calendar.Overrides
	if len(ov) != 2 || ov[0].Day != e.day(1) || *ov[0].Kind != "BODY_PAINT" || !ov[0].Closed || ov[1].Day != wed || *ov[1].Seats != 8 {
		t.Fatalf("overrides %+v", ov)
	}
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", wed, wed)
	must(t, err)
	if slots[1].SeatsLeft != 7 || slots[2].SeatsLeft != 7 || slots[0].SeatsLeft != 8 {
		t.Fatalf("slots %+v", slots)
	}
	// Overrides before today are not listed.
	e.clock.Set(e.at(2, "08:00"))
	cal, err := e.svc.Calendar(e.ctx, e.store.ID)
	must(t, err)
	if len(cal.Overrides) != 1 || cal.Overrides[0].Day != wed {
		t.Fatalf("overrides from Wednesday: %+v", cal.Overrides)
	}
	// Only slots still to come count: at 10:30 the 10:00 slot is under way.
	e.clock.Set(e.at(2, "10:30"))
	ch, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: wed, Kind: ptr("MAINTENANCE"), Seats: ptr(0), Force: true})
	must(t, err)
	if len(ch.Conflicts) != 1 || !ch.Conflicts[0].SlotStart.Equal(e.at(2, "11:00")) {
		t.Fatalf("conflicts %+v; want the 11:00 booking only", ch.Conflicts)
	}
}

func TestSetOverrideRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.who("manager")
	long := strings.Repeat("字", booking.MaxOverrideNoteRunes+1)
	cases := []struct {
		name  string
		in    booking.OverrideInput
		field string
	}{
		{"no date", booking.OverrideInput{Closed: true}, "date"},
		{"yesterday", booking.OverrideInput{Day: e.day(-1), Closed: true}, "date"},
		{"too far", booking.OverrideInput{Day: e.day(367), Closed: true}, "date"},
		{"unknown kind", booking.OverrideInput{Day: e.day(1), Kind: ptr("TYRES"), Closed: true}, "kind"},
		{"seats for the whole day", booking.OverrideInput{Day: e.day(1), Seats: ptr(3)}, "seats"},
		{"closed with seats", booking.OverrideInput{Day: e.day(1), Kind: ptr("REPAIR"), Closed: true, Seats: ptr(3)}, "seats"},
		{"101 seats", booking.OverrideInput{Day: e.day(1), Kind: ptr("REPAIR"), Seats: ptr(101)}, "seats"},
		{"negative seats", booking.OverrideInput{Day: e.day(1), Kind: ptr("REPAIR"), Seats: ptr(-1)}, "seats"},
		{"long note", booking.OverrideInput{Day: e.day(1), Closed: true, Note: long}, "note"},
	}
	for _, tc := range cases {
		tc.in.StoreID = e.store.ID
		_, err := e.svc.SetOverride(e.ctx, m, tc.in)
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		wantCode(t, err, models.CodeInvalidArgument, tc.field)
	}
	// Today and a year ahead are fine; the other store's manager may not.
	for _, d := range []int{0, 366} {
		if _, err := e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(d), Kind: ptr("DETAILING"), Seats: ptr(2)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*auth.Principal{e.who("advisor"), e.who("manager.gz01"), e.customer().p} {
		_, err := e.svc.SetOverride(e.ctx, p, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(1), Closed: true})
		wantCode(t, err, models.CodeForbidden, "")
	}
	_, err := e.svc.SetOverride(e.ctx, e.who("admin"), booking.OverrideInput{StoreID: models.NewID(), Day: e.day(1), Closed: true})
	wantCode(t, err, models.CodeNotFound, "storeId")
}

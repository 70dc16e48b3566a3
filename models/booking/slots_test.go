package booking_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
)

// starts lists the slots' starts as local "15:04" times, or "Mon 15:04"
// with day.
func starts(e *env, slots []booking.Slot, layout string) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.In(e.loc).Format(layout)
	}
	return out
}

func TestAvailableSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Monday 08:00: today from 10:00 (two hours ahead), tomorrow all day.
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(0), e.day(1))
	must(t, err)
	want := []string{"Mon 10:00", "Mon 11:00", "Mon 12:00", "Mon 13:00", "Mon 14:00", "Mon 15:00", "Mon 16:00", "Mon 17:00",
		"Tue 09:00", "Tue 10:00", "Tue 11:00", "Tue 12:00", "Tue 13:00", "Tue 14:00", "Tue 15:00", "Tue 16:00", "Tue 17:00"}
	if got := starts(e, slots, "Mon 15:04"); !equal(got, want) {
		t.Fatalf("slots %v; want %v", got, want)
	}
	for _, s := range slots {
		if s.SeatsLeft != 2 || !s.End.Equal(s.Start.Add(time.Hour)) || s.Start.Location() != time.UTC {
			t.Fatalf("slot %+v", s)
		}
	}
	// Seats left count down; a full slot is still listed, with 0.
	start := e.at(1, "10:00")
	e.book(e.customer(), start)
	left := func(kind string, at time.Time) int {
		t.Helper()
		slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, kind, e.dayOf(at), e.dayOf(at))
		must(t, err)
		for _, s := range slots {
			if s.Start.Equal(at) {
				return s.SeatsLeft
			}
		}
		return -1
	}
	if n := left("MAINTENANCE", start); n != 1 {
		t.Fatalf("%d seats left; want 1", n)
	}
	e.book(e.customer(), start)
	if n := left("MAINTENANCE", start); n != 0 {
		t.Fatalf("%d seats left; want 0 (listed)", n)
	}
	if n := left("REPAIR", start); n != 1 {
		t.Fatalf("REPAIR has %d seats left; want its own 1", n)
	}

	// Sunday is closed; a holiday is closed; a kind can be closed or get
	// other seats for a day.
	m := e.who("manager")
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(2), Closed: true, Note: "清明"})
	must(t, err)
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(3), Kind: ptr("REPAIR"), Closed: true})
	must(t, err)
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: e.day(4), Kind: ptr("MAINTENANCE"), Seats: ptr(5)})
	must(t, err)
	for _, tc := range []struct {
		day   int
		kind  string
		slots int
		seats int
	}{
		{2, "MAINTENANCE", 0, 0}, {3, "REPAIR", 0, 0}, {3, "MAINTENANCE", 9, 2}, {4, "MAINTENANCE", 9, 5}, {4, "REPAIR", 9, 1}, {6, "MAINTENANCE", 0, 0},
	} {
		slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, tc.kind, e.day(tc.day), e.day(tc.day))
		must(t, err)
		if len(slots) != tc.slots || (tc.slots > 0 && slots[0].SeatsLeft != tc.seats) {
			t.Errorf("day %d %s: %d slots %+v; want %d with %d seats", tc.day, tc.kind, len(slots), slots, tc.slots, tc.seats)
		}
	}

	// Thirty days ahead: Wednesday 2 April until 08:00, when nothing is
	// open; so Tuesday 1 April is the last day with slots.
	slots, err = e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(29), e.day(31))
	must(t, err)
	if len(slots) != 9 || e.dayOf(slots[8].Start) != e.day(29) {
		t.Fatalf("days 29-31: %v", starts(e, slots, "01-02 15:04"))
	}
}

func (e *env) dayOf(t time.Time) models.Date { return models.DateOf(t.In(e.loc)) }

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAvailableSlotsRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name     string
		kind     string
		from, to models.Date
		code     models.Code
		field    string
	}{
		{"unknown kind", "TYRES", e.day(0), e.day(1), models.CodeInvalidArgument, "kind"},
		{"no from", "MAINTENANCE", models.Date{}, e.day(1), models.CodeInvalidArgument, "from"},
		{"no to", "MAINTENANCE", e.day(0), models.Date{}, models.CodeInvalidArgument, "to"},
		{"to before from", "MAINTENANCE", e.day(1), e.day(0), models.CodeInvalidArgument, "to"},
		{"32 days", "MAINTENANCE", e.day(0), e.day(31), models.CodeInvalidArgument, "to"},
	}
	for _, tc := range cases {
		_, err := e.svc.AvailableSlots(e.ctx, e.store.ID, tc.kind, tc.from, tc.to)
		wantCode(t, err, tc.code, tc.field)
	}
	_, err := e.svc.AvailableSlots(e.ctx, models.NewID(), "MAINTENANCE", e.day(0), e.day(1))
	wantCode(t, err, models.CodeNotFound, "storeId")
	// 31 days is the most; the past is just empty.
	if _, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(0), e.day(30)); err != nil {
		t.Fatal(err)
	}
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(-10), e.day(-1))
	if err != nil || len(slots) != 0 {
		t.Fatalf("past slots %v, %v", slots, err)
	}
}

// A store in Shanghai open 07:00 to midnight: its first slot of a day
// starts the previous day in UTC, its last ends at local midnight, and
// both belong to the local day: its calendar, overrides and schedule.
func TestTimezoneEdges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withHours("07:00", "24:00"))
	tue := e.day(1)
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", tue, tue)
	must(t, err)
	if len(slots) != 17 {
		t.Fatalf("%d slots on Tuesday; want 17 (07:00 to 23:00)", len(slots))
	}
	first, last := slots[0], slots[16]
	if !first.Start.Equal(time.Date(2031, 3, 3, 23, 0, 0, 0, time.UTC)) {
		t.Fatalf("first slot starts %v; want Monday 23:00 UTC (Tuesday 07:00 local)", first.Start)
	}
	if !slots[1].Start.Equal(time.Date(2031, 3, 4, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("second slot starts %v; want 00:00 UTC (08:00 local)", slots[1].Start)
	}
	if !last.End.Equal(time.Date(2031, 3, 4, 16, 0, 0, 0, time.UTC)) || last.Start.In(e.loc).Format("15:04") != "23:00" {
		t.Fatalf("last slot %v-%v; want 23:00 to local midnight", last.Start, last.End)
	}
	// Monday's 23:00 slot (15:00 UTC) and Tuesday's 07:00 (23:00 UTC) are
	// on different local days whatever their UTC dates say.
	c, d := e.customer(), e.customer()
	mon := e.book(c, e.at(0, "23:00"))
	early := e.book(d, first.Start)
	if !mon.SlotEnd.Equal(time.Date(2031, 3, 3, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("Monday's last slot ends %v", mon.SlotEnd)
	}
	// Closing Tuesday closes its 07:00 slot (refused: it is booked) ...
	m := e.who("manager")
	_, err = e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: tue, Closed: true})
	wantCode(t, err, booking.CodeCapacityBelowBookings, "")
	ch, err := e.svc.SetOverride(e.ctx, m, booking.OverrideInput{StoreID: e.store.ID, Day: tue, Closed: true, Force: true})
	must(t, err)
	if len(ch.Conflicts) != 1 || ch.Conflicts[0].ID != early.ID {
		t.Fatalf("conflicts %+v; want Tuesday 07:00's booking only", ch.Conflicts)
	}
	f := e.customer()
	_, err = e.svc.Book(e.ctx, f.p, e.in(f, first.Start.Add(time.Hour)))
	wantCode(t, err, booking.CodeStoreClosed, "slotStart")
	// ... and not Monday's, though both are 3 March in UTC.
	g := e.customer()
	if _, err := e.svc.Book(e.ctx, g.p, e.in(g, e.at(0, "22:00"))); err != nil {
		t.Fatal(err)
	}
	// The schedule of each day holds its own.
	for _, tc := range []struct {
		day  models.Date
		want string
	}{{e.day(0), mon.ID.String()}, {tue, early.ID.String()}} {
		s, err := e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, tc.day)
		must(t, err)
		found := 0
		for _, sl := range s.Slots {
			for _, a := range sl.Appointments {
				if a.ID == mon.ID || a.ID == early.ID {
					found++
					if a.ID.String() != tc.want {
						t.Errorf("schedule of %s holds %s", tc.day, a.ID)
					}
				}
			}
		}
		if found != 1 {
			t.Errorf("schedule of %s holds %d of the two", tc.day, found)
		}
	}

	// Closing at 23:59, the last 60-minute slot is 22:00.
	hours := make([]booking.HoursInput, 7)
	for wd := range 7 {
		hours[wd] = booking.HoursInput{Weekday: wd, Opens: "08:00", Closes: "23:59"}
	}
	_, err = e.svc.SetCalendar(e.ctx, m, booking.CalendarInput{StoreID: e.store.ID, Hours: hours, Force: true})
	must(t, err)
	slots, err = e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(2), e.day(2))
	must(t, err)
	if got := starts(e, slots, "15:04"); len(got) != 15 || got[0] != "08:00" || got[14] != "22:00" {
		t.Fatalf("slots with 08:00-23:59: %v", got)
	}
	if !slots[0].Start.Equal(time.Date(2031, 3, 5, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("08:00 local is %v; want 00:00 UTC", slots[0].Start)
	}
}

// A store on the US west coast: its slots keep their local time across
// the change to daylight saving time (Sunday 9 March 2031).
func TestTimezoneDaylightSaving(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withZone("America/Los_Angeles"))
	fri := models.Date{Year: 2031, Month: time.March, Day: 7}
	mon := models.Date{Year: 2031, Month: time.March, Day: 10}
	slots, err := e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", fri, mon)
	must(t, err)
	if len(slots) != 3*9 {
		t.Fatalf("%d slots Friday to Monday; want 27 (Sunday closed)", len(slots))
	}
	if !slots[0].Start.Equal(time.Date(2031, 3, 7, 17, 0, 0, 0, time.UTC)) {
		t.Fatalf("Friday 09:00 PST is %v; want 17:00 UTC", slots[0].Start)
	}
	if !slots[18].Start.Equal(time.Date(2031, 3, 10, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("Monday 09:00 PDT is %v; want 16:00 UTC", slots[18].Start)
	}
	a := e.book(e.customer(), slots[18].Start)
	if e.dayOf(a.SlotStart) != mon {
		t.Fatalf("booked %v", a.SlotStart)
	}
}

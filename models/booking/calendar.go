package booking

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// A store's booking calendar: opening hours per
// weekday, slot length, seats per kind and slot, and date overrides. The
// store's MANAGER (or GROUP_ADMIN) changes it; a change that would leave
// fewer seats than are booked in a future slot is refused, or, forced,
// applied with the bookings that no longer fit listed for staff to move.
// They stay BOOKED and keep their seats, so the counters stay true: a slot
// is never silently overbooked, and no further booking gets into it.

// HoursInput is one weekday's opening hours.
type HoursInput struct {
	Weekday       int    // 0 = Sunday, as time.Weekday
	Opens, Closes string // "HH:MM" in the store's zone; Closes may be "24:00"
	Closed        bool   // closed all day (Opens and Closes are ignored)
}

// SeatsInput is the seats per slot of one kind of service.
type SeatsInput struct {
	Kind  string
	Seats int
}

// CalendarInput changes a store's week. Nil or empty parts stay as they are.
type CalendarInput struct {
	StoreID     uuid.UUID
	SlotMinutes *int
	// Hours is nil (unchanged) or all seven weekdays.
	Hours []HoursInput
	// Seats sets the seats of the kinds it names; the others keep theirs.
	Seats []SeatsInput
	// Force applies a change that leaves bookings without a seat; they are
	// returned as conflicts.
	Force bool
}

// OverrideInput changes one date of a store's calendar:
//
//   - Kind nil, Closed: the whole day is closed (a holiday);
//   - Kind set, Closed: the day is closed for that kind;
//   - Kind set, Seats set: that kind has Seats per slot that day;
//   - Closed false and Seats nil: removes the override of that day (Kind
//     nil: the whole-day closure; Kind set: that kind's), so the day
//     follows the week again.
type OverrideInput struct {
	StoreID uuid.UUID
	Day     models.Date
	Kind    *string
	Closed  bool
	Seats   *int
	Note    string
	Force   bool
}

// Calendar is a store's booking calendar as owners and staff see it.
type Calendar struct {
	StoreID     uuid.UUID
	SlotMinutes int
	// Hours are the open weekdays only, Sunday (0) first.
	Hours []models.StoreHours
	// Seats has every kind of Kinds, in that order, defaults filled in.
	Seats []SeatsInput
	// Overrides are those of today (in the store's zone) and later, by day.
	Overrides []Override
}

// CalendarChange is a calendar after a change, with the bookings that no
// longer fit (only when forced): still BOOKED, for staff to move.
type CalendarChange struct {
	Calendar  *Calendar
	Conflicts []*Appointment
}

// Calendar reads a store's calendar with its overrides from today on.
// Public.
//
// Codes: NOT_FOUND ("storeId").
func (s *Service) Calendar(ctx context.Context, storeID uuid.UUID) (*Calendar, error) {
	now := s.Clock.Now(ctx)
	cal, _, err := s.loadCalendar(ctx, storeID, earliestToday(now), models.Date{}, noLock)
	if err != nil {
		return nil, err
	}
	return cal.view(cal.dayOf(now)), nil
}

// earliestToday is a date no later than today in any time zone, to load
// overrides from before the store's zone is known.
func earliestToday(now time.Time) models.Date { return models.DateOf(now.UTC()).AddDate(0, 0, -1) }

// view is the calendar as Calendar shows it, with the overrides from today.
func (c *calendar) view(today models.Date) *Calendar {
	out := &Calendar{StoreID: c.storeID, SlotMinutes: c.slotMinutes, Hours: []models.StoreHours{}, Seats: []SeatsInput{}, Overrides: []Override{}}
	for wd, h := range c.week {
		if h != nil {
			out.Hours = append(out.Hours, models.StoreHours{StoreID: c.storeID, Weekday: wd, Opens: clock(h.opens), Closes: clock(h.closes)})
		}
	}
	for _, k := range Kinds {
		out.Seats = append(out.Seats, SeatsInput{Kind: k, Seats: c.seats[k]})
	}
	for day, d := range c.overrides {
		if day.Before(today) {
			continue
		}
		if d.whole != nil {
			out.Overrides = append(out.Overrides, *d.whole)
		}
		for _, o := range d.kinds {
			out.Overrides = append(out.Overrides, *o)
		}
	}
	sort.Slice(out.Overrides, func(i, j int) bool {
		a, b := out.Overrides[i], out.Overrides[j]
		if a.Day != b.Day {
			return a.Day.Before(b.Day)
		}
		return kindOrder(a.Kind) < kindOrder(b.Kind)
	})
	return out
}

// kindOrder sorts whole-day overrides first, then kinds as Kinds lists them.
func kindOrder(k *string) int {
	if k == nil {
		return -1
	}
	return slices.Index(Kinds, *k)
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// check validates a calendar change except what needs the store.
func (in CalendarInput) check() error {
	if in.SlotMinutes != nil && (*in.SlotMinutes < MinSlotMinutes || *in.SlotMinutes > MaxSlotMinutes) {
		return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("预约时段长度须在 %d 到 %d 分钟之间", MinSlotMinutes, MaxSlotMinutes),
			"slotMinutes must be between %d and %d", MinSlotMinutes, MaxSlotMinutes).On("slotMinutes")
	}
	if err := checkHours(in.Hours); err != nil {
		return err
	}
	return checkSeats(in.Seats)
}

// checkHours validates a week of opening hours (nil: unchanged): each
// weekday once, and an open day opening before it closes.
func checkHours(hours []HoursInput) error {
	if hours == nil {
		return nil
	}
	if len(hours) != 7 {
		return models.Invalid("openingHours", "请提供一周七天的营业时间", "give the opening hours of all seven weekdays")
	}
	seen := [7]bool{}
	for i, h := range hours {
		field := fmt.Sprintf("openingHours[%d]", i)
		if h.Weekday < 0 || h.Weekday > 6 || seen[h.Weekday] {
			return models.Invalid(field+".weekday", "星期须为 0（周日）到 6，且每天一次", "weekday must be 0 (Sunday) to 6, each once")
		}
		seen[h.Weekday] = true
		if h.Closed {
			continue
		}
		opens, ok := parseClock(h.Opens, false)
		if !ok {
			return models.Invalid(field+".opens", "开门时间格式应为 HH:MM", "opens must be HH:MM (00:00 to 23:59)")
		}
		closes, ok := parseClock(h.Closes, true)
		if !ok {
			return models.Invalid(field+".closes", "关门时间格式应为 HH:MM", "closes must be HH:MM (00:01 to 24:00)")
		}
		if opens >= closes {
			return models.Invalid(field+".closes", "关门时间须晚于开门时间", "closes must be after opens")
		}
	}
	return nil
}

// checkSeats validates seats per kind: known kinds, each once, within
// bounds.
func checkSeats(seats []SeatsInput) error {
	seen := map[string]bool{}
	for i, st := range seats {
		field := fmt.Sprintf("seats[%d]", i)
		if !validKind(st.Kind) || seen[st.Kind] {
			return models.Invalid(field+".kind", "服务类型无效或重复", "unknown or repeated kind")
		}
		seen[st.Kind] = true
		if st.Seats < 0 || st.Seats > MaxSeats {
			return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("每个时段的名额须在 0 到 %d 之间", MaxSeats),
				"seats must be between 0 and %d", MaxSeats).On(field + ".seats")
		}
	}
	return nil
}

// SetCalendar changes a store's slot length, weekly opening hours and seats
// per kind. Every open day must fit at least one slot. A change that would
// leave fewer seats than are booked in a future slot (lower seats, shorter
// hours, a closed weekday) is refused with the number of bookings that
// would not fit, unless Force: then it is applied and those bookings (in each
// slot the latest made) are returned for staff to move. The slot length
// changes only while no booking lies ahead, force or not.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not the store's MANAGER or
// GROUP_ADMIN), NOT_FOUND ("storeId"), INVALID_ARGUMENT ("slotMinutes",
// "openingHours", "openingHours[i].weekday|opens|closes",
// "seats[i].kind|seats"), CAPACITY_BELOW_BOOKINGS.
func (s *Service) SetCalendar(ctx context.Context, actor *auth.Principal, in CalendarInput) (*CalendarChange, error) {
	if err := staffFor(actor, in.StoreID, rolesSetCalendar); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var out *CalendarChange
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		cal, store, err := s.loadCalendar(ctx, in.StoreID, earliestToday(now), models.Date{}, writeLock)
		if err != nil {
			return err
		}
		today := cal.dayOf(now)
		if err := s.changeSlotLength(ctx, cal, in, now); err != nil {
			return err
		}
		if err := in.applyWeek(cal); err != nil {
			return err
		}
		conflicts, err := s.conflicts(ctx, cal, now, time.Time{}, time.Time{}, in.Force)
		if err != nil {
			return err
		}
		if err := s.saveWeek(ctx, store, cal, in, now); err != nil {
			return err
		}
		out = &CalendarChange{Calendar: cal.view(today), Conflicts: conflicts}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeSlotLength sets the calendar's slot length to in's, if in changes
// it. Seats are counted per slot start: a booking made on the old grid
// would hold its seat in one new slot and not the others it overlaps. So
// the length changes only when no booking lies ahead (force cannot help:
// staff move or cancel them first).
func (s *Service) changeSlotLength(ctx context.Context, cal *calendar, in CalendarInput, now time.Time) error {
	if in.SlotMinutes == nil || *in.SlotMinutes == cal.slotMinutes {
		return nil
	}
	var n int64
	if err := s.DB.Conn(ctx).Model(&Appointment{}).
		Where("store_id = ? AND status = ? AND slot_end > ?", in.StoreID, Booked, now).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return CapacityBelowBookings(int(n)).On("slotMinutes")
	}
	cal.slotMinutes = *in.SlotMinutes
	return nil
}

// applyWeek puts in's opening hours and seats on cal (whose slot length is
// already the new one) and checks that every open day fits at least one
// slot, blaming the weekday's closing time if in gave it, else the slot
// length.
func (in CalendarInput) applyWeek(cal *calendar) error {
	if in.Hours != nil {
		cal.week = [7]*openHours{}
		for _, h := range in.Hours {
			if !h.Closed {
				cal.setHours(models.StoreHours{Weekday: h.Weekday, Opens: h.Opens, Closes: h.Closes})
			}
		}
	}
	for wd, h := range cal.week {
		if h != nil && h.opens+cal.slotMinutes > h.closes {
			field := "slotMinutes"
			for i, hi := range in.Hours {
				if hi.Weekday == wd {
					field = fmt.Sprintf("openingHours[%d].closes", i)
				}
			}
			return models.Invalid(field, "营业时间内放不下一个预约时段", fmt.Sprintf("weekday %d is open for less than one slot", wd))
		}
	}
	for _, st := range in.Seats {
		cal.seats[st.Kind] = st.Seats
	}
	return nil
}

// saveWeek writes what in changes of the week.
func (s *Service) saveWeek(ctx context.Context, store *models.Store, cal *calendar, in CalendarInput, now time.Time) error {
	conn := s.DB.Conn(ctx)
	var hours []models.StoreHours
	if in.Hours != nil {
		hours = []models.StoreHours{}
		for wd, h := range cal.week {
			if h != nil {
				hours = append(hours, models.StoreHours{StoreID: store.ID, Weekday: wd, Opens: clock(h.opens), Closes: clock(h.closes)})
			}
		}
	}
	if err := s.directory().SetStoreWeek(ctx, store.ID, cal.slotMinutes, hours, now); err != nil {
		return err
	}
	for _, st := range in.Seats {
		err := conn.Exec(`INSERT INTO slot_capacities (store_id, kind, seats) VALUES (?, ?, ?)
			ON CONFLICT (store_id, kind) DO UPDATE SET seats = excluded.seats`, store.ID, st.Kind, st.Seats).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// check validates an override except what needs the store.
func (in OverrideInput) check() (OverrideInput, error) {
	if in.Day.IsZero() {
		return in, models.Invalid("date", "请选择日期", "date is required")
	}
	if in.Kind != nil && !validKind(*in.Kind) {
		return in, models.Invalid("kind", "服务类型无效", "unknown kind")
	}
	if in.Kind == nil && in.Seats != nil {
		return in, models.Invalid("seats", "整天的设置只能是休息，名额须按服务类型设置", "seats are set per kind; a whole-day override can only close the day")
	}
	if in.Closed && in.Seats != nil {
		return in, models.Invalid("seats", "休息日不能设置名额", "a closed day has no seats")
	}
	if in.Seats != nil && (*in.Seats < 0 || *in.Seats > MaxSeats) {
		return in, models.Ef(models.CodeInvalidArgument, fmt.Sprintf("每个时段的名额须在 0 到 %d 之间", MaxSeats),
			"seats must be between 0 and %d", MaxSeats).On("seats")
	}
	var err error
	in.Note, err = checkText("note", "备注", in.Note, MaxOverrideNoteRunes)
	return in, err
}

// SetOverride changes one date of a store's calendar (see OverrideInput):
// closes it (a holiday), closes it for one kind, gives one kind other
// seats, or removes such an override. The date is today or later in the
// store's zone, at most MaxOverrideDaysAhead ahead. Like SetCalendar, a
// change that would leave fewer seats than are booked in a slot of that
// date still to come is refused with the number of bookings that would
// not fit, unless Force: then applied, with those bookings returned.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not the store's MANAGER or
// GROUP_ADMIN), NOT_FOUND ("storeId"), INVALID_ARGUMENT ("date", "kind",
// "seats", "note"), CAPACITY_BELOW_BOOKINGS.
func (s *Service) SetOverride(ctx context.Context, actor *auth.Principal, in OverrideInput) (*CalendarChange, error) {
	if err := staffFor(actor, in.StoreID, rolesSetOverride); err != nil {
		return nil, err
	}
	in, err := in.check()
	if err != nil {
		return nil, err
	}
	var out *CalendarChange
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		cal, _, err := s.loadCalendar(ctx, in.StoreID, earliestToday(now), models.Date{}, writeLock)
		if err != nil {
			return err
		}
		today := cal.dayOf(now)
		if in.Day.Before(today) || today.AddDate(0, 0, MaxOverrideDaysAhead).Before(in.Day) {
			return models.Ef(models.CodeInvalidArgument, fmt.Sprintf("日期须在今天到 %d 天后之间", MaxOverrideDaysAhead),
				"date must be from today to %d days ahead", MaxOverrideDaysAhead).On("date")
		}
		remove := !in.Closed && in.Seats == nil
		cal.removeOverride(in.Day, in.Kind)
		row := &Override{ID: models.NewID(), StoreID: in.StoreID, Day: in.Day, Kind: in.Kind, Closed: in.Closed, Seats: in.Seats, Note: in.Note}
		if !remove {
			cal.addOverride(row)
		}
		conflicts, err := s.conflicts(ctx, cal, now, cal.dayStart(in.Day), cal.dayStart(in.Day.AddDate(0, 0, 1)), in.Force)
		if err != nil {
			return err
		}
		conn := s.DB.Conn(ctx)
		q := conn.Where("store_id = ? AND day = ?", in.StoreID, in.Day)
		if in.Kind == nil {
			q = q.Where("kind IS NULL")
		} else {
			q = q.Where("kind = ?", *in.Kind)
		}
		if err := q.Delete(&Override{}).Error; err != nil {
			return err
		}
		if !remove {
			if err := conn.Create(row).Error; err != nil {
				return err
			}
		}
		out = &CalendarChange{Calendar: cal.view(today), Conflicts: conflicts}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// conflicts finds the bookings the calendar cal no longer has seats for,
// in slots that start after now (and, unless zero, within from..to). It
// returns CAPACITY_BELOW_BOOKINGS with their number unless force; forced,
// it returns them: in each slot, the latest bookings beyond its seats.
// One statement reads the counters; a second, only when forced and
// something does not fit, the appointments.
func (s *Service) conflicts(ctx context.Context, cal *calendar, now, from, to time.Time, force bool) ([]*Appointment, error) {
	q := s.DB.Conn(ctx).Where("store_id = ? AND booked > 0 AND slot_start > ?", cal.storeID, now.UTC())
	if !from.IsZero() {
		q = q.Where("slot_start >= ? AND slot_start < ?", from.UTC(), to.UTC())
	}
	var counters []SlotBooking
	if err := q.Find(&counters).Error; err != nil {
		return nil, err
	}
	over := map[seatKey]int{}
	total := 0
	var starts []time.Time
	for _, c := range counters {
		if n := c.Booked - cal.capacityAt(c.SlotStart, c.Kind); n > 0 {
			over[seatKey{c.Kind, c.SlotStart.UnixMicro()}] = n
			total += n
			starts = append(starts, c.SlotStart.UTC())
		}
	}
	if total == 0 {
		return []*Appointment{}, nil
	}
	if !force {
		return nil, CapacityBelowBookings(total)
	}
	var booked []*Appointment
	err := s.DB.Conn(ctx).Where("store_id = ? AND status = ? AND slot_start IN ?", cal.storeID, Booked, starts).
		Order("slot_start ASC, id DESC").Find(&booked).Error
	if err != nil {
		return nil, err
	}
	out := []*Appointment{}
	for _, a := range booked {
		normalize(a)
		k := seatKey{a.Kind, a.SlotStart.UnixMicro()}
		if over[k] > 0 {
			over[k]--
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SlotStart.Before(out[j].SlotStart) })
	return out, nil
}

package booking

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The pure rules of booking: how a store's week,
// seats and date overrides make its slots, and the limits of booking. No
// I/O; operations load a calendar and ask it.

// Limits of booking.
const (
	// MinLeadTime is how long before a slot it may still be booked (and,
	// by owners, cancelled or moved).
	MinLeadTime = 2 * time.Hour
	// MaxAhead is how far ahead a slot may be booked.
	MaxAhead = 30 * 24 * time.Hour
	// MaxActivePerOwner bounds an owner's BOOKED appointments.
	MaxActivePerOwner = 3
	// MaxSlotDays bounds the days of one AvailableSlots request.
	MaxSlotDays = 31
	// MaxStatsDays bounds the days of one DayStats request.
	MaxStatsDays = 92
	// Slot lengths a store may choose, in minutes.
	MinSlotMinutes, MaxSlotMinutes = 15, 240
	// MaxSeats bounds the seats of one kind in one slot.
	MaxSeats = 100
	// MaxNoteRunes bounds an appointment's note (it becomes the repair
	// order's concern on arrival, which has the same limit).
	MaxNoteRunes = workshop.MaxConcernRunes
	// MaxOverrideNoteRunes bounds the note of a date override.
	MaxOverrideNoteRunes = 200
	// MaxOverrideDaysAhead bounds how far ahead a date may be overridden.
	MaxOverrideDaysAhead = 366
)

// Kinds lists the kinds of service a slot has seats for: the workshop's
// kinds of repair order, in the order calendars list them.
var Kinds = []string{
	string(workshop.Maintenance), string(workshop.Repair), string(workshop.Warranty),
	string(workshop.Accident), string(workshop.BodyPaint), string(workshop.Detailing),
}

// validKind reports whether kind is one of Kinds.
func validKind(kind string) bool { return slices.Contains(Kinds, kind) }

// DefaultSeats is how many cars of a kind a store takes per slot when its
// manager has set nothing: routine maintenance is most of the traffic and
// is quick, so half the bays take it; repairs hold a bay longer, a quarter;
// the rarer kinds (warranty, accident, body and paint, detailing) one car
// per slot. A store with bays has at least one seat per kind; a store
// without bays takes no bookings.
func DefaultSeats(bays int, kind string) int {
	if bays <= 0 {
		return 0
	}
	switch kind {
	case string(workshop.Maintenance):
		return max(1, bays/2)
	case string(workshop.Repair):
		return max(1, bays/4)
	}
	return 1
}

// parseClock parses "HH:MM" into minutes after midnight. "24:00" (the end
// of the day) is accepted only as a closing time.
func parseClock(s string, closing bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !closing)) {
		return 0, false
	}
	return h*60 + m, true
}

// openHours are one weekday's opening hours in minutes after midnight.
type openHours struct{ opens, closes int }

// dayOverride is what overrides say about one date.
type dayOverride struct {
	whole *Override            // the whole day closed
	kinds map[string]*Override // by kind
}

func (d *dayOverride) closed() bool { return d.whole != nil && d.whole.Closed }

// calendar is a store's booking calendar: its week, seats per kind and the
// date overrides of the days it was loaded for.
type calendar struct {
	storeID     uuid.UUID
	loc         *time.Location
	slotMinutes int
	week        [7]*openHours // by weekday; nil: closed
	seats       map[string]int
	overrides   map[models.Date]*dayOverride
}

// newCalendar builds a store's calendar from its rows; kinds without a
// capacity row get DefaultSeats.
func newCalendar(store *models.Store, caps []SlotCapacity, overrides []Override) *calendar {
	c := &calendar{
		storeID: store.ID, loc: store.Location(), slotMinutes: store.SlotMinutes,
		seats: map[string]int{}, overrides: map[models.Date]*dayOverride{},
	}
	if c.slotMinutes <= 0 {
		c.slotMinutes = 60
	}
	for _, h := range store.Hours {
		c.setHours(h)
	}
	for _, k := range Kinds {
		c.seats[k] = DefaultSeats(store.ServiceBays, k)
	}
	for _, cp := range caps {
		c.seats[cp.Kind] = cp.Seats
	}
	for i := range overrides {
		c.addOverride(&overrides[i])
	}
	return c
}

func (c *calendar) setHours(h models.StoreHours) {
	if h.Weekday < 0 || h.Weekday > 6 {
		return
	}
	opens, ok1 := parseClock(h.Opens, false)
	closes, ok2 := parseClock(h.Closes, true)
	if !ok1 || !ok2 || opens >= closes {
		c.week[h.Weekday] = nil
		return
	}
	c.week[h.Weekday] = &openHours{opens, closes}
}

func (c *calendar) addOverride(o *Override) {
	d := c.overrides[o.Day]
	if d == nil {
		d = &dayOverride{kinds: map[string]*Override{}}
		c.overrides[o.Day] = d
	}
	if o.Kind == nil {
		d.whole = o
		return
	}
	d.kinds[*o.Kind] = o
}

// removeOverride forgets the override of day for kind (nil: the whole day).
func (c *calendar) removeOverride(day models.Date, kind *string) {
	d := c.overrides[day]
	if d == nil {
		return
	}
	if kind == nil {
		d.whole = nil
	} else {
		delete(d.kinds, *kind)
	}
}

// seatsOn is how many seats each slot of day has for kind, and whether the
// day is closed for it (whole day closed, closed weekday, or the kind
// closed by an override). A date override wins over the week's seats.
func (c *calendar) seatsOn(day models.Date, kind string) (seats int, closed bool) {
	if c.week[day.Time().Weekday()] == nil {
		return 0, true
	}
	seats = c.seats[kind]
	if d := c.overrides[day]; d != nil {
		if d.closed() {
			return 0, true
		}
		if o := d.kinds[kind]; o != nil {
			if o.Closed {
				return 0, true
			}
			if o.Seats != nil {
				seats = *o.Seats
			}
		}
	}
	return seats, false
}

// dayClosed reports whether the whole day is closed (weekday or override).
func (c *calendar) dayClosed(day models.Date) bool {
	if c.week[day.Time().Weekday()] == nil {
		return true
	}
	d := c.overrides[day]
	return d != nil && d.closed()
}

// slotTime is one slot of a day.
type slotTime struct {
	start, end time.Time // UTC
}

// at is the instant of minute m (after midnight, wall clock) of day in the
// store's zone, in UTC. time.Date normalizes minutes past 24:00.
func (c *calendar) at(day models.Date, m int) time.Time {
	return time.Date(day.Year, day.Month, day.Day, 0, m, 0, 0, c.loc).UTC()
}

// slotsOf lists the slots of day by the week alone: from the opening time,
// every slotMinutes, while the slot ends by the closing time.
func (c *calendar) slotsOf(day models.Date) []slotTime {
	h := c.week[day.Time().Weekday()]
	if h == nil {
		return nil
	}
	var out []slotTime
	for m := h.opens; m+c.slotMinutes <= h.closes; m += c.slotMinutes {
		out = append(out, slotTime{c.at(day, m), c.at(day, m+c.slotMinutes)})
	}
	return out
}

// dayStart is the first instant of day in the store's zone, in UTC.
func (c *calendar) dayStart(day models.Date) time.Time { return c.at(day, 0) }

// dayOf is the store-local date of t.
func (c *calendar) dayOf(t time.Time) models.Date { return models.DateOf(t.In(c.loc)) }

// locate finds the slot starting at start for kind and its seats.
//
// Codes: STORE_CLOSED (closed weekday or date, the kind closed that day, or
// outside opening hours), INVALID_SLOT (within opening hours but not the
// start of a slot that ends by closing time).
func (c *calendar) locate(start time.Time, kind string) (slotTime, int, error) {
	local := start.In(c.loc)
	day := models.DateOf(local)
	h := c.week[local.Weekday()]
	if h == nil {
		return slotTime{}, 0, ErrStoreClosed
	}
	m := local.Hour()*60 + local.Minute()
	if m < h.opens || m >= h.closes {
		return slotTime{}, 0, ErrStoreClosed
	}
	if local.Second() != 0 || local.Nanosecond() != 0 || (m-h.opens)%c.slotMinutes != 0 || m+c.slotMinutes > h.closes {
		return slotTime{}, 0, ErrInvalidSlot
	}
	seats, closed := c.seatsOn(day, kind)
	if closed {
		return slotTime{}, 0, ErrStoreClosed
	}
	return slotTime{c.at(day, m), c.at(day, m+c.slotMinutes)}, seats, nil
}

// capacityAt is the seats of kind in the slot starting at start: 0 when
// that is no slot of the calendar any more (hours or slot length changed,
// day closed).
func (c *calendar) capacityAt(start time.Time, kind string) int {
	_, seats, err := c.locate(start, kind)
	if err != nil {
		return 0
	}
	return seats
}

// bookable checks start lies in the booking window seen from now: at least
// MinLeadTime and at most MaxAhead ahead.
//
// Codes: TOO_LATE, TOO_FAR_AHEAD (both on "slotStart").
func bookable(now, start time.Time) error {
	if start.Before(now.Add(MinLeadTime)) {
		return ErrTooLate
	}
	if start.After(now.Add(MaxAhead)) {
		return ErrTooFarAhead
	}
	return nil
}

// changeDeadline is when an actor may last cancel or move an appointment
// out of its slot: owners until MinLeadTime before it, staff until it
// starts (they handle late calls and the bookings a
// forced calendar change left without a seat).
func changeDeadline(staff bool, slotStart time.Time) (time.Time, *models.Error) {
	if staff {
		return slotStart, ErrTooLateStarted
	}
	return slotStart.Add(-MinLeadTime), ErrTooLateToChange
}

// checkText is models.Text for an optional note: line breaks allowed.
func checkText(field, label, s string, maxRunes int) (string, error) {
	return models.Text(field, label, s, 0, maxRunes, true)
}

// kindLabel names a kind of service for owners.
func kindLabel(kind string) string {
	switch kind {
	case string(workshop.Maintenance):
		return "保养"
	case string(workshop.Repair):
		return "维修"
	case string(workshop.Warranty):
		return "保修"
	case string(workshop.Accident):
		return "事故车维修"
	case string(workshop.BodyPaint):
		return "钣金喷漆"
	case string(workshop.Detailing):
		return "汽车美容"
	}
	return kind
}

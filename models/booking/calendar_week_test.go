package booking

import (
	"errors"
	"testing"

	"github.com/ownerhub/ownerhub/models"
)

func TestApplyWeek(t *testing.T) {
	t.Parallel()
	week := func(opens, closes string) []HoursInput {
		hs := make([]HoursInput, 7)
		for i := range hs {
			hs[i] = HoursInput{Weekday: (i + 1) % 7, Opens: opens, Closes: closes}
		}
		hs[6].Closed = true // Sunday
		return hs
	}
	short := week("09:00", "18:00")
	short[2].Closes = "09:30" // Wednesday
	cal := func(slot int) *calendar {
		c := &calendar{slotMinutes: slot, seats: map[string]int{Kinds[0]: 2, Kinds[1]: 3}}
		for wd := range c.week {
			c.week[wd] = &openHours{8 * 60, 17 * 60}
		}
		return c
	}
	for _, c := range []struct {
		name  string
		slot  int
		in    CalendarInput
		field string // "" when applied
		check func(*calendar) bool
	}{
		{"nothing", 60, CalendarInput{}, "", func(c *calendar) bool { return c.week[0].opens == 8*60 && c.seats[Kinds[1]] == 3 }},
		{"new week", 60, CalendarInput{Hours: week("09:00", "18:00")}, "",
			func(c *calendar) bool {
				return c.week[0] == nil && c.week[1].opens == 9*60 && c.week[6].closes == 18*60
			}},
		{"seats of one kind", 60, CalendarInput{Seats: []SeatsInput{{Kind: Kinds[0], Seats: 0}}}, "",
			func(c *calendar) bool { return c.seats[Kinds[0]] == 0 && c.seats[Kinds[1]] == 3 }},
		{"a day too short for the slot", 60, CalendarInput{Hours: short}, "openingHours[2].closes", nil},
		{"a day too short, slot blamed", 10 * 60, CalendarInput{}, "slotMinutes", nil},
	} {
		cl := cal(c.slot)
		err := c.in.applyWeek(cl)
		if c.field != "" {
			var e *models.Error
			if !errors.As(err, &e) || e.Code != models.CodeInvalidArgument || e.Field != c.field {
				t.Errorf("%s: got %v, want INVALID_ARGUMENT on %s", c.name, err, c.field)
			}
			continue
		}
		if err != nil || !c.check(cl) {
			t.Errorf("%s: err %v, calendar %+v", c.name, err, cl)
		}
	}
}

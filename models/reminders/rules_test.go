package reminders_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/reminders"
)

func d(s string) models.Date {
	v, err := models.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func at(s string) time.Time { return d(s).Time().Add(4 * time.Hour) } // noon in Shanghai

func TestMarketing(t *testing.T) {
	for kind, want := range map[string]bool{
		reminders.KindBirthday: true, reminders.KindPurchaseAnniversary: true,
		reminders.KindMaintenanceDue: false, reminders.KindFirstFreeMaintenance: false,
		reminders.KindInsuranceExpiring: false, reminders.KindInspectionDue: false,
		"APPOINTMENT_REMINDER": false, "EVENT_REMINDER": false,
	} {
		if reminders.Marketing(kind) != want {
			t.Errorf("Marketing(%s) = %v", kind, !want)
		}
	}
}

func TestKmPerDayAndKmDate(t *testing.T) {
	rs := []reminders.Reading{{At: at("2031-01-01"), Km: 10000}, {At: at("2031-03-02"), Km: 16000}} // 60 days, 100 km/day
	if r, ok := reminders.KmPerDay(rs); !ok || r != 100 {
		t.Fatalf("KmPerDay = %v, %v", r, ok)
	}
	cases := []struct {
		rs   []reminders.Reading
		km   int
		want string // "" = cannot project
	}{
		{rs, 17000, "2031-03-12"},
		{rs, 16000, "2031-03-02"}, // already reached: the latest reading's day
		{rs, 15000, "2031-03-02"},
		{rs[:1], 20000, ""}, // one reading
		{[]reminders.Reading{{At: at("2031-03-01"), Km: 100}, {At: at("2031-03-03"), Km: 500}}, 1000, ""},                // under a week
		{[]reminders.Reading{{At: at("2031-01-01"), Km: 500}, {At: at("2031-03-01"), Km: 500}}, 1000, ""},                // parked
		{[]reminders.Reading{{At: at("2031-03-02"), Km: 16000}, {At: at("2031-01-01"), Km: 10000}}, 17000, "2031-03-12"}, // any order
	}
	for i, c := range cases {
		got, ok := reminders.KmDate(c.rs, c.km)
		if (c.want == "") == ok || (ok && got != d(c.want)) {
			t.Errorf("case %d: KmDate = %v, %v; want %q", i, got, ok, c.want)
		}
	}
}

func TestMaintenanceDue(t *testing.T) {
	today := d("2031-03-03")
	date := func(s string) *models.Date { v := d(s); return &v }
	km := func(n int) *int { return &n }
	fast := []reminders.Reading{{At: at("2031-01-02"), Km: 10000}, {At: at("2031-03-02"), Km: 15900}} // 100 km/day
	cases := []struct {
		name string
		date *models.Date
		km   *int
		rs   []reminders.Reading
		want bool
	}{
		{"date in 14 days", date("2031-03-17"), nil, nil, true},
		{"date in 15 days", date("2031-03-18"), nil, nil, false},
		{"date passed", date("2031-02-01"), nil, nil, true},
		{"date long passed", date("2030-11-01"), nil, nil, false},
		{"km in 2 days", date("2031-08-01"), km(16100), fast, true},
		{"km in 30 days", date("2031-08-01"), km(18900), fast, false},
		{"km without readings", nil, km(16100), nil, false},
		{"nothing", nil, nil, fast, false},
	}
	for _, c := range cases {
		if got := reminders.MaintenanceDue(today, c.date, c.km, c.rs); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestFirstFreeDue(t *testing.T) {
	slow := []reminders.Reading{{At: at("2031-01-02"), Km: 0}, {At: at("2031-03-02"), Km: 600}}
	fast := []reminders.Reading{{At: at("2031-01-02"), Km: 0}, {At: at("2031-03-02"), Km: 3900}} // 66 km/day
	cases := []struct {
		name, today, purchase string
		rs                    []reminders.Reading
		want                  bool
	}{
		{"two months, slow", "2031-03-03", "2031-01-01", slow, false},
		{"two months, fast", "2031-03-03", "2031-01-01", fast, true},
		{"four months", "2031-05-01", "2031-01-01", nil, true},
		{"last day", "2031-06-30", "2031-01-01", nil, true},
		{"window over", "2031-07-01", "2031-01-01", nil, false},
		{"not yet bought", "2030-12-31", "2031-01-01", nil, false},
	}
	for _, c := range cases {
		if got := reminders.FirstFreeDue(d(c.today), d(c.purchase), c.rs); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestAnniversary(t *testing.T) {
	cases := []struct {
		today, date string
		year, years int
		ok          bool
	}{
		{"2031-03-03", "1980-03-03", 2031, 51, true},
		{"2031-03-06", "1980-03-03", 2031, 51, true}, // three days late
		{"2031-03-07", "1980-03-03", 0, 0, false},
		{"2031-03-02", "1980-03-03", 0, 0, false},
		{"2032-01-02", "2030-12-31", 2031, 1, true}, // over new year
		{"2031-02-28", "2028-02-29", 2031, 3, true}, // leap day
		{"2032-02-29", "2028-02-29", 2032, 4, true},
		{"2031-03-03", "2031-03-03", 0, 0, false}, // bought today: no anniversary yet
	}
	for _, c := range cases {
		y, n, ok := reminders.Anniversary(d(c.today), d(c.date))
		if y != c.year || n != c.years || ok != c.ok {
			t.Errorf("Anniversary(%s, %s) = %d, %d, %v", c.today, c.date, y, n, ok)
		}
	}
}

func TestWithin(t *testing.T) {
	today := d("2031-03-03")
	for s, want := range map[string]bool{"2031-03-03": true, "2031-05-02": true, "2031-05-03": false, "2031-03-02": false} {
		if reminders.Within(today, d(s), 60) != want {
			t.Errorf("Within(%s) != %v", s, want)
		}
	}
}

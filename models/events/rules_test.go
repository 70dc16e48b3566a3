package events_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

func TestSpecCheck(t *testing.T) {
	now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	start := now.Add(72 * time.Hour)
	valid := func() events.Spec {
		return events.Spec{StoreID: uuid.New(), Kind: events.Trip, Title: " 自驾 ", Location: "福田店", StartsAt: start,
			EndsAt: start.Add(8 * time.Hour), RegistrationOpensAt: now, RegistrationClosesAt: start.Add(-time.Hour),
			CancellationDeadline: start.Add(-24 * time.Hour), Capacity: 10, MaxPartySize: 4,
			Itinerary: []events.Stop{{At: start, Place: "集合"}, {At: start.Add(time.Hour), Place: "服务区"}}}
	}
	got, err := valid().Check(now)
	must(t, err)
	if got.Title != "自驾" || got.MinTier != wallet.Basic {
		t.Fatalf("normalized %+v", got)
	}
	for name, tc := range map[string]struct {
		change func(*events.Spec)
		field  string
	}{
		"kind":               {func(s *events.Spec) { s.Kind = "PARTY" }, "kind"},
		"no title":           {func(s *events.Spec) { s.Title = "  " }, "title"},
		"past start":         {func(s *events.Spec) { s.StartsAt = now; s.EndsAt = now.Add(time.Hour) }, "startsAt"},
		"end before start":   {func(s *events.Spec) { s.EndsAt = s.StartsAt }, "endsAt"},
		"window reversed":    {func(s *events.Spec) { s.RegistrationClosesAt = s.RegistrationOpensAt }, "registrationClosesAt"},
		"closes after start": {func(s *events.Spec) { s.RegistrationClosesAt = s.StartsAt.Add(time.Second) }, "registrationClosesAt"},
		"deadline late":      {func(s *events.Spec) { s.CancellationDeadline = s.StartsAt.Add(time.Second) }, "cancellationDeadline"},
		"capacity 0":         {func(s *events.Spec) { s.Capacity = 0 }, "capacity"},
		"negative fee":       {func(s *events.Spec) { s.FeeFen = -1 }, "feeFen"},
		"bad tier":           {func(s *events.Spec) { s.MinTier = "DIAMOND" }, "minTier"},
		"party 21":           {func(s *events.Spec) { s.MaxPartySize = 21 }, "maxPartySize"},
		"class party":        {func(s *events.Spec) { s.Kind = events.Class; s.Itinerary = nil }, "maxPartySize"},
		"class vehicle": {func(s *events.Spec) {
			s.Kind, s.Itinerary, s.MaxPartySize, s.VehicleRequired = events.Class, nil, 1, true
		}, "vehicleRequired"},
		"stop outside":    {func(s *events.Spec) { s.Itinerary[1].At = s.EndsAt.Add(time.Minute) }, "itinerary[1].at"},
		"stops unordered": {func(s *events.Spec) { s.Itinerary[0].At = start.Add(2 * time.Hour) }, "itinerary[1].at"},
		"stop no place":   {func(s *events.Spec) { s.Itinerary[0].Place = "" }, "itinerary[0].place"},
	} {
		s := valid()
		tc.change(&s)
		_, err := s.Check(now)
		t.Run(name, func(t *testing.T) { wantCode(t, err, models.CodeInvalidArgument, tc.field) })
	}
}

func TestPrice(t *testing.T) {
	wal, pts := events.PayWallet, events.PayPoints
	for name, tc := range map[string]struct {
		fee, points int64
		with        *events.PayWith
		party       int
		wantFen     int64
		wantPoints  int64
		refused     bool
	}{
		"free":                 {party: 3},
		"money only, default":  {fee: 5000, party: 2, wantFen: 10000},
		"points only, default": {points: 800, party: 3, wantPoints: 2400},
		"both, must choose":    {fee: 5000, points: 800, party: 1, refused: true},
		"both, points":         {fee: 5000, points: 800, with: &pts, party: 2, wantPoints: 1600},
		"money not offered":    {points: 800, with: &wal, party: 1, refused: true},
	} {
		t.Run(name, func(t *testing.T) {
			e := &events.Event{FeeFen: tc.fee, FeePoints: tc.points}
			_, fen, points, err := e.Price(tc.party, tc.with)
			if tc.refused {
				wantCode(t, err, models.CodePaymentMethodUnavailable, "payWith")
				return
			}
			must(t, err)
			if fen != tc.wantFen || points != tc.wantPoints {
				t.Fatalf("price %d fen %d points, want %d and %d", fen, points, tc.wantFen, tc.wantPoints)
			}
		})
	}
}

func TestTierAtLeast(t *testing.T) {
	if !wallet.Gold.AtLeast(wallet.Silver) || wallet.Silver.AtLeast(wallet.Gold) || !wallet.Basic.AtLeast(wallet.Basic) {
		t.Fatal("tier order")
	}
}

func TestEventRemindersOnce(t *testing.T) {
	e := newEnv(t)
	ev := e.published(e.spec(events.Class, 5))
	o, who := e.customer(0)
	_, err := e.svc.Register(e.ctx, who, events.RegisterInput{EventID: ev.ID})
	must(t, err)
	n, err := e.svc.SendReminders(e.ctx, ev.StartsAt.Add(-events.ReminderWindow-time.Minute))
	must(t, err)
	if e.inbox(o, events.NotifyEventReminder) != 0 {
		t.Fatalf("reminded %d before the window", n)
	}
	for range 2 {
		_, err = e.svc.SendReminders(e.ctx, ev.StartsAt.Add(-time.Hour))
		must(t, err)
	}
	if got := e.inbox(o, events.NotifyEventReminder); got != 1 {
		t.Fatalf("%d reminders, want 1", got)
	}
}

func TestCheckInCodeOnlyToItsOwnerWhileConfirmed(t *testing.T) {
	owner := &auth.Principal{Kind: auth.KindOwner, ID: uuid.New()}
	r := &events.Registration{OwnerID: owner.ID, Status: events.Confirmed, CheckInCode: "ABC"}
	if c := r.CodeFor(owner); c == nil || *c != "ABC" {
		t.Fatal("the owner does not see the code")
	}
	for name, who := range map[string]*auth.Principal{
		"another owner": {Kind: auth.KindOwner, ID: uuid.New()},
		"staff":         {Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleGroupAdmin}},
		"nobody":        nil,
	} {
		if r.CodeFor(who) != nil {
			t.Errorf("%s sees the code", name)
		}
	}
	r.Status = events.Waitlisted
	if r.CodeFor(owner) != nil {
		t.Fatal("a waitlisted registration shows a code")
	}
}

package booking_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// Tests on a database of their own: they count every reminder of a day,
// or every statement sent.

func TestSendReminders(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t, withHours("07:00", "24:00"))
	a := e.book(e.customer(), e.at(1, "07:00")) // Tuesday 07:00 local: Monday 23:00 UTC
	b := e.book(e.customer(), e.at(1, "23:00")) // Tuesday 23:00 local, ends at midnight
	c := e.book(e.customer(), e.at(2, "07:00")) // Wednesday: Tuesday 23:00 UTC
	d := e.book(e.customer(), e.at(1, "12:00"))
	_, err := e.svc.Cancel(e.ctx, ownerOf(d), d.ID, "")
	must(t, err)
	e.book(e.customer(), e.at(0, "23:00")) // today

	notes := func(a *booking.Appointment) []*inbox.Notification {
		t.Helper()
		var out []*inbox.Notification
		must(t, e.db.Conn(e.ctx).Where("owner_id = ? AND kind = ?", a.OwnerID, booking.NotifyAppointmentReminder).Find(&out).Error)
		return out
	}
	n, err := e.svc.SendReminders(e.ctx, e.at(0, "09:00"))
	if err != nil || n != 2 {
		t.Fatalf("SendReminders = %d, %v; want 2", n, err)
	}
	for _, x := range []*booking.Appointment{a, b} {
		ns := notes(x)
		if len(ns) != 1 {
			t.Fatalf("%d reminders for %s", len(ns), x.ID)
		}
		r := ns[0]
		if r.Link != booking.AppointmentLink(x.ID) || r.DedupeKey == nil || *r.DedupeKey != "appointment-reminder:"+x.ID.String() ||
			r.Title == "" || !strings.Contains(r.Body, e.store.Name) || r.ReadAt != nil {
			t.Fatalf("reminder %+v", r)
		}
	}
	if !strings.Contains(notes(a)[0].Body, "07:00") || !strings.Contains(notes(b)[0].Body, "23:00") {
		t.Fatalf("bodies %q, %q", notes(a)[0].Body, notes(b)[0].Body)
	}
	if got := booking.AppointmentLink(a.ID); got != models.Link("Appointment:"+a.ID.String()) {
		t.Fatalf("an appointment reminder links %q", got)
	}
	if len(notes(c)) != 0 || len(notes(d)) != 0 {
		t.Fatal("reminded of Wednesday's or a cancelled appointment")
	}
	// Again, later the same day: nothing new.
	if n, err := e.svc.SendReminders(e.ctx, e.at(0, "23:30")); err != nil || n != 0 {
		t.Fatalf("second run = %d, %v", n, err)
	}
	// Several instances at once create a new reminder once.
	f := e.book(e.customer(), e.at(1, "14:00"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.svc.SendReminders(e.ctx, e.at(0, "10:00"))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 || len(notes(f)) != 1 {
		t.Fatalf("concurrent runs created %d, %d for the new appointment", total, len(notes(f)))
	}
	// After local midnight, tomorrow is Wednesday.
	if n, err := e.svc.SendReminders(e.ctx, e.at(1, "00:30")); err != nil || n != 1 || len(notes(c)) != 1 {
		t.Fatalf("Tuesday's run = %d, %v", n, err)
	}
}

func TestFixedStatements(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	for i := range 12 {
		e.book(e.customer(), e.at(1+i%3, []string{"10:00", "11:00", "15:00", "16:00"}[i%4]))
	}
	_, err := e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: e.day(5), Closed: true})
	must(t, err)
	_, err = e.svc.SetOverride(e.ctx, e.who("manager"), booking.OverrideInput{StoreID: e.store.ID, Day: e.day(8), Kind: ptr("MAINTENANCE"), Seats: ptr(4)})
	must(t, err)

	var one, thirty []booking.Slot
	n1 := e.statements(func() {
		one, err = e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(1), e.day(1))
		must(t, err)
	})
	n30 := e.statements(func() {
		thirty, err = e.svc.AvailableSlots(e.ctx, e.store.ID, "MAINTENANCE", e.day(0), e.day(30))
		must(t, err)
	})
	t.Logf("availableSlots: %d statements for 1 day (%d slots), %d for 31 days (%d slots)", n1, len(one), n30, len(thirty))
	if n1 != n30 || n1 > 5 || len(thirty) < 200 {
		t.Fatalf("AvailableSlots sent %d statements for 1 day, %d for 31; want the same, at most 5", n1, n30)
	}

	empty := e.statements(func() {
		_, err = e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, e.day(4))
		must(t, err)
	})
	busy := e.statements(func() {
		s, err := e.svc.DaySchedule(e.ctx, e.who("advisor"), e.store.ID, e.day(1))
		must(t, err)
		if len(s.Slots) == 0 {
			t.Fatal("empty schedule")
		}
	})
	if empty != busy || busy > 6 {
		t.Fatalf("DaySchedule sent %d statements for an empty day, %d for a busy one", empty, busy)
	}

	if n := e.statements(func() {
		_, err = e.svc.DayStats(e.ctx, e.who("manager"), e.store.ID, e.day(0), e.day(91))
		must(t, err)
	}); n != 1 {
		t.Fatalf("DayStats sent %d statements; want 1", n)
	}
	if n := e.statements(func() {
		_, err = e.svc.AppointmentsByIDs(e.ctx, []uuid.UUID{models.NewID(), models.NewID()})
		must(t, err)
	}); n != 1 {
		t.Fatalf("AppointmentsByIDs sent %d statements; want 1", n)
	}
	if n := e.statements(func() {
		_, err = e.svc.Calendar(e.ctx, e.store.ID)
		must(t, err)
	}); n != 4 {
		t.Fatalf("Calendar sent %d statements; want 4", n)
	}
}

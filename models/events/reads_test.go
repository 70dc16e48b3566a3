package events_test

import (
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
)

// Events starting at the same moment page by id, without gaps or repeats,
// and a page continues after an event deleted since (its cursor holds its
// start and id, not a reference to the row).
func TestListEventsPageThroughTies(t *testing.T) {
	e := newEnv(t)
	s := e.spec(events.Class, 10)
	// A window of its own, far from the other tests' events.
	start := s.StartsAt.AddDate(0, 0, 300).Add(17 * time.Minute)
	var want []*events.Event
	for i := range 7 {
		s := e.spec(events.Class, 10)
		s.StartsAt = start.Add(time.Duration(i/3) * time.Hour) // three at each hour
		s.EndsAt = s.StartsAt.Add(time.Hour)
		want = append(want, e.published(s))
	}
	f := events.Filter{StoreID: &e.sz.ID, From: &start, To: ptrTime(start.Add(3 * time.Hour))}
	list := func(p models.Page) ([]*events.Event, bool) {
		t.Helper()
		rows, more, err := e.svc.ListEvents(e.ctx, e.who("events.sz01"), f, p)
		must(t, err)
		return rows, more
	}
	var seen []*events.Event
	p := models.Page{First: 2}
	for range 10 {
		rows, more := list(p)
		seen = append(seen, rows...)
		if !more {
			break
		}
		p.After = rows[len(rows)-1].PageKey()
	}
	if len(seen) != len(want) {
		t.Fatalf("%d events over the pages; want %d", len(seen), len(want))
	}
	for i := 1; i < len(seen); i++ {
		a, b := seen[i-1], seen[i]
		if b.StartsAt.Before(a.StartsAt) || (b.StartsAt.Equal(a.StartsAt) && b.ID.String() <= a.ID.String()) {
			t.Fatalf("event %d (%s %s) after (%s %s)", i, b.StartsAt, b.ID, a.StartsAt, a.ID)
		}
	}

	gone := seen[1]
	must(t, e.db.Conn(e.ctx).Delete(&events.Event{}, "id = ?", gone.ID).Error)
	rows, _ := list(models.Page{First: 2, After: gone.PageKey()})
	if len(rows) != 2 || rows[0].ID != seen[2].ID || rows[1].ID != seen[3].ID {
		t.Fatalf("after a deleted event: %v; want %s, %s", rows, seen[2].ID, seen[3].ID)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The demo classes and trips: upcoming classes and trips published at both
// stores, some full with a waitlist, seats counted as the registrations
// say, fees on the ledger, and the demo owner with one seat and one place
// in a queue.
func TestSeedEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t)
	if _, err := demo.Seed(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	var stores []*models.Store
	if err := db.Conn(ctx).Order("code").Find(&stores).Error; err != nil {
		t.Fatal(err)
	}
	var evs []*events.Event
	if err := db.Conn(ctx).Order("starts_at").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	var regs []*events.Registration
	if err := db.Conn(ctx).Find(&regs).Error; err != nil {
		t.Fatal(err)
	}
	confirmed := map[uuid.UUID]int{}
	waitlisted := map[uuid.UUID]int{}
	for _, r := range regs {
		switch r.Status {
		case events.Confirmed:
			confirmed[r.EventID] += r.PartySize
		case events.Waitlisted:
			waitlisted[r.EventID]++
		}
	}
	type kinds struct{ classes, trips int }
	published := map[uuid.UUID]*kinds{}
	full, drafts, paid := 0, 0, 0
	now := time.Now()
	for _, e := range evs {
		if !e.StartsAt.After(now) || !e.RegistrationClosesAt.After(now) {
			t.Errorf("event %q is not upcoming: starts %v, registration closes %v", e.Title, e.StartsAt, e.RegistrationClosesAt)
		}
		if e.SeatsTaken != confirmed[e.ID] || e.SeatsTaken > e.Capacity {
			t.Errorf("event %q: %d seats taken of %d, confirmed registrations hold %d", e.Title, e.SeatsTaken, e.Capacity, confirmed[e.ID])
		}
		switch e.Status {
		case events.Draft:
			drafts++
			continue
		case events.Published:
		default:
			t.Errorf("event %q is %s", e.Title, e.Status)
		}
		k := published[e.StoreID]
		if k == nil {
			k = &kinds{}
			published[e.StoreID] = k
		}
		if e.Kind == events.Class {
			k.classes++
		} else {
			k.trips++
			if len(e.Stops()) < 3 || !e.VehicleRequired || e.MaxPartySize < 2 {
				t.Errorf("trip %q: %d stops, vehicle %v, party %d", e.Title, len(e.Stops()), e.VehicleRequired, e.MaxPartySize)
			}
		}
		if e.SeatsLeft() == 0 && waitlisted[e.ID] >= 2 {
			full++
		}
		if !e.Free() && confirmed[e.ID] > 0 {
			paid++
		}
	}
	for _, s := range stores {
		if k := published[s.ID]; k == nil || k.classes < 1 || k.trips < 1 {
			t.Errorf("%s publishes %+v", s.Code, k)
		}
	}
	if full < 2 || drafts != 1 || paid < 2 {
		t.Errorf("%d full events with a waitlist, %d drafts, %d paid events with seats taken", full, drafts, paid)
	}

	// The paid seats are on the ledger, which adds up.
	var charged int64
	if err := db.Conn(ctx).Model(&wallet.Entry{}).Where("ref_type = ?", wallet.RefRegistration).Count(&charged).Error; err != nil {
		t.Fatal(err)
	}
	if charged < 2 {
		t.Errorf("%d ledger entries for registrations", charged)
	}
	if bad, err := wallet.Audit(ctx, db); err != nil || len(bad) != 0 {
		t.Fatalf("wallet audit: %v %+v", err, bad)
	}

	// The demo owner: one confirmed registration (with its check-in code)
	// and one waitlisted, first in line.
	var owner models.Owner
	if err := db.Conn(ctx).Where("phone = ?", demo.DemoOwnerPhone).Take(&owner).Error; err != nil {
		t.Fatal(err)
	}
	svc := &events.Service{DB: db, Wallet: &wallet.Service{DB: db}}
	me := &auth.Principal{Kind: auth.KindOwner, ID: owner.ID}
	mine, _, err := svc.OwnerRegistrations(ctx, me, owner.ID, nil, models.Page{First: 10})
	if err != nil || len(mine) != 2 {
		t.Fatalf("demo owner's registrations: %v, %v", mine, err)
	}
	byStatus := map[events.RegStatus]*events.Registration{}
	for _, r := range mine {
		byStatus[r.Status] = r
	}
	c, w := byStatus[events.Confirmed], byStatus[events.Waitlisted]
	if c == nil || w == nil || c.CheckInCode == "" || c.PaidFen == 0 {
		t.Fatalf("demo owner's registrations: %+v", mine)
	}
	pos, err := svc.WaitlistPositions(ctx, []uuid.UUID{w.ID})
	if err != nil || pos[w.ID] != 1 {
		t.Fatalf("demo owner's waitlist position %v, %v", pos, err)
	}
}

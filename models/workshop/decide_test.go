package workshop

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

func TestCheckDecisions(t *testing.T) {
	t.Parallel()
	a, b := uuid.New(), uuid.New()
	many := make([]Decision, MaxDecisions+1)
	for i := range many {
		many[i].ItemID = uuid.New()
	}
	for _, c := range []struct {
		name  string
		in    []Decision
		field string // "" when accepted
	}{
		{"none", nil, "decisions"},
		{"too many", many, "decisions"},
		{"duplicate", []Decision{{ItemID: a}, {ItemID: b, Approve: true}, {ItemID: a, Approve: true}}, "decisions[2].itemId"},
		{"one", []Decision{{ItemID: a}}, ""},
		{"at most", many[:MaxDecisions], ""},
	} {
		err := checkDecisions(c.in)
		var e *models.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Code != models.CodeInvalidArgument || e.Field != c.field):
			t.Errorf("%s: got %v, want INVALID_ARGUMENT on %s", c.name, err, c.field)
		}
	}
}

func TestApplyDecisions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seen := now.Add(-time.Hour)
	items := func() []*Item {
		return []*Item{
			{ID: uuid.MustParse("00000000-0000-0000-0000-000000000001"), Approval: Pending},
			{ID: uuid.MustParse("00000000-0000-0000-0000-000000000002"), Approval: Pending, SeenAt: &seen},
			{ID: uuid.MustParse("00000000-0000-0000-0000-000000000003"), Approval: PreApproved},
			{ID: uuid.MustParse("00000000-0000-0000-0000-000000000004"), Approval: Declined},
		}
	}
	id := func(n int) uuid.UUID { return items()[n-1].ID }
	for _, c := range []struct {
		name             string
		in               []Decision
		approve, decline int // counts
		field            string
	}{
		{"approve and decline", []Decision{{ItemID: id(2), Approve: true}, {ItemID: id(1)}}, 1, 1, ""},
		{"agreed at check-in", []Decision{{ItemID: id(1)}, {ItemID: id(3), Approve: true}}, 0, 0, "decisions[1].itemId"},
		{"already decided", []Decision{{ItemID: id(4), Approve: true}}, 0, 0, "decisions[0].itemId"},
		{"not on the order", []Decision{{ItemID: uuid.New()}}, 0, 0, "decisions[0].itemId"},
	} {
		its := items()
		approve, decline, err := applyDecisions(its, c.in, now)
		if c.field != "" {
			var e *models.Error
			if !errors.As(err, &e) || e.Code != ErrItemNotPending.Code || e.Field != c.field {
				t.Errorf("%s: got %v, want %s on %s", c.name, err, ErrItemNotPending.Code, c.field)
			}
			continue
		}
		if err != nil || len(approve) != c.approve || len(decline) != c.decline {
			t.Fatalf("%s: approve %v decline %v err %v", c.name, approve, decline, err)
		}
		if its[0].Approval != Declined || its[1].Approval != Approved || !its[0].DecidedAt.Equal(now) ||
			!its[0].SeenAt.Equal(now) || !its[1].SeenAt.Equal(seen) {
			t.Errorf("%s: items %+v %+v", c.name, its[0], its[1])
		}
	}
}

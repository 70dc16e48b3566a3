package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

func TestCheckInCode(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("AB2345", 4)[:checkInCodeLen]
	for _, c := range []struct {
		name, in, want string
		code           models.Code // refused
	}{
		{"issued spelling", good, good, ""},
		{"typed in lower case with spaces", "  " + strings.ToLower(good) + "\t", good, ""},
		{"empty", "   ", "", models.CodeInvalidArgument},
		{"too long", strings.Repeat("A", MaxCodeLen+1), "", models.CodeInvalidArgument},
		{"a control character", good[:10] + "\x07" + good[11:], "", models.CodeInvalidArgument},
		{"one short", good[1:], "", models.CodeNotFound},
		{"outside the alphabet", "0" + good[1:], "", models.CodeNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := checkInCode(c.in)
			if c.code == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if e, ok := models.AsError(err); !ok || e.Code != c.code || e.Field != "code" {
				t.Fatalf("got %v; want %s on code", err, c.code)
			}
		})
	}
}

func TestCheckInOpen(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)
	e := &Event{StartsAt: start, EndsAt: start.Add(4 * time.Hour)}
	confirmed := &Registration{Status: Confirmed}
	for _, c := range []struct {
		name string
		r    *Registration
		now  time.Time
		want error
	}{
		{"as check-in opens", confirmed, start.Add(-CheckInOpensBefore), nil},
		{"a moment before it opens", confirmed, start.Add(-CheckInOpensBefore - time.Second), ErrCheckInNotOpen},
		{"at the end", confirmed, e.EndsAt, nil},
		{"after the end", confirmed, e.EndsAt.Add(time.Second), ErrCheckInNotOpen},
		{"waitlisted", &Registration{Status: Waitlisted}, start, ErrNotConfirmed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := checkInOpen(c.r, e, c.now); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

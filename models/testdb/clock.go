package testdb

import (
	"context"
	"sync"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// Clock is a settable clock for a service's Now field, safe for the many
// goroutines of a concurrency test: tests move it instead of sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock d on (back for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Now is the real time as the database keeps it (UTC, to the microsecond),
// for tests that build rows or inputs around the present.
func Now() time.Time { return models.Clock(nil).Now(context.Background()) }

// Today is the date in mainland China now, as the domain's date rules see it.
func Today() models.Date { return models.Clock(nil).Today(context.Background()) }

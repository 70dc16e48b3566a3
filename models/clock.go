package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// ChinaTime is the dealer group's civil time, where the domain's days begin
// (today's date, reminders' days, daily jobs, dates on memos and order
// numbers). Mainland China has kept UTC+8 without daylight saving since
// 1991, so a fixed zone is exact and needs no tzdata on the host.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// ChinaDate is the calendar date in mainland China at t.
func ChinaDate(t time.Time) Date { return DateOf(t.In(ChinaTime)) }

// Clock tells a service, or the database, the time. The nil Clock is the
// real one; tests inject their own (testdb.Clock's Now) to move time
// instead of waiting for it.
type Clock func() time.Time

// read is c's time as the database keeps times: UTC, to the microsecond, so
// that both dialects round-trip it exactly.
func (c Clock) read() time.Time {
	if c == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return c().UTC().Truncate(time.Microsecond)
}

// Now is the time of an operation running in ctx. In a transaction it is
// the transaction's time, read once from the clock of whoever began it
// (see DB.WithTx), so that every row the transaction writes carries the
// same time, whichever capability writes it; outside one, it is c's time.
func (c Clock) Now(ctx context.Context) time.Time {
	if t := txState(ctx); t != nil {
		return t.now
	}
	return c.read()
}

// AtTime is ctx with its transaction's time moved to at: what is written
// through it (in the same transaction, committed with it) carries at. Only
// the demo data needs it, which writes months of history in one
// transaction. Outside a transaction it returns ctx: operations then read
// their own clock.
func AtTime(ctx context.Context, at time.Time) context.Context {
	t := txState(ctx)
	if t == nil {
		return ctx
	}
	moved := &tx{now: at.UTC().Truncate(time.Microsecond), afterCommit: t.afterCommit}
	moved.conn = t.conn.Session(&gorm.Session{NowFunc: func() time.Time { return moved.now }})
	return context.WithValue(ctx, txKey{}, moved)
}

// Today is the date in mainland China at Now(ctx): the reference of date
// rules ("a birthday is not in the future").
func (c Clock) Today(ctx context.Context) Date { return ChinaDate(c.Now(ctx)) }

// WithClock is db with its time read from c: transactions it begins fix
// their time from c, and rows GORM stamps outside a transaction take c's
// time. A nil c leaves db's clock as it is. Services begin their
// transactions on db.WithClock(s.Clock), so that their injected clock
// reaches what they write.
func (db *DB) WithClock(c Clock) *DB {
	if c == nil {
		return db
	}
	d := *db
	d.clock = c
	return &d
}

// Now is the time of an operation running in ctx, by db's clock (see
// Clock.Now).
func (db *DB) Now(ctx context.Context) time.Time { return db.clock.Now(ctx) }

// Today is the date in mainland China at db.Now(ctx).
func (db *DB) Today(ctx context.Context) Date { return db.clock.Today(ctx) }

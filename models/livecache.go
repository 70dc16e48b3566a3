package models

import (
	"context"
	"sync"
	"time"
)

// Reads cached until announced: a small value (a board's version, whether a
// screen token is live) read once and kept in process until its topic is
// announced, so that a poll that finds nothing changed costs no statement.
// The announcements are the live updates' own (live.go), so the cache is as
// fresh across instances as a subscription is:
//
//   - a change announces its topic in its transaction; the instance that
//     made it drops its entry at commit, every other one when the
//     PostgreSQL notification arrives (milliseconds);
//   - while the PostgreSQL listener is not connected, nothing is cached or
//     served from the cache (every read goes to the database), and when it
//     reconnects the whole cache is dropped, since what was announced
//     meanwhile is unknown;
//   - no entry is served older than the cache's maximum age
//     (Pool.LiveCacheMaxAge, LIVE_CACHE_MAX_AGE), which bounds the staleness should a
//     notification ever be lost while the listener stays connected.
//
// docs/performance.md states the bound.

// DefaultLiveCacheMaxAge is the longest an entry is served.
const DefaultLiveCacheMaxAge = 10 * time.Second

type cacheEntry struct {
	val any
	at  time.Time
}

// liveCache is one instance's cache, keyed by topic.
type liveCache struct {
	mu      sync.Mutex
	maxAge  time.Duration
	entries map[string]cacheEntry
	// gens counts the announcements of topics with a read in flight
	// (inflight), so that a read that began before an announcement does
	// not store what it read; epoch does the same for a reconnect.
	gens     map[string]uint64
	inflight map[string]int
	epoch    uint64
}

func newLiveCache() *liveCache {
	return &liveCache{maxAge: DefaultLiveCacheMaxAge, entries: map[string]cacheEntry{},
		gens: map[string]uint64{}, inflight: map[string]int{}}
}

func (c *liveCache) invalidate(topic string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, topic)
	if c.inflight[topic] > 0 {
		c.gens[topic]++
	}
}

func (c *liveCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.epoch++
}

// CachedUntilAnnounced returns the value last read for topic, or reads it
// with read and keeps it until topic is announced (Publish), the listener
// reconnects or the maximum age passes. read runs outside any lock; errors
// are not kept. Inside a transaction it always reads: the transaction may
// see what it has not committed.
func CachedUntilAnnounced[T any](ctx context.Context, db *DB, topic string, read func(context.Context) (T, error)) (T, error) {
	c := db.live.cache
	if txState(ctx) != nil || !db.hearsAnnouncements() {
		return read(ctx)
	}
	c.mu.Lock()
	if e, ok := c.entries[topic]; ok && time.Since(e.at) < c.maxAge {
		c.mu.Unlock()
		return e.val.(T), nil
	}
	c.inflight[topic]++
	gen, epoch := c.gens[topic], c.epoch
	c.mu.Unlock()

	at := time.Now()
	v, err := read(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && c.gens[topic] == gen && c.epoch == epoch && db.hearsAnnouncements() {
		c.entries[topic] = cacheEntry{val: v, at: at}
	}
	if c.inflight[topic]--; c.inflight[topic] == 0 {
		delete(c.inflight, topic)
		delete(c.gens, topic)
	}
	return v, err
}

// hearsAnnouncements: on SQLite always (one process); on PostgreSQL while
// the listener is connected.
func (db *DB) hearsAnnouncements() bool {
	return db.Dialect == SQLite || db.live.listening.Load()
}

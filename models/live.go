package models

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// Live updates: an operation that changes something announces a topic
// ("board:<store id>", "order:<order id>") with Publish, inside its
// transaction; subscribers hear it only after the transaction commits, and
// then re-read what they show. A topic carries no data, so a subscriber never
// sees anything its own read would not.
//
// On PostgreSQL the announcement is a NOTIFY on one channel, which
// PostgreSQL delivers at commit to every instance's listener; on SQLite (one
// process) it is handed to this process's subscribers after commit.

// liveChannel is the PostgreSQL notification channel of every topic.
const liveChannel = "ownerhub_live"

// hub fans topics out to this process's subscribers. A subscriber's channel
// holds at most one pending signal: bursts collapse into one re-read.
type hub struct {
	mu    sync.Mutex
	subs  map[string]map[chan struct{}]struct{}
	ready chan struct{} // closed once the PostgreSQL listener is listening
	once  sync.Once
	// listening is whether the PostgreSQL listener is connected now.
	listening atomic.Bool
	// cache holds the reads kept until their topic is announced
	// (livecache.go).
	cache *liveCache
}

func newHub() *hub {
	return &hub{subs: map[string]map[chan struct{}]struct{}{}, ready: make(chan struct{}), cache: newLiveCache()}
}

func (h *hub) deliver(topic string) {
	h.cache.invalidate(topic)
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[topic] {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// deliverAll wakes every subscriber: after the listener reconnects, what
// happened while it was away is unknown, so everyone re-reads.
func (h *hub) deliverAll() {
	h.cache.reset()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Subscribe returns a channel that receives a signal after every committed
// change announced on topic, and a function that ends the subscription.
func (db *DB) Subscribe(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	db.live.mu.Lock()
	if db.live.subs[topic] == nil {
		db.live.subs[topic] = map[chan struct{}]struct{}{}
	}
	db.live.subs[topic][ch] = struct{}{}
	db.live.mu.Unlock()
	return ch, func() {
		db.live.mu.Lock()
		delete(db.live.subs[topic], ch)
		if len(db.live.subs[topic]) == 0 {
			delete(db.live.subs, topic)
		}
		db.live.mu.Unlock()
	}
}

// LiveReady is closed once announcements from other instances can be heard
// (at once on SQLite; when the listener is connected on PostgreSQL).
func (db *DB) LiveReady() <-chan struct{} { return db.live.ready }

// Publish announces a change on topic. Inside a transaction it takes effect
// at commit and not at all on rollback; outside one, at once.
func (db *DB) Publish(ctx context.Context, topic string) error {
	if db.Dialect == Postgres {
		if err := db.Conn(ctx).Exec("SELECT pg_notify(?, ?)", liveChannel, topic).Error; err != nil {
			return err
		}
		// This instance's cache forgets the topic at commit, without
		// waiting for its own notification to come back.
		AfterCommit(ctx, func(context.Context) { db.live.cache.invalidate(topic) })
		return nil
	}
	if tx := txState(ctx); tx != nil {
		*tx.afterCommit = append(*tx.afterCommit, func() { db.live.deliver(topic) })
		return nil
	}
	db.live.deliver(topic)
	return nil
}

// listen runs the PostgreSQL listener until ctx ends, reconnecting after a
// lost connection.
func (db *DB) listen(ctx context.Context, conf *pgx.ConnConfig, log *slog.Logger) {
	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, conf) },
		ReconnectDelay: 2 * time.Second,
		LogError: func(ctx context.Context, err error) {
			// Every error the listener reports ends (or failed to make) its
			// connection: announcements from other instances go unheard
			// until it has reconnected.
			db.live.listening.Store(false)
			if log != nil && ctx.Err() == nil {
				log.Warn("live updates listener", "err", err)
			}
		},
	}
	l.Handle(liveChannel, liveHandler{db.live})
	_ = l.Listen(ctx)
}

// LiveState says whether this instance hears changes made on others:
// "in process" on SQLite (one process, nothing to hear), "listening" or
// "not listening" on PostgreSQL.
func (db *DB) LiveState() string {
	switch {
	case db.Dialect == SQLite:
		return "in process"
	case db.live.listening.Load():
		return "listening"
	}
	return "not listening"
}

type liveHandler struct{ h *hub }

func (l liveHandler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	l.h.deliver(n.Payload)
	return nil
}

// HandleBacklog runs each time LISTEN has been issued: the first time marks
// the listener ready; after a reconnect, every subscriber re-reads.
func (l liveHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	l.h.listening.Store(true)
	first := false
	l.h.once.Do(func() { first = true; close(l.h.ready) })
	if !first {
		l.h.deliverAll()
	}
	return nil
}

// AfterCommit runs f once the transaction in ctx has committed, and never
// if it rolls back; outside a transaction, at once. f gets ctx without the
// transaction (its values and deadline stay): what it does is not part of
// it. For work outside the database that a transaction decided (sending a
// refund to the payment provider).
func AfterCommit(ctx context.Context, f func(ctx context.Context)) {
	t := txState(ctx)
	if t == nil {
		f(ctx)
		return
	}
	out := context.WithValue(ctx, txKey{}, (*tx)(nil))
	*t.afterCommit = append(*t.afterCommit, func() { f(out) })
}

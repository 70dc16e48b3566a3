package graph

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// errNotFound: a loader has no value for the key; the relation is absent.
var errNotFound = errors.New("no value for the key")

// keyErrors is LoadAll's error when keys failed one by one: an entry per
// key, nil for the keys that were read.
type keyErrors []error

// Unwrap lets errors.Is find errNotFound among the keys' errors.
func (e keyErrors) Unwrap() []error { return e }

func (e keyErrors) Error() string {
	for _, err := range e {
		if err != nil {
			return err.Error()
		}
	}
	return "no error"
}

// Loader batches one relation's reads for an operation. Keys loaded by
// the fields of a list's elements, which gqlgen resolves concurrently, go
// into a batch that is read once nothing in the operation can add to it
// (scheduler; by time where the operation is not counted: loaderWait
// after its first key). A field that is not inside a list resolves once
// per operation, so nobody else can add a key to its batch: its read goes
// out at once (docs/performance.md, "When batches go out").
//
// A key read, or primed, is kept for the operation, and so is a key read
// and found to have no value (unless the operation's loaders do not cache:
// subscriptions).
type Loader[K comparable, V any] struct {
	fetch func(context.Context, []K) (map[K]V, error)
	cache bool

	mu   sync.Mutex
	open *batch[K, V] // collecting keys; nil when none is
	// reading: keys being read, and the batch reading them (cache only).
	reading map[K]*batch[K, V]
	kept    map[K]V // nil until something is kept
	// absent: keys read that have no value (see record).
	absent map[K]struct{}
}

func newLoader[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error), cache bool) *Loader[K, V] {
	return &Loader[K, V]{fetch: fetch, cache: cache}
}

// batch is one read of a loader's keys, shared by the fields waiting for
// it.
type batch[K comparable, V any] struct {
	l     *Loader[K, V]
	ctx   context.Context
	sched *scheduler // nil: sent by its timer
	keys  []K
	index map[K]struct{}
	// waiters and sent change under l.mu. Fields join a batch until it
	// is read: while it collects keys, or while it reads keys they want
	// too (Loader.reading).
	waiters int
	sent    bool
	done    chan struct{}
	vals    map[K]V
	err     error
}

// wait adds keys to the open batch (opening one if needed) and waits
// until it has been read.
func (l *Loader[K, V]) wait(ctx context.Context, keys []K) (map[K]V, error) {
	s := schedulerOf(ctx)
	if s != nil && s.byTime() {
		s = nil
	}
	l.mu.Lock()
	b := l.open
	fresh := b == nil
	if fresh {
		b = &batch[K, V]{l: l, ctx: ctx, sched: s, index: map[K]struct{}{}, done: make(chan struct{})}
		l.open = b
	}
	for _, k := range keys {
		if _, dup := b.index[k]; !dup {
			b.index[k] = struct{}{}
			b.keys = append(b.keys, k)
		}
	}
	b.waiters++
	l.mu.Unlock()
	switch {
	case fresh && b.sched == nil:
		time.AfterFunc(loaderWait, b.send)
	case fresh:
		b.sched.add(b.send)
	}
	return b.await()
}

// await waits for the batch a field joined (l.mu was held to join).
func (b *batch[K, V]) await() (map[K]V, error) {
	if b.sched != nil {
		b.sched.wait()
	}
	<-b.done
	return b.vals, b.err
}

// send reads the batch's keys and releases its waiters. While it reads,
// fields that want the same keys join it rather than read them again
// (reading); once read, a loader that keeps values keeps what it found and
// what it did not.
func (b *batch[K, V]) send() {
	l := b.l
	l.mu.Lock()
	if b.sent {
		l.mu.Unlock()
		return
	}
	b.sent = true
	if l.open == b {
		l.open = nil
	}
	if l.cache {
		if l.reading == nil {
			l.reading = map[K]*batch[K, V]{}
		}
		for _, k := range b.keys {
			l.reading[k] = b
		}
	}
	l.mu.Unlock()
	func() {
		defer func() {
			if r := recover(); r != nil {
				b.err = fmt.Errorf("batched read panicked: %v", r)
			}
		}()
		b.vals, b.err = l.fetch(b.ctx, b.keys)
	}()
	l.mu.Lock()
	for _, k := range b.keys {
		if l.reading[k] == b {
			delete(l.reading, k)
		}
	}
	if b.err == nil {
		l.record(b.keys, b.vals)
	}
	waiters := b.waiters
	l.mu.Unlock()
	if b.sched != nil {
		b.sched.released(waiters)
	}
	close(b.done)
}

// keep stores v for key; l.mu is held.
func (l *Loader[K, V]) keep(key K, v V) {
	if l.kept == nil {
		l.kept = map[K]V{}
	}
	l.kept[key] = v
}

// record keeps what a read of keys found in vals and what it did not, if
// the loader keeps values; l.mu is held.
func (l *Loader[K, V]) record(keys []K, vals map[K]V) {
	if !l.cache {
		return
	}
	for _, k := range keys {
		if v, ok := vals[k]; ok {
			l.keep(k, v)
			continue
		}
		if l.absent == nil {
			l.absent = map[K]struct{}{}
		}
		l.absent[k] = struct{}{}
	}
}

// Load reads key's value: inside a list through the batch, elsewhere at
// once. A key with no value is errNotFound either way.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	vs, err := l.LoadAll(ctx, []K{key})
	if err != nil {
		var zero V
		return zero, err
	}
	return vs[0], nil
}

// LoadAll reads keys' values: the ones not kept yet in one read, batched
// inside a list, at once elsewhere. Keys without a value fail with
// errNotFound: the error is errNotFound itself for a single key, a
// keyErrors for several.
func (l *Loader[K, V]) LoadAll(ctx context.Context, keys []K) ([]V, error) {
	list := insideList(ctx)
	out := make([]V, len(keys))
	var missing []K
	for {
		missing = missing[:0]
		var busy *batch[K, V]
		l.mu.Lock()
		for i, k := range keys {
			if v, ok := l.kept[k]; ok {
				out[i] = v
			} else if _, ok := l.absent[k]; ok {
				continue
			} else if b := l.reading[k]; b != nil && list {
				busy = b
			} else {
				missing = append(missing, k)
			}
		}
		if busy == nil {
			l.mu.Unlock()
			break
		}
		// Keys another batch is reading: wait for it, then look again.
		busy.waiters++
		l.mu.Unlock()
		if _, err := busy.await(); err != nil {
			return nil, err
		}
	}
	var got map[K]V
	if len(missing) > 0 {
		var err error
		if list {
			got, err = l.wait(ctx, missing) // the batch records what it read
		} else if got, err = l.fetch(ctx, missing); err == nil {
			l.mu.Lock()
			l.record(missing, got)
			l.mu.Unlock()
		}
		if err != nil {
			return nil, err
		}
	}
	var errs keyErrors
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range keys {
		if v, ok := got[k]; ok {
			out[i] = v
		} else if _, ok := l.kept[k]; !ok {
			if errs == nil {
				errs = make(keyErrors, len(keys))
			}
			errs[i] = errNotFound
		}
	}
	if errs != nil {
		if len(keys) == 1 {
			return out, errs[0]
		}
		return out, errs
	}
	return out, nil
}

// Prime keeps value for key, as if read; false if key was already known.
func (l *Loader[K, V]) Prime(key K, value V) bool {
	if !l.cache {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, known := l.kept[key]; known {
		return false
	}
	l.keep(key, value)
	return true
}

// Prefetch reads keys now (at once outside a list, in one batch inside
// one) and keeps what it found and what it did not, so that the list
// elements' resolvers that load them afterwards neither read nor wait for
// a batch. A parent resolver calls it with its elements' keys when the
// operation selects the field (docs/performance.md, "When batches go
// out"). Without cache (subscriptions) it does nothing.
func (l *Loader[K, V]) Prefetch(ctx context.Context, keys []K) error {
	if !l.cache || len(keys) == 0 {
		return nil
	}
	seen := make(map[K]struct{}, len(keys))
	unique := make([]K, 0, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			unique = append(unique, k)
		}
	}
	// LoadAll records what it found and what it did not.
	if _, err := l.LoadAll(ctx, unique); err != nil && !errors.Is(err, errNotFound) {
		return err
	}
	return nil
}

// insideList: whether the field resolving in ctx is inside a list's
// element, where other elements' resolvers add keys concurrently.
func insideList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

package graph

import (
	"context"
	"errors"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"
)

// Loader batches one relation's reads for an operation. dataloadgen batches
// by time: a batch collects keys for loaderWait, then reads them all. That
// wait is needed only where keys can come from many resolvers at once: the
// fields of a list's elements, which gqlgen resolves concurrently. A field
// that is not inside a list resolves once per operation, so nobody else can
// add a key to its batch: its read goes out at once, without the wait
// (docs/performance.md, "Dataloader waits").
//
// A key read at once, or primed, is kept for the operation like a batched
// one (unless the operation's loaders do not cache: subscriptions).
//
// An operation's loaders are made for every operation but most go unused:
// the batch (and the kept map) are made on first use, not with the loader.
type Loader[K comparable, V any] struct {
	fetch func(context.Context, []K) (map[K]V, error)
	cache bool

	once    sync.Once
	batched *dataloadgen.Loader[K, V]

	mu   sync.Mutex
	kept map[K]V // nil until something is kept
	// absent: keys read at once that have no value (see Prefetch).
	absent map[K]struct{}
}

func newLoader[K comparable, V any](fetch func(context.Context, []K) (map[K]V, error), cache bool) *Loader[K, V] {
	return &Loader[K, V]{fetch: fetch, cache: cache}
}

// batch is the loader's dataloadgen batch, made on first use.
func (l *Loader[K, V]) batch() *dataloadgen.Loader[K, V] {
	l.once.Do(func() {
		opts := []dataloadgen.Option{dataloadgen.WithWait(loaderWait)}
		if !l.cache {
			opts = append(opts, dataloadgen.WithoutCache())
		}
		l.batched = dataloadgen.NewMappedLoader(l.fetch, opts...)
	})
	return l.batched
}

// keep stores v for key; l.mu is held.
func (l *Loader[K, V]) keep(key K, v V) {
	if l.kept == nil {
		l.kept = map[K]V{}
	}
	l.kept[key] = v
}

// Load reads key's value: inside a list through the batch, elsewhere at
// once. A key with no value is dataloadgen.ErrNotFound either way.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	if v, ok := l.keptValue(key); ok {
		return v, nil
	}
	if l.knownAbsent(key) {
		var zero V
		return zero, dataloadgen.ErrNotFound
	}
	if insideList(ctx) {
		v, err := l.batch().Load(ctx, key)
		if err == nil && l.cache {
			l.mu.Lock()
			l.keep(key, v)
			l.mu.Unlock()
		}
		return v, err
	}
	vs, err := l.readNow(ctx, []K{key})
	if err != nil {
		var zero V
		return zero, err
	}
	return vs[0], nil
}

// LoadAll reads keys' values, in one batch; outside a list at once.
func (l *Loader[K, V]) LoadAll(ctx context.Context, keys []K) ([]V, error) {
	if insideList(ctx) {
		return l.batch().LoadAll(ctx, keys)
	}
	return l.readNow(ctx, keys)
}

// Prime keeps value for key, as if read; false if key was already known.
func (l *Loader[K, V]) Prime(key K, value V) bool {
	if !l.cache {
		return false
	}
	l.mu.Lock()
	_, known := l.kept[key]
	if !known {
		l.keep(key, value)
	}
	l.mu.Unlock()
	return !known && l.batch().Prime(key, value)
}

func (l *Loader[K, V]) keptValue(key K) (V, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.kept[key]
	return v, ok
}

// known reports whether key was read at once and found to have no value.
func (l *Loader[K, V]) knownAbsent(key K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.absent[key]
	return ok
}

// Prefetch reads keys now (at once outside a list, in one batch inside
// one) and keeps what it found and what it did not, so that the list
// elements' resolvers that load them afterwards neither read nor wait for
// a batch. A parent resolver calls it with its elements' keys when the
// operation selects the field (docs/performance.md, "Dataloader waits").
// Without cache (subscriptions) it does nothing.
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
	vs, err := l.LoadAll(ctx, unique)
	var errs dataloadgen.ErrorSlice
	if err != nil && !errors.As(err, &errs) && !errors.Is(err, dataloadgen.ErrNotFound) {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range unique {
		switch {
		case len(errs) > i && errs[i] != nil && !errors.Is(errs[i], dataloadgen.ErrNotFound):
			return errs[i]
		case len(errs) > i && errs[i] != nil, len(errs) == 0 && err != nil:
			if l.absent == nil {
				l.absent = map[K]struct{}{}
			}
			l.absent[k] = struct{}{}
		default:
			l.keep(k, vs[i])
		}
	}
	return nil
}

// readNow reads the keys not kept yet in one fetch and keeps them.
func (l *Loader[K, V]) readNow(ctx context.Context, keys []K) ([]V, error) {
	out := make([]V, len(keys))
	var missing []K
	l.mu.Lock()
	for i, k := range keys {
		if v, ok := l.kept[k]; ok {
			out[i] = v
		} else {
			missing = append(missing, k)
		}
	}
	l.mu.Unlock()
	var got map[K]V
	if len(missing) > 0 {
		var err error
		if got, err = l.fetch(ctx, missing); err != nil {
			return nil, err
		}
	}
	var errs []error
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range keys {
		if v, ok := got[k]; ok {
			out[i] = v
			if l.cache {
				l.keep(k, v)
			}
		} else if _, ok := l.kept[k]; !ok {
			if errs == nil {
				errs = make([]error, len(keys))
			}
			errs[i] = dataloadgen.ErrNotFound
		}
	}
	if errs != nil {
		if len(keys) == 1 {
			return out, errs[0]
		}
		return out, dataloadgen.ErrorSlice(errs)
	}
	return out, nil
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

package graph

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// A Loader outside a list reads at once; inside a list it batches the keys
// the elements' resolvers add concurrently into one read. The batch window
// is made long here, so that a read that waited for it shows.
func TestLoaderWaitsOnlyInsideLists(t *testing.T) {
	defer func(w time.Duration) { loaderWait = w }(loaderWait)
	loaderWait = 2 * time.Second

	var batches [][]int
	fetch := recordingFetch(&batches, func(k int) (string, bool) { return "v", k != 0 })
	field := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Object: "Query", Field: graphql.CollectedField{}})

	l := newLoader(fetch, true)
	start := time.Now()
	if v, err := l.Load(field, 1); err != nil || v != "v" {
		t.Fatalf("Load outside a list: %q, %v", v, err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("a load outside a list waited %v", el)
	}
	if _, err := l.Load(field, 0); !errors.Is(err, errNotFound) {
		t.Fatalf("a missing key: %v", err)
	}
	if _, err := l.Load(field, 1); err != nil || len(batches) != 2 {
		t.Fatalf("a key read again: %v, %d reads", err, len(batches))
	}
	l.Prime(5, "primed")
	if v, _ := l.Load(field, 5); v != "primed" || len(batches) != 2 {
		t.Fatalf("a primed key: %q after %d reads", v, len(batches))
	}

	// Three elements of a list: one read of their three keys.
	batches = nil
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			elem := graphql.WithFieldContext(field, &graphql.FieldContext{Index: &i})
			inner := graphql.WithFieldContext(elem, &graphql.FieldContext{Object: "Vehicle"})
			if _, err := l.Load(inner, 10+i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(batches) != 1 || len(batches[0]) != 3 {
		t.Fatalf("a list's keys were read in %v", batches)
	}
}

// Keys prefetched by a list's parent (found or not) are answered to the
// list's elements without a read and without the batch window; a
// subscription's loaders (no cache) prefetch nothing.
func TestLoaderPrefetchServesListElementsAtOnce(t *testing.T) {
	defer func(w time.Duration) { loaderWait = w }(loaderWait)
	loaderWait = 2 * time.Second

	var batches [][]int
	fetch := recordingFetch(&batches, func(k int) (string, bool) { return "odd", k%2 == 1 })
	field := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Object: "Query", Field: graphql.CollectedField{}})
	l := newLoader(fetch, true)
	if err := l.Prefetch(field, []int{1, 2, 3, 3, 1}); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || !slices.Equal(batches[0], []int{1, 2, 3}) {
		t.Fatalf("prefetch read %v", batches)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, k := range []int{1, 2, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			elem := graphql.WithFieldContext(field, &graphql.FieldContext{Index: &i})
			inner := graphql.WithFieldContext(elem, &graphql.FieldContext{Object: "Event"})
			v, err := l.Load(inner, k)
			if k%2 == 1 && (err != nil || v != "odd") || k%2 == 0 && !errors.Is(err, errNotFound) {
				t.Errorf("key %d: %q, %v", k, v, err)
			}
		}()
	}
	wg.Wait()
	if el := time.Since(start); el > time.Second || len(batches) != 1 {
		t.Fatalf("prefetched keys took %v and %d reads", el, len(batches))
	}

	batches = nil
	uncached := newLoader(fetch, false)
	if err := uncached.Prefetch(field, []int{1, 2}); err != nil || len(batches) != 0 {
		t.Fatalf("a loader without cache prefetched: %v, %v", batches, err)
	}
}

// recordingFetch is a batch read that records each batch's keys in
// batches and answers value(k) for the keys it has.
func recordingFetch(batches *[][]int, value func(int) (string, bool)) func(context.Context, []int) (map[int]string, error) {
	var mu sync.Mutex
	return func(_ context.Context, keys []int) (map[int]string, error) {
		mu.Lock()
		*batches = append(*batches, slices.Clone(keys))
		mu.Unlock()
		out := map[int]string{}
		for _, k := range keys {
			if v, ok := value(k); ok {
				out[k] = v
			}
		}
		return out, nil
	}
}

// listElement is the context of a field inside element i of a list, in an
// operation whose loaders are counted by s.
func listElement(s *scheduler, i int) context.Context {
	ctx := context.WithValue(context.Background(), loadersKey{}, &Loaders{sched: s, cache: true})
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Query"})
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Vehicle"})
}

// Counted, a batch goes out as soon as every field that could add to it
// waits for it, not after a wait: with the time window made long, three
// elements' keys are read in one read at once. A field that is still
// running holds the batch back until it waits too; what the released
// fields load next goes into one batch again.
func TestLoaderSendsWhenTheOperationIsIdle(t *testing.T) {
	defer func(w, m time.Duration) { loaderWait, loaderMaxWait = w, m }(loaderWait, loaderMaxWait)
	loaderWait, loaderMaxWait = 2*time.Second, 2*time.Second

	var batches [][]int
	fetch := recordingFetch(&batches, func(k int) (string, bool) { return "v", true })
	cars, orders := newLoader(fetch, true), newLoader(fetch, true)
	s := &scheduler{running: 4, log: slog.New(slog.DiscardHandler)}
	start := time.Now()
	var wg sync.WaitGroup
	slow := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := listElement(s, i)
			if i == 3 {
				// Still running (a statement of its own) when the others
				// wait: its key must make the same batch.
				<-slow
			}
			if _, err := cars.Load(ctx, 10+i); err != nil {
				t.Error(err)
			}
			// The next level: each element's order.
			if _, err := orders.Load(ctx, 20+i); err != nil {
				t.Error(err)
			}
			s.change(-1)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if len(batches) != 0 {
		t.Fatalf("read %v while a field was still running", batches)
	}
	close(slow)
	wg.Wait()
	if el := time.Since(start); el > time.Second {
		t.Fatalf("the batches waited: %v", el)
	}
	if len(batches) != 2 || len(batches[0]) != 4 || len(batches[1]) != 4 {
		t.Fatalf("two levels of four keys were read in %v", batches)
	}
	if s.running != 0 || s.miscounted {
		t.Fatalf("count at the end: %d running, miscounted %v", s.running, s.miscounted)
	}
}

// Should a field never report (a miscount), the watchdog sends the batch
// after loaderMaxWait rather than leave it waiting for ever.
func TestLoaderWatchdogSendsAStuckBatch(t *testing.T) {
	defer func(w, m time.Duration) { loaderWait, loaderMaxWait = w, m }(loaderWait, loaderMaxWait)
	loaderWait, loaderMaxWait = 2*time.Second, 30*time.Millisecond

	var batches [][]int
	l := newLoader(recordingFetch(&batches, func(k int) (string, bool) { return "v", true }), true)
	s := &scheduler{running: 2, log: slog.New(slog.DiscardHandler)}
	before := LoaderWatchdogSends()
	if _, err := l.Load(listElement(s, 0), 1); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || LoaderWatchdogSends() != before+1 {
		t.Fatalf("batches %v, watchdog sends %d", batches, LoaderWatchdogSends()-before)
	}
}

// A field that wants a key another batch is reading waits for that read
// rather than read the key again: a repair order's totals load its items,
// then its payments, while the payments field's batch is still reading
// them. Which of two batches sent together finishes first must not change
// how many reads an operation makes.
func TestLoaderJoinsAReadInFlight(t *testing.T) {
	defer func(w, m time.Duration) { loaderWait, loaderMaxWait = w, m }(loaderWait, loaderMaxWait)
	loaderWait, loaderMaxWait = 2*time.Second, 2*time.Second

	var itemReads, paymentReads [][]int
	readItems := recordingFetch(&itemReads, func(k int) (string, bool) { return "item", true })
	items := newLoader(func(ctx context.Context, keys []int) (map[int]string, error) {
		time.Sleep(20 * time.Millisecond) // the payments' read has started
		return readItems(ctx, keys)
	}, true)
	readPayments := recordingFetch(&paymentReads, func(k int) (string, bool) { return "payment", true })
	payments := newLoader(func(ctx context.Context, keys []int) (map[int]string, error) {
		time.Sleep(100 * time.Millisecond) // the items' read finishes first
		return readPayments(ctx, keys)
	}, true)
	s := &scheduler{running: 2, log: slog.New(slog.DiscardHandler)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // totals: items, then payments
		defer wg.Done()
		ctx := listElement(s, 0)
		if _, err := items.Load(ctx, 1); err != nil {
			t.Error(err)
		}
		if v, err := payments.Load(ctx, 1); err != nil || v != "payment" {
			t.Errorf("payments after items: %q, %v", v, err)
		}
		s.change(-1)
	}()
	go func() { // payments
		defer wg.Done()
		if _, err := payments.Load(listElement(s, 1), 1); err != nil {
			t.Error(err)
		}
		s.change(-1)
	}()
	wg.Wait()
	if len(itemReads) != 1 || len(paymentReads) != 1 {
		t.Fatalf("items read %v, payments read %v: want one read each", itemReads, paymentReads)
	}
	if s.running != 0 || s.miscounted {
		t.Fatalf("count at the end: %d running, miscounted %v", s.running, s.miscounted)
	}
}

// Several keys without a value: LoadAll's error is errNotFound to
// errors.Is, key by key, and Prefetch records them as absent.
func TestLoaderSeveralKeysNotFound(t *testing.T) {
	var batches [][]int
	l := newLoader(recordingFetch(&batches, func(k int) (string, bool) { return "v", k > 0 }), true)
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Object: "Query"})
	vs, err := l.LoadAll(ctx, []int{-1, 1, -2})
	var errs keyErrors
	if !errors.Is(err, errNotFound) || !errors.As(err, &errs) || errs[0] == nil || errs[1] != nil || errs[2] == nil || vs[1] != "v" {
		t.Fatalf("LoadAll: %v, %v", vs, err)
	}
	p := newLoader(recordingFetch(&batches, func(k int) (string, bool) { return "v", k > 0 }), true)
	if err := p.Prefetch(ctx, []int{-3, 3, -4}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Load(ctx, -4); !errors.Is(err, errNotFound) || len(batches) != 2 {
		t.Fatalf("a key prefetched and absent: %v after %d reads", err, len(batches))
	}
}

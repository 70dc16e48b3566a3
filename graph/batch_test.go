package graph

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"
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
	if _, err := l.Load(field, 0); !errors.Is(err, dataloadgen.ErrNotFound) {
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
			if k%2 == 1 && (err != nil || v != "odd") || k%2 == 0 && !errors.Is(err, dataloadgen.ErrNotFound) {
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

package graph

import (
	"context"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// A scheduler sends an operation's batched loads when nothing in the
// operation can add a key to them any more: every field that can start
// has started and either finished or is waiting for a batch. That is when
// a batch is as full as it can get, so it goes out then, without a fixed
// wait, and the statements an operation costs do not depend on how its
// goroutines happened to be scheduled (docs/performance.md, "When batches
// go out").
//
// It counts in running the fields that can make progress:
//   - a field counts from the moment the executor can start it: the root's
//     fields, and the fields of the objects in a field's result, when that
//     field's resolver returns, as gqlgen's executor orders them (see
//     object below);
//   - a field stops counting when its resolver returns or it waits for a
//     batch, and counts again when the batch is read (the batch adds its
//     waiters back before it releases them);
//   - a batch being read counts, so that what its waiters add next goes
//     into one batch with what the other batches' waiters add.
//
// When running drops to zero, the pending batches go out together. Should
// the count ever be wrong, a watchdog sends them after loaderMaxWait, and
// the end of the operation reports the imbalance (LoaderMiscounts).
//
// Subscriptions, operations with @defer, and operations whose result the
// count cannot follow (an abstract type whose concrete type was not
// noted), batch by time instead:
// a batch goes out loaderWait after its first key.
type scheduler struct {
	schema *ast.Schema
	oc     *graphql.OperationContext
	log    *slog.Logger

	mu       sync.Mutex
	running  int
	pending  []func()
	watchdog *time.Timer
	// timed: the count was given up; batches go out by time.
	timed      bool
	miscounted bool
	selections map[selectionKey]selectionCount
	concrete   map[*graphql.FieldContext]string
	objects    map[objectKey]*object
	unresolved map[*graphql.FieldContext]struct{}
	// watch counts the watchdogs armed: a watchdog that fires late acts
	// only if it is still the current one.
	watch int
}

// loaderMaxWait bounds how long a batch waits for the operation to go
// idle: a sibling field running a slow statement, or a miscount.
var loaderMaxWait = 50 * time.Millisecond

// loaderMiscounts counts operations that ended with the scheduler's count
// off (tests assert it stays zero); loaderWatchdogSends counts batches the
// watchdog sent.
var loaderMiscounts, loaderWatchdogSends atomic.Int64

// miscounted keeps the first miscounted operations' names, for tests.
var miscounted struct {
	sync.Mutex
	names []string
}

// LoaderMiscounts is how many operations ended with their loaders'
// scheduler count wrong since the process started, and the first few of
// their names. Each is also logged.
func LoaderMiscounts() (int64, []string) {
	miscounted.Lock()
	defer miscounted.Unlock()
	return loaderMiscounts.Load(), append([]string(nil), miscounted.names...)
}

// LoaderWatchdogSends is how many batches went out because the operation
// did not go idle within loaderMaxWait.
func LoaderWatchdogSends() int64 { return loaderWatchdogSends.Load() }

func newScheduler(schema *ast.Schema, oc *graphql.OperationContext, log *slog.Logger) *scheduler {
	s := &scheduler{schema: schema, oc: oc, log: log}
	if usesDefer(oc.Operation.SelectionSet, map[string]bool{}) {
		// gqlgen starts deferred fields after the rest, or not at all,
		// and answers before they are done: batches go by time.
		s.timed = true
		return s
	}
	root := schema.Query
	if oc.Operation.Operation == ast.Mutation {
		root = schema.Mutation
	}
	s.mu.Lock()
	_, s.running = s.newObject(nil, objectKey{}, root.Name, oc.Operation.SelectionSet)
	s.mu.Unlock()
	return s
}

// schedulerOf is the operation's scheduler; nil when batches go by time.
func schedulerOf(ctx context.Context) *scheduler {
	l, _ := ctx.Value(loadersKey{}).(*Loaders)
	if l == nil || l.sched == nil {
		return nil
	}
	return l.sched
}

// add queues a batch's send until the operation is idle.
func (s *scheduler) add(send func()) {
	s.mu.Lock()
	if s.timed {
		s.mu.Unlock()
		go send()
		return
	}
	s.pending = append(s.pending, send)
	if s.watchdog == nil {
		s.watch++
		armed := s.watch
		s.watchdog = time.AfterFunc(loaderMaxWait, func() { s.bark(armed) })
	}
	s.mu.Unlock()
}

// wait: a field is about to wait for a batch.
func (s *scheduler) wait() { s.change(-1) }

// released: a batch was read and is about to release its waiters.
func (s *scheduler) released(waiters int) { s.change(waiters - 1) }

func (s *scheduler) change(by int) {
	s.mu.Lock()
	if s.timed {
		s.mu.Unlock()
		return
	}
	s.running += by
	sends := s.ready()
	s.mu.Unlock()
	for _, send := range sends {
		go send()
	}
}

// ready takes the pending sends if nothing else runs; s.mu is held.
func (s *scheduler) ready() []func() {
	if s.timed {
		return nil
	}
	if s.running < 0 {
		s.miscounted = true
		s.running = 0
	}
	if s.running > 0 || len(s.pending) == 0 {
		return nil
	}
	return s.take()
}

// take empties pending, counting each send as running; s.mu is held.
func (s *scheduler) take() []func() {
	sends := s.pending
	s.pending = nil
	s.running += len(sends)
	if s.watchdog != nil {
		s.watchdog.Stop()
		s.watchdog = nil
	}
	return sends
}

// bark sends what waited loaderMaxWait for the operation to go idle, if
// watchdog armed is still the current one.
func (s *scheduler) bark(armed int) {
	s.mu.Lock()
	var sends []func()
	if s.watchdog != nil && s.watch == armed && len(s.pending) > 0 {
		sends = s.take()
	}
	s.mu.Unlock()
	loaderWatchdogSends.Add(int64(len(sends)))
	for _, send := range sends {
		go send()
	}
}

// giveUp stops counting: what is pending goes out now, later batches by
// time.
func (s *scheduler) giveUp() {
	s.mu.Lock()
	var sends []func()
	if !s.timed {
		sends = s.take()
		s.timed = true
	}
	s.mu.Unlock()
	for _, send := range sends {
		go send()
	}
}

// byTime: whether batches go out by time.
func (s *scheduler) byTime() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timed
}

// end checks the count once the operation's result is complete: nothing
// runs, nothing waits, and every field started was expected.
func (s *scheduler) end(ctx context.Context) {
	s.mu.Lock()
	off := !s.timed && (s.miscounted || s.running != 0 || len(s.pending) != 0)
	running := s.running
	s.mu.Unlock()
	if off {
		loaderMiscounts.Add(1)
		miscounted.Lock()
		if len(miscounted.names) < 20 {
			miscounted.names = append(miscounted.names, s.oc.OperationName+": "+s.oc.RawQuery)
		}
		miscounted.Unlock()
		s.log.ErrorContext(ctx, "loader scheduler miscounted the operation's fields",
			"operation", s.oc.OperationName, "running", running)
	}
}

// noteConcrete records the object type of an abstract field's value (the
// node query's): the count needs it to know which fields will resolve.
func noteConcrete(ctx context.Context, typeName string) {
	s, fc := schedulerOf(ctx), graphql.GetFieldContext(ctx)
	if s == nil || fc == nil {
		return
	}
	s.mu.Lock()
	if s.concrete == nil {
		s.concrete = map[*graphql.FieldContext]string{}
	}
	s.concrete[fc] = typeName
	s.mu.Unlock()
}

// The count follows gqlgen's executor (graph/generated): an object
// resolves its inline fields (struct fields and methods without a
// context) one after the other in the goroutine that marshals it, each
// with everything under it, and then its concurrent fields (resolvers)
// together. A list's elements are marshalled in a goroutine each. So a
// field can start when it is the object's next inline field, or when the
// object's inline fields are all done and it is concurrent; a field is
// done when its resolver returned and every object in its result is done.
// concurrentFields (graph/concurrent_fields.go) lists which fields are
// concurrent, as gqlgen generated them.

// object is one object in a field's result, or the operation's root.
type object struct {
	field      *field // nil for the root
	typeName   string
	inlineLeft int // inline fields not done
	concurrent int // concurrent fields
	left       int // fields not done
}

// field is one field being resolved.
type field struct {
	obj     *object
	inline  bool
	objects int // objects in its result not done
}

// objectKey finds the object a field belongs to: the field whose result
// holds it (nil: the root) and the list indices down to it.
type objectKey struct {
	parent *graphql.FieldContext
	path   string
}

// keyOf is the key of the object whose field fc resolves.
func keyOf(fc *graphql.FieldContext) objectKey {
	var indices []int
	p := fc.Parent
	for ; p != nil && p.Index != nil; p = p.Parent {
		indices = append(indices, *p.Index)
	}
	if p != nil && p.Field.Field == nil {
		p = nil // the operation's root
	}
	// Outer list first, as walk writes it.
	var path []byte
	for i := len(indices) - 1; i >= 0; i-- {
		path = strconv.AppendInt(append(path, '.'), int64(indices[i]), 10)
	}
	return objectKey{p, string(path)}
}

// newObject counts an object's fields and returns how many of them can
// start now; s.mu is held. An object without fields is done at once
// (nil).
func (s *scheduler) newObject(parent *field, key objectKey, typeName string, sel ast.SelectionSet) (*object, int) {
	o := &object{field: parent, typeName: typeName}
	conc := concurrentFields[typeName]
	for _, f := range s.collect(sel, typeName) {
		if _, ok := conc[f]; ok {
			o.concurrent++
		} else {
			o.inlineLeft++
		}
	}
	o.left = o.inlineLeft + o.concurrent
	if o.left == 0 {
		return nil, 0
	}
	if s.objects == nil {
		s.objects = map[objectKey]*object{}
	}
	s.objects[key] = o
	if o.inlineLeft > 0 {
		return o, 1
	}
	return o, o.concurrent
}

// done: f's resolver returned and everything under it is done; s.mu is
// held.
func (s *scheduler) done(f *field) {
	for f != nil {
		o := f.obj
		o.left--
		if f.inline {
			o.inlineLeft--
			if o.inlineLeft > 0 {
				s.running++ // the next inline field
			} else {
				s.running += o.concurrent
			}
		}
		if o.left > 0 || o.field == nil {
			return
		}
		f = o.field
		f.objects--
		if f.objects > 0 {
			return
		}
	}
}

// start finds the object fc's field belongs to; nil if the count has no
// such object (it was given up, or it is wrong).
func (s *scheduler) start(fc *graphql.FieldContext) *field {
	key := keyOf(fc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timed {
		return nil
	}
	o := s.objects[key]
	if o == nil {
		s.miscounted = true
		return nil
	}
	_, conc := concurrentFields[o.typeName][fc.Field.Name]
	return &field{obj: o, inline: !conc}
}

// finish: f's resolver returned res (nil on an error or a panic): the
// objects in res start, f is done once they are.
func (s *scheduler) finish(f *field, fc *graphql.FieldContext, res any) {
	sends, followed := func() ([]func(), bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.timed {
			return nil, true
		}
		s.running--
		if res != nil && !s.expand(f, fc, res) {
			return nil, false
		}
		if f.objects == 0 {
			s.done(f)
		}
		return s.ready(), true
	}()
	if !followed {
		s.giveUp()
	}
	for _, send := range sends {
		go send()
	}
}

// expand adds the objects in fc's result res, through lists; false if
// the schema's types do not describe res. s.mu is held.
func (s *scheduler) expand(f *field, fc *graphql.FieldContext, res any) bool {
	if fc.Field.Field == nil || fc.Field.Definition == nil {
		return false
	}
	t := fc.Field.Definition.Type
	def := s.schema.Types[t.Name()]
	if def == nil {
		return false
	}
	if def.Kind == ast.Scalar || def.Kind == ast.Enum {
		return true // scalars, or lists of them: no fields under them
	}
	return s.walk(f, fc, t, reflect.ValueOf(res), nil)
}

func (s *scheduler) walk(f *field, fc *graphql.FieldContext, t *ast.Type, v reflect.Value, path []byte) bool {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return true
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return true
	}
	if t.Elem != nil {
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return false
		}
		for i := range v.Len() {
			if !s.walk(f, fc, t.Elem, v.Index(i), strconv.AppendInt(append(path, '.'), int64(i), 10)) {
				return false
			}
		}
		return true
	}
	def := s.schema.Types[t.NamedType]
	if def == nil {
		return false
	}
	name := def.Name
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return true
	case ast.Interface, ast.Union:
		var ok bool
		if name, ok = s.concrete[fc]; !ok {
			return false
		}
	}
	o, n := s.newObject(f, objectKey{fc, string(path)}, name, fc.Field.Selections)
	if o != nil {
		f.objects++
		s.running += n
	}
	return true
}

// countFields is the field middleware that keeps the count.
func countFields(ctx context.Context, next graphql.Resolver) (res any, err error) {
	s := schedulerOf(ctx)
	if s == nil {
		return next(ctx)
	}
	fc := graphql.GetFieldContext(ctx)
	f := s.start(fc)
	if f == nil {
		return next(ctx)
	}
	finished := false
	defer func() {
		if !finished {
			// The resolver panicked: the field resolves to null.
			s.finish(f, fc, nil)
		}
	}()
	res, err = next(ctx)
	finished = true
	if err != nil {
		s.finish(f, fc, nil)
	} else {
		s.finish(f, fc, res)
	}
	return res, err
}

// unresolved: the executor reports an error for a field before resolving
// it, when its arguments do not parse. Such a field never reaches the
// field middleware, so it is done with here. gqlgen sets a field's Args
// once they parsed, before anything else can report an error for it.
func unresolved(ctx context.Context) {
	s, fc := schedulerOf(ctx), graphql.GetFieldContext(ctx)
	if s == nil || fc == nil || fc.Args != nil || fc.Field.Field == nil || fc.Field.Definition == nil ||
		len(fc.Field.Definition.Arguments) == 0 {
		return
	}
	s.mu.Lock()
	_, seen := s.unresolved[fc]
	if !seen {
		if s.unresolved == nil {
			s.unresolved = map[*graphql.FieldContext]struct{}{}
		}
		s.unresolved[fc] = struct{}{}
	}
	s.mu.Unlock()
	if seen {
		return // one more error of the same field
	}
	if f := s.start(fc); f != nil {
		s.finish(f, fc, nil)
	}
}

// collect is the names of the fields the executor resolves for an object
// of type typeName under sel (not __typename, which it answers itself);
// s.mu is held.
func (s *scheduler) collect(sel ast.SelectionSet, typeName string) []string {
	if len(sel) == 0 {
		return nil
	}
	key := selectionKey{&sel[0], len(sel), typeName}
	if c, ok := s.selections[key]; ok {
		return c.names
	}
	// What gqlgen's generated code passes for the type: its name, its
	// interfaces and the unions it belongs to.
	satisfies := []string{typeName}
	for _, d := range s.schema.GetImplements(s.schema.Types[typeName]) {
		satisfies = append(satisfies, d.Name)
	}
	var names []string
	for _, f := range graphql.CollectFields(s.oc, sel, satisfies) {
		if f.Name != "__typename" {
			names = append(names, f.Name)
		}
	}
	if s.selections == nil {
		s.selections = map[selectionKey]selectionCount{}
	}
	s.selections[key] = selectionCount{sel, names}
	return names
}

// selectionKey names a selection set (by its first element's address; the
// entry keeps the set alive, so the address is not reused) for one type.
type selectionKey struct {
	first    *ast.Selection
	n        int
	typeName string
}

type selectionCount struct {
	set   ast.SelectionSet
	names []string
}

// usesDefer reports whether sel, or a fragment it spreads, has @defer.
func usesDefer(sel ast.SelectionSet, seen map[string]bool) bool {
	for _, x := range sel {
		var dirs ast.DirectiveList
		var inner ast.SelectionSet
		switch x := x.(type) {
		case *ast.Field:
			dirs, inner = x.Directives, x.SelectionSet
		case *ast.InlineFragment:
			dirs, inner = x.Directives, x.SelectionSet
		case *ast.FragmentSpread:
			dirs = x.Directives
			if x.Definition != nil && !seen[x.Name] {
				seen[x.Name] = true
				inner = x.Definition.SelectionSet
			}
		}
		if dirs.ForName("defer") != nil || usesDefer(inner, seen) {
			return true
		}
	}
	return false
}

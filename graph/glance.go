package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// selects reports whether the field being resolved selects the path of
// fields below it (fragments included), e.g. "edges", "node", "lastService".
func selects(ctx context.Context, path ...string) bool {
	if graphql.GetFieldContext(ctx) == nil {
		return false
	}
	oc := graphql.GetOperationContext(ctx)
	return selectsIn(oc, graphql.CollectFieldsCtx(ctx, nil), path)
}

func selectsIn(oc *graphql.OperationContext, fields []graphql.CollectedField, path []string) bool {
	for _, f := range fields {
		if f.Name != path[0] {
			continue
		}
		if len(path) == 1 || selectsIn(oc, graphql.CollectFields(oc, f.Selections, nil), path[1:]) {
			return true
		}
	}
	return false
}

// orderTotals holds the totals a read fetched up front, by order: the
// totals resolver takes them from here instead of loading the order's
// items and payments.
type orderTotals struct {
	mu sync.Mutex
	m  map[uuid.UUID]workshop.TotalsView
}

func (t *orderTotals) get(id uuid.UUID) (workshop.TotalsView, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[id]
	return v, ok
}

func (t *orderTotals) put(m map[uuid.UUID]workshop.TotalsView) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[uuid.UUID]workshop.TotalsView, len(m))
	}
	for k, v := range m {
		t.m[k] = v
	}
}

// glanceAtCars fetches up front, when a page of cars selects their last
// service or live order, both for every car of the page with their totals
// in one statement (workshop.CarsAtAGlance), and primes the loaders: the
// fields below then resolve without waiting for a batch.
func glanceAtCars(ctx context.Context, ws *workshop.Service, cars []*models.Vehicle) error {
	if len(cars) == 0 || !(selects(ctx, "edges", "node", "lastService") || selects(ctx, "edges", "node", "activeRepairOrder")) {
		return nil
	}
	ids := make([]uuid.UUID, len(cars))
	for i, v := range cars {
		ids[i] = v.ID
	}
	g, err := ws.CarsAtAGlance(ctx, ids)
	if err != nil {
		return err
	}
	l := loaders(ctx)
	for _, id := range ids {
		l.LastService.Prime(id, g.LastService[id])
		l.ActiveOrder.Prime(id, g.Active[id])
	}
	l.totals.put(g.Totals)
	return nil
}

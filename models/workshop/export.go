package workshop

import (
	"context"

	"github.com/google/uuid"
)

// ExportedOrder is, in an owner's data export, a repair order with its
// lines, timeline and payments.
type ExportedOrder struct {
	*RepairOrder
	Items    []*Item
	Timeline []*Event
	Payments []*Payment
}

// ExportOwner lists, for the owner's data export, the orders the owner
// brought a car in for, each with its items, timeline and payments: four
// statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	var orders []*RepairOrder
	if err := conn.Where("owner_id = ?", ownerID).Order("id ASC").Find(&orders).Error; err != nil {
		return nil, err
	}
	out := make([]*ExportedOrder, len(orders))
	byID := make(map[uuid.UUID]*ExportedOrder, len(orders))
	ids := make([]uuid.UUID, len(orders))
	for i, o := range orders {
		out[i] = &ExportedOrder{RepairOrder: o, Items: []*Item{}, Timeline: []*Event{}, Payments: []*Payment{}}
		byID[o.ID], ids[i] = out[i], o.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var items []*Item
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&items).Error; err != nil {
		return nil, err
	}
	for _, it := range items {
		byID[it.OrderID].Items = append(byID[it.OrderID].Items, it)
	}
	var events []*Event
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&events).Error; err != nil {
		return nil, err
	}
	for _, e := range events {
		byID[e.OrderID].Timeline = append(byID[e.OrderID].Timeline, e)
	}
	var payments []*Payment
	if err := conn.Where("order_id IN ?", ids).Order("id ASC").Find(&payments).Error; err != nil {
		return nil, err
	}
	for _, p := range payments {
		byID[p.OrderID].Payments = append(byID[p.OrderID].Payments, p)
	}
	return out, nil
}

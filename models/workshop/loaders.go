package workshop

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// Batch loads for the GraphQL dataloaders. None authorizes: the caller has
// already authorized the parent objects. Each runs one statement whatever
// the number of keys; keys without rows have no entry.

// ItemsByOrderIDs loads the orders' items, each order's ordered by id.
func (s *Service) ItemsByOrderIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Item, error) {
	return byOrder[Item](ctx, s.DB, ids, func(it *Item) uuid.UUID { return it.OrderID })
}

// EventsByOrderIDs loads the orders' timelines, oldest first.
func (s *Service) EventsByOrderIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Event, error) {
	return byOrder[Event](ctx, s.DB, ids, func(e *Event) uuid.UUID { return e.OrderID })
}

// PaymentsByOrderIDs loads the orders' payments in the order recorded.
func (s *Service) PaymentsByOrderIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]*Payment, error) {
	return byOrder[Payment](ctx, s.DB, ids, func(p *Payment) uuid.UUID { return p.OrderID })
}

func byOrder[T any](ctx context.Context, db *models.DB, ids []uuid.UUID, key func(*T) uuid.UUID) (map[uuid.UUID][]*T, error) {
	out := make(map[uuid.UUID][]*T, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*T
	if err := db.Conn(ctx).Where("order_id IN ?", ids).Order("id ASC").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		k := key(r)
		out[k] = append(out[k], r)
	}
	return out, nil
}

// OrdersByIDs loads orders by id (for node(id:) after authorization, and
// subscriptions). Missing ids have no entry.
func (s *Service) OrdersByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*RepairOrder, error) {
	out := make(map[uuid.UUID]*RepairOrder, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*RepairOrder
	if err := s.DB.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.ID] = o
	}
	return out, nil
}

// OrderOf reads the repair order if ownerID was its owner at check-in, in
// one statement, for another capability acting for that owner (a
// complaint about the order). GORM's record-not-found when there is none.
func (s *Service) OrderOf(ctx context.Context, ownerID, id uuid.UUID) (*RepairOrder, error) {
	var o RepairOrder
	if err := s.DB.Conn(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Take(&o).Error; err != nil {
		return nil, err
	}
	return &o, nil
}

// ActiveOrdersByVehicleIDs loads each vehicle's open order (at most one).
func (s *Service) ActiveOrdersByVehicleIDs(ctx context.Context, vehicleIDs []uuid.UUID) (map[uuid.UUID]*RepairOrder, error) {
	out := make(map[uuid.UUID]*RepairOrder, len(vehicleIDs))
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	var rows []*RepairOrder
	err := s.DB.Conn(ctx).Where("vehicle_id IN ? AND status NOT IN ?", vehicleIDs, closedStatuses).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.VehicleID] = o
	}
	return out, nil
}

// StaffNames loads staff members' names (advisors, technicians, timeline
// actors): all that owners and screens may learn of staff.
func (s *Service) StaffNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	return s.directory().StaffNames(ctx, ids)
}

// ApprovalDeliveriesByOrderIDs loads the delivery states of the orders'
// approval requests (NotifyApprovalNeeded), oldest first, in two
// statements (see inbox.Service.DeliveriesAbout). The caller has checked
// ApprovalDeliveriesVisible.
func (s *Service) ApprovalDeliveriesByOrderIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]outbox.State, error) {
	links := make([]models.Link, len(ids))
	orderOf := make(map[models.Link]uuid.UUID, len(ids))
	for i, id := range ids {
		links[i] = OrderLink(id)
		orderOf[links[i]] = id
	}
	byLink, err := s.inbox().DeliveriesAbout(ctx, NotifyApprovalNeeded, links)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID][]outbox.State, len(byLink))
	for l, sts := range byLink {
		out[orderOf[l]] = sts
	}
	return out, nil
}

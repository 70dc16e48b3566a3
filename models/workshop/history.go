package workshop

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// A vehicle's service history is its DELIVERED orders, newest first. Order
// ids are UUIDv7, so id order is opening order, and a vehicle has one open
// order at a time, so it is delivery order too.

// HistoryKey asks for one page of a vehicle's service history: First orders
// after the order with id After (uuid.Nil: from the newest).
type HistoryKey struct {
	VehicleID uuid.UUID
	First     int
	After     uuid.UUID
}

// HistoryPage is one page of a vehicle's service history. Total counts all
// of the vehicle's delivered orders.
type HistoryPage struct {
	Orders  []*RepairOrder
	HasNext bool
	Total   int
}

// ServiceHistory loads pages of service history for many vehicles at once
// (a dataloader's batch). It runs two statements when every key names a
// different vehicle, which is what a batch holds (one page per car): one
// ranks each vehicle's delivered orders with ROW_NUMBER() and keeps the
// first First+1 after the cursor, one counts delivered orders per vehicle.
// Keys repeating a vehicle (aliases asking for two pages of one car) take
// one more statement per repetition. First outside 1..100 is read as 20.
// No authorization: the caller authorized the vehicles.
func (s *Service) ServiceHistory(ctx context.Context, keys []HistoryKey) (map[HistoryKey]HistoryPage, error) {
	out := make(map[HistoryKey]HistoryPage, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// Rounds of keys with distinct vehicles.
	var rounds [][]HistoryKey
	placed := map[HistoryKey]bool{}
	for _, k := range keys {
		if placed[k] {
			continue
		}
		placed[k] = true
		i := 0
		for ; i < len(rounds); i++ {
			if !hasVehicle(rounds[i], k.VehicleID) {
				break
			}
		}
		if i == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[i] = append(rounds[i], k)
	}
	vehicles := make([]uuid.UUID, 0, len(keys))
	for _, k := range rounds[0] {
		vehicles = append(vehicles, k.VehicleID)
	}
	for _, round := range rounds {
		var fromStart []uuid.UUID
		var conds []string
		var args []any
		limit := 0
		for _, k := range round {
			limit = max(limit, pageSize(k.First)+1)
			if k.After == uuid.Nil {
				fromStart = append(fromStart, k.VehicleID)
				continue
			}
			conds = append(conds, "(o.vehicle_id = ? AND o.id < ?)")
			args = append(args, k.VehicleID, k.After)
		}
		if len(fromStart) > 0 {
			conds = append(conds, "o.vehicle_id IN ?")
			args = append(args, fromStart)
		}
		rows, err := s.rankedDelivered(ctx, strings.Join(conds, " OR "), args, limit)
		if err != nil {
			return nil, err
		}
		byVehicle := map[uuid.UUID][]*RepairOrder{}
		for _, o := range rows {
			byVehicle[o.VehicleID] = append(byVehicle[o.VehicleID], o)
		}
		for _, k := range round {
			orders := byVehicle[k.VehicleID]
			p := HistoryPage{Orders: orders}
			if n := pageSize(k.First); len(orders) > n {
				p.Orders, p.HasNext = orders[:n], true
			}
			if p.Orders == nil {
				p.Orders = []*RepairOrder{}
			}
			out[k] = p
		}
	}
	var counts []struct {
		VehicleID uuid.UUID
		N         int
	}
	err := s.DB.Conn(ctx).Model(&RepairOrder{}).Select("vehicle_id, COUNT(*) AS n").
		Where("status = ? AND vehicle_id IN ?", Delivered, vehicles).Group("vehicle_id").Scan(&counts).Error
	if err != nil {
		return nil, err
	}
	total := make(map[uuid.UUID]int, len(counts))
	for _, c := range counts {
		total[c.VehicleID] = c.N
	}
	for k, p := range out {
		p.Total = total[k.VehicleID]
		out[k] = p
	}
	return out, nil
}

func hasVehicle(keys []HistoryKey, id uuid.UUID) bool {
	for _, k := range keys {
		if k.VehicleID == id {
			return true
		}
	}
	return false
}

func pageSize(first int) int {
	if first < 1 || first > models.MaxPageSize {
		return models.DefaultPageSize
	}
	return first
}

// rankedDelivered reads, per vehicle, the newest limit DELIVERED orders
// matching cond (on repair_orders o), ordered by vehicle then newest first.
// One statement; the window function works on both dialects.
func (s *Service) rankedDelivered(ctx context.Context, cond string, args []any, limit int) ([]*RepairOrder, error) {
	q := `SELECT * FROM repair_orders WHERE id IN (
		SELECT r.id FROM (
			SELECT o.id, ROW_NUMBER() OVER (PARTITION BY o.vehicle_id ORDER BY o.id DESC) AS rn
			FROM repair_orders o WHERE o.status = ? AND (` + cond + `)
		) r WHERE r.rn <= ?
	) ORDER BY vehicle_id, id DESC`
	all := append([]any{Delivered}, args...)
	all = append(all, limit)
	var rows []*RepairOrder
	if err := s.DB.Conn(ctx).Raw(q, all...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// LastServiceByVehicleIDs loads each vehicle's newest DELIVERED order, in
// one statement.
func (s *Service) LastServiceByVehicleIDs(ctx context.Context, vehicleIDs []uuid.UUID) (map[uuid.UUID]*RepairOrder, error) {
	out := make(map[uuid.UUID]*RepairOrder, len(vehicleIDs))
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	rows, err := s.rankedDelivered(ctx, "o.vehicle_id IN ?", []any{vehicleIDs}, 1)
	if err != nil {
		return nil, err
	}
	for _, o := range rows {
		out[o.VehicleID] = o
	}
	return out, nil
}

// RecommendationsByVehicleIDs loads the open recommendations (建议项目) of
// each vehicle, newest first, in one statement: the items owners DECLINED on
// delivered orders. Advice stops being open when a later delivered order of
// the car did the same work (an agreed item with the same code); advice
// repeated on several visits shows once, the newest.
func (s *Service) RecommendationsByVehicleIDs(ctx context.Context, vehicleIDs []uuid.UUID) (map[uuid.UUID][]*Item, error) {
	out := make(map[uuid.UUID][]*Item, len(vehicleIDs))
	if len(vehicleIDs) == 0 {
		return out, nil
	}
	var rows []*struct {
		Item
		VehicleID uuid.UUID
	}
	err := s.DB.Conn(ctx).Raw(`SELECT i.*, o.vehicle_id AS vehicle_id
		FROM repair_order_items i JOIN repair_orders o ON o.id = i.order_id
		WHERE o.vehicle_id IN ? AND o.status = ? AND i.approval = ?
		AND NOT (i.code <> '' AND EXISTS (
			SELECT 1 FROM repair_order_items d JOIN repair_orders l ON l.id = d.order_id
			WHERE l.vehicle_id = o.vehicle_id AND l.status = ? AND l.id > o.id
			AND d.code = i.code AND d.approval IN ?))
		ORDER BY i.id DESC`,
		vehicleIDs, Delivered, Declined, Delivered, []Approval{PreApproved, Approved}).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	shown := map[[2]string]bool{}
	for _, r := range rows {
		if r.Code != "" {
			k := [2]string{r.VehicleID.String(), r.Code}
			if shown[k] {
				continue
			}
			shown[k] = true
		}
		it := r.Item
		out[r.VehicleID] = append(out[r.VehicleID], &it)
	}
	return out, nil
}

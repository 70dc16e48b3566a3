package workshop

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// A vehicle's service history is its DELIVERED orders, newest first. Order
// ids are UUIDv7, so id order is opening order, and a vehicle has one open
// order at a time, so it is delivery order too.

// HistoryKey asks for one page of a vehicle's service history: First orders
// after the order at After (zero: from the newest).
type HistoryKey struct {
	VehicleID uuid.UUID
	First     int
	After     models.Cursor
}

// history is the order of a vehicle's history (newest first: Desc).
var history = models.ByID("id")

// HistoryPage is one page of a vehicle's service history. Total counts all
// of the vehicle's delivered orders. Err refuses a key no page can answer.
type HistoryPage struct {
	Orders  []*RepairOrder
	HasNext bool
	Total   int
	Err     error
}

// ServiceHistory loads pages of service history for many vehicles at once
// (a dataloader's batch), with each vehicle's total, in one statement when
// every key names a different vehicle, which is what a batch holds (one
// page per car). Keys repeating a vehicle (aliases asking for two pages of
// one car) take one more statement per repetition. No authorization: the
// caller authorized the vehicles.
//
// Codes, in a page's Err: INVALID_ARGUMENT ("first", "after").
func (s *Service) ServiceHistory(ctx context.Context, keys []HistoryKey) (map[HistoryKey]HistoryPage, error) {
	lists := make([]models.ListPage, len(keys))
	for i, k := range keys {
		lists[i] = models.ListPage{List: k.VehicleID, First: k.First, After: k.After}
	}
	pages, err := models.FetchEach[RepairOrder](s.DB.Conn(ctx), models.Lists{Table: "repair_orders", Part: "vehicle_id",
		Where: "t.status = ?", Args: []any{Delivered}, Order: history, Desc: true}, lists)
	if err != nil {
		return nil, err
	}
	out := make(map[HistoryKey]HistoryPage, len(keys))
	for i, k := range keys {
		p := pages[lists[i]]
		out[k] = HistoryPage{Orders: p.Rows, HasNext: p.HasNext, Total: p.Total, Err: p.Err}
	}
	return out, nil
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

package workshop

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Glance is what a list of cars shows of the workshop at a glance: each
// car's last service and the order it is in the workshop with, and their
// totals, read together (see CarsAtAGlance).
type Glance struct {
	LastService map[uuid.UUID]*RepairOrder // by vehicle; absent: none
	Active      map[uuid.UUID]*RepairOrder // by vehicle; absent: none
	Totals      map[uuid.UUID]TotalsView   // by order, for the orders above
}

// glanceSQL is CarsAtAGlance's statement. Both kinds of order are found
// through the orders' vehicle indexes, then read by primary key: an OR of
// the two conditions made PostgreSQL read the whole table for every home
// screen (TestHotReadsUseIndexes). The statuses and approvals are written
// into the statement, not passed as arguments, so that its plan, made once
// per connection, can use the index of open orders (whose condition names
// those statuses) instead of being made again for every execution. The
// sums follow Totals: agreed items (pre-approved or approved) make the
// total, of which those under warranty are covered; pending and declined
// items are summed apart; payments make paid.
var glanceSQL = func() string {
	const sum = `COALESCE((SELECT CAST(SUM(i.amount_fen) AS BIGINT) FROM repair_order_items i WHERE i.order_id = x.id AND %s), 0)`
	agreed := "i.approval IN (" + sqlStrings(PreApproved, Approved) + ")"
	return `SELECT x.*,
		` + fmt.Sprintf(sum, agreed) + ` AS t_total,
		` + fmt.Sprintf(sum, agreed+" AND i.warranty") + ` AS t_warranty,
		` + fmt.Sprintf(sum, "i.approval = "+sqlStrings(Pending)) + ` AS t_pending,
		` + fmt.Sprintf(sum, "i.approval = "+sqlStrings(Declined)) + ` AS t_declined,
		COALESCE((SELECT CAST(SUM(p.amount_fen) AS BIGINT) FROM repair_order_payments p WHERE p.order_id = x.id), 0) AS t_paid
	FROM repair_orders x WHERE x.id IN (
		SELECT r.id FROM (
			SELECT o.id, ROW_NUMBER() OVER (PARTITION BY o.vehicle_id ORDER BY o.id DESC) AS rn
			FROM repair_orders o WHERE o.status = ` + sqlStrings(Delivered) + ` AND o.vehicle_id IN ?
		) r WHERE r.rn = 1
		UNION ALL
		SELECT o.id FROM repair_orders o WHERE o.vehicle_id IN ? AND o.status NOT IN (` + sqlStrings(closedStatuses...) + `)
	)`
}()

// sqlStrings writes constants of the package (statuses, approvals) as SQL
// string literals, comma-separated. They are identifiers in capitals; one
// with a quote would be a programming error, caught when the package loads.
func sqlStrings[S ~string](values ...S) string {
	out := make([]string, len(values))
	for i, v := range values {
		if strings.ContainsAny(string(v), `'\`) {
			panic(fmt.Sprintf("workshop: %q cannot be written into SQL", v))
		}
		out[i] = "'" + string(v) + "'"
	}
	return strings.Join(out, ", ")
}

// CarsAtAGlance reads each car's newest DELIVERED order and its open order
// (at most one) with both orders' totals, in one statement whatever the
// number of cars: the owner's home screen. The totals are the sums of
// Totals, taken by the database over the orders' items and payments. No
// authorization: the caller has authorized the cars.
func (s *Service) CarsAtAGlance(ctx context.Context, vehicleIDs []uuid.UUID) (*Glance, error) {
	g := &Glance{LastService: map[uuid.UUID]*RepairOrder{}, Active: map[uuid.UUID]*RepairOrder{}, Totals: map[uuid.UUID]TotalsView{}}
	if len(vehicleIDs) == 0 {
		return g, nil
	}
	var rows []struct {
		RepairOrder `gorm:"embedded"`
		TTotal      int64
		TWarranty   int64
		TPending    int64
		TDeclined   int64
		TPaid       int64
	}
	err := models.Scan(s.DB.Conn(ctx).Raw(glanceSQL, vehicleIDs, vehicleIDs), &rows)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		o := r.RepairOrder
		if o.Status == Delivered {
			g.LastService[o.VehicleID] = &o
		} else {
			g.Active[o.VehicleID] = &o
		}
		g.Totals[o.ID] = TotalsView{TotalFen: r.TTotal, WarrantyFen: r.TWarranty, PayableFen: r.TTotal - r.TWarranty,
			PaidFen: r.TPaid, PendingFen: r.TPending, DeclinedFen: r.TDeclined}
	}
	return g, nil
}

package workshop

import (
	"time"

	"gorm.io/gorm"
)

// DeliveredBetween is the repair orders delivered after from and up to to,
// as a subquery for other capabilities' scheduled work (after-sales calls,
// surveys) to join their own tables against in one statement: workshop
// alone names its table and its statuses in SQL. Its columns are the
// RepairOrder's; select them with, e.g.,
//
//	conn.Table("(?) AS o", workshop.DeliveredBetween(conn, from, to)).Select("o.*")
func DeliveredBetween(conn *gorm.DB, from, to time.Time) *gorm.DB {
	return conn.Session(&gorm.Session{NewDB: true}).Model(&RepairOrder{}).
		Where("status = ? AND delivered_at > ? AND delivered_at <= ?", Delivered, from, to)
}

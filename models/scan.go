package models

import "gorm.io/gorm"

// Scan runs q and scans its rows into dest (a struct, or a slice of them,
// that need not be a model) as GORM's Scan does, without the SQL recorder
// GORM's Scan puts around every statement: that recorder renders the
// statement with its values inlined (Dialector.Explain) for the logger, even
// when the logger discards it, which made a hot read cost a few percent of
// a request's CPU and nearly a tenth of its allocations
// (docs/performance.md, "The request's own cost"). The statement is counted
// like any other (Statements).
func Scan(q *gorm.DB, dest any) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			_ = rows.Close() // the read's error is the one to report
			return err
		}
		return rows.Close()
	}
	if err := q.ScanRows(rows, dest); err != nil {
		_ = rows.Close() // the scan's error is the one to report
		return err
	}
	return rows.Close()
}

package models

import (
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Page sizes of every connection.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Page asks for First rows after the row with ID After (uuid.Nil: from the
// start). Rows are ordered by their UUIDv7 primary key, which is their
// creation order, so a page is one index range scan on both dialects.
type Page struct {
	First int
	After uuid.UUID
	// Desc orders newest first.
	Desc bool
}

// NewPage validates a requested page size (nil: the default).
func NewPage(first *int, after uuid.UUID) (Page, error) {
	n := DefaultPageSize
	if first != nil {
		n = *first
	}
	if n < 1 || n > MaxPageSize {
		return Page{}, Ef(CodeBadUserInput, "每页数量须在 1 到 100 之间", "first must be between 1 and %d", MaxPageSize).On("first")
	}
	return Page{First: n, After: after}, nil
}

// Fetch reads one page of q into a slice, ordered by the id column of the
// table q selects from, and reports whether more rows follow.
func Fetch[T any](q *gorm.DB, idColumn string, p Page) ([]T, bool, error) {
	order, cmp := idColumn+" ASC", idColumn+" > ?"
	if p.Desc {
		order, cmp = idColumn+" DESC", idColumn+" < ?"
	}
	if p.After != uuid.Nil {
		q = q.Where(cmp, p.After)
	}
	var rows []T
	if err := q.Order(order).Limit(p.First + 1).Find(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > p.First {
		return rows[:p.First], true, nil
	}
	return rows, false, nil
}

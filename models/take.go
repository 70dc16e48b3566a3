package models

import (
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Take reads the row of T whose primary key is id; a missing row is nf (the
// capability's own NOT_FOUND). Whether the caller may see it is the
// caller's to check.
func Take[T any](conn *gorm.DB, id uuid.UUID, nf *Error) (*T, error) {
	var row T
	if err := conn.Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, NotFoundAs(err, nf)
	}
	return &row, nil
}

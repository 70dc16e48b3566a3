package models

import (
	"time"

	"github.com/google/uuid"
)

// Notification is an item in an owner's inbox. Capabilities add kinds
// (APPROVAL_NEEDED, READY_FOR_PICKUP, reminders, ...); a DedupeKey makes a
// notification that must exist once per thing (a reminder per due item)
// impossible to create twice.
type Notification struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	OwnerID   uuid.UUID
	Kind      string
	Title     string
	Body      string
	Link      string // what the app opens: a global ID or a route such as "book?storeId=..."
	DedupeKey *string
	ReadAt    *time.Time
	CreatedAt time.Time
}

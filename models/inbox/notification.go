package inbox

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
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
	Link      models.Link // what the app opens: an object or an app route, in the domain's own form
	DedupeKey *string
	ReadAt    *time.Time
	CreatedAt time.Time

	// VehicleID and StoreID say which car and store the notification
	// concerns, when it concerns one: its delivery's text names them (see
	// payload). Not stored; read with the owner in one statement.
	VehicleID *uuid.UUID `gorm:"-"`
	StoreID   *uuid.UUID `gorm:"-"`
}

// LeftJoinNotification joins, as alias, the notification whose id is in
// column on (keeping the caller's rows without one): campaign reports read
// whether the owner has read their invitation (read_at).
func LeftJoinNotification(alias, on string) string {
	return "LEFT JOIN notifications " + alias + " ON " + alias + ".id = " + on
}

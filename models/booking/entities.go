// Package booking is maintenance booking: store
// calendars with seats per service kind and slot, free slots, and
// appointments that never overbook.
package booking

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Status of an appointment.
type Status string

// Appointment statuses.
const (
	Booked    Status = "BOOKED"
	Arrived   Status = "ARRIVED"
	NoShow    Status = "NO_SHOW"
	Cancelled Status = "CANCELLED"
)

// Source is where a booking was made.
type Source string

// Booking sources.
const (
	App         Source = "APP"
	MiniProgram Source = "MINI_PROGRAM"
	Phone       Source = "PHONE"
	WalkIn      Source = "WALK_IN"
)

// Appointment is a booked slot for one vehicle at one store.
type Appointment struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	StoreID       uuid.UUID
	VehicleID     uuid.UUID
	OwnerID       uuid.UUID
	Kind          string // a workshop kind: MAINTENANCE, REPAIR, ...
	SlotStart     time.Time
	SlotEnd       time.Time
	Status        Status
	Source        Source
	Note          string
	BookedBy      *uuid.UUID // staff who booked on the owner's behalf
	RepairOrderID *uuid.UUID // set on arrival
	CancelledAt   *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SlotCapacity is a store's seats per slot for one kind of service.
type SlotCapacity struct {
	StoreID uuid.UUID `gorm:"primaryKey"`
	Kind    string    `gorm:"primaryKey"`
	Seats   int
}

// TableName names the capacities table.
func (SlotCapacity) TableName() string { return "slot_capacities" }

// Override changes one date of a store's calendar: closed, or other seats
// for one kind.
type Override struct {
	ID      uuid.UUID `gorm:"primaryKey"`
	StoreID uuid.UUID
	Day     models.Date
	Kind    *string
	Closed  bool
	Seats   *int
	Note    string
}

// TableName names the overrides table.
func (Override) TableName() string { return "calendar_overrides" }

// SlotBooking counts the seats taken in one slot.
type SlotBooking struct {
	StoreID   uuid.UUID `gorm:"primaryKey"`
	Kind      string    `gorm:"primaryKey"`
	SlotStart time.Time `gorm:"primaryKey"`
	Booked    int
}

// Slot is a bookable time with the seats left in it.
type Slot struct {
	Start     time.Time
	End       time.Time
	SeatsLeft int
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Booked, Arrived, NoShow, Cancelled:
		return true
	}
	return false
}

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	switch s {
	case App, MiniProgram, Phone, WalkIn:
		return true
	}
	return false
}

// AppointmentOf is a subquery for EXISTS: an appointment, not cancelled,
// of the owner in column ownerCol at the store in column storeCol, booked
// when cond (a condition on column ap.created_at) holds. Campaign reports
// count owners who booked with it (index appointments_owner_idx).
func AppointmentOf(ownerCol, storeCol, cond string) string {
	return "SELECT 1 FROM appointments ap WHERE ap.owner_id = " + ownerCol + " AND ap.store_id = " + storeCol +
		" AND ap.status <> '" + string(Cancelled) + "' AND " + cond
}

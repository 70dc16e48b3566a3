package models

import (
	"time"

	"github.com/google/uuid"
)

// Store is one 4S store of the dealer group.
type Store struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	Code        string    // short code used in order numbers and screen URLs, e.g. "SZ01"
	Name        string
	City        string
	Address     string
	Phone       string
	Timezone    string // IANA name, default Asia/Shanghai
	ServiceBays int
	SlotMinutes int          // booking slot length
	Hours       []StoreHours `gorm:"foreignKey:StoreID"`
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Where the store is (WGS-84 degrees); nil when unknown. Roadside
	// assistance sends a request to the nearest store that has them.
	Latitude  *float64
	Longitude *float64
}

// StoreHours are a store's opening hours on one weekday, in its local time.
type StoreHours struct {
	StoreID uuid.UUID `gorm:"primaryKey"`
	Weekday int       `gorm:"primaryKey"` // 0 = Sunday, as time.Weekday
	Opens   string    // "08:30"
	Closes  string    // "18:00"
}

// TableName keeps the plural table name explicit.
func (StoreHours) TableName() string { return "store_hours" }

// Location is the store's time zone (Asia/Shanghai when unknown).
func (s *Store) Location() *time.Location {
	if loc, err := time.LoadLocation(s.Timezone); err == nil {
		return loc
	}
	return ChinaTime
}

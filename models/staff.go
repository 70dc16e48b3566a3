package models

import (
	"time"

	"github.com/google/uuid"
)

// Staff is an employee who signs in with a username and password.
type Staff struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	Username     string
	Name         string
	PasswordHash string
	Active       bool
	Roles        []StaffRole  `gorm:"foreignKey:StaffID"`
	Stores       []StaffStore `gorm:"foreignKey:StaffID"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// StaffRole grants a role (ADVISOR, MANAGER, ...) to a staff member.
type StaffRole struct {
	StaffID uuid.UUID `gorm:"primaryKey"`
	Role    string    `gorm:"primaryKey"`
}

// StaffStore assigns a staff member to a store.
type StaffStore struct {
	StaffID uuid.UUID `gorm:"primaryKey"`
	StoreID uuid.UUID `gorm:"primaryKey"`
}

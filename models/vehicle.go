package models

import (
	"time"

	"github.com/google/uuid"
)

// Vehicle is a car with its one current owner.
type Vehicle struct {
	ID              uuid.UUID `gorm:"primaryKey"`
	OwnerID         uuid.UUID
	VIN             string  `gorm:"column:vin"`
	Plate           *string // canonical, no separator; nil before registration
	Brand           string
	Model           string
	ModelYear       int
	Colour          string
	PurchaseDate    *Date
	SellingStoreID  *uuid.UUID
	WarrantyEndDate *Date
	WarrantyEndKm   *int
	InsuranceExpiry *Date
	InspectionDue   *Date
	MileageKm       int
	MileageReadAt   *time.Time
	// Maintenance interval of this car; nil means the defaults
	// (DefaultServiceIntervalMonths / DefaultServiceIntervalKm).
	ServiceIntervalMonths *int
	ServiceIntervalKm     *int
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// MaxMileageKm bounds odometer readings and warranty distances; beyond it a
// reading is a typo.
const MaxMileageKm = 2_000_000

// Default maintenance interval when a vehicle has none configured.
const (
	DefaultServiceIntervalMonths = 6
	DefaultServiceIntervalKm     = 5000
)

// ServiceInterval is the vehicle's maintenance interval in months and km.
func (v *Vehicle) ServiceInterval() (months, km int) {
	months, km = DefaultServiceIntervalMonths, DefaultServiceIntervalKm
	if v.ServiceIntervalMonths != nil {
		months = *v.ServiceIntervalMonths
	}
	if v.ServiceIntervalKm != nil {
		km = *v.ServiceIntervalKm
	}
	return months, km
}

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
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

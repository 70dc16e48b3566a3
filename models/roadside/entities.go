// Package roadside is roadside assistance (救援): an
// owner asks for help with one of their cars where it stands; staff of the
// nearest (or the chosen) store accept the request, send someone with an
// ETA and close it with an outcome. The owner follows every change live and
// in the inbox.
package roadside

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Status of an assistance request.
type Status string

// Request statuses: REQUESTED -> ACCEPTED -> DISPATCHED -> CLOSED, or
// CANCELLED before it is closed.
const (
	Requested  Status = "REQUESTED"
	Accepted   Status = "ACCEPTED"
	Dispatched Status = "DISPATCHED"
	Closed     Status = "CLOSED"
	Cancelled  Status = "CANCELLED"
)

// Open reports whether a request in s still needs the store: a vehicle has
// at most one open request.
func (s Status) Open() bool { return s == Requested || s == Accepted || s == Dispatched }

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.Open() || s == Closed || s == Cancelled }

// Problem is what is wrong with the car.
type Problem string

// Problems an owner can report.
const (
	Breakdown Problem = "BREAKDOWN"
	FlatTyre  Problem = "FLAT_TYRE"
	Battery   Problem = "BATTERY"
	Accident  Problem = "ACCIDENT"
	Lockout   Problem = "LOCKOUT"
	Fuel      Problem = "FUEL"
	Other     Problem = "OTHER"
)

// Valid reports whether p is a known problem.
func (p Problem) Valid() bool {
	switch p {
	case Breakdown, FlatTyre, Battery, Accident, Lockout, Fuel, Other:
		return true
	}
	return false
}

// Request is an owner's call for help with one car, served by one store.
type Request struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	OwnerID   uuid.UUID
	VehicleID uuid.UUID
	StoreID   uuid.UUID
	// StoreChosen: the owner picked the store; otherwise it was the
	// nearest store with coordinates.
	StoreChosen bool
	// DistanceM is the great-circle distance from the store to the car in
	// metres; nil when the store has no coordinates.
	DistanceM     *int
	Status        Status
	Problem       Problem
	Description   string
	Latitude      float64
	Longitude     float64
	Address       string
	CallbackPhone string // E.164

	AcceptedBy        *uuid.UUID
	AcceptedAt        *time.Time
	DispatcherStaffID *uuid.UUID // when the store sends one of its staff
	DispatcherName    *string
	DispatcherPhone   *string
	ETA               *time.Time `gorm:"column:eta"`
	DispatchedAt      *time.Time
	Outcome           *string // set on CLOSED
	CancelReason      *string // set on CANCELLED ("" when the owner gave none)
	FinishedAt        *time.Time
	// Version counts the request's changes (1 when made).
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName names the requests table.
func (Request) TableName() string { return "assistance_requests" }

// Actor kinds on the timeline.
const (
	ActorOwner = "OWNER"
	ActorStaff = "STAFF"
)

// Event is one change on a request's timeline: who (ActorKind, ActorID),
// when, from which status (nil when it was made) to which, and why.
type Event struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	RequestID  uuid.UUID
	FromStatus *Status
	ToStatus   Status
	ActorKind  string
	ActorID    uuid.UUID
	Note       string
	CreatedAt  time.Time
}

// TableName names the timeline table.
func (Event) TableName() string { return "assistance_events" }

// Topic is the live topic of one request, announced on every change.
func Topic(requestID uuid.UUID) string { return "assistance:" + requestID.String() }

// RequestLink links a request; inbox items open it.
func RequestLink(id uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefAssistanceRequest, id))
}

// normalize puts a request's times in UTC (PostgreSQL hands them back in
// the session's zone).
func normalize(r *Request) {
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	for _, p := range []**time.Time{&r.AcceptedAt, &r.ETA, &r.DispatchedAt, &r.FinishedAt} {
		if *p != nil {
			t := (**p).UTC()
			*p = &t
		}
	}
}

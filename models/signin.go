package models

import (
	"time"

	"github.com/google/uuid"
)

// LoginCode is a one-time SMS code sent to a phone. Only its hash is kept.
type LoginCode struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	Phone      string
	CodeHash   string
	IP         string
	Attempts   int // wrong tries so far; the code dies at the limit
	ExpiresAt  time.Time
	ConsumedAt *time.Time
	CreatedAt  time.Time
}

// RefreshToken is one link of a rotating refresh-token family. Only the hash
// of the opaque token is kept. A token presented after it was rotated means
// it leaked: the whole family is revoked.
type RefreshToken struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	FamilyID    uuid.UUID
	SubjectKind string // OWNER or STAFF
	SubjectID   uuid.UUID
	TokenHash   string
	ExpiresAt   time.Time
	RotatedAt   *time.Time
	RevokedAt   *time.Time
	CreatedAt   time.Time
}

// AuthFailure records one failed sign-in attempt, for throttling and lockout.
type AuthFailure struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	Kind      string    // OTP or PASSWORD
	Subject   string    // phone (E.164) or username
	IP        string
	CreatedAt time.Time
}

// StaffNetwork is a client network (an IPv4 address or an IPv6 /64) a staff
// member signed in from with their password, and when they last did. While
// that is recent, wrong passwords from elsewhere do not lock them out there
// (docs/sign-in.md).
type StaffNetwork struct {
	StaffID      uuid.UUID `gorm:"primaryKey"`
	Network      string    `gorm:"primaryKey"`
	LastSignInAt time.Time
}

// NewID returns a new time-ordered primary key (UUIDv7).
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
